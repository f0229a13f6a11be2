//! Q5_K matrices repacked sixteen rows at a time (`Layout.rows16`), SIMD lanes = rows, as
//! q4_k_rows16.zig does for Q4_K: Q5_K_M files hold most of their matrices in Q5_K.
//!
//! One group block holds super-block b of rows 16g..16g+15, 2816 bytes (16 × 176, the file's
//! size):
//!
//!   [0, 32)        d of rows 0..15 (f16)
//!   [32, 64)       dmin of rows 0..15 (f16)
//!   [64, 256)      the 12 packed scale bytes, transposed: byte i of row r at 64 + 16·i + r
//!   [256, 768)     qh in 4-byte pieces: piece i is 64 bytes at 256 + 64·i, row r's
//!                  qh[4i ..][0..4] at 4r
//!   [768, 2816)    qs as q4_k_rows16.zig's: step s = 8c + i at 768 + 64·s, row r's
//!                  qs[32c + 4i ..][0..4] at 4r
//!
//! Step (c, i) holds the low four bits of values 64c + 4i .. +4 (low nibbles) and
//! 64c + 32 + 4i .. +4 (high nibbles) of every row; their fifth bits are bits 2c and 2c + 1 of
//! qh piece i, the same bytes for every c. Those values are exactly what llama.cpp's
//! `ggml_vec_dot_q5_K_q8_K` sums into its lane i: per half, `vpmaddubsw` gives each row's two
//! pair sums and one `vpdpwssd` adds them times the sub-block's scale to lane i of all 16
//! rows (integers, exact), and the float
//! steps per row are q5_k.zig's `dot`'s (each lane fused-multiply-added with d_x·d_w block by
//! block, the mins with -d_x·dmin_w into a scalar, lanes summed by halves at the end), so
//! results are bit-identical to it.

const std = @import("std");
const assert = std.debug.assert;
const blocks = @import("blocks.zig");
const fp = @import("fp.zig");
const legacy_rows16 = @import("legacy_rows16.zig");
const q4_k_rows16 = @import("q4_k_rows16.zig");
const layout = @import("layout.zig");
const simd = @import("simd.zig");

const Block = blocks.BlockQ5_K;
const ActBlock = blocks.BlockQ8_K;
const qk = blocks.qk_k;

/// Rows per group.
pub const group_rows: usize = layout.rows16_group_rows;
/// Bytes of one group block.
pub const group_block_bytes: usize = group_rows * @sizeOf(Block);

const d_offset = 0;
const dmin_offset = 32;
const scales_offset = 64;
const qh_offset = 256;
const qs_offset = 768;
/// 4-byte qh pieces of a row (32 bytes), and of each 64-value chunk's qs (32 bytes).
const pieces = 8;
const chunks = 4;

comptime {
    assert(scales_offset + q4_k_rows16.scale_bytes == qh_offset);
    assert(qh_offset + pieces * 64 == qs_offset);
    assert(qs_offset + chunks * pieces * 64 == group_block_bytes);
}

const I32s = @Vector(group_rows, i32);
const F32s = @Vector(group_rows, f32);
const Bytes = @Vector(64, u8);

/// Writes `rows` rows of `blocks_per_row` Q5_K blocks (file layout, `src`) to `dst` in groups
/// of 16 rows. `rows` is a multiple of 16.
pub fn interleave(blocks_per_row: usize, rows: usize, src: []const u8, dst: []u8) void {
    layout.interleaveGroups16(Block, writeRow, blocks_per_row, rows, src, dst);
}

fn writeRow(block_out: *[group_block_bytes]u8, r: usize, block: *const Block) void {
    const d: [2]u8 = @bitCast(block.d);
    const dmin: [2]u8 = @bitCast(block.dmin);
    block_out[d_offset + 2 * r ..][0..2].* = d;
    block_out[dmin_offset + 2 * r ..][0..2].* = dmin;
    for (block.scales, 0..) |byte, i| block_out[scales_offset + group_rows * i + r] = byte;
    for (0..pieces) |i| {
        block_out[qh_offset + 64 * i + 4 * r ..][0..4].* = block.qh[4 * i ..][0..4].*;
    }
    for (0..chunks * pieces) |s| {
        const c = s / pieces;
        const i = s % pieces;
        block_out[qs_offset + 64 * s + 4 * r ..][0..4].* = block.qs[32 * c + 4 * i ..][0..4].*;
    }
}

/// Levels 0..31 of a step's four values per row: the nibbles `nibbles` (0..15) plus 16 where
/// bit `bit` of the matching qh byte is set.
inline fn levels(nibbles: Bytes, qh: Bytes, comptime bit: u3) Bytes {
    const has_fifth = (qh & @as(Bytes, @splat(@as(u8, 1) << bit))) != @as(Bytes, @splat(0));
    return nibbles | @select(u8, has_fifth, @as(Bytes, @splat(16)), @as(Bytes, @splat(0)));
}

/// Running sums of the 16 rows, as q5_k.zig's `rowDot` keeps them per row.
fn Acc(comptime tokens: usize) type {
    return struct {
        lanes: [tokens][pieces]F32s = @splat(@splat(@splat(0))),
        mins: [tokens]F32s = @splat(@splat(0)),
    };
}

/// The dot products of a group's 16 rows with `tokens` activation rows, in `q5_k.dot`'s order.
inline fn groupDot(
    comptime tokens: usize,
    n: usize,
    group: []const u8,
    xs: [tokens][]const u8,
) [tokens]F32s {
    @setEvalBranchQuota(400_000);
    const block_count = blocks.blockCount(n, qk);
    assert(group.len == block_count * group_block_bytes);
    const acts = blocks.asBlockRows(ActBlock, tokens, xs, block_count);
    const target = comptime simd.PrefetchTarget.forTokens(tokens);
    var acc: Acc(tokens) = .{};
    for (0..block_count) |b| {
        const block = group[b * group_block_bytes ..][0..group_block_bytes];
        // The header and fifth bits now, each qs step's line as the step is reached (as
        // q4_k_rows16.zig does: all lines at once left the memory idle through the compute).
        simd.prefetchAhead(block, qs_offset, target);
        const d_w = fp.halves16ToF32(block[d_offset..][0..32]);
        const dmin_w = fp.halves16ToF32(block[dmin_offset..][0..32]);
        const sm = q4_k_rows16.ScalesMins.of(block[scales_offset..][0..q4_k_rows16.scale_bytes]);
        // Each sub-block's scale in both i16 halves of its row's lane: one `vpdpwssd` adds
        // scale·(pair sum + pair sum) of a row's four products (`vpmaddubsw`'s two i16 sums,
        // at most 2·31·128 in size: no saturation), the same integer as scale·Σ.
        var scale_pairs: [8]@Vector(2 * group_rows, i16) = undefined;
        inline for (&scale_pairs, sm.scale) |*pair, scale| {
            pair.* = simd.i16Pairs(scale, scale);
        }
        var d: [tokens]F32s = undefined;
        inline for (&d, acts) |*dt, a| dt.* = @as(F32s, @splat(a[b].d)) * d_w;
        // Lane i of every row: over the chunks, scale(2c)·Σ low·x + scale(2c+1)·Σ high·x.
        inline for (0..pieces) |i| {
            const qh: Bytes = block[qh_offset + 64 * i ..][0..64].*;
            var lane: [tokens]I32s = @splat(@splat(0));
            inline for (0..chunks) |c| {
                const step = block[qs_offset + 64 * (pieces * c + i) ..][0..64];
                simd.prefetchAhead(step, 64, target);
                const packed_q: Bytes = step.*;
                const q_low = levels(packed_q & @as(Bytes, @splat(0x0F)), qh, 2 * c);
                const q_high = levels(packed_q >> @splat(4), qh, 2 * c + 1);
                inline for (0..tokens) |t| {
                    const xb = &acts[t][b];
                    const x_low = simd.repeat4Bytes(xb.qs[64 * c + 4 * i ..][0..4]);
                    const x_high = simd.repeat4Bytes(xb.qs[64 * c + 32 + 4 * i ..][0..4]);
                    const low = simd.pairSumsUnsigned(q_low, x_low);
                    const high = simd.pairSumsUnsigned(q_high, x_high);
                    lane[t] = simd.dotPairs16Add(lane[t], low, scale_pairs[2 * c]);
                    lane[t] = simd.dotPairs16Add(lane[t], high, scale_pairs[2 * c + 1]);
                }
            }
            inline for (0..tokens) |t| {
                acc.lanes[t][i] = @mulAdd(F32s, d[t], @floatFromInt(lane[t]), acc.lanes[t][i]);
            }
        }
        inline for (0..tokens) |t| {
            const xb = &acts[t][b];
            var min_sum: I32s = @splat(0);
            inline for (0..8) |s| {
                const bsum: I32s = @splat(@as(i32, xb.bsums[2 * s]) + xb.bsums[2 * s + 1]);
                min_sum += sm.min[s] * bsum;
            }
            const dmin: F32s = @as(F32s, @splat(-xb.d)) * dmin_w;
            acc.mins[t] = @mulAdd(F32s, dmin, @floatFromInt(min_sum), acc.mins[t]);
        }
    }
    var out: [tokens]F32s = undefined;
    inline for (&out, acc.lanes, acc.mins) |*o, lanes, mins| {
        o.* = legacy_rows16.eightLaneSums(lanes) + mins;
    }
    return out;
}

const token_kernels = legacy_rows16.TokenKernels(groupDot);
/// One token against the group's 16 rows, each result equal to `q5_k.dot`'s.
pub const dotGroup = token_kernels.dotGroup;
/// Two tokens against the group's 16 rows, each result equal to `q5_k.dot`'s.
pub const dotGroupTokens2 = token_kernels.dotGroupTokens2;

test "dotGroup() and dotGroupTokens2() equal q5_k's dot() bit for bit" {
    const q5_k = @import("q5_k.zig");
    const q8_k = @import("q8_k.zig");
    try legacy_rows16.expectLanesMatchReference(
        Block,
        ActBlock,
        @This(),
        29,
        q5_k.quantizeRow,
        q8_k.quantizeRow,
        q5_k.dot,
    );
}
