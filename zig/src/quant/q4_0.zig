//! Q4_0: 32 values per block, x = d·(q - 8) with 4-bit q and an f16 scale. Dot product
//! against Q8_0 activations.

const std = @import("std");
const assert = std.debug.assert;
const blocks = @import("blocks.zig");
const fp = @import("fp.zig");
const layout = @import("layout.zig");
const legacy_dot = @import("legacy_dot.zig");
const simd = @import("simd.zig");

pub const Block = blocks.BlockQ4_0;
pub const ActBlock = blocks.BlockQ8_0;
pub const has_min = false;
/// Added to `unpack`'s integers, they are all ≥ 0 (the unsigned operand of `vpdpbusd`).
pub const level_offset: u8 = 8;
const qk = blocks.qk_legacy;

/// Block bytes → f32 values; `dst.len` is the row length.
pub fn dequantizeRow(src: []const u8, dst: []f32) void {
    const row = blocks.asBlocks(Block, src);
    assert(row.len == blocks.blockCount(dst.len, qk));
    for (row, 0..) |*block, i| {
        const d = fp.halfToF32(block.d);
        const y = dst[i * qk ..][0..qk];
        for (block.qs, 0..) |byte, j| {
            y[j] = @as(f32, @floatFromInt(@as(i32, byte & 0x0F) - 8)) * d;
            y[j + qk / 2] = @as(f32, @floatFromInt(@as(i32, byte >> 4) - 8)) * d;
        }
    }
}

/// ggml's reference: d = max/-8 where max is the value of largest magnitude (so it maps to
/// q = 0 exactly), q = min(15, trunc(x/d + 8.5)).
pub fn quantizeRow(src: []const f32, dst: []u8) void {
    const row = blocks.asBlocksMut(Block, dst);
    assert(row.len == blocks.blockCount(src.len, qk));
    for (row, 0..) |*block, i| quantizeBlock(src[i * qk ..][0..qk], block);
}

fn quantizeBlock(x: *const [qk]f32, block: *Block) void {
    var amax: f32 = 0;
    var max: f32 = 0;
    for (x) |v| {
        if (amax < @abs(v)) {
            amax = @abs(v);
            max = v;
        }
    }
    const d = max / -8.0;
    const id: f32 = if (d != 0) 1.0 / d else 0;
    block.d = fp.f32ToHalf(d);
    for (&block.qs, 0..) |*byte, j| {
        const low: u8 = @min(15, @as(u8, @intFromFloat(x[j] * id + 8.5)));
        const high: u8 = @min(15, @as(u8, @intFromFloat(x[j + qk / 2] * id + 8.5)));
        byte.* = low | (high << 4);
    }
}

/// The block's integers q - 8, value order (low nibbles, then high nibbles).
pub inline fn unpack(block: *const Block) [qk]i8 {
    const packed_q: @Vector(qk / 2, u8) = block.qs;
    const low = packed_q & @as(@Vector(qk / 2, u8), @splat(0x0F));
    const high = packed_q >> @splat(4);
    const q: @Vector(qk, i8) = @bitCast(simd.concat(u8, qk / 2, low, high));
    return q - @as(@Vector(qk, i8), @splat(8));
}

/// Dot product with a Q8_0 activation row (SIMD).
pub fn dot(n: usize, w: []const u8, x: []const u8) f32 {
    return legacy_dot.dot(@This(), n, w, x);
}

/// Four weight rows against one activation row, each result equal to `dot`'s.
pub fn dotRows4(n: usize, rows: layout.Rows4, x: []const u8) [4]f32 {
    return legacy_dot.dotRows4(@This(), n, rows, x);
}

/// Dot product with a Q8_0 activation row (scalar reference).
pub fn dotGeneric(n: usize, w: []const u8, x: []const u8) f32 {
    return legacy_dot.dotGeneric(@This(), n, w, x);
}

/// Dot product with a Q8_0 activation row in the order of llama.cpp's repacked Q4_0 kernels
/// (x86 `gemv`/`gemm_q4_0_8x8_q8_0`, used for every token of a matrix whose rows are a
/// multiple of 8): per block one exact i32 sum of the 32 products, converted and
/// fused-multiply-added with d_w·d_x into one f32; no lanes, no final reduction.
pub fn dotRepacked(n: usize, w: []const u8, x: []const u8) f32 {
    var out: [1]f32 = undefined;
    repackedTokens(1, n, w, .{x}, &out);
    return out[0];
}

/// `dotRepacked` of one weight row against four activation rows, each block unpacked once
/// (prefill off the AVX-512 rows16 path).
pub fn dotRepackedTokens4(n: usize, w: []const u8, xs: [4][]const u8, out: *[4]f32) void {
    repackedTokens(4, n, w, xs, out);
}

inline fn repackedTokens(
    comptime tokens: usize,
    n: usize,
    w: []const u8,
    xs: [tokens][]const u8,
    out: *[tokens]f32,
) void {
    const weight_blocks = blocks.asBlocks(Block, w);
    assert(weight_blocks.len == blocks.blockCount(n, qk));
    const acts = blocks.asBlockRows(ActBlock, tokens, xs, weight_blocks.len);
    var acc: [tokens]f32 = @splat(0);
    for (weight_blocks, 0..) |*wb, b| {
        const q = unpack(wb);
        const d_w = fp.halfToF32(wb.d);
        inline for (&acc, acts) |*a, act| {
            // The 8 lanes' sums are exact, so their total is the block's i32 sum.
            const sum: i32 = @reduce(.Add, simd.dotGroups4(qk, q, act[b].qs));
            a.* = @mulAdd(f32, @floatFromInt(sum), d_w * fp.halfToF32(act[b].d), a.*);
        }
    }
    out.* = acc;
}

/// Scalar reference of `dotRepacked`.
pub fn dotRepackedGeneric(n: usize, w: []const u8, x: []const u8) f32 {
    const weight_blocks = blocks.asBlocks(Block, w);
    const act_blocks = blocks.asBlocks(ActBlock, x);
    assert(weight_blocks.len == blocks.blockCount(n, qk));
    assert(act_blocks.len == weight_blocks.len);
    var acc: f32 = 0;
    for (weight_blocks, act_blocks) |*wb, *xb| {
        var sum: i32 = 0;
        for (0..qk / 2) |j| {
            const low = @as(i32, wb.qs[j] & 0x0F) - 8;
            const high = @as(i32, wb.qs[j] >> 4) - 8;
            sum += low * xb.qs[j] + high * xb.qs[j + qk / 2];
        }
        acc = @mulAdd(f32, @floatFromInt(sum), fp.halfToF32(wb.d) * fp.halfToF32(xb.d), acc);
    }
    return acc;
}

test "dotRepacked() equals dotRepackedGeneric() and stays near dot()" {
    const q8_0 = @import("q8_0.zig");
    const n = 7 * qk;
    var prng = std.Random.DefaultPrng.init(41);
    var values: [n]f32 = undefined;
    var w: [7 * @sizeOf(Block)]u8 = undefined;
    var x: [7 * @sizeOf(ActBlock)]u8 = undefined;
    for (0..20) |_| {
        for (&values) |*v| v.* = prng.random().floatNorm(f32);
        quantizeRow(&values, &w);
        for (&values) |*v| v.* = prng.random().floatNorm(f32) * 4;
        q8_0.quantizeRowActivation(&values, &x);
        const repacked = dotRepacked(n, &w, &x);
        try std.testing.expectEqual(dotRepackedGeneric(n, &w, &x), repacked);
        var four: [4]f32 = undefined;
        dotRepackedTokens4(n, &w, .{ &x, &x, &x, &x }, &four);
        for (four) |v| try std.testing.expectEqual(repacked, v);
        try std.testing.expectApproxEqRel(dot(n, &w, &x), repacked, 1e-5);
    }
}
