//! Scalar number formats shared by the quant kernels: half and bfloat16 conversions, and the
//! two rounding rules ggml uses when it turns floats into small integers.

const std = @import("std");
const builtin = @import("builtin");
const assert = std.debug.assert;

const has_f16c = builtin.cpu.arch == .x86_64 and
    std.Target.x86.featureSetHas(builtin.cpu.features, .f16c);
const has_avx512f = builtin.cpu.arch == .x86_64 and
    std.Target.x86.featureSetHas(builtin.cpu.features, .avx512f);

/// IEEE half → f32 (exact). Uses F16C / FP16 instructions when the target has them.
pub inline fn halfToF32(h: f16) f32 {
    if (has_f16c) {
        // LLVM lowers a plain @floatCast to `vpinsrw` into whatever register is free, often
        // a loop's accumulator: a false dependency that serialises the dot-product loops
        // (16 cycles per block instead of 4). Moving the bits through a general register
        // (`vmovd`) starts a fresh vector.
        const bits: u32 = @as(u16, @bitCast(h));
        const lanes: @Vector(4, u32) = .{ bits, 0, 0, 0 };
        const widened = asm ("vcvtph2ps %[in], %[out]"
            : [out] "=x" (-> @Vector(4, f32)),
            : [in] "x" (lanes),
        );
        return widened[0];
    }
    return @floatCast(h);
}

/// IEEE half bits → f32, 4 or 8 at a time (one `vcvtph2ps` with F16C; the bits travel
/// through general registers for the reason given in `halfToF32`).
pub inline fn halvesToF32(comptime count: usize, bits: [count]u16) @Vector(count, f32) {
    comptime assert(count == 4 or count == 8);
    if (has_f16c) {
        var words: [2]u64 = .{ 0, 0 };
        inline for (bits, 0..) |b, i| words[i / 4] |= @as(u64, b) << (16 * (i % 4));
        const lanes: @Vector(2, u64) = words;
        return asm ("vcvtph2ps %[in], %[out]"
            : [out] "=x" (-> @Vector(count, f32)),
            : [in] "x" (lanes),
        );
    }
    var out: [count]f32 = undefined;
    inline for (bits, &out) |b, *v| v.* = @floatCast(@as(f16, @bitCast(b)));
    return out;
}

/// 16 IEEE halves stored little-endian in `bytes` → f32 (one 512-bit `vcvtph2ps` with
/// AVX-512, else two `halvesToF32` of 8).
pub inline fn halves16ToF32(bytes: *const [32]u8) @Vector(16, f32) {
    if (has_avx512f) {
        const bits: @Vector(16, u16) = @bitCast(bytes.*);
        return asm ("vcvtph2ps %[in], %[out]"
            : [out] "=x" (-> @Vector(16, f32)),
            : [in] "x" (bits),
        );
    }
    const words: [16]u16 = @bitCast(bytes.*);
    const low: [8]f32 = halvesToF32(8, words[0..8].*);
    const high: [8]f32 = halvesToF32(8, words[8..16].*);
    return low ++ high;
}

/// f32 → IEEE half, rounding to nearest even (what ggml's FP32_TO_FP16 does on F16C).
pub inline fn f32ToHalf(value: f32) f16 {
    return @floatCast(value);
}

/// bfloat16 bits → f32 (exact: bf16 is the top half of an f32).
pub inline fn bf16ToF32(bits: u16) f32 {
    return @bitCast(@as(u32, bits) << 16);
}

/// f32 → bfloat16 bits, rounding to nearest even; NaN stays a (quiet) NaN.
pub fn f32ToBf16(value: f32) u16 {
    const bits: u32 = @bitCast(value);
    if (bits & 0x7fff_ffff > 0x7f80_0000) return @truncate((bits >> 16) | 64);
    const round_bias: u32 = 0x7fff + ((bits >> 16) & 1);
    return @truncate((bits +% round_bias) >> 16);
}

/// Round to the nearest integer, ties to even, the way ggml's `nearest_int` does it: adding
/// 1.5·2^23 pushes the fraction out of the mantissa, so the FPU's own rounding does the work.
/// Valid for |value| ≤ 2^22 - 1, which the callers guarantee.
pub inline fn nearestInt(value: f32) i32 {
    assert(@abs(value) <= 4194303.0);
    return nearestInts(1, @splat(value))[0];
}

/// `nearestInt` lane by lane.
pub inline fn nearestInts(comptime lanes: usize, values: @Vector(lanes, f32)) @Vector(lanes, i32) {
    const shifted = values + @as(@Vector(lanes, f32), @splat(12582912.0));
    const bits: @Vector(lanes, i32) = @bitCast(shifted);
    return (bits & @as(@Vector(lanes, i32), @splat(0x007f_ffff))) - @as(@Vector(lanes, i32), @splat(0x0040_0000));
}

/// `nearestInt(value)` clamped to [low, high]; safe for any finite value (clamps first).
pub inline fn nearestIntClamped(value: f32, low: i32, high: i32) i32 {
    assert(low <= high);
    const low_f: f32 = @floatFromInt(low);
    const high_f: f32 = @floatFromInt(high);
    return nearestInt(@min(high_f, @max(low_f, value)));
}

/// Round half away from zero (C `roundf`), as ggml's Q8_0/Q8_1 reference quantizers do.
pub inline fn roundAway(value: f32) i32 {
    return @intFromFloat(@round(value));
}

/// `value` clamped to [low, high].
pub inline fn clampInt(value: i32, low: i32, high: i32) i32 {
    assert(low <= high);
    return @min(high, @max(low, value));
}

const testing = std.testing;

test "nearestInt() rounds ties to even like ggml" {
    try testing.expectEqual(@as(i32, 2), nearestInt(2.5));
    try testing.expectEqual(@as(i32, 4), nearestInt(3.5));
    try testing.expectEqual(@as(i32, -2), nearestInt(-2.5));
    try testing.expectEqual(@as(i32, -3), nearestInt(-2.51));
    try testing.expectEqual(@as(i32, 127), nearestInt(126.7));
    try testing.expectEqual(@as(i32, 0), nearestInt(-0.4));
}

test "roundAway() rounds ties away from zero like roundf" {
    try testing.expectEqual(@as(i32, 3), roundAway(2.5));
    try testing.expectEqual(@as(i32, -3), roundAway(-2.5));
    try testing.expectEqual(@as(i32, 2), roundAway(2.49));
}

test "f32ToBf16() rounds to nearest even and keeps NaN" {
    try testing.expectEqual(@as(u16, 0x3f80), f32ToBf16(1.0));
    // 1 + 2^-8 is halfway between two bf16 values: ties go to the even mantissa (down).
    try testing.expectEqual(@as(u16, 0x3f80), f32ToBf16(1.0 + 1.0 / 256.0));
    // 1 + 3·2^-8 is halfway too: ties go up to the even mantissa 0x3f82.
    try testing.expectEqual(@as(u16, 0x3f82), f32ToBf16(1.0 + 3.0 / 256.0));
    try testing.expect(std.math.isNan(bf16ToF32(f32ToBf16(std.math.nan(f32)))));
    try testing.expectEqual(@as(f32, -2.0), bf16ToF32(f32ToBf16(-2.0)));
}

test "halvesToF32() converts every lane" {
    const bits = [8]u16{ 0x3C00, 0xC500, 0x0001, 0x7BFF, 0x3800, 0x0000, 0x8000, 0x4000 };
    const want = [8]f32{ 1, -5, 0x1p-24, 65504, 0.5, 0, -0.0, 2 };
    try testing.expectEqual(want, @as([8]f32, halvesToF32(8, bits)));
    const four: [4]f32 = halvesToF32(4, bits[0..4].*);
    try testing.expectEqual([4]f32{ 1, -5, 0x1p-24, 65504 }, four);
}

test "f32ToHalf() rounds to nearest even" {
    // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties to even gives 1.
    try testing.expectEqual(@as(f32, 1.0), halfToF32(f32ToHalf(1.0 + 1.0 / 2048.0)));
    try testing.expectEqual(@as(f32, 65504.0), halfToF32(f32ToHalf(65504.0)));
}
