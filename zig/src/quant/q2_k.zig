//! Q2_K: 256 values in 16 sub-blocks of 16; x = d·(sc & 15)·q - dmin·(sc >> 4) with a byte sc
//! per sub-block and 2-bit q. Dot product against Q8_K activations.
//!
//! Value order, per half h (values 128h.., qs bytes 32h..32h+31): values 128h + 32k + l
//! (k < 4, l < 32) are bits 2k..2k+1 of byte 32h + l.

const std = @import("std");
const assert = std.debug.assert;
const blocks = @import("blocks.zig");
const fp = @import("fp.zig");
const k_dot = @import("k_dot.zig");
const k_search = @import("k_search.zig");
const simd = @import("simd.zig");

pub const Block = blocks.BlockQ2_K;
pub const ActBlock = blocks.BlockQ8_K;
const qk = blocks.qk_k;

/// The 256 two-bit integers of a 64-byte array, value order (shared with Q3_K).
pub fn crumbs(qs: *const [qk / 4]u8) [qk]u8 {
    var out: [qk]u8 = undefined;
    for (0..2) |h| {
        for (0..4) |k| {
            const shift: u3 = @intCast(2 * k);
            for (qs[32 * h ..][0..32], out[128 * h + 32 * k ..][0..32]) |byte, *level| {
                level.* = (byte >> shift) & 3;
            }
        }
    }
    return out;
}

/// Packs 256 two-bit integers into the order `crumbs` reads (shared with Q3_K).
pub fn packCrumbs(q: *const [qk]u8, qs: *[qk / 4]u8) void {
    for (0..2) |h| {
        for (qs[32 * h ..][0..32], 0..) |*byte, l| {
            const v = q[128 * h + l ..];
            byte.* = v[0] | (v[32] << 2) | (v[64] << 4) | (v[96] << 6);
        }
    }
}

/// Block bytes → f32 values; `dst.len` is the row length.
pub fn dequantizeRow(src: []const u8, dst: []f32) void {
    const row = blocks.asBlocks(Block, src);
    assert(row.len == blocks.blockCount(dst.len, qk));
    for (row, 0..) |*block, i| {
        const d = fp.halfToF32(block.d);
        const dmin = fp.halfToF32(block.dmin);
        const q = crumbs(&block.qs);
        for (block.scales, 0..) |sc, s| {
            const scale = d * @as(f32, @floatFromInt(sc & 0x0F));
            const min = dmin * @as(f32, @floatFromInt(sc >> 4));
            for (dst[i * qk + 16 * s ..][0..16], q[16 * s ..][0..16]) |*y, level| {
                y.* = scale * @as(f32, @floatFromInt(level)) - min;
            }
        }
    }
}

/// ggml's reference algorithm: per sub-block of 16, `k_search.searchScaleMin` (nmax 3,
/// weights |x|, absolute error, 16 grids from -0.5 in steps of 0.1); scales and mins
/// quantized to 4 bits against the block's largest; levels re-rounded against them.
pub fn quantizeRow(src: []const f32, dst: []u8) void {
    const row = blocks.asBlocksMut(Block, dst);
    assert(row.len == blocks.blockCount(src.len, qk));
    for (row, 0..) |*block, i| quantizeBlock(src[i * qk ..][0..qk], block);
}

fn quantizeBlock(x: *const [qk]f32, block: *Block) void {
    var q: [qk]u8 = undefined;
    var scratch: [16]u8 = undefined;
    var weights: [16]f32 = undefined;
    var scales: [16]f32 = undefined;
    var mins: [16]f32 = undefined;
    var max_scale: f32 = 0;
    var max_min: f32 = 0;
    const options: k_search.ScaleMinSearch =
        .{ .nmax = 3, .rmin = -0.5, .rdelta = 0.1, .nstep = 15, .use_mad = true };
    for (0..16) |s| {
        const sub = x[16 * s ..][0..16];
        for (&weights, sub) |*w, v| w.* = @abs(v);
        const fit = k_search.searchScaleMin(sub, &weights, q[16 * s ..][0..16], &scratch, options);
        scales[s] = fit.scale;
        mins[s] = fit.min;
        max_scale = @max(max_scale, fit.scale);
        max_min = @max(max_min, fit.min);
    }
    const inv_scale: f32 = if (max_scale > 0) 15 / max_scale else 0;
    const inv_min: f32 = if (max_min > 0) 15 / max_min else 0;
    for (&block.scales, scales, mins) |*sc, scale, min| {
        const scale4: u8 = @intCast(fp.nearestIntClamped(inv_scale * scale, 0, 15));
        const min4: u8 = @intCast(fp.nearestIntClamped(inv_min * min, 0, 15));
        sc.* = scale4 | (min4 << 4);
    }
    block.d = fp.f32ToHalf(max_scale / 15);
    block.dmin = fp.f32ToHalf(max_min / 15);
    const d = fp.halfToF32(block.d);
    const dmin = fp.halfToF32(block.dmin);
    for (block.scales, 0..) |sc, s| {
        const scale = d * @as(f32, @floatFromInt(sc & 0x0F));
        if (scale == 0) continue;
        const min = dmin * @as(f32, @floatFromInt(sc >> 4));
        for (x[16 * s ..][0..16], q[16 * s ..][0..16]) |v, *level| {
            level.* = @intCast(fp.nearestIntClamped((v + min) / scale, 0, 3));
        }
    }
    packCrumbs(&q, &block.qs);
}

fn minSum(wb: *const Block, xb: *const ActBlock) i32 {
    var sum: i32 = 0;
    for (wb.scales, 0..) |sc, s| sum += @as(i32, sc >> 4) * xb.bsums[s];
    return sum;
}

/// One block, scalar: d_w·d_x·Σ (sc & 15)·Σ q·q_x - dmin_w·d_x·Σ (sc >> 4)·Σ q_x.
pub fn blockDotGeneric(wb: *const Block, xb: *const ActBlock) f32 {
    const q = crumbs(&wb.qs);
    var isum: i32 = 0;
    for (wb.scales, 0..) |sc, s| {
        var sub: i32 = 0;
        for (q[16 * s ..][0..16], xb.qs[16 * s ..][0..16]) |a, b| sub += @as(i32, a) * b;
        isum += @as(i32, sc & 0x0F) * sub;
    }
    const d = fp.halfToF32(wb.d) * xb.d;
    const dmin = fp.halfToF32(wb.dmin) * xb.d;
    return d * @as(f32, @floatFromInt(isum)) - dmin * @as(f32, @floatFromInt(minSum(wb, xb)));
}

/// One block, SIMD: 64 values (two shifts of one 32-byte half) per step.
pub fn blockDotSimd(wb: *const Block, xb: *const ActBlock) f32 {
    const two_bits: @Vector(32, u8) = @splat(3);
    const sc: @Vector(16, u8) = wb.scales;
    const scale4: @Vector(16, i16) = sc & @as(@Vector(16, u8), @splat(0x0F));
    const scale_lanes: [128]i16 = simd.repeatLanes(i16, 16, 8, scale4);
    var acc: @Vector(16, i32) = @splat(0);
    inline for (0..4) |chunk| {
        const packed_q: @Vector(32, u8) = wb.qs[32 * (chunk / 2) ..][0..32].*;
        const shift = 4 * (chunk % 2);
        const first = (packed_q >> @splat(shift)) & two_bits;
        const second = (packed_q >> @splat(shift + 2)) & two_bits;
        const q: @Vector(64, i8) = @bitCast(simd.concat(u8, 32, first, second));
        const act: @Vector(64, i8) = xb.qs[64 * chunk ..][0..64].*;
        const scale: @Vector(32, i16) = scale_lanes[32 * chunk ..][0..32].*;
        acc += simd.dotGroups4Scaled(64, q, act, scale);
    }
    const d = fp.halfToF32(wb.d) * xb.d;
    const dmin = fp.halfToF32(wb.dmin) * xb.d;
    const isum: f32 = @floatFromInt(@reduce(.Add, acc));
    return d * isum - dmin * @as(f32, @floatFromInt(minSum(wb, xb)));
}

/// Dot product with a Q8_K activation row (SIMD).
pub fn dot(n: usize, w: []const u8, x: []const u8) f32 {
    return k_dot.rowDot(Block, blockDotSimd, n, w, x);
}

/// Dot product with a Q8_K activation row (scalar reference).
pub fn dotGeneric(n: usize, w: []const u8, x: []const u8) f32 {
    return k_dot.rowDot(Block, blockDotGeneric, n, w, x);
}
