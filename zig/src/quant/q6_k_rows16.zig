//! Q6_K matrices repacked sixteen rows at a time (`Layout.rows16`), SIMD lanes = rows, as
//! q4_k_rows16.zig does for Q4_K.
//!
//! One group block holds super-block b of rows 16g..16g+15, 3360 bytes (16 × 210, the file's
//! size):
//!
//!   [0, 32)       d of rows 0..15 (f16)
//!   [32, 288)     the 16 sub-block scales (i8), transposed: scale s of row r at 32 + 16·s + r
//!   [288, 3360)   16 quads of 192 bytes; quad (h, l), h in 0..2, l in 0..8, at 288 + 192·(8h + l),
//!                 three pieces of 64 bytes, row r's four bytes of each at 4r
//!
//! Quad (h, l) holds values 4l..4l+4 of the four 32-value chunks 4h..4h+3 of every row, as
//! 6-bit levels (0..63, Q6_K's value + 32): piece j (j < 3) holds chunk 4h+j's levels in its
//! low six bits and bits 2j, 2j+1 of chunk 4h+3's levels in its top two. Unpacking is a mask
//! for three chunks and three shifts, two selects and a mask for the fourth: 9 vector
//! operations per quad where the file's packing (low nibbles, then a byte of top bits for
//! four values) took 13, in a kernel whose 512-bit ports are its limit (in cache on one
//! thread: 35-37 GB/s with 13, 43 with 9). Each piece meets its four activations, broadcast to every lane, in one
//! `vpmaddubsw`, and `vpdpwssd` adds it, times the row's sub-block scale, to that row's lane.
//!
//! Integer sums are exact; the float steps per row are q6_k.zig's `dot` (llama.cpp's x86
//! kernel): eight lanes per row, lane l holding positions 4l..4l+3 of every chunk, less
//! 32·(bsums·scales) of sub-blocks 2l and 2l+1, fused-multiply-added with d_w·d_x block by
//! block, summed by halves at the end. Here lane l of the row is vector l, so results are
//! bit-identical to `dot`'s.

const std = @import("std");
const assert = std.debug.assert;
const blocks = @import("blocks.zig");
const fp = @import("fp.zig");
const layout = @import("layout.zig");
const simd = @import("simd.zig");
const q6_k = @import("q6_k.zig");

const Block = blocks.BlockQ6_K;
const ActBlock = blocks.BlockQ8_K;
const qk = blocks.qk_k;

/// Rows per group.
pub const group_rows: usize = layout.rows16_group_rows;
/// Bytes of one group block.
pub const group_block_bytes: usize = group_rows * @sizeOf(Block);

const d_offset = 0;
const scales_offset = 32;
const quads_offset = 288;
const quad_bytes = 192;
const quads_per_block = 16;

comptime {
    assert(scales_offset + 16 * group_rows == quads_offset);
    assert(quads_offset + quads_per_block * quad_bytes == group_block_bytes);
}

const I32s = @Vector(group_rows, i32);
const F32s = @Vector(group_rows, f32);
const Bytes = @Vector(64, u8);

/// Writes `rows` rows of `blocks_per_row` Q6_K blocks (file layout, `src`) to `dst` in groups
/// of 16 rows. `rows` is a multiple of 16.
pub fn interleave(blocks_per_row: usize, rows: usize, src: []const u8, dst: []u8) void {
    layout.interleaveGroups16(Block, writeRow, blocks_per_row, rows, src, dst);
}

fn writeRow(block_out: *[group_block_bytes]u8, r: usize, block: *const Block) void {
    const d: [2]u8 = @bitCast(block.d);
    block_out[d_offset + 2 * r ..][0..2].* = d;
    for (block.scales, 0..) |scale, s| block_out[scales_offset + group_rows * s + r] = @bitCast(scale);
    const signed = q6_k.levels(block);
    for (0..2) |h| for (0..8) |l| {
        const quad = block_out[quads_offset + quad_bytes * (8 * h + l) ..][0..quad_bytes];
        for (0..4) |p| {
            // Position 4l + p of chunks 4h..4h+3: values 128h + 32k + 4l + p, as 0..63.
            var levels: [4]u8 = undefined;
            for (&levels, 0..) |*level, k| {
                level.* = @intCast(@as(i16, signed[128 * h + 32 * k + 4 * l + p]) + 32);
            }
            for (0..3) |j| {
                const top: u8 = (levels[3] >> @intCast(2 * j)) & 3;
                quad[64 * j + 4 * r + p] = levels[j] | (top << 6);
            }
        }
    };
}

/// Each row's scale of sub-block `s` in both i16 halves of its lane (the operand `vpdpwssd`
/// multiplies a lane's two pair sums with).
inline fn scalePairs(block: *const [group_block_bytes]u8, s: usize) @Vector(32, i16) {
    const wide = scalesOf(block, s);
    return simd.i16Pairs(wide, wide);
}

/// -32 times each row's scales of sub-blocks 2l (low i16 half) and 2l+1 (high half): against
/// a token's bsums 2l and 2l+1, one `vpdpwssd` gives lane l's offset (|-32·scale| ≤ 4096 and
/// |bsum| ≤ 16·127 keep each product far inside i32).
inline fn offsetScales(block: *const [group_block_bytes]u8, l: usize) @Vector(32, i16) {
    const minus_32: I32s = @splat(-32);
    const low = scalesOf(block, 2 * l) * minus_32;
    const high = scalesOf(block, 2 * l + 1) * minus_32;
    return simd.i16Pairs(low, high);
}

/// Each row's scale of sub-block `s`, sign-extended to i32.
inline fn scalesOf(block: *const [group_block_bytes]u8, s: usize) I32s {
    const bytes: @Vector(group_rows, i8) = @bitCast(block[scales_offset + group_rows * s ..][0..16].*);
    return bytes;
}

/// The 16 rows' dot products with one activation row, each equal to `q6_k.dot`'s.
pub fn dotGroup(n: usize, group: []const u8, x: []const u8) [group_rows]f32 {
    return groupDot(1, n, group, .{x})[0];
}

/// Four activation rows against the group's 16 rows (prefill): each quad unpacked and each
/// block's scales widened once for the four (in cache: 76 GMAC/s two tokens at a time, 93 four
/// at a time); each result equal to `q6_k.dot`'s.
pub fn dotGroupTokens4(n: usize, group: []const u8, xs: [4][]const u8) [4][group_rows]f32 {
    return layout.groupRows(4, groupDot(4, n, group, xs));
}

/// The 16 rows' dot products with `tokens` activation rows, `q6_k.dot`'s order.
inline fn groupDot(
    comptime tokens: usize,
    n: usize,
    group: []const u8,
    xs: [tokens][]const u8,
) [tokens]F32s {
    // Every quad and lane is unrolled (and, without VNNI, each instruction is a tree of adds).
    @setEvalBranchQuota(800_000);
    const block_count = blocks.blockCount(n, qk);
    assert(group.len == block_count * group_block_bytes);
    const acts = blocks.asBlockRows(ActBlock, tokens, xs, block_count);
    const target = comptime simd.PrefetchTarget.forTokens(tokens);
    var acc: [tokens][8]F32s = @splat(@splat(@splat(0)));
    for (0..block_count) |b| {
        const block: *const [group_block_bytes]u8 = group[b * group_block_bytes ..][0..group_block_bytes];
        // The header's lines now, each quad's as the quad is reached (as q4_k_rows16.zig
        // does; 53 prefetches at once per block: 0.81-0.83 of the stream at 1 GiB, 0.82-0.85).
        simd.prefetchAhead(block, quads_offset, target);
        var scales: [16]@Vector(32, i16) = undefined;
        inline for (&scales, 0..) |*pairs, s| pairs.* = scalePairs(block, s);
        // Lane l of a row starts at -32·(scale(2l)·bsum(2l) + scale(2l+1)·bsum(2l+1)), the
        // levels' +32 taken back; the rest of its sum is added to it.
        var offset_scales: [8]@Vector(32, i16) = undefined;
        inline for (&offset_scales, 0..) |*pairs, l| pairs.* = offsetScales(block, l);
        const d_w = fp.halves16ToF32(block[d_offset..][0..32]);
        // Batches go lane by lane: a lane's integer sum is finished and added to its float
        // sum before the next begins, so only `tokens` integer sums are alive at once (four
        // tokens and every lane would need 32 registers). One token takes the quads in memory
        // order with all eight lanes alive.
        const lanes_at_once = if (tokens == 1) 8 else 1;
        inline for (0..8 / lanes_at_once) |lane_group| {
            const first_lane = lane_group * lanes_at_once;
            var lanes: [lanes_at_once][tokens]I32s = undefined;
            inline for (&lanes, first_lane..) |*lane, l| {
                inline for (lane, acts) |*token_lane, a| {
                    const bsums: @Vector(2, i16) = a[b].bsums[2 * l ..][0..2].*;
                    const both: @Vector(32, i16) = @bitCast(@as(I32s, @splat(@bitCast(bsums))));
                    token_lane.* = simd.dotPairs16Add(@splat(0), offset_scales[l], both);
                }
            }
            inline for (0..2) |h| {
                inline for (&lanes, first_lane..) |*lane, l| {
                    const quad = block[quads_offset + quad_bytes * (8 * h + l) ..][0..quad_bytes];
                    simd.prefetchAhead(quad, quad_bytes, target);
                    const levels = unpackQuad(quad);
                    inline for (levels, 0..) |level, k| {
                        const chunk = 4 * h + k;
                        inline for (lane, acts) |*token_lane, a| {
                            const x4 = simd.repeat4Bytes(a[b].qs[32 * chunk + 4 * l ..][0..4]);
                            const pairs = simd.pairSumsUnsigned(level, x4);
                            const scale = scales[2 * chunk + l / 4];
                            token_lane.* = simd.dotPairs16Add(token_lane.*, pairs, scale);
                        }
                    }
                }
            }
            inline for (lanes, first_lane..) |lane, l| {
                inline for (&acc, lane, acts) |*token_acc, token_lane, a| {
                    const d: F32s = d_w * @as(F32s, @splat(a[b].d));
                    token_acc[l] = @mulAdd(F32s, d, @floatFromInt(token_lane), token_acc[l]);
                }
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

/// The unsigned levels (0..63) of the quad's four chunks, lanes = rows.
inline fn unpackQuad(quad: *const [quad_bytes]u8) [4]Bytes {
    const pieces = [3]Bytes{ quad[0..64].*, quad[64..128].*, quad[128..192].* };
    const low6: Bytes = @splat(0x3F);
    // Chunk 4h+3: two bits from the top of each piece, moved to bits 0-1, 2-3 and 4-5.
    const from_0 = pieces[0] >> @splat(6);
    const from_1 = (pieces[1] >> @splat(4)) & @as(Bytes, @splat(0x0C));
    const from_2 = (pieces[2] >> @splat(2)) & @as(Bytes, @splat(0x30));
    return .{ pieces[0] & low6, pieces[1] & low6, pieces[2] & low6, from_0 | from_1 | from_2 };
}

const testing = std.testing;

test "dotGroup() and dotGroupTokens4() equal q6_k's dot() bit for bit" {
    const q8_k = @import("q8_k.zig");
    const allocator = testing.allocator;
    const n = 3 * qk;
    const rows = 2 * group_rows;
    const row_bytes = 3 * @sizeOf(Block);
    var prng = std.Random.DefaultPrng.init(23);
    var values: [n]f32 = undefined;
    const w = try allocator.alloc(u8, rows * row_bytes);
    defer allocator.free(w);
    for (0..rows) |r| {
        const gain: f32 = @floatFromInt(1 + r % 5);
        for (&values) |*v| v.* = prng.random().floatNorm(f32) * gain - gain * 0.2;
        q6_k.quantizeRow(&values, w[r * row_bytes ..][0..row_bytes]);
    }
    const grouped = try allocator.alloc(u8, w.len);
    defer allocator.free(grouped);
    interleave(3, rows, w, grouped);
    var act_bytes: [4][3 * @sizeOf(ActBlock)]u8 = undefined;
    for (&act_bytes) |*a| {
        for (&values) |*v| v.* = prng.random().floatNorm(f32) * 3;
        q8_k.quantizeRow(&values, a);
    }
    for (0..rows / group_rows) |g| {
        const group = grouped[g * group_rows * row_bytes ..][0 .. group_rows * row_bytes];
        const got = dotGroup(n, group, &act_bytes[0]);
        const xs = [4][]const u8{ &act_bytes[0], &act_bytes[1], &act_bytes[2], &act_bytes[3] };
        const got4 = dotGroupTokens4(n, group, xs);
        for (0..group_rows) |r| {
            const row = w[(g * group_rows + r) * row_bytes ..][0..row_bytes];
            try testing.expectEqual(q6_k.dot(n, row, &act_bytes[0]), got[r]);
            for (got4, &act_bytes) |got_t, *a| {
                try testing.expectEqual(q6_k.dot(n, row, a), got_t[r]);
            }
        }
    }
}
