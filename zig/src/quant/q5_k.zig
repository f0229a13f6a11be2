//! Q5_K: 256 values in 8 sub-blocks of 32; x = d·sc·q - dmin·m with 6-bit sc, m (packed as
//! Q4_K) and 5-bit q. Dot product against Q8_K activations.
//!
//! Value order: as Q4_K for the low 4 bits; the fifth bit of value 64c + l (l < 32) is bit 2c
//! of `qh[l]`, and of value 64c + 32 + l bit 2c + 1.

const std = @import("std");
const assert = std.debug.assert;
const blocks = @import("blocks.zig");
const fp = @import("fp.zig");
const k_dot = @import("k_dot.zig");
const k_scales = @import("k_scales.zig");
const q4_k = @import("q4_k.zig");
const simd = @import("simd.zig");

pub const Block = blocks.BlockQ5_K;
pub const ActBlock = blocks.BlockQ8_K;
const qk = blocks.qk_k;

/// The 256 integers q (0..31) of a block, value order.
fn levels(block: *const Block) [qk]u8 {
    var out: [qk]u8 = undefined;
    for (0..4) |c| {
        const shift: u3 = @intCast(2 * c);
        for (block.qs[32 * c ..][0..32], block.qh, 0..) |byte, high, l| {
            out[64 * c + l] = (byte & 0x0F) | (((high >> shift) & 1) << 4);
            out[64 * c + 32 + l] = (byte >> 4) | (((high >> (shift + 1)) & 1) << 4);
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
        const dmin = fp.halfToF32(block.dmin);
        const q = levels(block);
        for (0..8) |s| {
            const sm = k_scales.scaleMin(&block.scales, s);
            const scale = d * @as(f32, @floatFromInt(sm.scale));
            const min = dmin * @as(f32, @floatFromInt(sm.min));
            for (dst[i * qk + 32 * s ..][0..32], q[32 * s ..][0..32]) |*y, level| {
                y.* = scale * @as(f32, @floatFromInt(level)) - min;
            }
        }
    }
}

/// ggml's reference algorithm, as Q4_K with nmax 31 and 16 grids from -0.5 in steps of 0.1.
pub fn quantizeRow(src: []const f32, dst: []u8) void {
    const row = blocks.asBlocksMut(Block, dst);
    assert(row.len == blocks.blockCount(src.len, qk));
    for (row, 0..) |*block, i| quantizeBlock(src[i * qk ..][0..qk], block);
}

fn quantizeBlock(x: *const [qk]f32, block: *Block) void {
    const q = q4_k.quantizeScales(x, block, 31);
    @memset(&block.qh, 0);
    for (0..4) |c| {
        const shift: u3 = @intCast(2 * c);
        for (block.qs[32 * c ..][0..32], &block.qh, 0..) |*byte, *high, l| {
            const low_value = q[64 * c + l];
            const high_value = q[64 * c + 32 + l];
            byte.* = (low_value & 0x0F) | ((high_value & 0x0F) << 4);
            high.* |= ((low_value >> 4) << shift) | ((high_value >> 4) << (shift + 1));
        }
    }
}

/// One block, scalar: d_w·d_x·Σ sc·Σ q·q_x - dmin_w·d_x·Σ m·Σ q_x.
pub fn blockDotGeneric(wb: *const Block, xb: *const ActBlock) f32 {
    const q = levels(wb);
    var isum: i32 = 0;
    for (0..8) |s| {
        var sub: i32 = 0;
        for (q[32 * s ..][0..32], xb.qs[32 * s ..][0..32]) |a, b| sub += @as(i32, a) * b;
        isum += @as(i32, k_scales.scaleMin(&wb.scales, s).scale) * sub;
    }
    const d = fp.halfToF32(wb.d) * xb.d;
    const dmin = fp.halfToF32(wb.dmin) * xb.d;
    const min_sum: f32 = @floatFromInt(q4_k.minSum(&wb.scales, xb));
    return d * @as(f32, @floatFromInt(isum)) - dmin * min_sum;
}

/// One block, SIMD: 64 values per step, as Q4_K plus the fifth bits.
pub fn blockDotSimd(wb: *const Block, xb: *const ActBlock) f32 {
    const one: @Vector(32, u8) = @splat(1);
    const high: @Vector(32, u8) = wb.qh;
    const unpacked = k_scales.unpackScaleMin(&wb.scales);
    const scales: @Vector(8, i16) = @as(@Vector(8, u8), unpacked.scale);
    const scale_lanes: [128]i16 = simd.repeatLanes(i16, 8, 16, scales);
    var acc: @Vector(16, i32) = @splat(0);
    inline for (0..4) |c| {
        const packed_q: @Vector(32, u8) = wb.qs[32 * c ..][0..32].*;
        const low = (packed_q & @as(@Vector(32, u8), @splat(0x0F))) |
            (((high >> @splat(2 * c)) & one) << @splat(4));
        const upper = (packed_q >> @splat(4)) | (((high >> @splat(2 * c + 1)) & one) << @splat(4));
        const q: @Vector(64, i8) = @bitCast(simd.concat(u8, 32, low, upper));
        const act: @Vector(64, i8) = xb.qs[64 * c ..][0..64].*;
        const scale: @Vector(32, i16) = scale_lanes[32 * c ..][0..32].*;
        acc += simd.dotGroups4Scaled(64, q, act, scale);
    }
    const isum = @reduce(.Add, acc);
    const d = fp.halfToF32(wb.d) * xb.d;
    const dmin = fp.halfToF32(wb.dmin) * xb.d;
    const min_sum: f32 = @floatFromInt(q4_k.minSumSimd(unpacked.min, xb));
    return d * @as(f32, @floatFromInt(isum)) - dmin * min_sum;
}

/// Dot product with a Q8_K activation row (SIMD).
pub fn dot(n: usize, w: []const u8, x: []const u8) f32 {
    return k_dot.rowDot(Block, blockDotSimd, n, w, x);
}

/// Dot product with a Q8_K activation row (scalar reference).
pub fn dotGeneric(n: usize, w: []const u8, x: []const u8) f32 {
    return k_dot.rowDot(Block, blockDotGeneric, n, w, x);
}
