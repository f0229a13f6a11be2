//! Q3_K: 256 values in 16 sub-blocks of 16; x = d·s·(q - 4·(1 - h)) with a signed 6-bit s per
//! sub-block, 2-bit q (ordered as Q2_K) and a high bit h. Dot product against Q8_K.
//!
//! The high bit of value 32k + l (k < 8, l < 32) is bit k of `hmask[l]`.

const std = @import("std");
const assert = std.debug.assert;
const blocks = @import("blocks.zig");
const fp = @import("fp.zig");
const k_dot = @import("k_dot.zig");
const k_scales = @import("k_scales.zig");
const k_search = @import("k_search.zig");
const q2_k = @import("q2_k.zig");
const simd = @import("simd.zig");

pub const Block = blocks.BlockQ3_K;
pub const ActBlock = blocks.BlockQ8_K;
const qk = blocks.qk_k;

/// The 256 integers (-4..3) of a block, value order.
fn levels(block: *const Block) [qk]i8 {
    const low = q2_k.crumbs(&block.qs);
    var out: [qk]i8 = undefined;
    for (0..8) |k| {
        const bit: u3 = @intCast(k);
        for (block.hmask, 0..) |mask, l| {
            const high_missing: i8 = if ((mask >> bit) & 1 == 0) 4 else 0;
            out[32 * k + l] = @as(i8, @intCast(low[32 * k + l])) - high_missing;
        }
    }
    return out;
}

/// Block bytes → f32 values; `dst.len` is the row length.
pub fn dequantizeRow(src: []const u8, dst: []f32) void {
    const row = blocks.asBlocks(Block, src);
    assert(row.len == blocks.blockCount(dst.len, qk));
    for (row, 0..) |*block, i| {
        const d = fp.halfToF32(block.d);
        const q = levels(block);
        for (0..16) |s| {
            const scale = d * @as(f32, @floatFromInt(k_scales.scaleQ3(&block.scales, s)));
            for (dst[i * qk + 16 * s ..][0..16], q[16 * s ..][0..16]) |*y, level| {
                y.* = scale * @as(f32, @floatFromInt(level));
            }
        }
    }
}

/// ggml's reference algorithm: per sub-block of 16, `k_search.searchScaleQ3` (nmax 4);
/// scales quantized to signed 6 bits as -32/max_scale; levels re-rounded against them.
pub fn quantizeRow(src: []const f32, dst: []u8) void {
    const row = blocks.asBlocksMut(Block, dst);
    assert(row.len == blocks.blockCount(src.len, qk));
    for (row, 0..) |*block, i| quantizeBlock(src[i * qk ..][0..qk], block);
}

fn quantizeBlock(x: *const [qk]f32, block: *Block) void {
    var q: [qk]u8 = undefined;
    var scales: [16]f32 = undefined;
    var max_scale: f32 = 0;
    var max_abs_scale: f32 = 0;
    for (0..16) |s| {
        scales[s] = k_search.searchScaleQ3(x[16 * s ..][0..16], 4, q[16 * s ..][0..16]);
        if (@abs(scales[s]) > max_abs_scale) {
            max_abs_scale = @abs(scales[s]);
            max_scale = scales[s];
        }
    }
    var biased: [16]u8 = @splat(32);
    if (max_scale != 0) {
        const iscale = -32.0 / max_scale;
        for (&biased, scales) |*b, scale| {
            b.* = @intCast(fp.nearestIntClamped(iscale * scale, -32, 31) + 32);
        }
        block.d = fp.f32ToHalf(1 / iscale);
    } else {
        block.d = fp.f32ToHalf(0);
    }
    k_scales.packScaleQ3(&biased, &block.scales);
    const d = fp.halfToF32(block.d);
    for (0..16) |s| {
        const scale = d * @as(f32, @floatFromInt(k_scales.scaleQ3(&block.scales, s)));
        if (scale == 0) continue;
        for (x[16 * s ..][0..16], q[16 * s ..][0..16]) |v, *level| {
            level.* = @intCast(fp.nearestIntClamped(v / scale, -4, 3) + 4);
        }
    }
    @memset(&block.hmask, 0);
    for (&q, 0..) |*level, j| {
        if (level.* > 3) {
            block.hmask[j % 32] |= @as(u8, 1) << @intCast(j / 32);
            level.* -= 4;
        }
    }
    q2_k.packCrumbs(&q, &block.qs);
}

/// One block, scalar: d_w·d_x·Σ s·Σ q·q_x.
pub fn blockDotGeneric(wb: *const Block, xb: *const ActBlock) f32 {
    const q = levels(wb);
    var isum: i32 = 0;
    for (0..16) |s| {
        var sub: i32 = 0;
        for (q[16 * s ..][0..16], xb.qs[16 * s ..][0..16]) |a, b| sub += @as(i32, a) * b;
        isum += @as(i32, k_scales.scaleQ3(&wb.scales, s)) * sub;
    }
    return fp.halfToF32(wb.d) * xb.d * @as(f32, @floatFromInt(isum));
}

/// One block, SIMD: 64 values (two shifts of one 32-byte half) per step.
pub fn blockDotSimd(wb: *const Block, xb: *const ActBlock) f32 {
    const two_bits: @Vector(32, u8) = @splat(3);
    const one: @Vector(32, u8) = @splat(1);
    const zero: @Vector(32, u8) = @splat(0);
    const four: @Vector(32, i8) = @splat(4);
    const zero_i8: @Vector(32, i8) = @splat(0);
    const hmask: @Vector(32, u8) = wb.hmask;
    var scales: [16]i16 = undefined;
    for (&scales, 0..) |*scale, s| scale.* = k_scales.scaleQ3(&wb.scales, s);
    const scale_lanes: [128]i16 = simd.repeatLanes(i16, 16, 8, @as(@Vector(16, i16), scales));
    var acc: @Vector(16, i32) = @splat(0);
    inline for (0..4) |chunk| {
        const packed_q: @Vector(32, u8) = wb.qs[32 * (chunk / 2) ..][0..32].*;
        var parts: [2]@Vector(32, i8) = undefined;
        inline for (0..2) |part| {
            const k = 2 * chunk + part; // which group of 32 values
            const shift = 2 * (k % 4);
            const low: @Vector(32, i8) = @bitCast((packed_q >> @splat(shift)) & two_bits);
            const missing = ((hmask >> @splat(k)) & one) == zero;
            parts[part] = low - @select(i8, missing, four, zero_i8);
        }
        const q = simd.concat(i8, 32, parts[0], parts[1]);
        const act: @Vector(64, i8) = xb.qs[64 * chunk ..][0..64].*;
        const scale: @Vector(32, i16) = scale_lanes[32 * chunk ..][0..32].*;
        acc += simd.dotGroups4Scaled(64, q, act, scale);
    }
    return fp.halfToF32(wb.d) * xb.d * @as(f32, @floatFromInt(@reduce(.Add, acc)));
}

/// Dot product with a Q8_K activation row (SIMD).
pub fn dot(n: usize, w: []const u8, x: []const u8) f32 {
    return k_dot.rowDot(Block, blockDotSimd, n, w, x);
}

/// Dot product with a Q8_K activation row (scalar reference).
pub fn dotGeneric(n: usize, w: []const u8, x: []const u8) f32 {
    return k_dot.rowDot(Block, blockDotGeneric, n, w, x);
}
