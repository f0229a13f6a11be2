//! RMS_NORM: y = x / sqrt(mean(x²) + eps) · w, per row. The mean of squares is summed in f64
//! in element order (ggml sums f32 squares in `ggml_float`, a double, one by one).

const std = @import("std");
const assert = std.debug.assert;
const simd = @import("../quant/simd.zig");

const lanes = simd.f32_lanes;
const V = @Vector(lanes, f32);

/// One row: dst = src / rms(src) · weight (weight null = 1). `dst` may be `src`.
/// The squares are rounded to f32 and summed one by one in f64, as ggml's loop does, so the
/// scale is bit-identical to llama.cpp's; the scaling itself is vectorized.
pub fn rmsNormRow(dst: []f32, src: []const f32, weight: ?[]const f32, eps: f32) void {
    assert(dst.len == src.len);
    assert(src.len > 0);
    if (weight) |w| assert(w.len == src.len);
    const factor = inverseRms(sumSquares(src), src.len, eps);
    const f: V = @splat(factor);
    var i: usize = 0;
    if (weight) |w| {
        while (i + lanes <= src.len) : (i += lanes) {
            const v: V = src[i..][0..lanes].*;
            const wv: V = w[i..][0..lanes].*;
            dst[i..][0..lanes].* = v * f * wv;
        }
        while (i < src.len) : (i += 1) dst[i] = src[i] * factor * w[i];
    } else {
        while (i + lanes <= src.len) : (i += lanes) {
            const v: V = src[i..][0..lanes].*;
            dst[i..][0..lanes].* = v * f;
        }
        while (i < src.len) : (i += 1) dst[i] = src[i] * factor;
    }
}

/// Σ x² with each square rounded to f32 and accumulated in order in f64 (ggml's order).
fn sumSquares(src: []const f32) f64 {
    var sum: f64 = 0;
    for (src) |v| sum += @as(f64, v * v);
    return sum;
}

/// One row, one element at a time (reference of `rmsNormRow`).
pub fn rmsNormRowGeneric(dst: []f32, src: []const f32, weight: ?[]const f32, eps: f32) void {
    assert(dst.len == src.len);
    assert(src.len > 0);
    var sum: f64 = 0;
    for (src) |v| sum += @as(f64, v * v);
    const factor = inverseRms(sum, src.len, eps);
    for (dst, src, 0..) |*y, x, i| {
        const w: f32 = if (weight) |ws| ws[i] else 1.0;
        y.* = x * factor * w;
    }
}

fn inverseRms(sum_squares: f64, count: usize, eps: f32) f32 {
    const mean: f32 = @floatCast(sum_squares / @as(f64, @floatFromInt(count)));
    return 1.0 / @sqrt(mean + eps);
}

const testing = std.testing;

test "rmsNormRow(): SIMD matches generic; unit weight gives unit RMS" {
    const len = 64 * 3 + 7;
    var prng = std.Random.DefaultPrng.init(11);
    var x: [len]f32 = undefined;
    var w: [len]f32 = undefined;
    for (&x, &w) |*a, *b| {
        a.* = prng.random().floatNorm(f32) * 3;
        b.* = prng.random().float(f32) + 0.5;
    }
    var a: [len]f32 = undefined;
    var b: [len]f32 = undefined;
    rmsNormRow(&a, &x, &w, 1e-5);
    rmsNormRowGeneric(&b, &x, &w, 1e-5);
    for (a, b) |p, q| try testing.expectApproxEqRel(q, p, 1e-6);
    rmsNormRow(&a, &x, null, 0);
    var squares: f64 = 0;
    for (a) |v| squares += @as(f64, v) * v;
    try testing.expectApproxEqAbs(@as(f64, 1), squares / len, 1e-5);
}

test "rmsNormRow() of [3, 4] is [0.8485, 1.1314] and works in place" {
    var row = [_]f32{ 3, 4 };
    rmsNormRow(&row, &row, null, 0);
    // rms = sqrt((9 + 16) / 2) = 3.5355339
    try testing.expectApproxEqAbs(@as(f32, 0.8485281), row[0], 1e-6);
    try testing.expectApproxEqAbs(@as(f32, 1.1313709), row[1], 1e-6);
}
