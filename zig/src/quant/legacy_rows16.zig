//! The `rows16` group block of the legacy 32-value types with one f16 scale (Q4_0, Q8_0), and
//! the test fixture their kernels share. Block b of rows 16g..16g+15:
//!
//!   [0, 32)           d of rows 0..15 (f16)
//!   [32, 32 + 64·p)   qs in 4-byte pieces: piece i is 64 bytes at 32 + 64·i, row r's
//!                     qs[4i ..][0..4] at 4r (each byte XOR `byte_flip`)
//!
//! so one 64-byte load is four bytes of every row: the operand `vpdpbusd` multiplies with
//! four activations broadcast to every lane.

const std = @import("std");
const assert = std.debug.assert;
const blocks = @import("blocks.zig");
const layout = @import("layout.zig");

/// Rows per group.
pub const group_rows: usize = layout.rows16_group_rows;
/// Most blocks per row the kernels prepare per-token constants for (rows of up to 32768
/// values: a few tens of KiB of constants on the stack).
pub const max_blocks: usize = 1024;
/// Offset of the first qs piece in a group block.
pub const qs_offset: usize = 2 * group_rows;

/// Bytes of one group block of `Block`s.
pub fn groupBlockBytes(comptime Block: type) usize {
    return group_rows * @sizeOf(Block);
}

/// Writes `rows` rows of `blocks_per_row` `Block`s (file layout, `src`) to `dst` in groups of
/// 16 rows, each qs byte XOR `byte_flip` (0x80 makes Q8_0's signed bytes unsigned + 128).
/// `rows` is a multiple of 16.
pub fn interleave(
    comptime Block: type,
    comptime byte_flip: u8,
    blocks_per_row: usize,
    rows: usize,
    src: []const u8,
    dst: []u8,
) void {
    const writeRow = RowWriter(Block, byte_flip).writeRow;
    layout.interleaveGroups16(Block, writeRow, blocks_per_row, rows, src, dst);
}

/// Places a row's block in a group block: its d, then its qs in 4-byte pieces.
fn RowWriter(comptime Block: type, comptime byte_flip: u8) type {
    const qs_bytes = @sizeOf(@FieldType(Block, "qs"));
    const block_bytes = groupBlockBytes(Block);
    comptime assert(qs_offset + 16 * qs_bytes == block_bytes);
    return struct {
        fn writeRow(block_out: *[block_bytes]u8, r: usize, block: *const Block) void {
            const flip: @Vector(4, u8) = @splat(byte_flip);
            const d: [2]u8 = @bitCast(block.d);
            block_out[2 * r ..][0..2].* = d;
            const qs: [qs_bytes]u8 = @bitCast(block.qs);
            for (0..qs_bytes / 4) |i| {
                const piece: @Vector(4, u8) = qs[4 * i ..][0..4].*;
                block_out[qs_offset + 64 * i + 4 * r ..][0..4].* = piece ^ flip;
            }
        }
    };
}

/// Row `r`'s block of a group block that `interleave` wrote with the same `byte_flip`: its
/// inverse for one block, the file's bytes (GET_ROWS gathers tied embeddings from the copy).
pub fn gatherBlock(
    comptime Block: type,
    comptime byte_flip: u8,
    group_block: []const u8,
    r: usize,
) Block {
    const qs_bytes = @sizeOf(@FieldType(Block, "qs"));
    assert(group_block.len == groupBlockBytes(Block) and r < group_rows);
    const flip: @Vector(4, u8) = @splat(byte_flip);
    var qs: [qs_bytes]u8 = undefined;
    for (0..qs_bytes / 4) |i| {
        const piece: @Vector(4, u8) = group_block[qs_offset + 64 * i + 4 * r ..][0..4].*;
        qs[4 * i ..][0..4].* = piece ^ flip;
    }
    var block: Block = undefined;
    block.d = @bitCast(group_block[2 * r ..][0..2].*);
    block.qs = @bitCast(qs);
    return block;
}

/// `dotGroup` (one token) and `dotGroupTokens2` (two, each weight piece unpacked once for
/// both) of a rows16 kernel whose `groupDot(tokens, n, group, xs)` gives each token's 16 row
/// sums; the float order is `groupDot`'s for every token count.
pub fn TokenKernels(comptime groupDot: anytype) type {
    return struct {
        pub fn dotGroup(n: usize, group: []const u8, x: []const u8) [group_rows]f32 {
            return groupDot(1, n, group, .{x})[0];
        }

        pub fn dotGroupTokens2(
            n: usize,
            group: []const u8,
            xs: [2][]const u8,
        ) [2][group_rows]f32 {
            const sums = groupDot(2, n, group, xs);
            return .{ sums[0], sums[1] };
        }
    };
}

/// Two groups of random `Block` rows (5 blocks each, scales varying by row), their rows16
/// copy, and `tokens` Q8_0 activation rows: what the kernels' bit-for-bit tests run on.
pub fn Fixture(comptime Block: type, comptime tokens: usize) type {
    return struct {
        const Self = @This();
        pub const block_count = 5;
        pub const n = block_count * blocks.qk_legacy;
        pub const rows = 2 * group_rows;
        pub const row_bytes = block_count * @sizeOf(Block);

        weights: []u8,
        grouped: []u8,
        acts: [tokens][block_count * @sizeOf(blocks.BlockQ8_0)]u8,

        /// `quantize_row` writes one weight row, `interleave_fn` the rows16 copy.
        pub fn init(
            allocator: std.mem.Allocator,
            seed: u64,
            quantize_row: fn ([]const f32, []u8) void,
            interleave_fn: fn (usize, usize, []const u8, []u8) void,
        ) !Self {
            const q8_0 = @import("q8_0.zig");
            var prng = std.Random.DefaultPrng.init(seed);
            var values: [n]f32 = undefined;
            const weights = try allocator.alloc(u8, rows * row_bytes);
            errdefer allocator.free(weights);
            for (0..rows) |r| {
                const gain: f32 = @floatFromInt(1 + r % 3);
                for (&values) |*v| v.* = prng.random().floatNorm(f32) * gain;
                quantize_row(&values, weights[r * row_bytes ..][0..row_bytes]);
            }
            const grouped = try allocator.alloc(u8, weights.len);
            interleave_fn(block_count, rows, weights, grouped);
            var self: Self = .{ .weights = weights, .grouped = grouped, .acts = undefined };
            for (&self.acts) |*a| {
                for (&values) |*v| v.* = prng.random().floatNorm(f32) * 3;
                q8_0.quantizeRowActivation(&values, a);
            }
            return self;
        }

        pub fn deinit(self: *Self, allocator: std.mem.Allocator) void {
            allocator.free(self.weights);
            allocator.free(self.grouped);
        }

        /// Group g's bytes in the rows16 copy.
        pub fn group(self: *const Self, g: usize) []const u8 {
            return self.grouped[g * group_rows * row_bytes ..][0 .. group_rows * row_bytes];
        }

        /// Row r's bytes in the file's layout.
        pub fn row(self: *const Self, r: usize) []const u8 {
            return self.weights[r * row_bytes ..][0..row_bytes];
        }
    };
}

/// Checks a rows16 kernel (`Kernel`: q4_0_rows16 or q8_0_rows16) against the row-by-row dot it
/// must equal, bit for bit: `Kernel.dotGroup` for one token and `dot_tokens` for `tokens` at
/// once, every row of a fixture's groups, with each token's constants from `Kernel.prepare`.
pub fn expectMatchesReference(
    comptime Block: type,
    comptime Kernel: type,
    comptime tokens: usize,
    seed: u64,
    quantize_row: fn ([]const f32, []u8) void,
    dot_tokens: fn (
        usize,
        []const u8,
        [tokens][]const u8,
        [tokens][]const Kernel.BlockConstants,
    ) [tokens][group_rows]f32,
    reference: fn (usize, []const u8, []const u8) f32,
) !void {
    const testing = std.testing;
    const F = Fixture(Block, tokens);
    var f = try F.init(testing.allocator, seed, quantize_row, Kernel.interleave);
    defer f.deinit(testing.allocator);
    var constants: [tokens][F.block_count]Kernel.BlockConstants = undefined;
    var xs: [tokens][]const u8 = undefined;
    var cs: [tokens][]const Kernel.BlockConstants = undefined;
    for (&f.acts, &constants, &xs, &cs) |*a, *c, *x, *cp| {
        Kernel.prepare(a, c);
        x.* = a;
        cp.* = c;
    }
    for (0..F.rows / group_rows) |g| {
        const single = Kernel.dotGroup(F.n, f.group(g), xs[1], cs[1]);
        const batch = dot_tokens(F.n, f.group(g), xs, cs);
        for (0..group_rows) |r| {
            const row = f.row(g * group_rows + r);
            try testing.expectEqual(reference(F.n, row, xs[1]), single[r]);
            for (0..tokens) |t| try testing.expectEqual(reference(F.n, row, xs[t]), batch[t][r]);
        }
    }
}

/// Each row's dot from llama.cpp's eight lanes of a legacy dot (`legacy_dot.dot`), held as
/// vectors over a group's 16 rows: lanes reduced by halves, as `simd.treeSum(8, …)` reduces
/// one row's.
pub fn eightLaneSums(lanes: [8]@Vector(group_rows, f32)) @Vector(group_rows, f32) {
    var half: [4]@Vector(group_rows, f32) = undefined;
    inline for (&half, 0..) |*h, j| h.* = lanes[j] + lanes[j + 4];
    return (half[0] + half[2]) + (half[1] + half[3]);
}

/// Checks a rows16 kernel that takes no prepared constants (`Kernel`: q4_1_rows16,
/// q5_0_rows16 or q5_k_rows16, with `interleave`, `dotGroup` and `dotGroupTokens2`) against
/// the row-by-row `reference` it must equal bit for bit, over two groups of rows whose scales
/// differ by row (a lane mixed up with another shows) and two activation rows of `ActBlock`s
/// (an activation block spans a weight block: 32 values, or 256 for the K types).
pub fn expectLanesMatchReference(
    comptime Block: type,
    comptime ActBlock: type,
    comptime Kernel: type,
    seed: u64,
    quantize_row: fn ([]const f32, []u8) void,
    quantize_activations: fn ([]const f32, []u8) void,
    reference: fn (usize, []const u8, []const u8) f32,
) !void {
    const testing = std.testing;
    const block_count = 7;
    const n = block_count * @typeInfo(@FieldType(ActBlock, "qs")).array.len;
    const rows = 2 * group_rows;
    const row_bytes = block_count * @sizeOf(Block);
    var prng = std.Random.DefaultPrng.init(seed);
    const random = prng.random();
    var values: [n]f32 = undefined;
    var weights: [rows * row_bytes]u8 = undefined;
    for (0..rows) |r| {
        const scale: f32 = 0.5 + @as(f32, @floatFromInt(r));
        for (&values) |*v| v.* = scale * (random.floatNorm(f32) + 0.1);
        quantize_row(&values, weights[r * row_bytes ..][0..row_bytes]);
    }
    var grouped: [weights.len]u8 = undefined;
    Kernel.interleave(block_count, rows, &weights, &grouped);
    var acts: [2][block_count * @sizeOf(ActBlock)]u8 = undefined;
    for (&acts) |*x| {
        for (&values) |*v| v.* = random.floatNorm(f32);
        quantize_activations(&values, x);
    }
    const group_bytes = group_rows * row_bytes;
    for (0..rows / group_rows) |g| {
        const group = grouped[g * group_bytes ..][0..group_bytes];
        const one = Kernel.dotGroup(n, group, &acts[0]);
        const two = Kernel.dotGroupTokens2(n, group, .{ &acts[0], &acts[1] });
        for (0..group_rows) |r| {
            const w = weights[(g * group_rows + r) * row_bytes ..][0..row_bytes];
            const want = reference(n, w, &acts[0]);
            try testing.expectEqual(want, one[r]);
            try testing.expectEqual(want, two[0][r]);
            try testing.expectEqual(reference(n, w, &acts[1]), two[1][r]);
        }
    }
}
