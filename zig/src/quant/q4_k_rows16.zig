//! Q4_K matrices repacked sixteen rows at a time (`Layout.rows16`), for kernels whose SIMD
//! lanes are the rows: lane r of every vector belongs to row r of the group, so the integer
//! sums over k are vertical adds and nothing is reduced across lanes.
//!
//! One group block holds super-block b of rows 16g..16g+15, 2304 bytes (16 × 144, the file's
//! size), blocks one after another:
//!
//!   [0, 32)       d of rows 0..15 (f16)
//!   [32, 64)      dmin of rows 0..15 (f16)
//!   [64, 256)     the 12 packed scale bytes, transposed: byte i of row r at 64 + 16·i + r
//!   [256, 2304)   qs in 4-byte pieces: step s = 8c + i (chunk c of 64 values, i in 0..8) is
//!                 64 bytes at 256 + 64·s, row r's qs[32c + 4i ..][0..4] at 4r
//!
//! A step's 64 bytes hold values 64c + 4i .. +4 of each row in their low nibbles and values
//! 64c + 32 + 4i .. +4 in their high nibbles (Q4_K's packing), so one `vpdpbusd` against the
//! four matching activations, broadcast to every lane, adds four products to each row's lane.
//!
//! The float steps per row are those of q4_k.zig's `dot` (one token: a block's integer sums
//! converted at once) and `dotBatched` (tokens in groups of four: each 64-value chunk's), lane
//! by lane, so results are bit-identical to them.

const std = @import("std");
const assert = std.debug.assert;
const blocks = @import("blocks.zig");
const fp = @import("fp.zig");
const layout = @import("layout.zig");
const simd = @import("simd.zig");

const Block = blocks.BlockQ4_K;
const ActBlock = blocks.BlockQ8_K;
const qk = blocks.qk_k;

/// Rows per group.
pub const group_rows: usize = layout.rows16_group_rows;
/// Bytes of one group block.
pub const group_block_bytes: usize = group_rows * @sizeOf(Block);

const d_offset = 0;
const dmin_offset = 32;
const scales_offset = 64;
const qs_offset = 256;
/// 4-byte pieces of a row's 128 qs bytes.
const steps_per_block = qk / 2 / 4;

comptime {
    assert(steps_per_block == 32);
    assert(qs_offset + steps_per_block * 64 == group_block_bytes);
    assert(scales_offset + scale_bytes == qs_offset);
}

const I32s = @Vector(group_rows, i32);
const F32s = @Vector(group_rows, f32);
const Bytes16 = @Vector(group_rows, u8);
/// Two i16 per row lane (`vpdpwssd`'s operands).
const Pairs = @Vector(2 * group_rows, i16);

/// Writes `rows` rows of `blocks_per_row` Q4_K blocks (file layout, `src`) to `dst` in groups
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
    for (0..steps_per_block) |s| {
        const c = s / 8;
        const i = s % 8;
        block_out[qs_offset + 64 * s + 4 * r ..][0..4].* = block.qs[32 * c + 4 * i ..][0..4].*;
    }
}

/// Bytes of a group block's transposed scales (12 per row).
pub const scale_bytes = blocks.k_scale_bytes * group_rows;

/// The 8 scales and 8 mins of every row of a group block, lanes = rows (k_scales.zig's
/// packing, decoded for 16 rows at once). Q5_K's group blocks (q5_k_rows16.zig) hold their
/// scales the same way.
pub const ScalesMins = struct {
    scale: [8]I32s,
    min: [8]I32s,

    /// One sub-block's scale and min, lanes = rows.
    pub const SubBlock = struct { scale: I32s, min: I32s };

    /// From the transposed scale bytes: byte i of row r at 16·i + r.
    pub inline fn of(scales: *const [scale_bytes]u8) ScalesMins {
        var out: ScalesMins = undefined;
        inline for (0..8) |j| {
            const sub = subBlock(scales, j);
            out.scale[j] = sub.scale;
            out.min[j] = sub.min;
        }
        return out;
    }

    /// Sub-block j's scale and min only: a kernel that decodes each where it uses it keeps
    /// 16 vectors fewer alive.
    pub inline fn subBlock(scales: *const [scale_bytes]u8, comptime j: usize) SubBlock {
        const s = struct {
            inline fn byte(all: *const [scale_bytes]u8, comptime i: usize) Bytes16 {
                return all[group_rows * i ..][0..16].*;
            }
        }.byte;
        const low6: Bytes16 = @splat(63);
        if (j < 4) return .{ .scale = s(scales, j) & low6, .min = s(scales, j + 4) & low6 };
        const top_scale = (s(scales, j - 4) >> @splat(6)) << @splat(4);
        const top_min = (s(scales, j) >> @splat(6)) << @splat(4);
        return .{
            .scale = (s(scales, j + 4) & @as(Bytes16, @splat(0x0F))) | top_scale,
            .min = (s(scales, j + 4) >> @splat(4)) | top_min,
        };
    }
};

/// Running sums of the 16 rows, as q4_k.zig's `Acc` per row.
const Acc = struct {
    scaled: F32s = @splat(0),
    mins: F32s = @splat(0),
};

/// The dot products of a group's 16 rows with `tokens` activation rows: `per_chunk` false is
/// `q4_k.dot`'s order, true `q4_k.dotBatched`'s.
inline fn groupDot(
    comptime tokens: usize,
    comptime per_chunk: bool,
    n: usize,
    group: []const u8,
    xs: [tokens][]const u8,
) [tokens]F32s {
    // Every step is unrolled (and, without VNNI, each `vpdpbusd` becomes a tree of adds).
    @setEvalBranchQuota(400_000);
    const block_count = blocks.blockCount(n, qk);
    assert(group.len == block_count * group_block_bytes);
    const acts = blocks.asBlockRows(ActBlock, tokens, xs, block_count);
    const target = comptime simd.PrefetchTarget.forTokens(tokens);
    var acc: [tokens]Acc = @splat(.{});
    for (0..block_count) |b| {
        const block: *const [group_block_bytes]u8 = group[b * group_block_bytes ..][0..group_block_bytes];
        // The header's lines now, each step's line as the step is reached: 36 prefetches at
        // once per block left the memory idle through the block's compute (1 GiB of rows16
        // Q4_K on two threads: 0.82-0.87 of the stream that way, 0.85-0.94 this way).
        simd.prefetchAhead(block, qs_offset, target);
        const d_w = fp.halves16ToF32(block[d_offset..][0..32]);
        const dmin_w = fp.halves16ToF32(block[dmin_offset..][0..32]);
        const scales = block[scales_offset..][0..scale_bytes];
        var half_sums: [tokens][8]f32 = undefined;
        // d_w·d_x and dmin_w·d_x once per block (the compiler left them in the chunk loop).
        var d: [tokens]F32s = undefined;
        var dmin: [tokens]F32s = undefined;
        if (per_chunk) inline for (&half_sums, &d, &dmin, acts) |*h, *dt, *dmint, a| {
            h.* = ExactChunk.halfSums(&a[b]);
            const x_d: F32s = @splat(a[b].d);
            dt.* = d_w * x_d;
            dmint.* = dmin_w * x_d;
        };
        var block_sums: [tokens]I32s = @splat(@splat(0));
        var block_mins: [tokens]I32s = @splat(@splat(0));
        inline for (0..4) |c| {
            var low: [tokens]I32s = @splat(@splat(0));
            var high: [tokens]I32s = @splat(@splat(0));
            inline for (0..8) |i| {
                const step = block[qs_offset + 64 * (8 * c + i) ..][0..64];
                simd.prefetchAhead(step, 64, target);
                const packed_q: @Vector(64, u8) = step.*;
                const q_low = packed_q & @as(@Vector(64, u8), @splat(0x0F));
                // The high nibbles in place, 16 times their levels: one operation instead of a
                // shift and a mask; their sums are divided by 16 once per chunk (exactly: every
                // product is a multiple of 16).
                const q_high = packed_q & @as(@Vector(64, u8), @splat(0xF0));
                inline for (0..tokens) |t| {
                    const xb = &acts[t][b];
                    const x_low = simd.repeat4Bytes(xb.qs[64 * c + 4 * i ..][0..4]);
                    const x_high = simd.repeat4Bytes(xb.qs[64 * c + 32 + 4 * i ..][0..4]);
                    low[t] = simd.dotUnsigned4Add(low[t], q_low, x_low);
                    high[t] = simd.dotUnsigned4Add(high[t], q_high, x_high);
                }
            }
            const first = ScalesMins.subBlock(scales, 2 * c);
            const second = ScalesMins.subBlock(scales, 2 * c + 1);
            if (per_chunk) {
                const exact = ExactChunk.of(first, second);
                inline for (0..tokens) |t| {
                    const chunk = exact.chunk(low[t], high[t]);
                    const chunk_mins = exact.mins(half_sums[t][2 * c ..][0..2].*);
                    acc[t].scaled = @mulAdd(F32s, chunk, d[t], acc[t].scaled);
                    acc[t].mins = @mulAdd(F32s, chunk_mins, dmin[t], acc[t].mins);
                }
            } else {
                // The chunk's two mins in the i16 halves of a row's lane: with the token's two
                // activation sums in the same halves, one `vpdpwssd` is min·Σx + min·Σx,
                // exactly (mins below 64, sums of 32 values of |x| ≤ 127).
                const min_pair = simd.i16Pairs(first.min, second.min);
                inline for (0..tokens) |t| {
                    const x_sums = bsumPair(&acts[t][b], c);
                    const chunk_mins = simd.dotPairs16Add(@splat(0), min_pair, x_sums);
                    block_sums[t] += low[t] * first.scale + (high[t] >> @splat(4)) * second.scale;
                    block_mins[t] += chunk_mins;
                }
            }
        }
        if (!per_chunk) inline for (0..tokens) |t| {
            const x_d: F32s = @splat(acts[t][b].d);
            acc[t].scaled = @mulAdd(F32s, @floatFromInt(block_sums[t]), d_w * x_d, acc[t].scaled);
            acc[t].mins = @mulAdd(F32s, @floatFromInt(block_mins[t]), dmin_w * x_d, acc[t].mins);
        };
    }
    var out: [tokens]F32s = undefined;
    inline for (&out, acc) |*o, a| o.* = a.scaled - a.mins;
    return out;
}

/// A 64-value chunk's integer sums computed in f32 for `dotBatched`'s order, which converts
/// each chunk's: every value on the way is an integer below 2^24, so each f32 step is exact and
/// the result is the converted integer bit for bit, in two vector operations where integers
/// took two `vpmulld` (two micro-operations each), a shift, an add and the conversion; the mins
/// likewise (layout_bench, 64 tokens in cache: 117 -> 135 GMAC/s). A chunk is
/// at most 63·(15 + 15)·127·32 = 7.7·10^6; its mins' sum 2·63·127·32 = 5.1·10^5. (A whole
/// block's four chunks can pass 2^24: `dot`'s order stays in integers.)
const ExactChunk = struct {
    /// The first sub-block's scale, and the second's over 16 (its sums are 16 times the
    /// high nibbles').
    scale_first: F32s,
    scale_second_16: F32s,
    min_first: F32s,
    min_second: F32s,

    inline fn of(first: ScalesMins.SubBlock, second: ScalesMins.SubBlock) ExactChunk {
        const scale_second: F32s = @floatFromInt(second.scale);
        return .{
            .scale_first = @floatFromInt(first.scale),
            .scale_second_16 = scale_second * @as(F32s, @splat(1.0 / 16.0)),
            .min_first = @floatFromInt(first.min),
            .min_second = @floatFromInt(second.min),
        };
    }

    /// scale·Σ low·x + scale·Σ high·x, with `high` 16 times the high nibbles' sum.
    inline fn chunk(self: ExactChunk, low: I32s, high: I32s) F32s {
        const high_part = @as(F32s, @floatFromInt(high)) * self.scale_second_16;
        return @mulAdd(F32s, @floatFromInt(low), self.scale_first, high_part);
    }

    /// min·Σx + min·Σx over the chunk's two 32-value halves (`sums`, from `halfSums`).
    inline fn mins(self: ExactChunk, sums: [2]f32) F32s {
        const second_part = self.min_second * @as(F32s, @splat(sums[1]));
        return @mulAdd(F32s, self.min_first, @splat(sums[0]), second_part);
    }

    /// The block's eight 32-value activation sums (its bsums added in pairs), as f32.
    inline fn halfSums(xb: *const ActBlock) [8]f32 {
        const bsums: @Vector(16, i16) = xb.bsums;
        const wide: @Vector(16, i32) = bsums;
        const even = @shuffle(i32, wide, undefined, [8]i32{ 0, 2, 4, 6, 8, 10, 12, 14 });
        const odd = @shuffle(i32, wide, undefined, [8]i32{ 1, 3, 5, 7, 9, 11, 13, 15 });
        const sums: @Vector(8, f32) = @floatFromInt(even + odd);
        return sums;
    }
};

/// Chunk c's two 32-value activation sums as the i16 halves of one lane, in every lane.
inline fn bsumPair(xb: *const ActBlock, comptime c: usize) Pairs {
    const low: i16 = xb.bsums[4 * c] + xb.bsums[4 * c + 1];
    const high: i16 = xb.bsums[4 * c + 2] + xb.bsums[4 * c + 3];
    const pair = @as(u32, @as(u16, @bitCast(low))) | (@as(u32, @as(u16, @bitCast(high))) << 16);
    return @bitCast(@as(@Vector(group_rows, u32), @splat(pair)));
}

/// One token against the group's 16 rows, each result equal to `q4_k.dot`'s.
pub fn dotGroup(n: usize, group: []const u8, x: []const u8) [group_rows]f32 {
    return groupDot(1, false, n, group, .{x})[0];
}

/// Four tokens against the group's 16 rows, each result equal to `q4_k.dotBatched`'s.
pub fn dotGroupTokens4(n: usize, group: []const u8, xs: [4][]const u8) [4][group_rows]f32 {
    return layout.groupRows(4, groupDot(4, true, n, group, xs));
}

const testing = std.testing;

test "dotGroup() and dotGroupTokens4() equal q4_k's dot() and dotBatched() bit for bit" {
    const q4_k = @import("q4_k.zig");
    const q8_k = @import("q8_k.zig");
    const allocator = testing.allocator;
    const n = 3 * qk;
    const rows = 2 * group_rows;
    const row_bytes = 3 * @sizeOf(Block);
    var prng = std.Random.DefaultPrng.init(17);
    var values: [n]f32 = undefined;
    const w = try allocator.alloc(u8, rows * row_bytes);
    defer allocator.free(w);
    for (0..rows) |r| {
        // Varied magnitudes, so scales and mins use their high bits too.
        const gain: f32 = @floatFromInt(1 + r % 7);
        for (&values) |*v| v.* = prng.random().floatNorm(f32) * gain + gain * 0.3;
        q4_k.quantizeRow(&values, w[r * row_bytes ..][0..row_bytes]);
    }
    const grouped = try allocator.alloc(u8, w.len);
    defer allocator.free(grouped);
    interleave(3, rows, w, grouped);
    var act_bytes: [4][3 * @sizeOf(ActBlock)]u8 = undefined;
    var xs: [4][]const u8 = undefined;
    for (&act_bytes, &xs) |*a, *x| {
        for (&values) |*v| v.* = prng.random().floatNorm(f32) * 3;
        q8_k.quantizeRow(&values, a);
        x.* = a;
    }
    for (0..rows / group_rows) |g| {
        const group = grouped[g * group_rows * row_bytes ..][0 .. group_rows * row_bytes];
        const single = dotGroup(n, group, xs[2]);
        const batched = dotGroupTokens4(n, group, xs);
        for (0..group_rows) |r| {
            const row = w[(g * group_rows + r) * row_bytes ..][0..row_bytes];
            try testing.expectEqual(q4_k.dot(n, row, xs[2]), single[r]);
            for (0..4) |t| try testing.expectEqual(q4_k.dotBatched(n, row, xs[t]), batched[t][r]);
        }
    }
}

test "dotGroupTokens4() equals q4_k's dotBatched() at the largest sums a chunk can reach" {
    const q4_k = @import("q4_k.zig");
    const n = qk;
    // Every level 15, every scale and min 63 (all bits set), d and dmin 1: the chunk sums in
    // `ExactChunk` reach their bounds.
    var row: Block = undefined;
    row.d = @bitCast(@as(f16, 1.0));
    row.dmin = @bitCast(@as(f16, 1.0));
    @memset(&row.scales, 0xFF);
    @memset(&row.qs, 0xFF);
    const w: [group_rows]Block = @splat(row);
    var grouped: [group_rows * @sizeOf(Block)]u8 = undefined;
    interleave(1, group_rows, std.mem.asBytes(&w), &grouped);
    var acts: [4]ActBlock = undefined;
    for (&acts, [4]i8{ 127, -127, 127, -127 }, 0..) |*a, level, t| {
        a.d = 0.5;
        // Tokens 2 and 3 alternate signs by 32-value half, so the two halves' mins differ.
        for (&a.qs, 0..) |*q, i| q.* = if (t >= 2 and i / 32 % 2 == 1) -level else level;
        for (&a.bsums, 0..) |*sum, j| {
            sum.* = 0;
            for (a.qs[16 * j ..][0..16]) |q| sum.* += q;
        }
    }
    var xs: [4][]const u8 = undefined;
    for (&xs, &acts) |*x, *a| x.* = std.mem.asBytes(a);
    const batched = dotGroupTokens4(n, &grouped, xs);
    const expected = q4_k.dotBatched(n, std.mem.asBytes(&row), xs[0]);
    try testing.expectEqual(@as(f32, 0.5 * 63 * 15 * 127 * 256 - 0.5 * 63 * 127 * 256), expected);
    for (0..4) |t| {
        const want = q4_k.dotBatched(n, std.mem.asBytes(&row), xs[t]);
        for (batched[t]) |got| try testing.expectEqual(want, got);
    }
}
