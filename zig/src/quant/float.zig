//! Unquantized weight types: F32, F16 and BF16 rows. Their dot products take F32 activations
//! (ggml converts activations to F16/BF16 for these; we keep them in f32, which is at least as
//! accurate) and accumulate in f32.

const std = @import("std");
const assert = std.debug.assert;
const fp = @import("fp.zig");
const simd = @import("simd.zig");

/// One of the three float storage formats.
pub const Format = enum { f32, f16, bf16 };

fn Element(comptime format: Format) type {
    return switch (format) {
        .f32 => f32,
        .f16 => f16,
        .bf16 => u16,
    };
}

/// Bytes per value of `format`.
pub fn bytesPerValue(comptime format: Format) usize {
    return @sizeOf(Element(format));
}

fn asValues(comptime T: type, bytes: []const u8) []align(1) const T {
    assert(bytes.len % @sizeOf(T) == 0);
    const ptr: [*]align(1) const T = @ptrCast(bytes.ptr);
    return ptr[0 .. bytes.len / @sizeOf(T)];
}

fn asValuesMut(comptime T: type, bytes: []u8) []align(1) T {
    assert(bytes.len % @sizeOf(T) == 0);
    const ptr: [*]align(1) T = @ptrCast(bytes.ptr);
    return ptr[0 .. bytes.len / @sizeOf(T)];
}

inline fn toF32(comptime format: Format, value: Element(format)) f32 {
    return switch (format) {
        .f32 => value,
        .f16 => fp.halfToF32(value),
        .bf16 => fp.bf16ToF32(value),
    };
}

/// `lanes` values starting at `values[start]`, widened to f32.
inline fn loadF32(
    comptime format: Format,
    comptime lanes: usize,
    values: []align(1) const Element(format),
    start: usize,
) @Vector(lanes, f32) {
    const raw: @Vector(lanes, Element(format)) = values[start..][0..lanes].*;
    return switch (format) {
        .f32 => raw,
        .f16 => @floatCast(raw),
        .bf16 => @bitCast(@as(@Vector(lanes, u32), raw) << @splat(16)),
    };
}

/// Row bytes → f32 values; `dst.len` is the row length.
pub fn dequantizeRow(comptime format: Format, src: []const u8, dst: []f32) void {
    const values = asValues(Element(format), src);
    assert(values.len == dst.len);
    for (values, dst) |v, *y| y.* = toF32(format, v);
}

/// f32 values → row bytes (F16 and BF16 round to nearest even).
pub fn quantizeRow(comptime format: Format, src: []const f32, dst: []u8) void {
    const values = asValuesMut(Element(format), dst);
    assert(values.len == src.len);
    for (src, values) |v, *out| out.* = switch (format) {
        .f32 => v,
        .f16 => fp.f32ToHalf(v),
        .bf16 => fp.f32ToBf16(v),
    };
}

/// Σ w·x in f32 with an f32 activation row (SIMD: four accumulators of `simd.f32_lanes`).
pub fn dot(comptime format: Format, n: usize, w: []const u8, x: []const u8) f32 {
    const weights = asValues(Element(format), w);
    const acts = asValues(f32, x);
    assert(weights.len == n);
    assert(acts.len == n);
    const lanes = simd.f32_lanes;
    const V = @Vector(lanes, f32);
    var acc: [4]V = @splat(@splat(0));
    var i: usize = 0;
    while (i + 4 * lanes <= n) : (i += 4 * lanes) {
        inline for (&acc, 0..) |*a, k| {
            const wv = loadF32(format, lanes, weights, i + k * lanes);
            const xv: V = acts[i + k * lanes ..][0..lanes].*;
            a.* = @mulAdd(V, wv, xv, a.*);
        }
    }
    while (i + lanes <= n) : (i += lanes) {
        const xv: V = acts[i..][0..lanes].*;
        acc[0] = @mulAdd(V, loadF32(format, lanes, weights, i), xv, acc[0]);
    }
    var sum = @reduce(.Add, (acc[0] + acc[1]) + (acc[2] + acc[3]));
    while (i < n) : (i += 1) sum += toF32(format, weights[i]) * acts[i];
    return sum;
}

/// Σ w·x in f32, one value at a time (scalar reference).
pub fn dotGeneric(comptime format: Format, n: usize, w: []const u8, x: []const u8) f32 {
    const weights = asValues(Element(format), w);
    const acts = asValues(f32, x);
    assert(weights.len == n);
    assert(acts.len == n);
    var sum: f32 = 0;
    for (weights, acts) |wv, xv| sum += toF32(format, wv) * xv;
    return sum;
}
