//! Q8_0 matrices repacked sixteen rows at a time (`Layout.rows16`), SIMD lanes = rows, as
//! q4_0_rows16.zig does for Q4_0, in `q8_0.dot`'s order (llama.cpp does not repack Q8_0 on
//! x86: its vec_dot and tinyBLAS kernels round alike).
//!
//! One group block holds block b of rows 16g..16g+15, 544 bytes (16 × 34, the file's size),
//! in legacy_rows16.zig's layout: 16 scales, then 8 pieces of 64 bytes, each byte + 128
//! (unsigned).
//!
//! Piece i is lane i of `legacy_dot.dot`'s 8-lane order for all 16 rows: one `vpdpbusd` of the
//! unsigned bytes against the four activations broadcast to every lane, started at -128·Σ of
//! those activations (the offset, the same for every row), is that lane's exact i32 sum. Each
//! lane is then converted (read back through `bias`) and fused-multiply-added with d_w·d_x into
//! its own accumulator, and the 8 accumulators are summed by halves at the end, so results are
//! bit-identical to `q8_0.dot`'s. The starts and d_x are the same for every group: callers
//! prepare them once per token (`prepare`).

const std = @import("std");
const assert = std.debug.assert;
const blocks = @import("blocks.zig");
const fp = @import("fp.zig");
const layout = @import("layout.zig");
const legacy_rows16 = @import("legacy_rows16.zig");
const simd = @import("simd.zig");

const Block = blocks.BlockQ8_0;
const ActBlock = blocks.BlockQ8_0;
const qk = blocks.qk_legacy;

/// Rows per group.
pub const group_rows = legacy_rows16.group_rows;
/// Bytes of one group block.
pub const group_block_bytes = legacy_rows16.groupBlockBytes(Block);

const qs_offset = legacy_rows16.qs_offset;
/// What `interleave` XORs into every qs byte: each qs byte + 128 (unsigned).
const byte_flip: u8 = 0x80;
const pieces = qk / 4;

comptime {
    assert(qs_offset + pieces * 64 == group_block_bytes);
}

const I32s = @Vector(group_rows, i32);
const F32s = @Vector(group_rows, f32);
const Bytes = @Vector(64, u8);

/// Writes `rows` rows of `blocks_per_row` Q8_0 blocks (file layout, `src`) to `dst` in groups
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

/// 1.5·2^23, whose bit pattern plus an integer k (|k| < 2^22) is the bit pattern of the float
/// 1.5·2^23 + k: a lane's sum started at these bits reads back, less the bias, as the exact f32
/// of the sum with one `vsubps` (two ports) instead of `vcvtdq2ps` (in cache, 64 tokens: 87 ->
/// 90-92 GMAC/s; one token 56 -> 59 GB/s; 1B Q8_0 prefill512 +3 %). Lane sums stay within
/// ±4·128·127.
const bias: f32 = 0x1.8p23;
const bias_bits: i32 = @bitCast(bias);

/// What every group multiplies one activation block with.
pub const BlockConstants = extern struct {
    /// -128·Σ of activations 4i..4i+4, plus `bias_bits`: where lane i's sum of offset weights
    /// starts.
    starts: [pieces]i32,
    /// The block's scale d_x as f32.
    d: f32,
};

/// The constants of every block of the Q8_0 activation row `x` into `out` (one per block).
pub fn prepare(x: []const u8, out: []BlockConstants) void {
    const acts = blocks.asBlocks(ActBlock, x);
    assert(out.len == acts.len);
    for (acts, out) |*xb, *c| {
        // The 8 sums of four in vectors: lane i of `nth(j)` is value 4i + j. Per tile of rows
        // and token, one value at a time this was ~15 % of the kernel's instructions.
        const values: @Vector(qk, i32) = @as(@Vector(qk, i8), xb.qs);
        const sums = nth(values, 0) + nth(values, 1) + nth(values, 2) + nth(values, 3);
        const offsets = sums * @as(@Vector(pieces, i32), @splat(-128));
        c.starts = offsets + @as(@Vector(pieces, i32), @splat(bias_bits));
        c.d = fp.halfToF32(xb.d);
    }
}

/// Values j, 4 + j, 8 + j, ... of a block.
inline fn nth(values: @Vector(qk, i32), comptime j: usize) @Vector(pieces, i32) {
    const mask = comptime blk: {
        var m: [pieces]i32 = undefined;
        for (&m, 0..) |*e, i| e.* = @intCast(4 * i + j);
        break :blk m;
    };
    return @shuffle(i32, values, undefined, mask);
}

/// The dot products of a group's 16 rows with `tokens` activation rows, `q8_0.dot`'s order.
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
    var acc: [tokens][pieces]F32s = @splat(@splat(@splat(0)));
    for (0..block_count) |b| {
        const block = group[b * group_block_bytes ..][0..group_block_bytes];
        simd.prefetchAhead(block, group_block_bytes, comptime simd.PrefetchTarget.forTokens(tokens));
        const d_w = fp.halves16ToF32(block[0..32]);
        var scales: [tokens]F32s = undefined;
        inline for (&scales, constants) |*s, c| s.* = d_w * @as(F32s, @splat(c[b].d));
        inline for (0..pieces) |i| {
            const weights: Bytes = block[qs_offset + 64 * i ..][0..64].*;
            inline for (&acc, &acts, constants, scales) |*a, act, c, scale| {
                const x4 = simd.repeat4Bytes(act[b].qs[4 * i ..][0..4]);
                const start: I32s = @splat(c[b].starts[i]);
                const sums = simd.dotUnsigned4Add(start, weights, x4);
                const exact = @as(F32s, @bitCast(sums)) - @as(F32s, @splat(bias));
                a[i] = @mulAdd(F32s, scale, exact, a[i]);
            }
        }
    }
    var out: [tokens]F32s = undefined;
    // simd.treeSum's order over each row's 8 lanes.
    inline for (&out, acc) |*o, a| {
        o.* = ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7]));
    }
    return out;
}

/// One token against the group's 16 rows, each result equal to `q8_0.dot`'s; `constants`
/// are `prepare`'s for `x`.
pub fn dotGroup(
    n: usize,
    group: []const u8,
    x: []const u8,
    constants: []const BlockConstants,
) [group_rows]f32 {
    return groupDot(1, n, group, .{x}, .{constants})[0];
}

/// Three tokens against the group's 16 rows (each weight piece loaded once for the three; 24
/// accumulators: four tokens' 32 spill. In cache, 64 tokens: 82 GMAC/s two at a time, 87
/// three, 59 four).
pub fn dotGroupTokens3(
    n: usize,
    group: []const u8,
    xs: [3][]const u8,
    constants: [3][]const BlockConstants,
) [3][group_rows]f32 {
    return layout.groupRows(3, groupDot(3, n, group, xs, constants));
}

test "dotGroup() and dotGroupTokens3() equal q8_0's dot() bit for bit" {
    const q8_0 = @import("q8_0.zig");
    try legacy_rows16.expectMatchesReference(
        Block,
        @This(),
        3,
        31,
        q8_0.quantizeRow,
        dotGroupTokens3,
        q8_0.dot,
    );
}
