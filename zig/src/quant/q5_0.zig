//! Q5_0: 32 values per block, x = d·(q - 16) with 5-bit q (low nibbles as Q4_0, fifth bits in
//! a little-endian u32) and an f16 scale. Dot product against Q8_0 activations.

const std = @import("std");
const assert = std.debug.assert;
const blocks = @import("blocks.zig");
const fp = @import("fp.zig");
const layout = @import("layout.zig");
const legacy_dot = @import("legacy_dot.zig");
const simd = @import("simd.zig");

pub const Block = blocks.BlockQ5_0;
pub const ActBlock = blocks.BlockQ8_0;
pub const has_min = false;
/// Added to `unpack`'s integers, they are all ≥ 0 (the unsigned operand of `vpdpbusd`).
pub const level_offset: u8 = 16;
const qk = blocks.qk_legacy;

/// The 5-bit integer of value `j` (0..31) of a Q5_0/Q5_1 block.
pub inline fn value5(qs: *const [qk / 2]u8, qh: u32, j: usize) u8 {
    const nibble = if (j < qk / 2) qs[j] & 0x0F else qs[j - qk / 2] >> 4;
    const fifth: u8 = @intCast((qh >> @intCast(j)) & 1);
    return nibble | (fifth << 4);
}

/// Block bytes → f32 values; `dst.len` is the row length.
pub fn dequantizeRow(src: []const u8, dst: []f32) void {
    const row = blocks.asBlocks(Block, src);
    assert(row.len == blocks.blockCount(dst.len, qk));
    for (row, 0..) |*block, i| {
        const d = fp.halfToF32(block.d);
        const qh = std.mem.readInt(u32, &block.qh, .little);
        for (dst[i * qk ..][0..qk], 0..) |*y, j| {
            y.* = @as(f32, @floatFromInt(@as(i32, value5(&block.qs, qh, j)) - 16)) * d;
        }
    }
}

/// ggml's reference: d = max/-16 (max = value of largest magnitude),
/// q = min(31, trunc(x/d + 16.5)).
pub fn quantizeRow(src: []const f32, dst: []u8) void {
    const row = blocks.asBlocksMut(Block, dst);
    assert(row.len == blocks.blockCount(src.len, qk));
    for (row, 0..) |*block, i| quantizeBlock(src[i * qk ..][0..qk], block);
}

fn quantizeBlock(x: *const [qk]f32, block: *Block) void {
    var amax: f32 = 0;
    var max: f32 = 0;
    for (x) |v| {
        if (amax < @abs(v)) {
            amax = @abs(v);
            max = v;
        }
    }
    const d = max / -16.0;
    const id: f32 = if (d != 0) 1.0 / d else 0;
    block.d = fp.f32ToHalf(d);
    var qh: u32 = 0;
    for (&block.qs, 0..) |*byte, j| {
        const low: u8 = @min(31, @as(u8, @intFromFloat(x[j] * id + 16.5)));
        const high: u8 = @min(31, @as(u8, @intFromFloat(x[j + qk / 2] * id + 16.5)));
        byte.* = (low & 0x0F) | ((high & 0x0F) << 4);
        qh |= @as(u32, low >> 4) << @intCast(j);
        qh |= @as(u32, high >> 4) << @intCast(j + qk / 2);
    }
    std.mem.writeInt(u32, &block.qh, qh, .little);
}

/// 16 where the fifth bit of value j is set, else 0, for the 32 values of a block.
pub inline fn fifthBits(qh: [4]u8) @Vector(qk, u8) {
    comptime var byte_of_lane: [qk]i32 = undefined;
    comptime var bit_of_lane: [qk]u8 = undefined;
    inline for (0..qk) |j| {
        byte_of_lane[j] = @intCast(j / 8);
        bit_of_lane[j] = @as(u8, 1) << @intCast(j % 8);
    }
    const spread = @shuffle(u8, @as(@Vector(4, u8), qh), undefined, byte_of_lane);
    const bits: @Vector(qk, u8) = bit_of_lane;
    const zero: @Vector(qk, u8) = @splat(0);
    return @select(u8, (spread & bits) != zero, @as(@Vector(qk, u8), @splat(16)), zero);
}

/// The four-bit parts of a block's values, value order (low nibbles, then high nibbles).
pub inline fn nibbles(qs: [qk / 2]u8) @Vector(qk, u8) {
    const packed_q: @Vector(qk / 2, u8) = qs;
    const low = packed_q & @as(@Vector(qk / 2, u8), @splat(0x0F));
    return simd.concat(u8, qk / 2, low, packed_q >> @splat(4));
}

/// The block's integers q - 16, value order.
pub inline fn unpack(block: *const Block) [qk]i8 {
    const q: @Vector(qk, i8) = @bitCast(nibbles(block.qs) | fifthBits(block.qh));
    return q - @as(@Vector(qk, i8), @splat(16));
}

/// Dot product with a Q8_0 activation row (SIMD).
pub fn dot(n: usize, w: []const u8, x: []const u8) f32 {
    return legacy_dot.dot(@This(), n, w, x);
}

/// Four weight rows against one activation row, each result equal to `dot`'s.
pub fn dotRows4(n: usize, rows: layout.Rows4, x: []const u8) [4]f32 {
    return legacy_dot.dotRows4(@This(), n, rows, x);
}

/// Dot product with a Q8_0 activation row (scalar reference).
pub fn dotGeneric(n: usize, w: []const u8, x: []const u8) f32 {
    return legacy_dot.dotGeneric(@This(), n, w, x);
}
