//! Q8_1: Q8_0 plus `s = d·Σq` per block; the activation type of the Q4_1/Q5_1 dot products
//! (ggml has no dot product with Q8_1 weights, and neither do we).

const std = @import("std");
const assert = std.debug.assert;
const blocks = @import("blocks.zig");
const fp = @import("fp.zig");
const q8_0 = @import("q8_0.zig");

pub const Block = blocks.BlockQ8_1;
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

/// ggml's reference rounding: d = amax/127, q = roundf(x·(1/d)), s = Σq·d.
pub fn quantizeRow(src: []const f32, dst: []u8) void {
    const row = blocks.asBlocksMut(Block, dst);
    assert(row.len == blocks.blockCount(src.len, qk));
    for (row, 0..) |*block, i| quantizeBlock(src[i * qk ..][0..qk], block);
}

/// Activations of the Q4_1/Q5_1 dot products, as llama.cpp's x86 CPU backend quantizes them
/// (see `q8_0.quantizeRowActivation`); s = d·Σq. A block at a time in vectors (a prefill
/// quantizes every token's row before each Q4_1 product: one value at a time it was 4 % of
/// SmolLM2's prefill).
pub fn quantizeRowActivation(src: []const f32, dst: []u8) void {
    const row = blocks.asBlocksMut(Block, dst);
    assert(row.len == blocks.blockCount(src.len, qk));
    for (row, 0..) |*block, i| {
        const x: @Vector(qk, f32) = src[i * qk ..][0..qk].*;
        const scales = q8_0.scalesOfMax(@reduce(.Max, @abs(x)));
        const rounded = fp.nearestInts(qk, x * @as(@Vector(qk, f32), @splat(scales.id)));
        block.qs = @as(@Vector(qk, i8), @intCast(rounded));
        block.d = fp.f32ToHalf(scales.d);
        const sum: f32 = @floatFromInt(@reduce(.Add, rounded));
        block.s = fp.f32ToHalf(scales.d * sum);
    }
}

/// `quantizeRowActivation` one value at a time: the reference the vector version is tested
/// against.
pub fn quantizeRowActivationScalar(src: []const f32, dst: []u8) void {
    const row = blocks.asBlocksMut(Block, dst);
    assert(row.len == blocks.blockCount(src.len, qk));
    for (row, 0..) |*block, i| {
        const x = src[i * qk ..][0..qk];
        const scales = q8_0.activationScales(x);
        var sum: i32 = 0;
        for (x, &block.qs) |v, *q| {
            const rounded = fp.nearestInt(v * scales.id);
            q.* = @intCast(rounded);
            sum += rounded;
        }
        block.d = fp.f32ToHalf(scales.d);
        block.s = fp.f32ToHalf(scales.d * @as(f32, @floatFromInt(sum)));
    }
}

fn quantizeBlock(x: *const [qk]f32, block: *Block) void {
    var amax: f32 = 0;
    for (x) |v| amax = @max(amax, @abs(v));
    const d = amax / 127.0;
    const id: f32 = if (d != 0) 1.0 / d else 0;
    var sum: i32 = 0;
    for (x, &block.qs) |v, *q| {
        const rounded = fp.roundAway(v * id);
        q.* = @intCast(rounded);
        sum += rounded;
    }
    block.d = fp.f32ToHalf(d);
    block.s = fp.f32ToHalf(@as(f32, @floatFromInt(sum)) * d);
}

test "quantizeRowActivation() writes the bytes of quantizeRowActivationScalar()" {
    const fast = quantizeRowActivation;
    try q8_0.expectActivationRowsMatch(@sizeOf(Block), fast, quantizeRowActivationScalar, 43);
}
