//! The SIMD driver shared by the legacy (32-value block) dot products: Q4_0, Q5_0 and Q8_0
//! against Q8_0 activations, Q4_1 and Q5_1 against Q8_1. Each weight type supplies how to
//! unpack one block into 32 signed integers; the driver multiplies them with the activation
//! integers (exact i32 sums), then applies the float scales once per block, as ggml does.
//!
//! A step handles `simd.legacy_blocks_per_step` blocks (2 with 512-bit registers): their
//! integer sums land in 8 i32 lanes per block, are scaled by that block's `d_w·d_x` and added
//! into an f32 accumulator; the remainder runs the type's scalar block kernel.

const std = @import("std");
const assert = std.debug.assert;
const blocks = @import("blocks.zig");
const fp = @import("fp.zig");
const simd = @import("simd.zig");

/// Dot product of a row of `Kind.Block` weights with a row of `Kind.ActBlock` activations.
/// `Kind` declares `Block`, `ActBlock`, `has_min` (Q4_1/Q5_1: add `m_w·s_x` per block),
/// `unpack(*const Block) [32]i8` and `blockDotGeneric(*const Block, *const ActBlock) f32`.
pub fn dot(comptime Kind: type, n: usize, w: []const u8, x: []const u8) f32 {
    const weight_blocks = blocks.asBlocks(Kind.Block, w);
    const act_blocks = blocks.asBlocks(Kind.ActBlock, x);
    assert(weight_blocks.len == blocks.blockCount(n, blocks.qk_legacy));
    assert(act_blocks.len == weight_blocks.len);

    const step = simd.legacy_blocks_per_step;
    // f16 scales of a step converted together: d of each block, then m (weights) / s
    // (activations) of each block when the type has a minimum.
    const half_count = if (Kind.has_min) 2 * step else step;
    const convert_count = if (half_count <= 4) 4 else 8;
    comptime std.debug.assert(half_count <= convert_count);
    var acc: @Vector(8 * step, f32) = @splat(0);
    var min_acc: @Vector(convert_count, f32) = @splat(0);
    var i: usize = 0;
    while (i + step <= weight_blocks.len) : (i += step) {
        var weight_q: [32 * step]i8 = undefined;
        var act_q: [32 * step]i8 = undefined;
        var weight_halves: [convert_count]u16 = @splat(0);
        var act_halves: [convert_count]u16 = @splat(0);
        inline for (0..step) |s| {
            const wb = &weight_blocks[i + s];
            const xb = &act_blocks[i + s];
            weight_q[s * 32 ..][0..32].* = Kind.unpack(wb);
            act_q[s * 32 ..][0..32].* = xb.qs;
            weight_halves[s] = @bitCast(wb.d);
            act_halves[s] = @bitCast(xb.d);
            if (Kind.has_min) {
                weight_halves[step + s] = @bitCast(wb.m);
                act_halves[step + s] = @bitCast(xb.s);
            }
        }
        const products = fp.halvesToF32(convert_count, weight_halves) *
            fp.halvesToF32(convert_count, act_halves);
        var scale: [8 * step]f32 = undefined;
        inline for (0..step) |s| scale[s * 8 ..][0..8].* = @splat(products[s]);
        if (Kind.has_min) min_acc += products;
        const sums = simd.dotGroups4(32 * step, weight_q, act_q);
        const sums_f32: @Vector(8 * step, f32) = @floatFromInt(sums);
        acc = @mulAdd(@Vector(8 * step, f32), sums_f32, scale, acc);
    }
    // Lanes step.. of min_acc hold Σ m·s (lanes ..step hold scales, not part of the sum).
    var min_sum: f32 = 0;
    inline for (step..half_count) |lane| min_sum += min_acc[lane];
    var sum = @reduce(.Add, acc) + min_sum;
    while (i < weight_blocks.len) : (i += 1) {
        sum += Kind.blockDotGeneric(&weight_blocks[i], &act_blocks[i]);
    }
    return sum;
}

/// The scalar reference: each block's integer sum, scaled, summed in block order.
pub fn dotGeneric(comptime Kind: type, n: usize, w: []const u8, x: []const u8) f32 {
    const weight_blocks = blocks.asBlocks(Kind.Block, w);
    const act_blocks = blocks.asBlocks(Kind.ActBlock, x);
    assert(weight_blocks.len == blocks.blockCount(n, blocks.qk_legacy));
    assert(act_blocks.len == weight_blocks.len);
    var sum: f32 = 0;
    for (weight_blocks, act_blocks) |*wb, *xb| sum += Kind.blockDotGeneric(wb, xb);
    return sum;
}
