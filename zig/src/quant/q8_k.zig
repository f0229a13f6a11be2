//! Q8_K: 256 values per block with an f32 scale and the sums of each 16 values; the
//! activation type of every K-quant dot product (ggml has no dot product with Q8_K weights,
//! and neither do we).

const std = @import("std");
const assert = std.debug.assert;
const blocks = @import("blocks.zig");
const fp = @import("fp.zig");

pub const Block = blocks.BlockQ8_K;
const qk = blocks.qk_k;

/// Block bytes → f32 values; `dst.len` is the row length.
pub fn dequantizeRow(src: []const u8, dst: []f32) void {
    const row = blocks.asBlocks(Block, src);
    assert(row.len == blocks.blockCount(dst.len, qk));
    for (row, 0..) |*block, i| {
        const d = block.d;
        for (block.qs, dst[i * qk ..][0..qk]) |q, *y| y.* = @as(f32, @floatFromInt(q)) * d;
    }
}

/// ggml's reference rounding: with `max` the value of largest magnitude (signed),
/// iscale = -127/max, q = min(127, nearest_int(iscale·x)) (ties to even), d = 1/iscale,
/// bsums[i] = Σ q over values 16i..16i+15. (ggml once used -128/max; it changed to -127 so
/// that q never needs 8 bits of magnitude, and llama.cpp quantizes with -127 today.)
pub fn quantizeRow(src: []const f32, dst: []u8) void {
    const row = blocks.asBlocksMut(Block, dst);
    assert(row.len == blocks.blockCount(src.len, qk));
    for (row, 0..) |*block, i| quantizeBlock(src[i * qk ..][0..qk], block);
}

/// One block as 256-lane vectors; the bytes equal `quantizeBlockScalar`'s (the value of
/// largest magnitude is the first lane that reaches the maximum of |x|, as the scalar scan
/// keeps the first).
fn quantizeBlock(x: *const [qk]f32, block: *Block) void {
    const values: @Vector(qk, f32) = x.*;
    const magnitudes = @abs(values);
    const amax = @reduce(.Max, magnitudes);
    if (amax == 0) {
        block.* = .{ .d = 0, .qs = @splat(0), .bsums = @splat(0) };
        return;
    }
    const at_max: u256 = @bitCast(magnitudes == @as(@Vector(qk, f32), @splat(amax)));
    const max = x[@ctz(at_max)];
    const iscale = -127.0 / max;
    const ints = fp.nearestInts(qk, values * @as(@Vector(qk, f32), @splat(iscale)));
    const qs: @Vector(qk, i8) = @intCast(@min(@as(@Vector(qk, i32), @splat(127)), ints));
    block.qs = qs;
    const sixteens: [qk / 16]@Vector(16, i8) = @bitCast(qs);
    for (&block.bsums, sixteens) |*bsum, values16| {
        bsum.* = @reduce(.Add, @as(@Vector(16, i16), values16));
    }
    block.d = 1 / iscale;
}

/// `quantizeBlock` one value at a time: the reference the vector version is tested against.
fn quantizeBlockScalar(x: *const [qk]f32, block: *Block) void {
    var amax: f32 = 0;
    var max: f32 = 0;
    for (x) |v| {
        if (@abs(v) > amax) {
            amax = @abs(v);
            max = v;
        }
    }
    if (amax == 0) {
        block.d = 0;
        @memset(&block.qs, 0);
        @memset(&block.bsums, 0);
        return;
    }
    const iscale = -127.0 / max;
    for (x, &block.qs) |v, *q| q.* = @intCast(@min(127, fp.nearestInt(iscale * v)));
    for (&block.bsums, 0..) |*bsum, j| {
        var sum: i16 = 0;
        for (block.qs[j * 16 ..][0..16]) |q| sum += q;
        bsum.* = sum;
    }
    block.d = 1 / iscale;
}

test "quantizeBlock() writes the bytes of quantizeBlockScalar()" {
    var prng = std.Random.DefaultPrng.init(43);
    const random = prng.random();
    var values: [qk]f32 = undefined;
    for (0..300) |round| {
        for (&values, 0..) |*v, i| {
            v.* = random.floatNorm(f32) * @as(f32, @floatFromInt(1 + round % 5));
            // Integers give ties after scaling; round 2 mod 4 puts +m and -m in one block
            // (the first of them sets the sign of the scale); round 3 mod 4 is all zeros.
            if (round % 4 == 1) v.* = @floatFromInt(@as(i32, @intCast(i % 19)) - 9);
            if (round % 4 == 3) v.* = 0;
        }
        if (round % 4 == 2) {
            values[7 + round % 50] = -9.5;
            values[200] = 9.5;
        }
        var fast: Block = undefined;
        var scalar: Block = undefined;
        quantizeBlock(&values, &fast);
        quantizeBlockScalar(&values, &scalar);
        try std.testing.expectEqualSlices(u8, std.mem.asBytes(&scalar), std.mem.asBytes(&fast));
    }
}
