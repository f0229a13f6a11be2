//! Q4_0 matrices repacked sixteen rows at a time (`Layout.rows16`), SIMD lanes = rows, as
//! q4_k_rows16.zig does for Q4_K.
//!
//! One group block holds block b of rows 16g..16g+15, 288 bytes (16 × 18, the file's size),
//! in legacy_rows16.zig's layout: 16 scales, then 4 pieces of 64 bytes.
//!
//! Piece i holds values 4i..4i+4 of every row in its low nibbles and 16+4i..16+4i+4 in its
//! high nibbles. One `vpdpbusd` of the unsigned levels against four activations broadcast to
//! every lane adds four products to each of the 16 rows' sums; eight of them, started at
//! -8·Σx (Q4_0's level offset times the block's activation sum, the same for every row), give
//! each row's exact i32 sum of the block. That start and the activation scale as f32 are the
//! same for every group, so callers prepare them once per token (`prepare`): computed inside,
//! they cost a third of the kernel's time.
//!
//! The float steps per row are `q4_0.dotRepacked`'s (llama.cpp's repacked Q4_0 order): the
//! block's sum converted and fused-multiply-added with d_w·d_x, block by block, so results
//! are bit-identical to it.

const std = @import("std");
const assert = std.debug.assert;
const blocks = @import("blocks.zig");
const fp = @import("fp.zig");
const layout = @import("layout.zig");
const legacy_rows16 = @import("legacy_rows16.zig");
const simd = @import("simd.zig");

const Block = blocks.BlockQ4_0;
const ActBlock = blocks.BlockQ8_0;
const qk = blocks.qk_legacy;

/// Rows per group.
pub const group_rows = legacy_rows16.group_rows;
/// Bytes of one group block.
pub const group_block_bytes = legacy_rows16.groupBlockBytes(Block);

const qs_offset = legacy_rows16.qs_offset;
/// What `interleave` XORs into every qs byte: qs bytes as they are.
const byte_flip: u8 = 0;
const pieces = qk / 2 / 4;

comptime {
    assert(qs_offset + pieces * 64 == group_block_bytes);
}

const I32s = @Vector(group_rows, i32);
const F32s = @Vector(group_rows, f32);
const Bytes = @Vector(64, u8);

/// Writes `rows` rows of `blocks_per_row` Q4_0 blocks (file layout, `src`) to `dst` in groups
/// of 16 rows. `rows` is a multiple of 16.
pub fn interleave(blocks_per_row: usize, rows: usize, src: []const u8, dst: []u8) void {
    legacy_rows16.interleave(Block, byte_flip, blocks_per_row, rows, src, dst);
}

/// Row `r`'s block, as the file has it, of a group block `interleave` wrote.
pub fn gatherBlock(group_block: []const u8, r: usize) Block {
    return legacy_rows16.gatherBlock(Block, byte_flip, group_block, r);
}

/// Most blocks per row callers prepare constants for (rows of up to 32768 values).
pub const max_blocks = legacy_rows16.max_blocks;

/// What every group multiplies one activation block with.
pub const BlockConstants = extern struct {
    /// Q4_0's level offset times the sum of the block's 32 activations, negated: where each
    /// row's sum of unsigned levels times activations starts.
    start: i32,
    /// The block's scale d_x as f32.
    d: f32,
};

/// The constants of every block of the Q8_0 activation row `x` into `out` (one per block).
pub fn prepare(x: []const u8, out: []BlockConstants) void {
    const acts = blocks.asBlocks(ActBlock, x);
    assert(out.len == acts.len);
    for (acts, out) |*xb, *c| {
        const xs: @Vector(qk, i32) = xb.qs;
        c.* = .{ .start = -8 * @reduce(.Add, xs), .d = fp.halfToF32(xb.d) };
    }
}

/// The dot products of a group's 16 rows with `tokens` activation rows, `dotRepacked`'s order.
inline fn groupDot(
    comptime tokens: usize,
    n: usize,
    group: []const u8,
    xs: [tokens][]const u8,
    constants: [tokens][]const BlockConstants,
) [tokens]F32s {
    const block_count = blocks.blockCount(n, qk);
    assert(group.len == block_count * group_block_bytes);
    const acts = blocks.asBlockRows(ActBlock, tokens, xs, block_count);
    for (constants) |c| assert(c.len == block_count);
    var acc: [tokens]F32s = @splat(@splat(0));
    for (0..block_count) |b| {
        const block: *const [group_block_bytes]u8 = group[b * group_block_bytes ..][0..group_block_bytes];
        simd.prefetchAhead(block, group_block_bytes, comptime simd.PrefetchTarget.forTokens(tokens));
        const d_w = fp.halves16ToF32(block[0..32]);
        // Two chains of `vpdpbusd` per token (low and high nibbles), added at the end: integer
        // sums are exact in any order, and two chains of four wait half as long as one of eight.
        var sums_low: [tokens]I32s = undefined;
        var sums_high: [tokens]I32s = @splat(@splat(0));
        inline for (&sums_low, constants) |*s, c| s.* = @splat(c[b].start);
        inline for (0..pieces) |i| {
            const packed_q: Bytes = block[qs_offset + 64 * i ..][0..64].*;
            const low = packed_q & @as(Bytes, @splat(0x0F));
            const high = packed_q >> @splat(4);
            inline for (&sums_low, &sums_high, &acts) |*s_low, *s_high, a| {
                const xb = &a[b];
                const x_low = simd.repeat4Bytes(xb.qs[4 * i ..][0..4]);
                const x_high = simd.repeat4Bytes(xb.qs[16 + 4 * i ..][0..4]);
                s_low.* = simd.dotUnsigned4Add(s_low.*, low, x_low);
                s_high.* = simd.dotUnsigned4Add(s_high.*, high, x_high);
            }
        }
        inline for (&acc, sums_low, sums_high, constants) |*a, s_low, s_high, c| {
            const d = d_w * @as(F32s, @splat(c[b].d));
            a.* = @mulAdd(F32s, @floatFromInt(s_low + s_high), d, a.*);
        }
    }
    return acc;
}

/// One token against the group's 16 rows, each result equal to `q4_0.dotRepacked`'s;
/// `constants` are `prepare`'s for `x`.
pub fn dotGroup(
    n: usize,
    group: []const u8,
    x: []const u8,
    constants: []const BlockConstants,
) [group_rows]f32 {
    return groupDot(1, n, group, .{x}, .{constants})[0];
}

/// Four tokens against the group's 16 rows (each weight piece unpacked once for all four).
pub fn dotGroupTokens4(
    n: usize,
    group: []const u8,
    xs: [4][]const u8,
    constants: [4][]const BlockConstants,
) [4][group_rows]f32 {
    return layout.groupRows(4, groupDot(4, n, group, xs, constants));
}

test "dotGroup() and dotGroupTokens4() equal q4_0's dotRepacked() bit for bit" {
    const q4_0 = @import("q4_0.zig");
    try legacy_rows16.expectMatchesReference(
        Block,
        @This(),
        4,
        29,
        q4_0.quantizeRow,
        dotGroupTokens4,
        q4_0.dotRepacked,
    );
}
