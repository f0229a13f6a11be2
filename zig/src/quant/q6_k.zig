//! Q6_K: 256 values in 16 sub-blocks of 16; x = d·sc·(q - 32) with signed 8-bit sc and 6-bit
//! q. Dot product against Q8_K activations.
//!
//! Value order, per half h (values 128h..128h+127, ql bytes 64h.., qh bytes 32h..), l < 32:
//! value l: low nibble of ql[l], bits 0-1 of qh[l]; value 32+l: low nibble of ql[32+l],
//! bits 2-3; value 64+l: high nibble of ql[l], bits 4-5; value 96+l: high nibble of
//! ql[32+l], bits 6-7.

const std = @import("std");
const assert = std.debug.assert;
const blocks = @import("blocks.zig");
const fp = @import("fp.zig");
const k_dot = @import("k_dot.zig");
const k_search = @import("k_search.zig");
const simd = @import("simd.zig");

pub const Block = blocks.BlockQ6_K;
pub const ActBlock = blocks.BlockQ8_K;
const qk = blocks.qk_k;

/// The 256 integers q - 32 (-32..31) of a block, value order.
pub fn levels(block: *const Block) [qk]i8 {
    var out: [qk]i8 = undefined;
    for (0..2) |h| {
        const ql = block.ql[64 * h ..][0..64];
        const qh = block.qh[32 * h ..][0..32];
        const y = out[128 * h ..][0..128];
        for (0..32) |l| {
            y[l] = @as(i8, @intCast((ql[l] & 0x0F) | ((qh[l] & 3) << 4))) - 32;
            y[l + 32] = @as(i8, @intCast((ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4))) - 32;
            y[l + 64] = @as(i8, @intCast((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4))) - 32;
            y[l + 96] = @as(i8, @intCast((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4))) - 32;
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
            const scale = d * @as(f32, @floatFromInt(block.scales[s]));
            for (dst[i * qk + 16 * s ..][0..16], q[16 * s ..][0..16]) |*y, level| {
                y.* = scale * @as(f32, @floatFromInt(level));
            }
        }
    }
}

/// ggml's reference algorithm: per sub-block of 16, `k_search.searchScaleSigned` (nmax 32);
/// scales quantized to 8 bits as -128/max_scale; levels re-rounded against them.
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
        scales[s] = k_search.searchScaleSigned(x[16 * s ..][0..16], 32, q[16 * s ..][0..16]);
        if (@abs(scales[s]) > max_abs_scale) {
            max_abs_scale = @abs(scales[s]);
            max_scale = scales[s];
        }
    }
    if (max_abs_scale == 0) {
        block.* = std.mem.zeroes(Block);
        return;
    }
    const iscale = -128.0 / max_scale;
    block.d = fp.f32ToHalf(1 / iscale);
    for (&block.scales, scales) |*scale8, scale| {
        scale8.* = @intCast(fp.nearestIntClamped(iscale * scale, -128, 127));
    }
    const d = fp.halfToF32(block.d);
    for (0..16) |s| {
        const scale = d * @as(f32, @floatFromInt(block.scales[s]));
        if (scale == 0) continue;
        for (x[16 * s ..][0..16], q[16 * s ..][0..16]) |v, *level| {
            level.* = @intCast(fp.nearestIntClamped(v / scale, -32, 31) + 32);
        }
    }
    pack(&q, block);
}

fn pack(q: *const [qk]u8, block: *Block) void {
    for (0..2) |h| {
        const ql = block.ql[64 * h ..][0..64];
        const qh = block.qh[32 * h ..][0..32];
        const v = q[128 * h ..][0..128];
        for (0..32) |l| {
            ql[l] = (v[l] & 0x0F) | ((v[l + 64] & 0x0F) << 4);
            ql[l + 32] = (v[l + 32] & 0x0F) | ((v[l + 96] & 0x0F) << 4);
            qh[l] = (v[l] >> 4) | ((v[l + 32] >> 4) << 2) | ((v[l + 64] >> 4) << 4) |
                ((v[l + 96] >> 4) << 6);
        }
    }
}

/// One block, scalar: d_w·d_x·Σ sc·Σ (q - 32)·q_x.
pub fn blockDotGeneric(wb: *const Block, xb: *const ActBlock) f32 {
    const q = levels(wb);
    var isum: i32 = 0;
    for (0..16) |s| {
        var sub: i32 = 0;
        for (q[16 * s ..][0..16], xb.qs[16 * s ..][0..16]) |a, b| sub += @as(i32, a) * b;
        isum += @as(i32, wb.scales[s]) * sub;
    }
    return fp.halfToF32(wb.d) * xb.d * @as(f32, @floatFromInt(isum));
}

/// A block's unsigned levels (0..63) in value order, as the x86 kernel unpacks them.
fn unsignedLevels(wb: *const Block) [8]@Vector(32, i8) {
    const nibble: @Vector(32, u8) = @splat(0x0F);
    const two_bits: @Vector(32, u8) = @splat(3);
    var out: [8]@Vector(32, i8) = undefined;
    inline for (0..2) |h| {
        const ql0: @Vector(32, u8) = wb.ql[64 * h ..][0..32].*;
        const ql1: @Vector(32, u8) = wb.ql[64 * h + 32 ..][0..32].*;
        const qh: @Vector(32, u8) = wb.qh[32 * h ..][0..32].*;
        out[4 * h + 0] = @bitCast((ql0 & nibble) | ((qh & two_bits) << @splat(4)));
        out[4 * h + 1] = @bitCast((ql1 & nibble) | (((qh >> @splat(2)) & two_bits) << @splat(4)));
        const qh2 = (qh >> @splat(4)) & two_bits;
        out[4 * h + 2] = @bitCast((ql0 >> @splat(4)) | (qh2 << @splat(4)));
        out[4 * h + 3] = @bitCast((ql1 >> @splat(4)) | ((qh >> @splat(6)) << @splat(4)));
    }
    return out;
}

/// The 8 i32 lanes llama.cpp's x86 kernel accumulates for one block: lane l sums the values
/// 4l..4l+3 of every 32-value chunk (unsigned levels 0..63 times activations, times the
/// sub-block scale), minus 32·(bsums·scales) of sub-blocks 2l and 2l+1.
fn blockLanes(
    wb: *const Block,
    levels_u: *const [8]@Vector(32, i8),
    xb: *const ActBlock,
) @Vector(8, i32) {
    var lanes: @Vector(8, i32) = @splat(0);
    inline for (levels_u, 0..) |part, chunk| {
        const act: @Vector(32, i8) = xb.qs[32 * chunk ..][0..32].*;
        const sums = simd.dotGroups4(32, part, act);
        const low: i32 = wb.scales[2 * chunk];
        const high: i32 = wb.scales[2 * chunk + 1];
        lanes += sums * @Vector(8, i32){ low, low, low, low, high, high, high, high };
    }
    var offsets: [8]i32 = undefined;
    for (&offsets, 0..) |*offset, l| {
        offset.* = 32 * (@as(i32, xb.bsums[2 * l]) * wb.scales[2 * l] +
            @as(i32, xb.bsums[2 * l + 1]) * wb.scales[2 * l + 1]);
    }
    return lanes - @as(@Vector(8, i32), offsets);
}

/// Σ over blocks in llama.cpp's order: acc = fma(d_x·d_w, lanes, acc), then halves.
fn rowDotLanes(n: usize, w: []const u8, x: []const u8) f32 {
    const weight_blocks = blocks.asBlocks(Block, w);
    const act_blocks = blocks.asBlocks(ActBlock, x);
    assert(weight_blocks.len == blocks.blockCount(n, qk));
    assert(act_blocks.len == weight_blocks.len);
    var acc: @Vector(8, f32) = @splat(0);
    for (weight_blocks, act_blocks) |*wb, *xb| {
        const levels_u = unsignedLevels(wb);
        acc = accumulate(acc, wb, &levels_u, xb);
    }
    return simd.treeSum(8, acc);
}

inline fn accumulate(
    acc: @Vector(8, f32),
    wb: *const Block,
    levels_u: *const [8]@Vector(32, i8),
    xb: *const ActBlock,
) @Vector(8, f32) {
    const d = xb.d * fp.halfToF32(wb.d);
    const lanes: @Vector(8, f32) = @floatFromInt(blockLanes(wb, levels_u, xb));
    return @mulAdd(@Vector(8, f32), @splat(d), lanes, acc);
}

/// `dot` of one weight row with 4 activation rows at once: each block is unpacked once for
/// the four; every output is bit-identical to `dot`'s.
pub fn dotTokens4(n: usize, w: []const u8, xs: [4][]const u8, out: *[4]f32) void {
    const weight_blocks = blocks.asBlocks(Block, w);
    var act_rows: [4][]const ActBlock = undefined;
    for (&act_rows, xs) |*row, x| {
        row.* = blocks.asBlocks(ActBlock, x);
        assert(row.len == weight_blocks.len);
    }
    assert(weight_blocks.len == blocks.blockCount(n, qk));
    var acc: [4]@Vector(8, f32) = @splat(@splat(0));
    for (weight_blocks, 0..) |*wb, b| {
        const levels_u = unsignedLevels(wb);
        inline for (&acc, act_rows) |*a, row| a.* = accumulate(a.*, wb, &levels_u, &row[b]);
    }
    for (out, acc) |*o, a| o.* = simd.treeSum(8, a);
}

/// Dot product with a Q8_K activation row (SIMD).
pub fn dot(n: usize, w: []const u8, x: []const u8) f32 {
    return rowDotLanes(n, w, x);
}

/// Dot product with a Q8_K activation row (scalar reference).
pub fn dotGeneric(n: usize, w: []const u8, x: []const u8) f32 {
    return k_dot.rowDot(Block, blockDotGeneric, n, w, x);
}

const testing = std.testing;

test "dotTokens4() equals dot() and the row's generic dot for each token bit for bit" {
    const q8_k = @import("q8_k.zig");
    const n = 2 * qk;
    var prng = std.Random.DefaultPrng.init(21);
    var values: [n]f32 = undefined;
    for (&values) |*v| v.* = prng.random().floatNorm(f32);
    var w: [2 * @sizeOf(Block)]u8 = undefined;
    quantizeRow(&values, &w);
    var acts: [4][2 * @sizeOf(ActBlock)]u8 = undefined;
    var xs: [4][]const u8 = undefined;
    for (&acts, &xs) |*a, *x| {
        for (&values) |*v| v.* = prng.random().floatNorm(f32) * 3;
        q8_k.quantizeRow(&values, a);
        x.* = a;
    }
    var out: [4]f32 = undefined;
    dotTokens4(n, &w, xs, &out);
    for (out, xs) |o, x| {
        try testing.expectEqual(dot(n, &w, x), o);
        try testing.expectApproxEqRel(dotGeneric(n, &w, x), o, 1e-5);
    }
}
