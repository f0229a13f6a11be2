//! Table-driven checks run on every type: SIMD dot == scalar dot, quantized dot == dot of the
//! dequantized rows, exact integer parts, and quantize → dequantize error bounds.

const std = @import("std");
const testing = std.testing;
const blocks = @import("blocks.zig");
const fp = @import("fp.zig");
const traits_mod = @import("traits.zig");
const QuantType = traits_mod.QuantType;
const traits = traits_mod.traits;

/// Every type with a dot product (the weight types).
const weight_types = [_]QuantType{
    .f32,  .f16,  .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0,
    .q2_k, .q3_k, .q4_k, .q5_k, .q6_k,
};

/// Row lengths tried, in blocks.
const block_counts = [_]usize{ 1, 2, 7, 64 };

/// Largest row the tests build: 64 blocks of 256 values.
const max_values = 64 * blocks.qk_k;
const max_row_bytes = 64 * @sizeOf(blocks.BlockQ3_K) * 4;

/// Reusable buffers; tests run one at a time.
var weight_bytes: [max_row_bytes]u8 = undefined;
var act_bytes: [max_row_bytes]u8 = undefined;
var floats_a: [max_values]f32 = undefined;
var floats_b: [max_values]f32 = undefined;

/// Values per dot-product block: the larger of the weight and activation block sizes.
fn valuesPerBlock(quant_type: QuantType) usize {
    const t = traits(quant_type);
    return @max(t.block_size, traits(t.vec_dot_type).block_size, 32);
}

fn fillNormal(random: std.Random, values: []f32, scale: f32) void {
    for (values) |*v| v.* = random.floatNorm(f32) * scale;
}

fn setHalf(bytes: []u8, offset: usize, value: f32) void {
    const half: f16 = fp.f32ToHalf(value);
    @memcpy(bytes[offset..][0..2], std.mem.asBytes(&half));
}

/// Offsets of a block's f16 scale fields: d first, then m or dmin when the type has one.
fn scaleOffsets(quant_type: QuantType) struct { d: usize, second: ?usize } {
    return switch (quant_type) {
        .q4_0, .q5_0, .q8_0 => .{ .d = 0, .second = null },
        .q4_1, .q5_1, .q4_k, .q5_k => .{ .d = 0, .second = 2 },
        .q2_k => .{ .d = 80, .second = 82 },
        .q3_k => .{ .d = 108, .second = null },
        .q6_k => .{ .d = 208, .second = null },
        else => unreachable,
    };
}

/// A weight row: random bytes (every bit pattern of the quants) with sane f16 scales, or
/// `scale_value` in every scale and 0 in every min/m when given (exact-integer rows). Float
/// types get normal values.
fn randomWeights(random: std.Random, quant_type: QuantType, n: usize, scale_value: ?f32) []u8 {
    const t = traits(quant_type);
    const row = weight_bytes[0..t.rowBytes(n)];
    if (t.vec_dot_type == .f32) {
        fillNormal(random, floats_a[0..n], 1);
        if (scale_value != null) for (floats_a[0..n]) |*v| {
            v.* = @round(v.* * 8);
        };
        t.quantize_row(floats_a[0..n], row);
        return row;
    }
    random.bytes(row);
    const offsets = scaleOffsets(quant_type);
    var offset: usize = 0;
    while (offset < row.len) : (offset += t.bytes_per_block) {
        const d = scale_value orelse (random.float(f32) + 0.1) * 0.01;
        setHalf(row, offset + offsets.d, d);
        if (offsets.second) |second| {
            const m = if (scale_value != null) 0 else (random.float(f32) - 0.5) * 0.02;
            setHalf(row, offset + second, m);
        }
    }
    return row;
}

/// An activation row of the type's `vec_dot_type`, quantized from normal values.
fn randomActivations(random: std.Random, quant_type: QuantType, n: usize) []u8 {
    const act = traits(traits(quant_type).vec_dot_type);
    const row = act_bytes[0..act.rowBytes(n)];
    fillNormal(random, floats_b[0..n], 1);
    act.quantize_row(floats_b[0..n], row);
    return row;
}

/// Activations whose scales are 1 and whose integers lie in -limit..limit, so every partial
/// sum of the dot product is an integer (f32 floats are used only where they are exact).
fn integerActivations(random: std.Random, quant_type: QuantType, n: usize, limit: i8) []u8 {
    const act_type = traits(quant_type).vec_dot_type;
    const act = traits(act_type);
    const row = act_bytes[0..act.rowBytes(n)];
    switch (act_type) {
        .f32 => {
            for (floats_b[0..n]) |*v| v.* = @floatFromInt(random.intRangeAtMost(i8, -limit, limit));
            act.quantize_row(floats_b[0..n], row);
        },
        .q8_0, .q8_1 => for (0..n / 32) |i| {
            const bytes = row[i * act.bytes_per_block ..][0..act.bytes_per_block];
            setHalf(bytes, 0, 1);
            const qs_offset: usize = if (act_type == .q8_1) 4 else 2;
            if (act_type == .q8_1) setHalf(bytes, 2, 0);
            for (bytes[qs_offset..]) |*q| q.* = @bitCast(random.intRangeAtMost(i8, -limit, limit));
        },
        .q8_k => for (blocks.asBlocksMut(blocks.BlockQ8_K, row)) |*block| {
            block.d = 1;
            for (&block.qs) |*q| q.* = random.intRangeAtMost(i8, -limit, limit);
            for (&block.bsums, 0..) |*bsum, j| {
                var sum: i16 = 0;
                for (block.qs[16 * j ..][0..16]) |q| sum += q;
                bsum.* = sum;
            }
        },
        else => unreachable,
    }
    return row;
}

/// Σ w·x over the dequantized rows, in f64, and Σ |w·x| (the scale of rounding errors).
fn referenceDot(quant_type: QuantType, n: usize, w: []const u8, x: []const u8) [2]f64 {
    const t = traits(quant_type);
    t.dequantize_row(w, floats_a[0..n]);
    traits(t.vec_dot_type).dequantize_row(x, floats_b[0..n]);
    var sum: f64 = 0;
    var magnitude: f64 = 0;
    for (floats_a[0..n], floats_b[0..n]) |a, b| {
        sum += @as(f64, a) * b;
        magnitude += @abs(@as(f64, a) * b);
    }
    return .{ sum, magnitude };
}

test "dot() equals dotGeneric() and the dot of the dequantized rows, for every type" {
    var prng = std.Random.DefaultPrng.init(0x5eed_0001);
    const random = prng.random();
    for (weight_types) |quant_type| {
        const t = traits(quant_type);
        for (block_counts) |count| {
            const n = count * valuesPerBlock(quant_type);
            const w = randomWeights(random, quant_type, n, null);
            const x = randomActivations(random, quant_type, n);
            const simd_dot = t.dot.?(n, w, x);
            const generic_dot = t.dot_generic.?(n, w, x);
            const reference = referenceDot(quant_type, n, w, x);
            // Q4_1/Q5_1 add m·s with s = d·Σq rounded to f16: allow that rounding (2^-11).
            const rel: f64 = if (t.vec_dot_type == .q8_1) 1e-3 else 1e-5;
            const tolerance = rel * reference[1] + 1e-30;
            expectClose(generic_dot, simd_dot, 1e-5 * reference[1] + 1e-30) catch |err| {
                const args = .{ t.name, count, simd_dot, generic_dot };
                std.debug.print("{s} x{d}: simd {d} generic {d}\n", args);
                return err;
            };
            expectClose(reference[0], generic_dot, tolerance) catch |err| {
                const args = .{ t.name, count, generic_dot, reference[0] };
                std.debug.print("{s} x{d}: generic {d} reference {d}\n", args);
                return err;
            };
        }
    }
}

fn expectClose(expected: f64, actual: f32, tolerance: f64) !void {
    if (@abs(expected - actual) > tolerance) {
        const args = .{ expected, actual, tolerance };
        std.debug.print("expected {d}, got {d} (tolerance {e})\n", args);
        return error.TestExpectedApproxEq;
    }
}

test "dot() and dotGeneric() agree exactly on integer rows (unit scales), for every type" {
    var prng = std.Random.DefaultPrng.init(0x5eed_0002);
    const random = prng.random();
    for (weight_types) |quant_type| {
        const t = traits(quant_type);
        const is_k = t.vec_dot_type == .q8_k;
        for (block_counts[0..3]) |count| {
            const n = count * valuesPerBlock(quant_type);
            const w = randomWeights(random, quant_type, n, 1);
            const x = integerActivations(random, quant_type, n, if (is_k) 16 else 127);
            const reference = referenceDot(quant_type, n, w, x);
            // Premise: every partial sum is below 2^24, so f32 holds it exactly.
            try testing.expect(reference[1] < (1 << 24));
            const expected: f32 = @floatCast(reference[0]);
            testing.expectEqual(expected, t.dot_generic.?(n, w, x)) catch |err| {
                std.debug.print("{s} x{d}: generic\n", .{ t.name, count });
                return err;
            };
            testing.expectEqual(expected, t.dot.?(n, w, x)) catch |err| {
                std.debug.print("{s} x{d}: simd\n", .{ t.name, count });
                return err;
            };
        }
    }
}
