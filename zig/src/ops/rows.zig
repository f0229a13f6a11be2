//! GET_ROWS and SET_ROWS, one row at a time: gather a row of any weight type as f32
//! (the quant module's dequantizer), and store an f32 row into an F16 or F32 cache row.

const std = @import("std");
const assert = std.debug.assert;
const traits = @import("../quant/traits.zig");
const simd = @import("../quant/simd.zig");
const blocks = @import("../quant/blocks.zig");
const layout = @import("../quant/layout.zig");
const q4_0_rows16 = @import("../quant/q4_0_rows16.zig");
const q8_0_rows16 = @import("../quant/q8_0_rows16.zig");
const Layout = layout.Layout;

/// dst = dequantize(src), a row of `dst.len` values stored as `quant_type`.
pub fn getRow(dst: []f32, src: []const u8, quant_type: traits.QuantType) void {
    const t = traits.traits(quant_type);
    assert(src.len == t.rowBytes(dst.len));
    t.dequantize_row(src, dst);
}

/// Whether GET_ROWS gathers `quant_type` rows from a table in `table_layout`: the file's rows,
/// four rows interleaved block by block (any type), and the sixteen-row groups of Q4_0 and
/// Q8_0, whose blocks are only moved (legacy_rows16.zig's layout); the other rows16 types rearrange
/// bits within a block and are gathered from the file instead.
pub fn gathersLayout(quant_type: traits.QuantType, table_layout: Layout) bool {
    return switch (table_layout) {
        .rows, .rows4 => true,
        .rows16 => quant_type == .q4_0 or quant_type == .q8_0,
    };
}

/// Most bytes of one block of any type (the gather's staging block).
const block_bytes_max = 512;

/// dst = dequantize(row `row` of `table`, every row of a `quant_type` matrix with rows of
/// `dst.len` values in `table_layout`), block by block: a tied embedding is gathered from the
/// copy its vocabulary projection reads, so the file's pages of it stay out of memory.
pub fn getRowOf(
    dst: []f32,
    table: []const u8,
    row: usize,
    quant_type: traits.QuantType,
    table_layout: Layout,
) void {
    assert(gathersLayout(quant_type, table_layout));
    const t = traits.traits(quant_type);
    const row_bytes = t.rowBytes(dst.len);
    if (table_layout == .rows) {
        return getRow(dst, table[row * row_bytes ..][0..row_bytes], quant_type);
    }
    const group_rows = layout.rowsPerGroup(table_layout);
    assert(table.len % (group_rows * row_bytes) == 0 and t.bytes_per_block <= block_bytes_max);
    const group = table[row / group_rows * group_rows * row_bytes ..][0 .. group_rows * row_bytes];
    const lane = row % group_rows;
    const group_block_bytes = group_rows * t.bytes_per_block;
    var staged: [block_bytes_max]u8 = undefined;
    const block = staged[0..t.bytes_per_block];
    for (0..dst.len / t.block_size) |b| {
        const group_block = group[b * group_block_bytes ..][0..group_block_bytes];
        switch (table_layout) {
            .rows => unreachable,
            .rows4 => @memcpy(block, group_block[lane * t.bytes_per_block ..][0..block.len]),
            .rows16 => gatherRows16Block(block, group_block, lane, quant_type),
        }
        t.dequantize_row(block, dst[b * t.block_size ..][0..t.block_size]);
    }
}

fn gatherRows16Block(
    block: []u8,
    group_block: []const u8,
    lane: usize,
    quant_type: traits.QuantType,
) void {
    switch (quant_type) {
        .q4_0 => block[0..@sizeOf(blocks.BlockQ4_0)].* =
            @bitCast(q4_0_rows16.gatherBlock(group_block, lane)),
        .q8_0 => block[0..@sizeOf(blocks.BlockQ8_0)].* =
            @bitCast(q8_0_rows16.gatherBlock(group_block, lane)),
        else => unreachable, // gathersLayout
    }
}

/// The storage types SET_ROWS writes.
pub const CacheType = enum { f32, f16 };

/// Stores an f32 row as `cache_type` (F16 rounds to nearest even).
pub fn setRow(dst: []u8, src: []const f32, cache_type: CacheType) void {
    switch (cache_type) {
        .f32 => {
            assert(dst.len == src.len * 4);
            @memcpy(dst, std.mem.sliceAsBytes(src));
        },
        .f16 => {
            assert(dst.len == src.len * 2);
            const out: [*]align(1) f16 = @ptrCast(dst.ptr);
            const lanes = simd.f32_lanes;
            var i: usize = 0;
            while (i + lanes <= src.len) : (i += lanes) {
                const v: @Vector(lanes, f32) = src[i..][0..lanes].*;
                out[i..][0..lanes].* = @as(@Vector(lanes, f16), @floatCast(v));
            }
            while (i < src.len) : (i += 1) out[i] = @floatCast(src[i]);
        },
    }
}

/// `setRow`, one value at a time.
pub fn setRowGeneric(dst: []u8, src: []const f32, cache_type: CacheType) void {
    for (src, 0..) |v, i| switch (cache_type) {
        .f32 => std.mem.writeInt(u32, dst[4 * i ..][0..4], @bitCast(v), .little),
        .f16 => {
            const half: f16 = @floatCast(v);
            std.mem.writeInt(u16, dst[2 * i ..][0..2], @bitCast(half), .little);
        },
    };
}

const testing = std.testing;

test "setRow() F16 rounds like the scalar conversion; F32 copies bits" {
    var src: [37]f32 = undefined;
    var prng = std.Random.DefaultPrng.init(9);
    for (&src) |*v| v.* = prng.random().floatNorm(f32) * 100;
    var a: [37 * 2]u8 = undefined;
    var b: [37 * 2]u8 = undefined;
    setRow(&a, &src, .f16);
    setRowGeneric(&b, &src, .f16);
    try testing.expectEqualSlices(u8, &b, &a);
    var c: [37 * 4]u8 = undefined;
    var d: [37 * 4]u8 = undefined;
    setRow(&c, &src, .f32);
    setRowGeneric(&d, &src, .f32);
    try testing.expectEqualSlices(u8, &d, &c);
}

test "getRow() dequantizes Q8_0 and F16 rows" {
    var values: [64]f32 = undefined;
    for (&values, 0..) |*v, i| v.* = @as(f32, @floatFromInt(i)) - 32;
    const q8 = traits.traits(.q8_0);
    var bytes: [68]u8 = undefined;
    q8.quantize_row(&values, &bytes);
    var out: [64]f32 = undefined;
    getRow(&out, &bytes, .q8_0);
    for (values, out) |v, o| try testing.expectApproxEqAbs(v, o, 0.13);
    var half: [128]u8 = undefined;
    setRow(&half, &values, .f16);
    getRow(&out, &half, .f16);
    try testing.expectEqualSlices(f32, &values, &out);
}

fn expectGathersLikeFile(quant_type: traits.QuantType, table_layout: Layout, n: usize) !void {
    const quant = @import("../quant/mod.zig");
    const rows = 32;
    const t = traits.traits(quant_type);
    const row_bytes = t.rowBytes(n);
    const allocator = testing.allocator;
    const file = try allocator.alloc(u8, rows * row_bytes);
    defer allocator.free(file);
    const copy = try allocator.alloc(u8, file.len);
    defer allocator.free(copy);
    const values = try allocator.alloc(f32, 2 * n);
    defer allocator.free(values);
    var prng = std.Random.DefaultPrng.init(@intFromEnum(quant_type));
    for (0..rows) |r| {
        // Scales that differ by row, so a row gathered from the wrong lane shows.
        const scale: f32 = @floatFromInt(r + 1);
        for (values[0..n]) |*v| v.* = prng.random().floatNorm(f32) * scale;
        t.quantize_row(values[0..n], file[r * row_bytes ..][0..row_bytes]);
    }
    const blocks_per_row = n / t.block_size;
    switch (table_layout) {
        .rows => @memcpy(copy, file),
        .rows4 => layout.interleaveRows4(t.bytes_per_block, blocks_per_row, rows, file, copy),
        .rows16 => quant.interleaveRows16(quant_type, blocks_per_row, rows, file, copy),
    }
    const want = values[0..n];
    const got = values[n..][0..n];
    for (0..rows) |r| {
        getRow(want, file[r * row_bytes ..][0..row_bytes], quant_type);
        getRowOf(got, copy, r, quant_type, table_layout);
        // Bit patterns, so a NaN or a -0 would count too.
        const want_bits: []const u32 = @ptrCast(want);
        const got_bits: []const u32 = @ptrCast(got);
        try testing.expectEqualSlices(u32, want_bits, got_bits);
    }
}

test "getRowOf() gathers every row of an interleaved copy as the file's row, bit for bit" {
    try expectGathersLikeFile(.q8_0, .rows16, 96);
    try expectGathersLikeFile(.q4_0, .rows16, 64);
    try expectGathersLikeFile(.q8_0, .rows4, 96);
    try expectGathersLikeFile(.q4_k, .rows4, 512);
    try expectGathersLikeFile(.q6_k, .rows4, 256);
    try expectGathersLikeFile(.q5_0, .rows, 64);
    try testing.expect(!gathersLayout(.q4_k, .rows16) and !gathersLayout(.q4_1, .rows16));
}
