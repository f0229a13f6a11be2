//! Row loop shared by the K-quant dot products: one 256-value weight block against one Q8_K
//! activation block at a time, summed in block order. The block kernels compute an exact
//! integer sum per block and apply the float scales once, as ggml does.

const std = @import("std");
const assert = std.debug.assert;
const blocks = @import("blocks.zig");

/// Σ over blocks of `blockDot(weights[i], activations[i])` for a row of `n` values.
pub inline fn rowDot(
    comptime Block: type,
    comptime blockDot: fn (*const Block, *const blocks.BlockQ8_K) f32,
    n: usize,
    w: []const u8,
    x: []const u8,
) f32 {
    const weight_blocks = blocks.asBlocks(Block, w);
    const act_blocks = blocks.asBlocks(blocks.BlockQ8_K, x);
    assert(weight_blocks.len == blocks.blockCount(n, blocks.qk_k));
    assert(act_blocks.len == weight_blocks.len);
    var sum: f32 = 0;
    for (weight_blocks, act_blocks) |*wb, *xb| sum += blockDot(wb, xb);
    return sum;
}
