//! The SIMD driver shared by the legacy (32-value block) dot products: Q4_0, Q5_0 and Q8_0
//! against Q8_0 activations, Q4_1 and Q5_1 against Q8_1. Each weight type supplies how to
//! unpack one block into 32 signed integers; the driver multiplies them with the activation
//! integers (exact i32 sums), then applies the float scales once per block.
//!
//! The float steps are llama.cpp's x86 `ggml_vec_dot_*` in order, so results are bit-identical
//! to its CPU backend (ops/ggml_math.zig says why that matters): per block, 8 i32 lanes of
//! four products each are converted to f32 and fused-multiply-added, scaled by d_w·d_x, into
//! one 8-lane accumulator; the accumulator is reduced by halves; the minimum terms m_w·s_x of
//! Q4_1/Q5_1 are summed separately, block by block, and added last.

const std = @import("std");
const assert = std.debug.assert;
const blocks = @import("blocks.zig");
const fp = @import("fp.zig");
const simd = @import("simd.zig");

const Lanes8 = @Vector(8, f32);

/// Dot product of a row of `Kind.Block` weights with a row of `Kind.ActBlock` activations.
/// `Kind` declares `Block`, `ActBlock`, `has_min` (Q4_1/Q5_1: add `m_w·s_x` per block),
/// `unpack(*const Block) [32]i8` and `blockDotGeneric(*const Block, *const ActBlock) f32`.
pub fn dot(comptime Kind: type, n: usize, w: []const u8, x: []const u8) f32 {
    const weight_blocks = blocks.asBlocks(Kind.Block, w);
    const act_blocks = blocks.asBlocks(Kind.ActBlock, x);
    assert(weight_blocks.len == blocks.blockCount(n, blocks.qk_legacy));
    assert(act_blocks.len == weight_blocks.len);
    var acc: Lanes8 = @splat(0);
    var min_sum: f32 = 0;
    for (weight_blocks, act_blocks) |*wb, *xb| {
        const scale = fp.halfToF32(wb.d) * fp.halfToF32(xb.d);
        if (Kind.has_min) min_sum = minTerm(min_sum, wb.m, xb.s);
        const sums = simd.dotGroups4(32, Kind.unpack(wb), xb.qs);
        const sums_f32: Lanes8 = @floatFromInt(sums);
        acc = @mulAdd(Lanes8, @splat(scale), sums_f32, acc);
    }
    return simd.treeSum(8, acc) + min_sum;
}

/// min_sum + m_w·s_x as llama.cpp's build computes `summs += m*s`: one fused multiply-add.
inline fn minTerm(min_sum: f32, m: f16, s: f16) f32 {
    return @mulAdd(f32, fp.halfToF32(m), fp.halfToF32(s), min_sum);
}

/// The scalar reference: the same steps as `dot`, one lane at a time.
pub fn dotGeneric(comptime Kind: type, n: usize, w: []const u8, x: []const u8) f32 {
    const weight_blocks = blocks.asBlocks(Kind.Block, w);
    const act_blocks = blocks.asBlocks(Kind.ActBlock, x);
    assert(weight_blocks.len == blocks.blockCount(n, blocks.qk_legacy));
    assert(act_blocks.len == weight_blocks.len);
    var acc: [8]f32 = @splat(0);
    var min_sum: f32 = 0;
    for (weight_blocks, act_blocks) |*wb, *xb| {
        const scale = fp.halfToF32(wb.d) * fp.halfToF32(xb.d);
        if (Kind.has_min) min_sum = minTerm(min_sum, wb.m, xb.s);
        const wq = Kind.unpack(wb);
        for (&acc, 0..) |*lane, l| {
            var sum: i32 = 0;
            for (4 * l..4 * l + 4) |j| sum += @as(i32, wq[j]) * xb.qs[j];
            lane.* = @mulAdd(f32, scale, @floatFromInt(sum), lane.*);
        }
    }
    return simd.treeSum(8, acc) + min_sum;
}
