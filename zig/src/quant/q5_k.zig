//! Q5_K: 256 values in 8 sub-blocks of 32; x = d·sc·q - dmin·m with 6-bit sc, m (packed as
//! Q4_K) and 5-bit q. Dot product against Q8_K activations.
//!
//! Value order: as Q4_K for the low 4 bits; the fifth bit of value 64c + l (l < 32) is bit 2c
//! of `qh[l]`, and of value 64c + 32 + l bit 2c + 1.

const std = @import("std");
const assert = std.debug.assert;
const blocks = @import("blocks.zig");
const fp = @import("fp.zig");
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

/// A block's exact integer sums in llama.cpp's 8-lane partition: lane l holds, over the four
/// 64-value chunks c, scale(2c)·Σ q·x over values 64c + 4l + [0, 4) plus scale(2c + 1)·Σ q·x
/// over values 64c + 32 + 4l + [0, 4) (its `maddubs` + `madd` lanes); and Σ min(s)·(x of s).
const BlockSums = struct { lanes: @Vector(8, i32), min_sum: i32 };

fn blockSumsGeneric(wb: *const Block, xb: *const ActBlock) BlockSums {
    const q = levels(wb);
    var lanes: [8]i32 = @splat(0);
    for (0..4) |c| {
        for (0..2) |half| {
            const s = 2 * c + half;
            const scale: i32 = k_scales.scaleMin(&wb.scales, s).scale;
            for (0..8) |l| {
                var sum: i32 = 0;
                for (0..4) |k| {
                    const at = 32 * s + 4 * l + k;
                    sum += @as(i32, q[at]) * xb.qs[at];
                }
                lanes[l] += scale * sum;
            }
        }
    }
    return .{ .lanes = lanes, .min_sum = q4_k.minSum(&wb.scales, xb) };
}

fn blockSumsSimd(wb: *const Block, xb: *const ActBlock) BlockSums {
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
    // acc lane g sums values 4g..4g+4 of each chunk: g < 8 the low half, g ≥ 8 the high.
    const sums: [16]i32 = acc;
    const low_lanes: @Vector(8, i32) = sums[0..8].*;
    const high_lanes: @Vector(8, i32) = sums[8..16].*;
    return .{ .lanes = low_lanes + high_lanes, .min_sum = q4_k.minSumSimd(unpacked.min, xb) };
}

/// Dot product with a Q8_K activation row in the float order of llama.cpp's x86
/// `ggml_vec_dot_q5_K_q8_K` (AVX2, which its AVX-512 build runs too): per block the 8 integer
/// lanes converted and fused-multiply-added with d_x·d_w into one 8-lane accumulator, the
/// minimum terms fused-multiply-added with -d_x·dmin_w into a scalar, then the lanes summed
/// by halves and the scalar added.
inline fn rowDot(
    comptime blockSums: fn (*const Block, *const ActBlock) BlockSums,
    n: usize,
    w: []const u8,
    x: []const u8,
) f32 {
    const weight_blocks = blocks.asBlocks(Block, w);
    const act_blocks = blocks.asBlocks(ActBlock, x);
    assert(weight_blocks.len == blocks.blockCount(n, qk));
    assert(act_blocks.len == weight_blocks.len);
    var acc: @Vector(8, f32) = @splat(0);
    var mins: f32 = 0;
    for (weight_blocks, act_blocks) |*wb, *xb| {
        const d = xb.d * fp.halfToF32(wb.d);
        const dmin = -xb.d * fp.halfToF32(wb.dmin);
        const sums = blockSums(wb, xb);
        mins = @mulAdd(f32, dmin, @floatFromInt(sums.min_sum), mins);
        acc = @mulAdd(@Vector(8, f32), @splat(d), @floatFromInt(sums.lanes), acc);
    }
    return simd.treeSum(8, acc) + mins;
}

/// Dot product with a Q8_K activation row (SIMD), llama.cpp's order.
pub fn dot(n: usize, w: []const u8, x: []const u8) f32 {
    return rowDot(blockSumsSimd, n, w, x);
}

/// Scalar reference of `dot`: the same float steps, integer sums one product at a time.
pub fn dotGeneric(n: usize, w: []const u8, x: []const u8) f32 {
    return rowDot(blockSumsGeneric, n, w, x);
}

test "dot() equals dotGeneric() bit for bit" {
    const q8_k = @import("q8_k.zig");
    const n = 3 * qk;
    var prng = std.Random.DefaultPrng.init(23);
    var values: [n]f32 = undefined;
    var w: [3 * @sizeOf(Block)]u8 = undefined;
    var x: [3 * @sizeOf(ActBlock)]u8 = undefined;
    for (0..10) |_| {
        for (&values) |*v| v.* = prng.random().floatNorm(f32);
        quantizeRow(&values, &w);
        for (&values) |*v| v.* = prng.random().floatNorm(f32) * 2;
        q8_k.quantizeRow(&values, &x);
        try std.testing.expectEqual(dotGeneric(n, &w, &x), dot(n, &w, &x));
    }
}
