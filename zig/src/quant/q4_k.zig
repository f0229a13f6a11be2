//! Q4_K: 256 values in 8 sub-blocks of 32; x = d·sc·q - dmin·m with 6-bit sc, m per sub-block
//! and 4-bit q. Dot product against Q8_K activations.
//!
//! Value order: bytes 32c..32c+31 of `qs` hold values 64c..64c+31 in their low nibbles and
//! 64c+32..64c+63 in their high nibbles (sub-blocks 2c and 2c+1).

const std = @import("std");
const assert = std.debug.assert;
const blocks = @import("blocks.zig");
const fp = @import("fp.zig");
const k_dot = @import("k_dot.zig");
const k_scales = @import("k_scales.zig");
const k_search = @import("k_search.zig");
const simd = @import("simd.zig");

pub const Block = blocks.BlockQ4_K;
pub const ActBlock = blocks.BlockQ8_K;
const qk = blocks.qk_k;

/// The 256 integers q (0..15) of a block, value order.
fn levels(block: *const Block) [qk]u8 {
    var out: [qk]u8 = undefined;
    for (0..4) |c| {
        for (block.qs[32 * c ..][0..32], 0..) |byte, l| {
            out[64 * c + l] = byte & 0x0F;
            out[64 * c + 32 + l] = byte >> 4;
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

/// ggml's reference algorithm: per sub-block, `k_search.searchScaleMin` (nmax 15, weights
/// rms(x) + |x|, 21 grids from -1 in steps of 0.1); scales and mins quantized to 6 bits
/// against the block's largest; levels re-rounded against the quantized scales.
pub fn quantizeRow(src: []const f32, dst: []u8) void {
    const row = blocks.asBlocksMut(Block, dst);
    assert(row.len == blocks.blockCount(src.len, qk));
    for (row, 0..) |*block, i| quantizeBlock(src[i * qk ..][0..qk], block, 15);
}

/// Shared with Q5_K (`nmax` 31): fills d, dmin, scales; returns the levels (0..nmax).
pub fn quantizeScales(x: *const [qk]f32, block: anytype, nmax: i32) [qk]u8 {
    var out_levels: [qk]u8 = undefined;
    var scratch: [32]u8 = undefined;
    var weights: [32]f32 = undefined;
    var scales: [8]f32 = undefined;
    var mins: [8]f32 = undefined;
    var max_scale: f32 = 0;
    var max_min: f32 = 0;
    const options: k_search.ScaleMinSearch = if (nmax == 15)
        .{ .nmax = 15, .rmin = -1, .rdelta = 0.1, .nstep = 20, .use_mad = false }
    else
        .{ .nmax = 31, .rmin = -0.5, .rdelta = 0.1, .nstep = 15, .use_mad = false };
    for (0..8) |s| {
        const sub = x[32 * s ..][0..32];
        var sum_x2: f32 = 0;
        for (sub) |v| sum_x2 += v * v;
        const rms = @sqrt(sum_x2 / 32);
        for (&weights, sub) |*w, v| w.* = rms + @abs(v);
        const levels32 = out_levels[32 * s ..][0..32];
        const fit = k_search.searchScaleMin(sub, &weights, levels32, &scratch, options);
        scales[s] = fit.scale;
        mins[s] = fit.min;
        max_scale = @max(max_scale, fit.scale);
        max_min = @max(max_min, fit.min);
    }
    const inv_scale: f32 = if (max_scale > 0) 63 / max_scale else 0;
    const inv_min: f32 = if (max_min > 0) 63 / max_min else 0;
    var scale6: [8]u8 = undefined;
    var min6: [8]u8 = undefined;
    for (0..8) |s| {
        scale6[s] = @intCast(fp.nearestIntClamped(inv_scale * scales[s], 0, 63));
        min6[s] = @intCast(fp.nearestIntClamped(inv_min * mins[s], 0, 63));
    }
    k_scales.packScaleMin(&scale6, &min6, &block.scales);
    block.d = fp.f32ToHalf(max_scale / 63);
    block.dmin = fp.f32ToHalf(max_min / 63);
    const d = fp.halfToF32(block.d);
    const dmin = fp.halfToF32(block.dmin);
    for (0..8) |s| {
        const scale = d * @as(f32, @floatFromInt(scale6[s]));
        if (scale == 0) continue;
        const min = dmin * @as(f32, @floatFromInt(min6[s]));
        for (x[32 * s ..][0..32], out_levels[32 * s ..][0..32]) |v, *level| {
            level.* = @intCast(fp.nearestIntClamped((v + min) / scale, 0, nmax));
        }
    }
    return out_levels;
}

fn quantizeBlock(x: *const [qk]f32, block: *Block, nmax: i32) void {
    const q = quantizeScales(x, block, nmax);
    for (0..4) |c| {
        for (block.qs[32 * c ..][0..32], 0..) |*byte, l| {
            byte.* = q[64 * c + l] | (q[64 * c + 32 + l] << 4);
        }
    }
}

/// Σ over sub-blocks of min·(sum of the sub-block's activations), from Q8_K's bsums.
pub inline fn minSum(scales: *const [blocks.k_scale_bytes]u8, xb: *const ActBlock) i32 {
    var sum: i32 = 0;
    for (0..8) |s| {
        const bsum = @as(i32, xb.bsums[2 * s]) + xb.bsums[2 * s + 1];
        sum += @as(i32, k_scales.scaleMin(scales, s).min) * bsum;
    }
    return sum;
}

/// `minSum` with vectors, from unpacked mins.
pub inline fn minSumSimd(mins: [8]u8, xb: *const ActBlock) i32 {
    const bsums: @Vector(16, i32) = @as(@Vector(16, i16), xb.bsums);
    const sub_sums = simd.addPairs(16, bsums);
    const mins32: @Vector(8, i32) = @as(@Vector(8, u8), mins);
    return @reduce(.Add, sub_sums * mins32);
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
    const min_sum: f32 = @floatFromInt(minSum(&wb.scales, xb));
    return d * @as(f32, @floatFromInt(isum)) - dmin * min_sum;
}

/// A block's weights ready for integer dots: per 64-value chunk c, the levels of sub-blocks
/// 2c and 2c+1 (values 64c..64c+64) and their scales spread over the 16 i32 lanes that
/// `dotGroups4` fills (lanes 0..8: sub-block 2c, lanes 8..16: sub-block 2c+1); the mins.
const Unpacked = struct {
    levels: [4]@Vector(64, i8),
    scales: [4]@Vector(16, i32),
    mins: [8]u8,
};

inline fn unpackBlock(wb: *const Block) Unpacked {
    const scale_min = k_scales.unpackScaleMin(&wb.scales);
    var out: Unpacked = .{ .levels = undefined, .scales = undefined, .mins = scale_min.min };
    inline for (0..4) |c| {
        const packed_q: @Vector(32, u8) = wb.qs[32 * c ..][0..32].*;
        const low = packed_q & @as(@Vector(32, u8), @splat(0x0F));
        out.levels[c] = @bitCast(simd.concat(u8, 32, low, packed_q >> @splat(4)));
        const s_low: @Vector(8, i32) = @splat(scale_min.scale[2 * c]);
        const s_high: @Vector(8, i32) = @splat(scale_min.scale[2 * c + 1]);
        out.scales[c] = simd.concat(i32, 8, s_low, s_high);
    }
    return out;
}

/// Σ sc·Σ q·q_x of chunk c (sub-blocks 2c and 2c+1).
inline fn chunkScaled(u: *const Unpacked, xb: *const ActBlock, comptime c: usize) i32 {
    const act: @Vector(64, i8) = xb.qs[64 * c ..][0..64].*;
    return @reduce(.Add, simd.dotGroups4(64, u.levels[c], act) * u.scales[c]);
}

/// Σ m·Σ q_x of chunk c.
inline fn chunkMins(u: *const Unpacked, xb: *const ActBlock, c: usize) i32 {
    const bsum_low = @as(i32, xb.bsums[4 * c]) + xb.bsums[4 * c + 1];
    const bsum_high = @as(i32, xb.bsums[4 * c + 2]) + xb.bsums[4 * c + 3];
    return @as(i32, u.mins[2 * c]) * bsum_low + @as(i32, u.mins[2 * c + 1]) * bsum_high;
}

/// Running sums of one output in llama.cpp's repacked Q4_K kernels (x86, rows a multiple of
/// 8): the scaled and the minimum sums accumulate apart, each by fused multiply-add with
/// d_w·d_x (dmin_w·d_x), and are subtracted last. One token (`gemv`) converts a whole block's
/// integer sums at once; tokens in groups of four (`gemm`) each 64-value chunk's.
const Acc = struct {
    scaled: f32 = 0,
    mins: f32 = 0,

    inline fn add(
        acc: *Acc,
        comptime per_chunk: bool,
        wb: *const Block,
        u: *const Unpacked,
        xb: *const ActBlock,
    ) void {
        const d = fp.halfToF32(wb.d) * xb.d;
        const dmin = fp.halfToF32(wb.dmin) * xb.d;
        if (per_chunk) {
            inline for (0..4) |c| {
                acc.scaled = @mulAdd(f32, @floatFromInt(chunkScaled(u, xb, c)), d, acc.scaled);
                acc.mins = @mulAdd(f32, @floatFromInt(chunkMins(u, xb, c)), dmin, acc.mins);
            }
        } else {
            var scaled: @Vector(16, i32) = @splat(0);
            inline for (0..4) |c| {
                const act: @Vector(64, i8) = xb.qs[64 * c ..][0..64].*;
                scaled += simd.dotGroups4(64, u.levels[c], act) * u.scales[c];
            }
            var mins: i32 = 0;
            for (0..4) |c| mins += chunkMins(u, xb, c);
            acc.scaled = @mulAdd(f32, @floatFromInt(@reduce(.Add, scaled)), d, acc.scaled);
            acc.mins = @mulAdd(f32, @floatFromInt(mins), dmin, acc.mins);
        }
    }
};

fn rowDotRepacked(comptime per_chunk: bool, n: usize, w: []const u8, x: []const u8) f32 {
    const weight_blocks = blocks.asBlocks(Block, w);
    const act_blocks = blocks.asBlocks(ActBlock, x);
    assert(weight_blocks.len == blocks.blockCount(n, qk));
    assert(act_blocks.len == weight_blocks.len);
    var acc: Acc = .{};
    for (weight_blocks, act_blocks) |*wb, *xb| {
        const u = unpackBlock(wb);
        acc.add(per_chunk, wb, &u, xb);
    }
    return acc.scaled - acc.mins;
}

/// `dotBatched` of one weight row with 4 activation rows at once, each block unpacked once;
/// every output is bit-identical to `dotBatched`'s.
pub fn dotTokens4(n: usize, w: []const u8, xs: [4][]const u8, out: *[4]f32) void {
    const weight_blocks = blocks.asBlocks(Block, w);
    assert(weight_blocks.len == blocks.blockCount(n, qk));
    var act_rows: [4][]const ActBlock = undefined;
    for (&act_rows, xs) |*row, x| {
        row.* = blocks.asBlocks(ActBlock, x);
        assert(row.len == weight_blocks.len);
    }
    var acc: [4]Acc = @splat(.{});
    for (weight_blocks, 0..) |*wb, b| {
        const u = unpackBlock(wb);
        inline for (&acc, act_rows) |*a, row| a.add(true, wb, &u, &row[b]);
    }
    for (out, acc) |*o, a| o.* = a.scaled - a.mins;
}

/// Dot product with a Q8_K activation row (SIMD): the order of llama.cpp's one-token kernel.
pub fn dot(n: usize, w: []const u8, x: []const u8) f32 {
    return rowDotRepacked(false, n, w, x);
}

/// The order of llama.cpp's kernel for tokens in groups of four.
pub fn dotBatched(n: usize, w: []const u8, x: []const u8) f32 {
    return rowDotRepacked(true, n, w, x);
}

/// Dot product with a Q8_K activation row (scalar reference).
pub fn dotGeneric(n: usize, w: []const u8, x: []const u8) f32 {
    return k_dot.rowDot(Block, blockDotGeneric, n, w, x);
}
