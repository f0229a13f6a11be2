//! Hand-built blocks whose values are worked out by hand in the comments, per type: they pin
//! the bit layouts (nibble order, where fifth and high bits live, scale packing, signs).

const std = @import("std");
const testing = std.testing;
const blocks = @import("blocks.zig");
const traits_mod = @import("traits.zig");
const QuantType = traits_mod.QuantType;
const traits = traits_mod.traits;

const Expected = struct { index: usize, value: f32 };

fn expectValues(quant_type: QuantType, block_bytes: []const u8, expected: []const Expected) !void {
    var values: [256]f32 = undefined;
    const t = traits(quant_type);
    const n = block_bytes.len / t.bytes_per_block * t.block_size;
    t.dequantize_row(block_bytes, values[0..n]);
    for (expected) |e| {
        testing.expectEqual(e.value, values[e.index]) catch |err| {
            std.debug.print("{s}[{d}]\n", .{ t.name, e.index });
            return err;
        };
    }
}

test "Q4_0: low nibbles are values 0-15, high nibbles 16-31, minus 8, times d" {
    var block = std.mem.zeroes(blocks.BlockQ4_0);
    block.d = 0.5;
    @memset(&block.qs, 0x88); // every value 8 - 8 = 0
    block.qs[0] = 0xF0; // value 0: (0 - 8)·0.5 = -4; value 16: (15 - 8)·0.5 = 3.5
    block.qs[1] = 0x98; // value 1: (8 - 8)·0.5 = 0; value 17: (9 - 8)·0.5 = 0.5
    try expectValues(.q4_0, std.mem.asBytes(&block), &.{
        .{ .index = 0, .value = -4 }, .{ .index = 16, .value = 3.5 },
        .{ .index = 1, .value = 0 },  .{ .index = 17, .value = 0.5 },
        .{ .index = 31, .value = 0 },
    });
}

test "Q4_1: d·q + m" {
    var block = std.mem.zeroes(blocks.BlockQ4_1);
    block.d = 0.25;
    block.m = -1;
    block.qs[0] = 0xF0; // value 0: 0·0.25 - 1 = -1; value 16: 15·0.25 - 1 = 2.75
    block.qs[2] = 0x31; // value 2: 1·0.25 - 1 = -0.75; value 18: 3·0.25 - 1 = -0.25
    try expectValues(.q4_1, std.mem.asBytes(&block), &.{
        .{ .index = 0, .value = -1 },    .{ .index = 16, .value = 2.75 },
        .{ .index = 2, .value = -0.75 }, .{ .index = 18, .value = -0.25 },
        .{ .index = 5, .value = -1 },
    });
}

/// qs and qh shared by the Q5_0 and Q5_1 cases: fifth bits 0, 15, 17 and 31 set
/// (qh = 0x8002_8001, little-endian).
fn q5Bits(qs: *[16]u8, qh: *[4]u8) void {
    @memset(qs, 0);
    qs[0] = 0xF0; // value 0: nibble 0 | 16 = 16; value 16: nibble 15, no fifth bit = 15
    qs[1] = 0x00; // value 1: 0; value 17: 0 | 16 = 16
    qs[15] = 0xFF; // values 15 and 31: 15 | 16 = 31
    qh.* = .{ 0x01, 0x80, 0x02, 0x80 };
}

test "Q5_0: fifth bit j of the little-endian qh belongs to value j; minus 16, times d" {
    var block = std.mem.zeroes(blocks.BlockQ5_0);
    block.d = 0.5;
    q5Bits(&block.qs, &block.qh);
    try expectValues(.q5_0, std.mem.asBytes(&block), &.{
        .{ .index = 0, .value = 0 }, .{ .index = 16, .value = -0.5 }, // (16-16)·.5, (15-16)·.5
        .{ .index = 1, .value = -8 }, .{ .index = 17, .value = 0 }, // (0-16)·.5, (16-16)·.5
        .{ .index = 15, .value = 7.5 }, .{ .index = 31, .value = 7.5 }, // (31-16)·.5
    });
}

test "Q5_1: d·q + m with the fifth bits of Q5_0" {
    var block = std.mem.zeroes(blocks.BlockQ5_1);
    block.d = 0.5;
    block.m = 1;
    q5Bits(&block.qs, &block.qh);
    try expectValues(.q5_1, std.mem.asBytes(&block), &.{
        .{ .index = 0, .value = 9 }, .{ .index = 16, .value = 8.5 }, // 16·.5+1, 15·.5+1
        .{ .index = 1, .value = 1 }, .{ .index = 17, .value = 9 }, // 0·.5+1, 16·.5+1
        .{ .index = 15, .value = 16.5 }, .{ .index = 31, .value = 16.5 }, // 31·.5+1
    });
}

test "Q8_0, Q8_1 and Q8_K: d·q with signed bytes" {
    var q8_0 = std.mem.zeroes(blocks.BlockQ8_0);
    q8_0.d = 0.25;
    q8_0.qs[0] = -128;
    q8_0.qs[1] = 127;
    q8_0.qs[2] = -1;
    const expected = [_]Expected{
        .{ .index = 0, .value = -32 },   .{ .index = 1, .value = 31.75 },
        .{ .index = 2, .value = -0.25 }, .{ .index = 3, .value = 0 },
    };
    try expectValues(.q8_0, std.mem.asBytes(&q8_0), &expected);
    var q8_1 = std.mem.zeroes(blocks.BlockQ8_1);
    q8_1.d = 0.25;
    q8_1.s = 100; // not used by dequantize
    q8_1.qs = q8_0.qs;
    try expectValues(.q8_1, std.mem.asBytes(&q8_1), &expected);
    var q8_k = std.mem.zeroes(blocks.BlockQ8_K);
    q8_k.d = 0.125;
    q8_k.qs[0] = -128; // -16
    q8_k.qs[255] = 8; // 1
    try expectValues(.q8_k, std.mem.asBytes(&q8_k), &.{
        .{ .index = 0, .value = -16 }, .{ .index = 255, .value = 1 },
    });
}

test "Q2_K: crumb k of byte l is value 32k + l (per half); scale low nibble, min high nibble" {
    var block = std.mem.zeroes(blocks.BlockQ2_K);
    block.d = 0.5;
    block.dmin = 0.25;
    block.scales[0] = 0x21; // scale 1, min 2
    block.scales[1] = 0x03; // scale 3, min 0
    block.scales[2] = 0x14; // scale 4, min 1
    block.scales[15] = 0xF2; // scale 2, min 15
    block.qs[0] = 0xE4; // crumbs 0, 1, 2, 3 → values 0, 32, 64, 96
    block.qs[16] = 0x03; // value 16 (sub-block 1) level 3
    block.qs[63] = 0xC0; // byte 32 + 31, crumb 3 → value 128 + 96 + 31 = 255, level 3
    try expectValues(.q2_k, std.mem.asBytes(&block), &.{
        .{ .index = 0, .value = -0.5 }, // 0.5·1·0 - 0.25·2
        .{ .index = 1, .value = -0.5 }, // level 0 in sub-block 0
        .{ .index = 32, .value = 1.75 }, // sub-block 2: 0.5·4·1 - 0.25·1
        .{ .index = 16, .value = 4.5 }, // sub-block 1: 0.5·3·3 - 0
        .{ .index = 64, .value = 0 }, // sub-block 4 has scale 0 and min 0
        .{ .index = 255, .value = -0.75 }, // sub-block 15: 0.5·2·3 - 0.25·15
        .{ .index = 254, .value = -3.75 }, // level 0 in sub-block 15
    });
}

test "Q3_K: 6-bit scales minus 32; a clear hmask bit subtracts 4" {
    var block = std.mem.zeroes(blocks.BlockQ3_K);
    block.d = 0.5;
    // Biased scales: scale 0 = 33 (low 1, high 2), scale 15 = 0, all others 32 (low 0, high 2).
    block.scales = .{ 0x01, 0, 0, 0, 0, 0, 0, 0, 0xAA, 0xAA, 0xAA, 0x2A };
    @memset(&block.hmask, 0xFF);
    block.hmask[0] = 0xFE; // value 0 loses its high bit
    block.hmask[16] = 0x7F; // value 7·32 + 16 = 240 loses its high bit
    block.qs[0] = 0x03; // value 0: level 3
    block.qs[1] = 0x02; // value 1: level 2
    block.qs[63] = 0x40; // value 255: level 1
    try expectValues(.q3_k, std.mem.asBytes(&block), &.{
        .{ .index = 0, .value = -0.5 }, // 0.5·1·(3 - 4)
        .{ .index = 1, .value = 1 }, // 0.5·1·2
        .{ .index = 16, .value = 0 }, // sub-block 1 has scale 0
        .{ .index = 255, .value = -16 }, // 0.5·(-32)·1
        .{ .index = 240, .value = 64 }, // 0.5·(-32)·(0 - 4)
        .{ .index = 241, .value = 0 }, // 0.5·(-32)·0
    });
}

/// Scales of the Q4_K / Q5_K cases: sub-block 0 scale 2 min 4; sub-block 7 scale 33 min 18.
fn kScales(scales: *[12]u8) void {
    scales.* = @splat(0);
    scales[0] = 2;
    scales[4] = 4;
    scales[11] = 0x21; // low 4 bits: scale 1, min 2
    scales[3] = 0x80; // scale 7's high bits (33 >> 4 = 2)
    scales[7] = 0x40; // min 7's high bits (18 >> 4 = 1)
}

test "Q4_K: 6-bit scales and mins packed in 12 bytes; d·sc·q - dmin·m" {
    var block = std.mem.zeroes(blocks.BlockQ4_K);
    block.d = 0.5;
    block.dmin = 0.25;
    kScales(&block.scales);
    block.qs[0] = 0xF3; // value 0 (sub-block 0) = 3, value 32 (sub-block 1) = 15
    block.qs[96] = 0xA0; // value 192 (sub-block 6) = 0, value 224 (sub-block 7) = 10
    try expectValues(.q4_k, std.mem.asBytes(&block), &.{
        .{ .index = 0, .value = 2 }, // 0.5·2·3 - 0.25·4
        .{ .index = 1, .value = -1 }, // 0.5·2·0 - 0.25·4
        .{ .index = 32, .value = 0 }, // sub-block 1: scale 0, min 0
        .{ .index = 224, .value = 160.5 }, // 0.5·33·10 - 0.25·18
        .{ .index = 225, .value = -4.5 }, // 0.5·33·0 - 0.25·18
        .{ .index = 192, .value = 0 },
    });
}

test "Q5_K: as Q4_K with fifth bit 2c (low nibbles) or 2c+1 (high nibbles) of qh[l]" {
    var block = std.mem.zeroes(blocks.BlockQ5_K);
    block.d = 0.5;
    block.dmin = 0.25;
    kScales(&block.scales);
    block.qs[0] = 0xF3;
    block.qs[96] = 0xA0;
    block.qh[0] = 0x81; // bit 0: value 0 gets +16; bit 7: value 224 gets +16
    try expectValues(.q5_k, std.mem.asBytes(&block), &.{
        .{ .index = 0, .value = 18 }, // 0.5·2·19 - 1
        .{ .index = 224, .value = 424.5 }, // 0.5·33·26 - 4.5
        .{ .index = 32, .value = 0 },
        .{ .index = 1, .value = -1 },
    });
}

test "Q6_K: low nibbles in ql, two high bits per value in qh, minus 32, signed scales" {
    var block = std.mem.zeroes(blocks.BlockQ6_K);
    block.d = 0.5;
    block.scales[0] = 2;
    block.scales[2] = 1;
    block.scales[4] = -1;
    block.scales[6] = 4;
    block.scales[15] = -3;
    block.ql[0] = 0x21; // value 0 low nibble 1, value 64 low nibble 2
    block.ql[32] = 0xF0; // value 32 low nibble 0, value 96 low nibble 15
    // High bits of values 0, 32, 64, 96 (two bits each, from the bottom): 2, 0, 0, 3.
    block.qh[0] = 0b11_00_00_10;
    try expectValues(.q6_k, std.mem.asBytes(&block), &.{
        .{ .index = 0, .value = 1 }, // 0.5·2·((1 | 2<<4) - 32)
        .{ .index = 1, .value = -32 }, // 0.5·2·(0 - 32)
        .{ .index = 32, .value = -16 }, // 0.5·1·(0 - 32)
        .{ .index = 64, .value = 15 }, // 0.5·(-1)·(2 - 32)
        .{ .index = 96, .value = 62 }, // 0.5·4·((15 | 3<<4) - 32)
        .{ .index = 255, .value = 48 }, // 0.5·(-3)·(0 - 32)
    });
}

test "F16 and BF16: IEEE half and the top half of an f32" {
    const halves = [_]u16{ 0x3C00, 0xC500, 0x0001 }; // 1, -5, 2^-24 (subnormal)
    try expectValues(.f16, std.mem.sliceAsBytes(&halves), &.{
        .{ .index = 0, .value = 1 },
        .{ .index = 1, .value = -5 },
        .{ .index = 2, .value = 0x1p-24 },
    });
    const bf16 = [_]u16{ 0x3FC0, 0xC000 }; // 1.5, -2
    try expectValues(.bf16, std.mem.sliceAsBytes(&bf16), &.{
        .{ .index = 0, .value = 1.5 }, .{ .index = 1, .value = -2 },
    });
}

test "dot(): Q8_0 · Q8_0 and Q4_K · Q8_K on hand-built blocks" {
    var w = std.mem.zeroes(blocks.BlockQ8_0);
    w.d = 0.25;
    w.qs[0] = -128;
    w.qs[1] = 127;
    w.qs[2] = -1;
    var x = std.mem.zeroes(blocks.BlockQ8_0);
    x.d = 2;
    @memset(&x.qs, 1);
    // 0.25·2·(-128 + 127 - 1) = -1
    const q8 = traits(.q8_0);
    try testing.expectEqual(@as(f32, -1), q8.dot.?(32, std.mem.asBytes(&w), std.mem.asBytes(&x)));
    const generic = q8.dot_generic.?(32, std.mem.asBytes(&w), std.mem.asBytes(&x));
    try testing.expectEqual(@as(f32, -1), generic);

    var wk = std.mem.zeroes(blocks.BlockQ4_K);
    wk.d = 0.5;
    wk.dmin = 0.25;
    kScales(&wk.scales);
    wk.qs[0] = 0xF3;
    var xk = std.mem.zeroes(blocks.BlockQ8_K);
    xk.d = 0.5;
    xk.qs[0] = 4; // pairs with value 0 = 2
    xk.qs[1] = -2; // pairs with value 1 = -1
    xk.bsums[0] = 2;
    // Σ w·x = 2·(4·0.5) + (-1)·(-2·0.5) = 4 + 1 = 5
    const q4k = traits(.q4_k);
    const wk_bytes = std.mem.asBytes(&wk);
    const xk_bytes = std.mem.asBytes(&xk);
    try testing.expectEqual(@as(f32, 5), q4k.dot.?(256, wk_bytes, xk_bytes));
    try testing.expectEqual(@as(f32, 5), q4k.dot_generic.?(256, wk_bytes, xk_bytes));
}

test "quantizeRow(Q8_K) scales by -127/max (signed), rounds ties to even, stores bsums" {
    var values: [256]f32 = @splat(0);
    values[0] = -254; // the largest magnitude: iscale = -127 / -254 = 0.5
    values[1] = 125; // 62.5 → 62 (a tie, to even)
    values[2] = 3; // 1.5 → 2
    values[17] = -5; // -2.5 → -2
    values[18] = 200; // 100
    var block: blocks.BlockQ8_K = undefined;
    traits(.q8_k).quantize_row(&values, std.mem.asBytes(&block));
    try testing.expectEqualSlices(i8, &.{ -127, 62, 2 }, block.qs[0..3]);
    try testing.expectEqualSlices(i8, &.{ -2, 100 }, block.qs[17..19]);
    try testing.expectEqual(@as(i16, -127 + 62 + 2), block.bsums[0]);
    try testing.expectEqual(@as(i16, 98), block.bsums[1]);
    try testing.expectEqual(@as(f32, 2), block.d);
}

test "quantizeRow(Q8_0) rounds halves away from zero" {
    var values: [32]f32 = @splat(0);
    values[0] = 127; // d = 1
    values[1] = 2.5; // → 3
    values[2] = -2.5; // → -3
    values[3] = 0.49; // → 0
    var block: blocks.BlockQ8_0 = undefined;
    traits(.q8_0).quantize_row(&values, std.mem.asBytes(&block));
    try testing.expectEqual(@as(f16, 1), block.d);
    try testing.expectEqualSlices(i8, &.{ 127, 3, -3, 0 }, block.qs[0..4]);
}
