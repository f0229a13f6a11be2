//! Q8_0: 32 values per block, x = d·q with q in -128..127 and an f16 scale. Used both as a
//! weight type and as the activation type of the Q4_0/Q5_0/Q8_0 dot products.

const std = @import("std");
const assert = std.debug.assert;
const blocks = @import("blocks.zig");
const fp = @import("fp.zig");
const layout = @import("layout.zig");
const legacy_dot = @import("legacy_dot.zig");

pub const Block = blocks.BlockQ8_0;
pub const ActBlock = blocks.BlockQ8_0;
pub const has_min = false;
/// Added to `unpack`'s integers, they are all ≥ 0 (the unsigned operand of `vpdpbusd`).
pub const level_offset: u8 = 128;
const qk = blocks.qk_legacy;

/// Block bytes → f32 values; `dst.len` is the row length.
pub fn dequantizeRow(src: []const u8, dst: []f32) void {
    const row = blocks.asBlocks(Block, src);
    assert(row.len == blocks.blockCount(dst.len, qk));
    for (row, 0..) |*block, i| {
        const d = fp.halfToF32(block.d);
        for (block.qs, dst[i * qk ..][0..qk]) |q, *y| y.* = @as(f32, @floatFromInt(q)) * d;
    }
}

/// ggml's reference rounding: d = amax/127, q = roundf(x·(1/d)) (ties away from zero). This is
/// how llama-quantize writes Q8_0 weights; activations use `quantizeRowActivation`.
pub fn quantizeRow(src: []const f32, dst: []u8) void {
    const row = blocks.asBlocksMut(Block, dst);
    assert(row.len == blocks.blockCount(src.len, qk));
    for (row, 0..) |*block, i| quantizeBlock(src[i * qk ..][0..qk], block);
}

fn quantizeBlock(x: *const [qk]f32, block: *Block) void {
    var amax: f32 = 0;
    for (x) |v| amax = @max(amax, @abs(v));
    const d = amax / 127.0;
    const id: f32 = if (d != 0) 1.0 / d else 0;
    block.d = fp.f32ToHalf(d);
    for (x, &block.qs) |v, *q| q.* = @intCast(fp.roundAway(v * id));
}

/// Activations before a dot product, as llama.cpp's x86 CPU backend quantizes them
/// (`quantize_row_q8_0` with AVX2): id = 127/amax (not 1/d), q rounded to nearest even.
/// The two rules give different integers for some inputs, and any difference grows into
/// different logits, so this must be the exact rule (see ops/ggml_math.zig).
///
/// One block is one 32-lane vector: the maximum of |x| is exact in any order and each lane
/// rounds as `fp.nearestInt`, so the bytes equal `quantizeRowActivationScalar`'s (a token's
/// 8192 values took ~22 µs scalar, on the path between two matrix products).
pub fn quantizeRowActivation(src: []const f32, dst: []u8) void {
    const row = blocks.asBlocksMut(Block, dst);
    assert(row.len == blocks.blockCount(src.len, qk));
    for (row, 0..) |*block, i| {
        const x: @Vector(qk, f32) = src[i * qk ..][0..qk].*;
        const scales = scalesOfMax(@reduce(.Max, @abs(x)));
        block.d = fp.f32ToHalf(scales.d);
        const qs: @Vector(qk, i8) = @intCast(fp.nearestInts(qk, x * @as(@Vector(qk, f32), @splat(scales.id))));
        block.qs = qs;
    }
}

/// `quantizeRowActivation` one value at a time: the reference the vector version is tested
/// against.
pub fn quantizeRowActivationScalar(src: []const f32, dst: []u8) void {
    const row = blocks.asBlocksMut(Block, dst);
    assert(row.len == blocks.blockCount(src.len, qk));
    for (row, 0..) |*block, i| {
        const x = src[i * qk ..][0..qk];
        const scales = activationScales(x);
        block.d = fp.f32ToHalf(scales.d);
        for (x, &block.qs) |v, *q| q.* = @intCast(fp.nearestInt(v * scales.id));
    }
}

/// An activation block's scale d and multiplier id.
pub const ActivationScales = struct { d: f32, id: f32 };

/// d = amax/127 and the multiplier id = 127/amax (0 for an all-zero block).
pub fn activationScales(x: *const [qk]f32) ActivationScales {
    var amax: f32 = 0;
    for (x) |v| amax = @max(amax, @abs(v));
    return scalesOfMax(amax);
}

/// `activationScales` from the block's maximum of |x|.
pub fn scalesOfMax(amax: f32) ActivationScales {
    return .{ .d = amax / 127.0, .id = if (amax != 0) 127.0 / amax else 0 };
}

/// The block's integers as used by the dot product.
pub inline fn unpack(block: *const Block) [qk]i8 {
    return block.qs;
}

/// Dot product with a Q8_0 activation row (SIMD).
pub fn dot(n: usize, w: []const u8, x: []const u8) f32 {
    return legacy_dot.dot(@This(), n, w, x);
}

/// Four weight rows against one activation row, each result equal to `dot`'s.
pub fn dotRows4(n: usize, rows: layout.Rows4, x: []const u8) [4]f32 {
    return legacy_dot.dotRows4(@This(), n, rows, x);
}

/// Dot product with a Q8_0 activation row (scalar reference).
pub fn dotGeneric(n: usize, w: []const u8, x: []const u8) f32 {
    return legacy_dot.dotGeneric(@This(), n, w, x);
}

/// Expects `fast` to write the bytes `scalar` does for 200 rows of 8 blocks: normal values
/// of several magnitudes, halves after scaling (ties), repeated magnitudes, an all-zero block
/// (the test of Q8_0's and Q8_1's vector `quantizeRowActivation`).
pub fn expectActivationRowsMatch(
    comptime block_bytes: usize,
    fast: fn ([]const f32, []u8) void,
    scalar: fn ([]const f32, []u8) void,
    seed: u64,
) !void {
    var prng = std.Random.DefaultPrng.init(seed);
    const random = prng.random();
    const n = 8 * qk;
    var values: [n]f32 = undefined;
    for (0..200) |round| {
        for (&values, 0..) |*v, i| {
            v.* = random.floatNorm(f32) * @as(f32, @floatFromInt(1 + round % 7));
            const half: f32 = @floatFromInt(@as(i32, @intCast(i % 64)) - 32);
            if (round % 3 == 0 and i % 5 == 0) v.* = half * 0.5;
            if (round % 4 == 1 and i < qk) v.* = 0;
        }
        var fast_bytes: [8 * block_bytes]u8 = undefined;
        var scalar_bytes: [8 * block_bytes]u8 = undefined;
        fast(&values, &fast_bytes);
        scalar(&values, &scalar_bytes);
        try std.testing.expectEqualSlices(u8, &scalar_bytes, &fast_bytes);
    }
}

test "quantizeRowActivation() writes the bytes of quantizeRowActivationScalar()" {
    const fast = quantizeRowActivation;
    try expectActivationRowsMatch(@sizeOf(Block), fast, quantizeRowActivationScalar, 41);
}
