//! GET_ROWS and SET_ROWS, one row at a time: gather a row of any weight type as f32
//! (the quant module's dequantizer), and store an f32 row into an F16 or F32 cache row.

const std = @import("std");
const assert = std.debug.assert;
const traits = @import("../quant/traits.zig");
const simd = @import("../quant/simd.zig");

/// dst = dequantize(src), a row of `dst.len` values stored as `quant_type`.
pub fn getRow(dst: []f32, src: []const u8, quant_type: traits.QuantType) void {
    const t = traits.traits(quant_type);
    assert(src.len == t.rowBytes(dst.len));
    t.dequantize_row(src, dst);
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
