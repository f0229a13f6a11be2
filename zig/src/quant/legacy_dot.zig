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
const layout = @import("layout.zig");
const simd = @import("simd.zig");

const Lanes8 = @Vector(8, f32);

/// Dot product of a row of `Kind.Block` weights with a row of `Kind.ActBlock` activations.
/// `Kind` declares `Block`, `ActBlock`, `has_min` (Q4_1/Q5_1: add `m_w·s_x` per block),
/// `unpack(*const Block) [32]i8` and `level_offset` (what makes the unpacked integers ≥ 0).
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

/// `dot` of four weight rows (either layout, layout.zig) with one activation row: rows go two
/// to a 16-lane register (row 2p in lanes 0..8, row 2p+1 in lanes 8..16), each keeping its own
/// 8-lane accumulator, so every result is bit-identical to `dot`'s while one instruction serves
/// two rows.
pub fn dotRows4(comptime Kind: type, n: usize, rows: layout.Rows4, x: []const u8) [4]f32 {
    const act_blocks = blocks.asBlocks(Kind.ActBlock, x);
    assert(act_blocks.len == blocks.blockCount(n, blocks.qk_legacy));
    var acc: [2]@Vector(16, f32) = @splat(@splat(0));
    var min_acc: @Vector(4, f32) = @splat(0);
    for (act_blocks, 0..) |*xb, b| {
        // Interleaved rows are one stream: ask for it ahead (separate rows are four).
        if (rows.block_step == 4 * @sizeOf(Kind.Block)) {
            simd.prefetchAhead(rows.first[0] + b * rows.block_step, 4 * @sizeOf(Kind.Block), .l2);
        }
        const x_d = fp.halfToF32(xb.d);
        const acts = PairActivations.of(Kind, xb);
        inline for (0..2) |p| {
            const w0 = rows.block(Kind.Block, 2 * p, b);
            const w1 = rows.block(Kind.Block, 2 * p + 1, b);
            const w_pair = simd.concat(i8, 32, Kind.unpack(w0), Kind.unpack(w1));
            const sums: @Vector(16, f32) = @floatFromInt(acts.dot(Kind, w_pair));
            const s0: @Vector(8, f32) = @splat(fp.halfToF32(w0.d) * x_d);
            const s1: @Vector(8, f32) = @splat(fp.halfToF32(w1.d) * x_d);
            acc[p] = @mulAdd(@Vector(16, f32), simd.concat(f32, 8, s0, s1), sums, acc[p]);
        }
        if (Kind.has_min) {
            var m: [4]f32 = undefined;
            inline for (0..4) |r| m[r] = fp.halfToF32(rows.block(Kind.Block, r, b).m);
            min_acc = @mulAdd(@Vector(4, f32), m, @splat(fp.halfToF32(xb.s)), min_acc);
        }
    }
    var out: [4]f32 = undefined;
    inline for (0..4) |r| {
        const lanes: [16]f32 = acc[r / 2];
        const half: @Vector(8, f32) = lanes[8 * (r % 2) ..][0..8].*;
        out[r] = simd.treeSum(8, half) + (if (Kind.has_min) min_acc[r] else 0);
    }
    return out;
}

/// One activation block in both halves of a 64-byte register, ready for two weight rows'
/// blocks at once. With AVX-512 VNNI the weights are made unsigned by `Kind.level_offset` and
/// multiplied by `vpdpbusd` directly; subtracting offset·Σ x per lane (computed once here, for
/// every row) gives exactly the signed sums.
pub const PairActivations = struct {
    q: @Vector(64, i8),
    /// -offset·Σ x per lane: where the unsigned products start.
    start: @Vector(16, i32),

    pub inline fn of(comptime Kind: type, xb: *const Kind.ActBlock) PairActivations {
        const x_q: @Vector(32, i8) = xb.qs;
        const q = simd.concat(i8, 32, x_q, x_q);
        const offsets: @Vector(64, u8) = @splat(Kind.level_offset);
        const sums = if (simd.use_vnni512 and Kind.level_offset != 0)
            simd.dotUnsigned4(offsets, q)
        else
            @as(@Vector(16, i32), @splat(0));
        return .{ .q = q, .start = @as(@Vector(16, i32), @splat(0)) - sums };
    }

    /// The 16 i32 lanes of `dotGroups4(64, w_pair, q)`.
    pub inline fn dot(
        x: PairActivations,
        comptime Kind: type,
        w_pair: @Vector(64, i8),
    ) @Vector(16, i32) {
        if (!simd.use_vnni512) return simd.dotGroups4(64, w_pair, x.q);
        const offsets: @Vector(64, u8) = @splat(Kind.level_offset);
        const unsigned = @as(@Vector(64, u8), @bitCast(w_pair)) +% offsets;
        return simd.dotUnsigned4Add(x.start, unsigned, x.q);
    }
};

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

const testing = std.testing;

test "dotRows4() equals dot() row by row, bit for bit, for every legacy type and layout" {
    const traits = @import("traits.zig");
    const n = 7 * 32;
    var prng = std.Random.DefaultPrng.init(41);
    inline for (.{ .q4_0, .q4_1, .q5_0, .q5_1, .q8_0 }) |tag| {
        const t = traits.traits(tag);
        const a = traits.traits(t.vec_dot_type);
        const row_bytes = t.rowBytes(n);
        var values: [n]f32 = undefined;
        var w_bytes: [4 * n * 2]u8 = undefined;
        var w: [4][]const u8 = undefined;
        for (&w, 0..) |*row, r| {
            for (&values) |*v| v.* = prng.random().floatNorm(f32);
            row.* = w_bytes[r * row_bytes ..][0..row_bytes];
            t.quantize_row(&values, @constCast(row.*));
        }
        var interleaved: [4 * n * 2]u8 = undefined;
        const matrix = w_bytes[0 .. 4 * row_bytes];
        layout.interleaveRows4(t.bytes_per_block, n / 32, 4, matrix, interleaved[0..matrix.len]);
        for (&values) |*v| v.* = prng.random().floatNorm(f32) * 4;
        var x_bytes: [n * 2]u8 = undefined;
        const x = x_bytes[0..a.rowBytes(n)];
        a.quantize_activation_row(&values, x);
        const separate = t.dot_rows4.?(n, layout.Rows4.separate(w, t.bytes_per_block), x);
        const group = layout.Rows4.interleaved(&interleaved, t.bytes_per_block);
        const from_group = t.dot_rows4.?(n, group, x);
        for (separate, from_group, w) |value, grouped, row| {
            try testing.expectEqual(t.dot.?(n, row, x), value);
            try testing.expectEqual(value, grouped);
        }
    }
}
