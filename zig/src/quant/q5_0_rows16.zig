//! Q5_0 matrices repacked sixteen rows at a time (`Layout.rows16`), SIMD lanes = rows, as
//! q4_1_rows16.zig does for Q4_1. Models whose rows are not a multiple of 256 values (Qwen2.5
//! 0.5B's 896) get Q5_0 in llama.cpp's Q4_K_M mixture (132 of its matrices); row by row they
//! held its decode at ~0.55-0.6 of the stream.
//!
//! One group block holds block b of rows 16g..16g+15, 352 bytes (16 × 22, the file's size):
//!
//!   [0, 32)     d of rows 0..15 (f16)
//!   [32, 96)    the fifth bits as eight 64-bit masks: mask j has bit 4r + k set when value
//!               4j + k of row r has its fifth bit (j < 4: low nibbles of piece j, j ≥ 4:
//!               high nibbles of piece j - 4)
//!   [96, 352)   qs in four 64-byte pieces: piece i holds row r's qs[4i ..][0..4] at 4r
//!
//! Lane j of llama.cpp's `ggml_vec_dot_q5_0_q8_0` sums values 4j..4j+3; here one `vpdpbusd`
//! of lane j's unsigned levels (nibble + 16 where the mask bit is set) against the four
//! activations, started at -16·Σ of those activations, gives it exactly for all 16 rows. The
//! float steps per row are `legacy_dot.dot`'s, so results are bit-identical to `q5_0.dot`.

const std = @import("std");
const assert = std.debug.assert;
const blocks = @import("blocks.zig");
const fp = @import("fp.zig");
const legacy_rows16 = @import("legacy_rows16.zig");
const simd = @import("simd.zig");

const Block = blocks.BlockQ5_0;
const ActBlock = blocks.BlockQ8_0;
const qk = blocks.qk_legacy;

/// Rows per group.
pub const group_rows = legacy_rows16.group_rows;
/// Bytes of one group block.
pub const group_block_bytes: usize = group_rows * @sizeOf(Block);

const masks_offset = 2 * group_rows;
const qs_offset = masks_offset + 8 * 8;
const pieces = qk / 2 / 4;

comptime {
    assert(qs_offset + pieces * 64 == group_block_bytes);
}

const I32s = @Vector(group_rows, i32);
const F32s = @Vector(group_rows, f32);
const Bytes = @Vector(64, u8);

/// Writes `rows` rows of `blocks_per_row` Q5_0 blocks (file layout, `src`) to `dst` in groups
/// of 16 rows. `rows` is a multiple of 16.
pub fn interleave(blocks_per_row: usize, rows: usize, src: []const u8, dst: []u8) void {
    assert(rows % group_rows == 0);
    assert(src.len == rows * blocks_per_row * @sizeOf(Block) and dst.len == src.len);
    const all = blocks.asBlocks(Block, src);
    var out: usize = 0;
    var group: usize = 0;
    while (group < rows) : (group += group_rows) {
        for (0..blocks_per_row) |b| {
            const block_out = dst[out..][0..group_block_bytes];
            var masks: [8]u64 = @splat(0);
            for (0..group_rows) |r| {
                const block = &all[(group + r) * blocks_per_row + b];
                block_out[2 * r ..][0..2].* = @bitCast(block.d);
                const qh = std.mem.readInt(u32, &block.qh, .little);
                for (&masks, 0..) |*mask, j| {
                    const bits: u64 = (qh >> @intCast(4 * j)) & 0xF;
                    mask.* |= bits << @intCast(4 * r);
                }
                for (0..pieces) |i| {
                    block_out[qs_offset + 64 * i + 4 * r ..][0..4].* = block.qs[4 * i ..][0..4].*;
                }
            }
            for (masks, 0..) |mask, j| {
                std.mem.writeInt(u64, block_out[masks_offset + 8 * j ..][0..8], mask, .little);
            }
            out += group_block_bytes;
        }
    }
    assert(out == dst.len);
}

/// The dot products of a group's 16 rows with `tokens` Q8_0 activation rows.
inline fn groupDot(
    comptime tokens: usize,
    n: usize,
    group: []const u8,
    xs: [tokens][]const u8,
) [tokens]F32s {
    const block_count = blocks.blockCount(n, qk);
    assert(group.len == block_count * group_block_bytes);
    const acts = blocks.asBlockRows(ActBlock, tokens, xs, block_count);
    const sixteen: Bytes = @splat(16);
    var lanes: [tokens][8]F32s = @splat(@splat(@splat(0)));
    for (0..block_count) |b| {
        const block = group[b * group_block_bytes ..][0..group_block_bytes];
        const target = comptime simd.PrefetchTarget.forTokens(tokens);
        simd.prefetchAhead(block, group_block_bytes, target);
        const d_w = fp.halves16ToF32(block[0..32]);
        var levels: [2 * pieces]Bytes = undefined;
        inline for (0..pieces) |i| {
            const packed_q: Bytes = block[qs_offset + 64 * i ..][0..64].*;
            levels[i] = packed_q & @as(Bytes, @splat(0x0F));
            levels[pieces + i] = packed_q >> @splat(4);
        }
        inline for (&levels, 0..) |*level, j| {
            const mask_bits = std.mem.readInt(u64, block[masks_offset + 8 * j ..][0..8], .little);
            const fifth: @Vector(64, bool) = @bitCast(mask_bits);
            level.* = @select(u8, fifth, level.* + sixteen, level.*);
        }
        inline for (&lanes, acts) |*token_lanes, a| {
            const xb = &a[b];
            // llama.cpp: d = d_w·d_x as f32, lane j += d·(f32)sum_j.
            const scale = d_w * @as(F32s, @splat(fp.halfToF32(xb.d)));
            inline for (token_lanes, levels, 0..) |*lane, level, j| {
                const x4 = simd.repeat4Bytes(xb.qs[4 * j ..][0..4]);
                // Σ (q - 16)·x = Σ q·x - 16·Σ x: the unsigned products start at -16·Σ x.
                const start = @as(I32s, @splat(0)) - simd.dotUnsigned4(sixteen, x4);
                const sum: F32s = @floatFromInt(simd.dotUnsigned4Add(start, level, x4));
                lane.* = @mulAdd(F32s, scale, sum, lane.*);
            }
        }
    }
    var out: [tokens]F32s = undefined;
    inline for (&out, lanes) |*o, token_lanes| o.* = legacy_rows16.eightLaneSums(token_lanes);
    return out;
}

const token_kernels = legacy_rows16.TokenKernels(groupDot);
/// One token against the group's 16 rows, each result equal to `q5_0.dot`'s.
pub const dotGroup = token_kernels.dotGroup;
/// Two tokens against the group's 16 rows, each result equal to `q5_0.dot`'s.
pub const dotGroupTokens2 = token_kernels.dotGroupTokens2;

test "dotGroup() and dotGroupTokens2() equal q5_0's dotGeneric() bit for bit" {
    const q5_0 = @import("q5_0.zig");
    const q8_0 = @import("q8_0.zig");
    try legacy_rows16.expectLanesMatchReference(
        Block,
        ActBlock,
        @This(),
        50,
        q5_0.quantizeRow,
        q8_0.quantizeRowActivation,
        q5_0.dotGeneric,
    );
}
