//! Q4_1 matrices repacked sixteen rows at a time (`Layout.rows16`), SIMD lanes = rows, as
//! q4_0_rows16.zig does for Q4_0. SmolLM2 (zeno's default model) is Q4_1: row by row and four
//! rows at a time its products ran at ~0.4 of the stream, compute-bound.
//!
//! One group block holds block b of rows 16g..16g+15, 320 bytes (16 × 20, the file's size):
//!
//!   [0, 32)    d of rows 0..15 (f16)
//!   [32, 64)   m of rows 0..15 (f16)
//!   [64, 320)  qs in four 64-byte pieces: piece i holds row r's qs[4i ..][0..4] at 4r
//!
//! Piece i's low nibbles are values 4i..4i+3 of every row, its high nibbles 16+4i..16+4i+3:
//! exactly the groups of four that llama.cpp's `ggml_vec_dot_q4_1_q8_1` sums into its eight
//! lanes (lane i and lane 4+i). One `vpdpbusd` of a piece's nibbles against the four
//! activations broadcast to every row gives that lane for all 16 rows, so the float steps per
//! row are `legacy_dot.dot`'s: lane j += (d_w·d_x)·sum_j block by block, the eight lanes reduced
//! by halves, plus the minimum terms m_w·s_x summed block by block. Results are bit-identical.

const std = @import("std");
const assert = std.debug.assert;
const blocks = @import("blocks.zig");
const fp = @import("fp.zig");
const layout = @import("layout.zig");
const legacy_rows16 = @import("legacy_rows16.zig");
const simd = @import("simd.zig");

const Block = blocks.BlockQ4_1;
const ActBlock = blocks.BlockQ8_1;
const qk = blocks.qk_legacy;

/// Rows per group.
pub const group_rows = legacy_rows16.group_rows;
/// Bytes of one group block.
pub const group_block_bytes: usize = group_rows * @sizeOf(Block);

const m_offset = 2 * group_rows;
const qs_offset = 4 * group_rows;
const pieces = qk / 2 / 4;

comptime {
    assert(qs_offset + pieces * 64 == group_block_bytes);
}

const F32s = @Vector(group_rows, f32);
const Bytes = @Vector(64, u8);

/// Writes `rows` rows of `blocks_per_row` Q4_1 blocks (file layout, `src`) to `dst` in groups
/// of 16 rows. `rows` is a multiple of 16.
pub fn interleave(blocks_per_row: usize, rows: usize, src: []const u8, dst: []u8) void {
    layout.interleaveGroups16(Block, writeRow, blocks_per_row, rows, src, dst);
}

fn writeRow(block_out: *[group_block_bytes]u8, r: usize, block: *const Block) void {
    block_out[2 * r ..][0..2].* = @bitCast(block.d);
    block_out[m_offset + 2 * r ..][0..2].* = @bitCast(block.m);
    for (0..pieces) |i| {
        block_out[qs_offset + 64 * i + 4 * r ..][0..4].* = block.qs[4 * i ..][0..4].*;
    }
}

/// One token's sums for a group: llama.cpp's eight lanes per row, and the minimum terms.
const Sums = struct {
    lanes: [8]F32s = @splat(@splat(0)),
    min: F32s = @splat(0),

    /// Each row's dot: the lanes reduced, then the minimum terms added.
    fn total(s: Sums) F32s {
        return legacy_rows16.eightLaneSums(s.lanes) + s.min;
    }
};

/// The dot products of a group's 16 rows with `tokens` Q8_1 activation rows.
inline fn groupDot(
    comptime tokens: usize,
    n: usize,
    group: []const u8,
    xs: [tokens][]const u8,
) [tokens]F32s {
    const block_count = blocks.blockCount(n, qk);
    assert(group.len == block_count * group_block_bytes);
    const acts = blocks.asBlockRows(ActBlock, tokens, xs, block_count);
    var sums: [tokens]Sums = @splat(.{});
    for (0..block_count) |b| {
        const block = group[b * group_block_bytes ..][0..group_block_bytes];
        const target = comptime simd.PrefetchTarget.forTokens(tokens);
        simd.prefetchAhead(block, group_block_bytes, target);
        const d_w = fp.halves16ToF32(block[0..32]);
        const m_w = fp.halves16ToF32(block[m_offset..][0..32]);
        var levels: [2 * pieces]Bytes = undefined;
        inline for (0..pieces) |i| {
            const packed_q: Bytes = block[qs_offset + 64 * i ..][0..64].*;
            levels[i] = packed_q & @as(Bytes, @splat(0x0F));
            levels[pieces + i] = packed_q >> @splat(4);
        }
        inline for (&sums, acts) |*s, a| {
            const xb = &a[b];
            // llama.cpp: d = d_w·d_x as f32, lane j += d·(f32)sum_j; summs += m_w·s_x.
            const scale = d_w * @as(F32s, @splat(fp.halfToF32(xb.d)));
            s.min = @mulAdd(F32s, m_w, @splat(fp.halfToF32(xb.s)), s.min);
            inline for (&s.lanes, levels, 0..) |*lane, level, j| {
                const x4 = simd.repeat4Bytes(xb.qs[4 * j ..][0..4]);
                const sum: F32s = @floatFromInt(simd.dotUnsigned4(level, x4));
                lane.* = @mulAdd(F32s, scale, sum, lane.*);
            }
        }
    }
    var out: [tokens]F32s = undefined;
    inline for (&out, sums) |*o, s| o.* = s.total();
    return out;
}

const token_kernels = legacy_rows16.TokenKernels(groupDot);
/// One token against the group's 16 rows, each result equal to `q4_1.dot`'s.
pub const dotGroup = token_kernels.dotGroup;
/// Two tokens against the group's 16 rows, each result equal to `q4_1.dot`'s.
pub const dotGroupTokens2 = token_kernels.dotGroupTokens2;

test "dotGroup() and dotGroupTokens2() equal q4_1's dotGeneric() bit for bit" {
    const q4_1 = @import("q4_1.zig");
    const q8_1 = @import("q8_1.zig");
    try legacy_rows16.expectLanesMatchReference(
        Block,
        ActBlock,
        @This(),
        41,
        q4_1.quantizeRow,
        q8_1.quantizeRowActivation,
        q4_1.dotGeneric,
    );
}
