//! Float arithmetic in the exact order of llama.cpp's x86 CPU backend (the AVX-512 build that
//! node-llama-cpp runs on this machine), so zeno's activations are bit-identical to its own.
//!
//! Why bit-identical and not "close": activations are quantized to 8 bits before every matmul.
//! A one-ulp difference anywhere moves some value across a rounding boundary, the quantized
//! value jumps by a whole step, and the difference grows layer by layer until the two logit
//! vectors sit ~0.1–0.5 apart — enough to flip greedy near-ties within a few dozen tokens.
//! Matching llama.cpp token for token therefore means matching every rounding, not the math.
//!
//! What is reproduced here:
//! - `expVec`: ggml's `ggml_v_expf` for 16 lanes (polynomial, `scalef` by 2^n, saturation
//!   beyond |n| > 192), used by SiLU and softmax.
//! - `treeSum`: the halving reductions of `_mm512_reduce_add_ps` and `hsum_float_8`
//!   (upper half + lower half, repeatedly).

const std = @import("std");
const assert = std.debug.assert;
const simd = @import("../quant/simd.zig");
const builtin = @import("builtin");

/// Whether the build target has `vscalefps` (AVX-512F).
const has_scalef = builtin.cpu.arch == .x86_64 and
    std.Target.x86.featureSetHas(builtin.cpu.features, .avx512f);

/// Lanes of ggml's AVX-512 float vectors.
pub const lanes = 16;
pub const V16 = @Vector(lanes, f32);

/// Sum of a vector's lanes by halving (quant/simd.zig).
pub const treeSum = simd.treeSum;

/// out[c] = treeSum(ys[c]) for sixteen vectors at once, with the same additions: each step
/// adds the upper half of every vector's remaining lanes to its lower half, two vectors'
/// halves packed into one register, so 15 vector additions replace 16 horizontal sums.
pub fn treeSums16(ys: [lanes]V16) V16 {
    comptime var owners: [lanes][lanes]u8 = undefined; // which y each lane belongs to
    inline for (&owners, 0..) |*vector, c| vector.* = @splat(c);
    var level = ys;
    comptime var count = lanes;
    comptime var width = lanes;
    inline while (width > 1) : ({
        count /= 2;
        width /= 2;
    }) {
        inline for (0..count / 2) |k| {
            level[k] = halvingStep(width, level[2 * k], level[2 * k + 1]);
            owners[k] = comptime halvingOwners(width, owners[2 * k], owners[2 * k + 1]);
        }
    }
    comptime var order: [lanes]i32 = undefined;
    inline for (owners[0], 0..) |owner, lane| order[owner] = lane;
    return @shuffle(f32, level[0], undefined, order);
}

/// Lane masks of one halving step on segments of `width` lanes: `x`'s segment s becomes the
/// lanes [s·width, s·width + width/2) of the result, `y`'s the next width/2.
fn halvingMasks(comptime width: usize) [2][lanes]i32 {
    var masks: [2][lanes]i32 = undefined;
    const half = width / 2;
    for (0..lanes / width) |s| {
        for (0..half) |i| {
            const at = s * width;
            masks[0][at + i] = @intCast(at + i);
            masks[0][at + half + i] = ~@as(i32, @intCast(at + i));
            masks[1][at + i] = @intCast(at + half + i);
            masks[1][at + half + i] = ~@as(i32, @intCast(at + half + i));
        }
    }
    return masks;
}

inline fn halvingStep(comptime width: usize, x: V16, y: V16) V16 {
    const masks = comptime halvingMasks(width);
    return @shuffle(f32, x, y, masks[0]) + @shuffle(f32, x, y, masks[1]);
}

fn halvingOwners(comptime width: usize, x: [lanes]u8, y: [lanes]u8) [lanes]u8 {
    const masks = halvingMasks(width);
    var out: [lanes]u8 = undefined;
    for (&out, masks[0]) |*lane, m| lane.* = if (m >= 0) x[@intCast(m)] else y[@intCast(~m)];
    return out;
}

/// e^x per lane, ggml's `ggml_v_expf` (AVX-512): n = round(x·log2 e), a degree-5 polynomial
/// in the remainder b = x - n·ln 2 (ln 2 in two parts), scaled by 2^n; |n| > 192 saturates to
/// 0 (n < 0) or +inf.
pub fn expVec(x: V16) V16 {
    const shifter: V16 = @splat(0x1.8p23);
    const z = @mulAdd(V16, x, @splat(0x1.715476p+0), shifter);
    const n = z - shifter;
    const b = @mulAdd(V16, -n, @splat(0x1.7f7d1cp-20), @mulAdd(V16, -n, @splat(0x1.62e4p-1), x));
    const u = b * b;
    const c45 = @mulAdd(V16, @splat(0x1.0e4020p-7), b, @splat(0x1.573e2ep-5));
    const c23 = @mulAdd(V16, @splat(0x1.555e66p-3), b, @splat(0x1.fffdb6p-2));
    const high = @mulAdd(V16, c45, u, c23);
    const j = @mulAdd(V16, high, u, @mulAdd(V16, @splat(0x1.ffffecp-1), b, @splat(1.0)));
    return scaleByPowersOfTwo(j, n);
}

/// `scaleByPowerOfTwo` on every lane, in vector operations (the same ones per lane): with
/// AVX-512, `vscalefps` itself, as ggml's kernel calls it.
fn scaleByPowersOfTwo(j: V16, n: V16) V16 {
    const I = @Vector(lanes, i32);
    const nan = n != n;
    const saturated = @abs(n) > @as(V16, @splat(192));
    const n_kept = @select(f32, nan | saturated, @as(V16, @splat(0)), n);
    const scaled = if (has_scalef) asm ("vscalefps %[n], %[j], %[out]"
        : [out] "=v" (-> V16),
        : [j] "v" (j),
          [n] "v" (n_kept),
    ) else blk: {
        const exponent: I = @intFromFloat(n_kept);
        const first = @divTrunc(exponent, @as(I, @splat(2)));
        break :blk j * powersOfTwo(first) * powersOfTwo(exponent - first);
    };
    const limit = @select(f32, n <= @as(V16, @splat(0)), @as(V16, @splat(0)), @as(V16, @splat(std.math.inf(f32))));
    return @select(f32, nan, n, @select(f32, saturated, limit, scaled));
}

inline fn powersOfTwo(exponent: @Vector(lanes, i32)) V16 {
    const biased: @Vector(lanes, u32) = @bitCast(exponent + @as(@Vector(lanes, i32), @splat(127)));
    return @bitCast(biased << @splat(23));
}

/// `vscalefps` on one lane: j·2^n for an integral n, with ggml's saturation for |n| > 192.
inline fn scaleByPowerOfTwo(j: f32, n: f32) f32 {
    if (std.math.isNan(n)) return n;
    if (@abs(n) > 192) return if (n <= 0) 0 else std.math.inf(f32);
    const exponent: i32 = @intFromFloat(n);
    // Two exact power-of-two factors keep every intermediate normal, so the one rounding is
    // the final multiplication's, as in `vscalefps`.
    const first = @divTrunc(exponent, 2);
    return j * powerOfTwo(first) * powerOfTwo(exponent - first);
}

inline fn powerOfTwo(exponent: i32) f32 {
    assert(exponent >= -126 and exponent <= 127);
    return @bitCast(@as(u32, @intCast(exponent + 127)) << 23);
}

/// silu(x) = x / (1 + e^-x) per lane, ggml's `ggml_v_silu`.
pub fn siluVec(x: V16) V16 {
    const zero: V16 = @splat(0);
    const one: V16 = @splat(1);
    return x / (one + expVec(zero - x));
}

/// e^x for one value, the way a lane of `expVec` computes it.
pub fn expScalar(x: f32) f32 {
    const v: V16 = @splat(x);
    return expVec(v)[0];
}

const testing = std.testing;

test "expVec() is within 2 ulp of exp and saturates like ggml" {
    var prng = std.Random.DefaultPrng.init(5);
    for (0..200) |_| {
        var x: [lanes]f32 = undefined;
        for (&x) |*v| v.* = (prng.random().float(f32) * 2 - 1) * 80;
        const got: [lanes]f32 = expVec(x);
        for (x, got) |xi, g| {
            const want: f32 = @floatCast(@exp(@as(f64, xi)));
            try testing.expectApproxEqRel(want, g, 3e-7);
        }
    }
    try testing.expectEqual(@as(f32, 1), expScalar(0));
    try testing.expectEqual(@as(f32, 0), expScalar(-std.math.inf(f32)));
    try testing.expectEqual(@as(f32, 0), expScalar(-200));
    try testing.expectEqual(std.math.inf(f32), expScalar(200));
}

test "treeSums16() equals treeSum() of each vector, bit for bit" {
    var prng = std.Random.DefaultPrng.init(11);
    for (0..50) |_| {
        var ys: [lanes]V16 = undefined;
        for (&ys) |*y| {
            var values: [lanes]f32 = undefined;
            // Wide exponents, so any change of order would change the rounding.
            for (&values) |*v| v.* = prng.random().floatNorm(f32) *
                std.math.pow(f32, 10, @floatFromInt(prng.random().intRangeAtMost(i32, -6, 6)));
            y.* = values;
        }
        const sums: [lanes]f32 = treeSums16(ys);
        for (ys, sums) |y, sum| try testing.expectEqual(treeSum(lanes, y), sum);
    }
}

test "expVec() scales every lane as scaleByPowerOfTwo() does, bit for bit" {
    var prng = std.Random.DefaultPrng.init(12);
    const specials = [_]f32{ -std.math.inf(f32), std.math.inf(f32), std.math.nan(f32), -200, 200, -133.5, 88.7, -87.3, 0, -0.0 };
    for (0..300) |round| {
        var x: [lanes]f32 = undefined;
        for (&x, 0..) |*v, i| v.* = if (round == 0 and i < specials.len)
            specials[i]
        else
            (prng.random().float(f32) * 2 - 1) * 140;
        const xv: V16 = x;
        const shifter: V16 = @splat(0x1.8p23);
        const n = @mulAdd(V16, xv, @splat(0x1.715476p+0), shifter) - shifter;
        const j: V16 = @splat(1.25);
        const got: [lanes]f32 = scaleByPowersOfTwo(j, n);
        const n_lanes: [lanes]f32 = n;
        for (got, n_lanes) |g, n_lane| {
            const want = scaleByPowerOfTwo(1.25, n_lane);
            try testing.expect(@as(u32, @bitCast(g)) == @as(u32, @bitCast(want)) or
                (std.math.isNan(g) and std.math.isNan(want)));
        }
    }
}

test "treeSum() adds upper and lower halves" {
    const v: @Vector(8, f32) = .{ 1e8, 1, -1e8, 1, 0.5, 0.25, 0, 0 };
    // (1e8 + 0.5) + (-1e8 + 0) ... rounded per step, as hsum_float_8 does.
    const a = [4]f32{ 1e8 + 0.5, 1 + 0.25, -1e8 + 0, 1 + 0 };
    const b = [2]f32{ a[0] + a[2], a[1] + a[3] };
    try testing.expectEqual(b[0] + b[1], treeSum(8, v));
}
