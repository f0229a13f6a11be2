//! Tiles of dot products for matrix-matrix products (prefill): `rows_n` weight rows against
//! `tokens_n` activation rows at once. Each weight block is unpacked once per tile and reused
//! for every token, each activation block is loaded once and reused for every row, so a tile
//! does `rows_n + tokens_n` block loads for `rows_n · tokens_n` block products instead of two
//! loads per product.
//!
//! The arithmetic per block is the single-row kernel's (legacy_dot.zig), step for step: an
//! exact i32 sum of 32 products in 8 lanes, fused-multiply-added with `d_w·d_x` into that pair's
//! own f32 accumulator, `m_w·s_x` summed apart; so results equal the row kernel's bit for bit
//! (llama.cpp's tinyBLAS and vec_dot kernels round the same way, see ops/ggml_math.zig).
//!
//! Types: the legacy 32-value types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0). `supported` says which.

const std = @import("std");
const assert = std.debug.assert;
const blocks = @import("blocks.zig");
const fp = @import("fp.zig");
const simd = @import("simd.zig");
const traits = @import("traits.zig");
const legacy_dot = @import("legacy_dot.zig");
const layout = @import("layout.zig");

/// Weight rows per tile.
pub const tile_rows: usize = 4;
/// Activation rows (tokens) per tile.
pub const tile_tokens: usize = 4;

/// Whether `weight_type` has a tile kernel.
pub fn supported(weight_type: traits.QuantType) bool {
    return switch (weight_type) {
        .q4_0, .q4_1, .q5_0, .q5_1, .q8_0 => true,
        else => false,
    };
}

/// Rows of a tile: `rows` the four weight rows (either layout, layout.zig), `tokens[t]`
/// activation row t's bytes, `out[t * out_stride + r]` receives their dot product.
pub const Tile = struct {
    rows: layout.Rows4,
    tokens: [tile_tokens][]const u8,
    out: [*]f32,
    out_stride: usize,
};

/// One full tile of `weight_type` weights; `n` values per row.
pub fn dotTile(weight_type: traits.QuantType, n: usize, tile: Tile) void {
    switch (weight_type) {
        .q4_0 => tileOf(@import("q4_0.zig"), n, tile),
        .q4_1 => tileOf(@import("q4_1.zig"), n, tile),
        .q5_0 => tileOf(@import("q5_0.zig"), n, tile),
        .q5_1 => tileOf(@import("q5_1.zig"), n, tile),
        .q8_0 => tileOf(@import("q8_0.zig"), n, tile),
        else => unreachable, // callers check `supported`
    }
}

const Lanes = @Vector(8, f32);

fn tileOf(comptime Kind: type, n: usize, tile: Tile) void {
    comptime assert(tile_rows == layout.group_rows);
    const block_count = blocks.blockCount(n, blocks.qk_legacy);
    var act_rows: [tile_tokens][]const Kind.ActBlock = undefined;
    inline for (0..tile_tokens) |t| {
        act_rows[t] = blocks.asBlocks(Kind.ActBlock, tile.tokens[t]);
        assert(act_rows[t].len == block_count);
    }
    tileVector(Kind, block_count, act_rows, tile);
}

/// The f16 scales of block `b` of every row and token: d in lanes 0..4, m / s in lanes 4..8.
fn blockScales(
    comptime Kind: type,
    weight_rows: layout.Rows4,
    act_rows: *const [tile_tokens][]const Kind.ActBlock,
    b: usize,
) struct { weights: [8]f32, acts: [8]f32 } {
    var weight_halves: [8]u16 = @splat(0);
    var act_halves: [8]u16 = @splat(0);
    inline for (0..tile_rows) |r| {
        const block = weight_rows.block(Kind.Block, r, b);
        weight_halves[r] = @bitCast(block.d);
        if (Kind.has_min) weight_halves[4 + r] = @bitCast(block.m);
    }
    inline for (0..tile_tokens) |t| {
        act_halves[t] = @bitCast(act_rows[t][b].d);
        if (Kind.has_min) act_halves[4 + t] = @bitCast(act_rows[t][b].s);
    }
    return .{ .weights = fp.halvesToF32(8, weight_halves), .acts = fp.halvesToF32(8, act_halves) };
}

/// One 8-lane accumulator per row and token, each updated exactly as the row kernel updates
/// its own (legacy_dot.zig), so every output is bit-identical to the row kernel's. Rows go two
/// to a 16-lane register (rows 0 and 1, rows 2 and 3), so one 64-byte integer dot serves two.
fn tileVector(
    comptime Kind: type,
    block_count: usize,
    act_rows: [tile_tokens][]const Kind.ActBlock,
    tile: Tile,
) void {
    comptime assert(tile_rows == 4);
    @setEvalBranchQuota(20_000);
    const Pair = @Vector(16, f32);
    var acc: [tile_tokens][2]Pair = @splat(@splat(@splat(0)));
    var min_acc: [tile_tokens]@Vector(4, f32) = @splat(@splat(0));
    for (0..block_count) |b| {
        var pairs: [2]@Vector(64, i8) = undefined;
        inline for (0..2) |p| pairs[p] = simd.concat(
            i8,
            32,
            Kind.unpack(tile.rows.block(Kind.Block, 2 * p, b)),
            Kind.unpack(tile.rows.block(Kind.Block, 2 * p + 1, b)),
        );
        const scales = blockScales(Kind, tile.rows, &act_rows, b);
        const w_m: @Vector(4, f32) = scales.weights[4..8].*;
        // d_w of rows 2p and 2p+1 over the lanes of pair p; times d_x per token below, lane
        // by lane the same product d_w·d_x as the row kernel's.
        var w_d_pairs: [2]Pair = undefined;
        inline for (0..2) |p| {
            const low: Lanes = @splat(scales.weights[2 * p]);
            const high: Lanes = @splat(scales.weights[2 * p + 1]);
            w_d_pairs[p] = simd.concat(f32, 8, low, high);
        }
        inline for (0..tile_tokens) |t| {
            const x = legacy_dot.PairActivations.of(Kind, &act_rows[t][b]);
            const x_d: Pair = @splat(scales.acts[t]);
            inline for (0..2) |p| {
                const sums: Pair = @floatFromInt(x.dot(Kind, pairs[p]));
                acc[t][p] = @mulAdd(Pair, sums, w_d_pairs[p] * x_d, acc[t][p]);
            }
            if (Kind.has_min) {
                min_acc[t] = @mulAdd(@Vector(4, f32), w_m, @splat(scales.acts[4 + t]), min_acc[t]);
            }
        }
    }
    inline for (0..tile_tokens) |t| {
        inline for (0..tile_rows) |r| {
            const lanes: [16]f32 = acc[t][r / 2];
            const half: Lanes = lanes[8 * (r % 2) ..][0..8].*;
            tile.out[t * tile.out_stride + r] = simd.treeSum(8, half) + min_acc[t][r];
        }
    }
}

comptime {
    assert(tile_rows <= 4 and tile_tokens <= 4); // scales converted 4 + 4 at a time
}

const testing = std.testing;

test "dotTile() equals the row dot product of every pair bit for bit, every type and layout" {
    const allocator = testing.allocator;
    const types = [_]traits.QuantType{ .q4_0, .q4_1, .q5_0, .q5_1, .q8_0 };
    const k = 160;
    var prng = std.Random.DefaultPrng.init(3);
    const random = prng.random();
    for (types) |weight_type| {
        try testing.expect(supported(weight_type));
        const t = traits.traits(weight_type);
        const vec = traits.traits(t.vec_dot_type);
        const w_bytes = try allocator.alloc(u8, t.rowBytes(k) * tile_rows);
        defer allocator.free(w_bytes);
        const x_bytes = try allocator.alloc(u8, vec.rowBytes(k) * tile_tokens);
        defer allocator.free(x_bytes);
        const interleaved = try allocator.alloc(u8, w_bytes.len);
        defer allocator.free(interleaved);
        var values: [k]f32 = undefined;
        var tile: Tile = undefined;
        var rows: [tile_rows][]const u8 = undefined;
        for (&rows, 0..) |*row, r| {
            for (&values) |*v| v.* = random.floatNorm(f32);
            row.* = w_bytes[r * t.rowBytes(k) ..][0..t.rowBytes(k)];
            t.quantize_row(&values, @constCast(row.*));
        }
        layout.interleaveRows4(t.bytes_per_block, k / 32, tile_rows, w_bytes, interleaved);
        for (0..tile_tokens) |i| {
            for (&values) |*v| v.* = random.floatNorm(f32);
            tile.tokens[i] = x_bytes[i * vec.rowBytes(k) ..][0..vec.rowBytes(k)];
            vec.quantize_row(&values, @constCast(tile.tokens[i]));
        }
        const groups = [_]layout.Rows4{
            layout.Rows4.separate(rows, t.bytes_per_block),
            layout.Rows4.interleaved(interleaved.ptr, t.bytes_per_block),
        };
        for (groups) |group| {
            var out: [tile_tokens * 6]f32 = @splat(-1);
            tile.rows = group;
            tile.out = &out;
            tile.out_stride = 6;
            dotTile(weight_type, k, tile);
            for (0..tile_tokens) |i| for (0..tile_rows) |r| {
                const want = t.dot_generic.?(k, rows[r], tile.tokens[i]);
                try testing.expectEqual(want, out[i * 6 + r]);
                try testing.expectEqual(t.dot.?(k, rows[r], tile.tokens[i]), want);
            };
            // Outputs beyond the tile's rows are untouched.
            for (0..tile_tokens) |i| try testing.expectEqual(@as(f32, -1), out[i * 6 + 5]);
        }
    }
    try testing.expect(!supported(.q4_k));
    try testing.expect(!supported(.f32));
}
