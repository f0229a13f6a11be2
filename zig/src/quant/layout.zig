//! How the rows of a weight matrix sit in memory.
//!
//! `rows` is the file's layout: row after row. `rows4` interleaves groups of four rows block by
//! block: block b of rows 4g..4g+3 one after another, then block b+1:
//!
//!   group g: [row 4g blk 0][4g+1 blk 0][4g+2 blk 0][4g+3 blk 0][row 4g blk 1] ...
//!
//! so a kernel computing four rows at once reads one sequential stream instead of four, which
//! the hardware prefetcher keeps up with (measured here on 2 threads: a Q4_0 matrix-vector
//! product read 17.5 GB/s row by row from 4 KiB pages, 30.2 GB/s interleaved in huge pages,
//! against a 34.6 GB/s read-only stream). Only memory order changes: every row's blocks are
//! the file's bytes, and each output's float operations are the same as the row kernel's.
//!
//! `rows16` (the `*_rows16.zig` kernels: Q4_0, Q4_1, Q5_0, Q8_0, Q4_K, Q5_K, Q6_K) groups
//! sixteen rows and rearranges each group block so that SIMD lanes are rows: the file's
//! bytes, moved, and the row kernel's float steps.

const std = @import("std");
const assert = std.debug.assert;
const blocks = @import("blocks.zig");

/// A weight matrix's layout; the number is what the graph's tensor table carries.
pub const Layout = enum(u8) {
    rows = 0,
    rows4 = 1,
    rows16 = 2,

    pub fn fromId(id: u32) ?Layout {
        return std.enums.fromInt(Layout, id);
    }
};

/// Rows per interleaved group of `Layout.rows4`.
pub const group_rows: usize = 4;

/// Rows per group of `layout`.
pub fn rowsPerGroup(layout: Layout) usize {
    return switch (layout) {
        .rows => 1,
        .rows4 => group_rows,
        .rows16 => 16,
    };
}

/// Four weight rows of one matrix: block b of row r starts at `first[r] + b·block_step` bytes.
/// Rows one after another have `block_step` = one block; rows of a `rows4` group have
/// first[r] = group start + r blocks and `block_step` = four blocks.
pub const Rows4 = struct {
    first: [group_rows][*]const u8,
    block_step: usize,

    /// Four rows of the file's layout.
    pub fn separate(rows: [group_rows][]const u8, bytes_per_block: usize) Rows4 {
        var first: [group_rows][*]const u8 = undefined;
        for (&first, rows) |*f, row| f.* = row.ptr;
        return .{ .first = first, .block_step = bytes_per_block };
    }

    /// The group that starts at `group` in a `rows4` matrix.
    pub fn interleaved(group: [*]const u8, bytes_per_block: usize) Rows4 {
        var first: [group_rows][*]const u8 = undefined;
        for (&first, 0..) |*f, r| f.* = group + r * bytes_per_block;
        return .{ .first = first, .block_step = group_rows * bytes_per_block };
    }

    /// Block `b` of row `r`.
    pub inline fn block(self: Rows4, comptime Block: type, r: usize, b: usize) *const Block {
        assert(self.block_step >= @sizeOf(Block));
        return @ptrCast(self.first[r] + b * self.block_step);
    }
};

/// Writes `src` (`rows` rows of `blocks_per_row` blocks of `bytes_per_block`, file layout) to
/// `dst` in `rows4` layout. `rows` is a multiple of four.
pub fn interleaveRows4(
    bytes_per_block: usize,
    blocks_per_row: usize,
    rows: usize,
    src: []const u8,
    dst: []u8,
) void {
    assert(rows % group_rows == 0);
    const row_bytes = bytes_per_block * blocks_per_row;
    assert(src.len == rows * row_bytes and dst.len == src.len);
    var out: usize = 0;
    var group: usize = 0;
    while (group < rows) : (group += group_rows) {
        for (0..blocks_per_row) |b| {
            for (group..group + group_rows) |r| {
                const from = r * row_bytes + b * bytes_per_block;
                @memcpy(dst[out..][0..bytes_per_block], src[from..][0..bytes_per_block]);
                out += bytes_per_block;
            }
        }
    }
    assert(out == dst.len);
}

/// Rows per group of `Layout.rows16`.
pub const rows16_group_rows: usize = 16;

/// A rows16 kernel's per-token sums (lanes = the group's rows) as the arrays its callers store.
pub inline fn groupRows(
    comptime tokens: usize,
    sums: [tokens]@Vector(rows16_group_rows, f32),
) [tokens][rows16_group_rows]f32 {
    var out: [tokens][rows16_group_rows]f32 = undefined;
    inline for (&out, sums) |*o, s| o.* = s;
    return out;
}

/// Writes `src` (`rows` rows of `blocks_per_row` `Block`s, file layout) to `dst` in
/// `Layout.rows16`'s order: per group of 16 rows and per block index, one group block of
/// 16 blocks' bytes, into which `writeRow(group_block, r, block)` moves row r's block (each
/// type's kernel says where its bytes go). `rows` is a multiple of 16.
pub fn interleaveGroups16(
    comptime Block: type,
    comptime writeRow: fn (*[rows16_group_rows * @sizeOf(Block)]u8, usize, *const Block) void,
    blocks_per_row: usize,
    rows: usize,
    src: []const u8,
    dst: []u8,
) void {
    const rows_per_group = rows16_group_rows;
    const group_block_bytes = rows_per_group * @sizeOf(Block);
    assert(rows % rows_per_group == 0);
    assert(src.len == rows * blocks_per_row * @sizeOf(Block) and dst.len == src.len);
    const all = blocks.asBlocks(Block, src);
    var out: usize = 0;
    var group: usize = 0;
    while (group < rows) : (group += rows_per_group) {
        for (0..blocks_per_row) |b| {
            const block_out = dst[out..][0..group_block_bytes];
            for (0..rows_per_group) |r| {
                writeRow(block_out, r, &all[(group + r) * blocks_per_row + b]);
            }
            out += group_block_bytes;
        }
    }
    assert(out == dst.len);
}

const testing = std.testing;

test "interleaveRows4() puts block b of row r where Rows4.interleaved() reads it" {
    const bytes_per_block = 3;
    const blocks_per_row = 5;
    const rows = 8;
    const Block = [bytes_per_block]u8;
    var src: [rows * blocks_per_row * bytes_per_block]u8 = undefined;
    for (&src, 0..) |*byte, i| byte.* = @truncate(i * 7 + 1);
    var dst: [src.len]u8 = undefined;
    interleaveRows4(bytes_per_block, blocks_per_row, rows, &src, &dst);
    const row_bytes = blocks_per_row * bytes_per_block;
    for (0..rows / group_rows) |g| {
        const group = Rows4.interleaved(dst[g * group_rows * row_bytes ..].ptr, bytes_per_block);
        var separate_rows: [group_rows][]const u8 = undefined;
        for (&separate_rows, 0..) |*row, r| {
            row.* = src[(g * group_rows + r) * row_bytes ..][0..row_bytes];
        }
        const separate = Rows4.separate(separate_rows, bytes_per_block);
        for (0..group_rows) |r| for (0..blocks_per_row) |b| {
            const want = src[(g * group_rows + r) * row_bytes + b * bytes_per_block ..][0..3];
            try testing.expectEqualSlices(u8, want, group.block(Block, r, b));
            try testing.expectEqualSlices(u8, want, separate.block(Block, r, b));
        };
    }
}
