//! Element-wise ops on f32 rows: ADD, MUL (same shape or one broadcast row, handled by the
//! caller row by row), SCALE, SWIGLU, GEGLU and SOFTCAP. Each kernel has a `@Vector` version
//! and a scalar `_generic` one beside it; `dst` may be the same memory as an input (in-place
//! graph ops), which is safe because every element is read before it is written at its own
//! index.

const std = @import("std");
const libm = @import("libm.zig");
const ggml_math = @import("ggml_math.zig");
const assert = std.debug.assert;
const simd = @import("../quant/simd.zig");

const lanes = simd.f32_lanes;
const V = @Vector(lanes, f32);

inline fn load(values: []const f32, index: usize) V {
    return values[index..][0..lanes].*;
}

inline fn store(values: []f32, index: usize, v: V) void {
    values[index..][0..lanes].* = v;
}

/// dst = a + b.
pub fn add(dst: []f32, a: []const f32, b: []const f32) void {
    assert(dst.len == a.len and dst.len == b.len);
    var i: usize = 0;
    while (i + lanes <= dst.len) : (i += lanes) store(dst, i, load(a, i) + load(b, i));
    while (i < dst.len) : (i += 1) dst[i] = a[i] + b[i];
}

/// dst = a + b, one element at a time.
pub fn addGeneric(dst: []f32, a: []const f32, b: []const f32) void {
    assert(dst.len == a.len and dst.len == b.len);
    for (dst, a, b) |*y, x, z| y.* = x + z;
}

/// dst = a * b.
pub fn mul(dst: []f32, a: []const f32, b: []const f32) void {
    assert(dst.len == a.len and dst.len == b.len);
    var i: usize = 0;
    while (i + lanes <= dst.len) : (i += lanes) store(dst, i, load(a, i) * load(b, i));
    while (i < dst.len) : (i += 1) dst[i] = a[i] * b[i];
}

/// dst = a * b, one element at a time.
pub fn mulGeneric(dst: []f32, a: []const f32, b: []const f32) void {
    assert(dst.len == a.len and dst.len == b.len);
    for (dst, a, b) |*y, x, z| y.* = x * z;
}

/// dst = src * factor.
pub fn scale(dst: []f32, src: []const f32, factor: f32) void {
    assert(dst.len == src.len);
    const f: V = @splat(factor);
    var i: usize = 0;
    while (i + lanes <= dst.len) : (i += lanes) store(dst, i, load(src, i) * f);
    while (i < dst.len) : (i += 1) dst[i] = src[i] * factor;
}

/// dst = src * factor, one element at a time.
pub fn scaleGeneric(dst: []f32, src: []const f32, factor: f32) void {
    assert(dst.len == src.len);
    for (dst, src) |*y, x| y.* = x * factor;
}

/// silu(x) = x / (1 + e^-x), as ggml computes it in f32 (its scalar `expf`, the C library's).
pub inline fn silu(x: f32) f32 {
    return x / (1.0 + libm.expf(-x));
}

/// dst = silu(x) * g (SwiGLU), as ggml's `ggml_vec_swiglu_f32`: 16 lanes at a time through
/// its vector exponential (ggml_math.zig), the tail with the scalar formula.
pub fn swiglu(dst: []f32, x: []const f32, g: []const f32) void {
    assert(dst.len == x.len and dst.len == g.len);
    const n = ggml_math.lanes;
    var i: usize = 0;
    while (i + n <= dst.len) : (i += n) {
        const xv: ggml_math.V16 = x[i..][0..n].*;
        const gv: ggml_math.V16 = g[i..][0..n].*;
        dst[i..][0..n].* = ggml_math.siluVec(xv) * gv;
    }
    while (i < dst.len) : (i += 1) dst[i] = silu(x[i]) * g[i];
}

/// dst = silu(x) * g, one element at a time (lanes of the vector exponential, then the tail).
pub fn swigluGeneric(dst: []f32, x: []const f32, g: []const f32) void {
    assert(dst.len == x.len and dst.len == g.len);
    const vector_end = dst.len - dst.len % ggml_math.lanes;
    for (dst[0..vector_end], x[0..vector_end], g[0..vector_end]) |*y, xv, gv| {
        y.* = xv / (1.0 + ggml_math.expScalar(0 - xv)) * gv;
    }
    for (dst[vector_end..], x[vector_end..], g[vector_end..]) |*y, xv, gv| y.* = silu(xv) * gv;
}

const gelu_coef_a: f32 = 0.044715;
const sqrt_2_over_pi: f32 = 0.79788456080286535587989211986876;

/// GELU with the tanh approximation, in f32.
pub inline fn geluTanh(x: f32) f32 {
    // As GCC compiles ggml_gelu_f32: the inner 1 + a·x·x is one fused multiply-add; tanhf is
    // the C library's, as ggml's.
    const inner = sqrt_2_over_pi * x * @mulAdd(f32, gelu_coef_a * x, x, 1.0);
    const t = libm.tanhf(inner);
    return 0.5 * x * (1.0 + t);
}

/// GELU as ggml's CPU backend computes it: inputs in (-10, 10) are rounded to f16, GELU'd in
/// f32 and rounded to f16 again (ggml reads a 64 Ki-entry f16 table; this computes the same
/// entry); at or below -10 it is 0, at or above 10 it is x.
pub inline fn geluGgml(x: f32) f32 {
    if (x <= -10.0) return 0.0;
    if (x >= 10.0) return x;
    const x16: f32 = @as(f16, @floatCast(x));
    return @as(f16, @floatCast(geluTanh(x16)));
}

/// ggml's GELU table: entry h is `geluGgml` of the f16 with bits h, built once on first use
/// (65536 tanhf calls, ~2 ms) by whichever thread gets there first; the others wait.
var gelu_table: [1 << 16]f16 = undefined;
var gelu_table_state = std.atomic.Value(u8).init(0); // 0 empty, 1 building, 2 ready

fn geluTable() *const [1 << 16]f16 {
    if (gelu_table_state.load(.acquire) == 2) return &gelu_table;
    if (gelu_table_state.cmpxchgStrong(0, 1, .acquire, .monotonic) == null) {
        for (&gelu_table, 0..) |*entry, bits| {
            const x: f32 = @as(f16, @bitCast(@as(u16, @intCast(bits))));
            entry.* = if (std.math.isFinite(x) and @abs(x) < 10) @floatCast(geluTanh(x)) else 0;
        }
        gelu_table_state.store(2, .release);
    }
    while (gelu_table_state.load(.acquire) != 2) std.atomic.spinLoopHint();
    return &gelu_table;
}

/// dst = gelu(x) * g (GeGLU), through ggml's f16 table as `ggml_vec_geglu_f32` does.
pub fn geglu(dst: []f32, x: []const f32, g: []const f32) void {
    assert(dst.len == x.len and dst.len == g.len);
    const table = geluTable();
    for (dst, x, g) |*y, xv, gv| {
        if (xv <= -10.0) {
            y.* = 0;
        } else if (xv >= 10.0) {
            y.* = xv * gv;
        } else {
            const bits: u16 = @bitCast(@as(f16, @floatCast(xv)));
            y.* = @as(f32, table[bits]) * gv;
        }
    }
}

/// dst = gelu(x) * g, the reference (same arithmetic as `geglu`).
pub fn gegluGeneric(dst: []f32, x: []const f32, g: []const f32) void {
    assert(dst.len == x.len and dst.len == g.len);
    var i: usize = 0;
    while (i < dst.len) : (i += 1) dst[i] = geluGgml(x[i]) * g[i];
}

/// dst = cap * tanh(src / cap) (logit soft-cap); `cap` > 0.
pub fn softcap(dst: []f32, src: []const f32, cap: f32) void {
    assert(dst.len == src.len);
    assert(cap > 0);
    const inverse = 1.0 / cap;
    for (dst, src) |*y, x| y.* = cap * libm.tanhf(x * inverse);
}

/// dst = cap * tanh(src / cap), dividing as written.
pub fn softcapGeneric(dst: []f32, src: []const f32, cap: f32) void {
    assert(dst.len == src.len);
    assert(cap > 0);
    for (dst, src) |*y, x| y.* = cap * libm.tanhf(x / cap);
}

const testing = std.testing;
const test_len = 3 * 64 + 5; // not a multiple of any vector width

fn testValues(seed: u64, out: []f32, range: f32) void {
    var prng = std.Random.DefaultPrng.init(seed);
    for (out) |*v| v.* = (prng.random().float(f32) * 2 - 1) * range;
}

fn expectClose(expected: []const f32, actual: []const f32, tolerance: f32) !void {
    for (expected, actual) |e, a| {
        try testing.expectApproxEqAbs(e, a, tolerance * @max(1.0, @abs(e)));
    }
}

test "add/mul/scale: SIMD equals generic exactly, in place too" {
    var a: [test_len]f32 = undefined;
    var b: [test_len]f32 = undefined;
    testValues(1, &a, 4);
    testValues(2, &b, 4);
    var simd_out: [test_len]f32 = undefined;
    var generic_out: [test_len]f32 = undefined;
    add(&simd_out, &a, &b);
    addGeneric(&generic_out, &a, &b);
    try testing.expectEqualSlices(f32, &generic_out, &simd_out);
    mul(&simd_out, &a, &b);
    mulGeneric(&generic_out, &a, &b);
    try testing.expectEqualSlices(f32, &generic_out, &simd_out);
    var in_place = a;
    scale(&in_place, &in_place, 0.125);
    scaleGeneric(&generic_out, &a, 0.125);
    try testing.expectEqualSlices(f32, &generic_out, &in_place);
    try testing.expectEqual(a[7] * 0.125, in_place[7]);
}

test "swiglu: SIMD matches generic and known values" {
    var x: [test_len]f32 = undefined;
    var g: [test_len]f32 = undefined;
    testValues(3, &x, 12);
    testValues(4, &g, 2);
    var simd_out: [test_len]f32 = undefined;
    var generic_out: [test_len]f32 = undefined;
    swiglu(&simd_out, &x, &g);
    swigluGeneric(&generic_out, &x, &g);
    try expectClose(&generic_out, &simd_out, 1e-6);
    // silu(1) = 1 / (1 + e^-1) = 0.7310586
    try testing.expectApproxEqAbs(@as(f32, 0.7310586), silu(1.0), 1e-7);
}

test "geglu: ggml's f16-rounded GELU, clamps at ±10" {
    try testing.expectEqual(@as(f32, 0), geluGgml(-10.0));
    try testing.expectEqual(@as(f32, 12.5), geluGgml(12.5));
    // gelu_tanh(1) = 0.8411920; f16 rounds it to 0.84130859375.
    try testing.expectEqual(@as(f32, 0.84130859375), geluGgml(1.0));
    var x: [test_len]f32 = undefined;
    var g: [test_len]f32 = undefined;
    testValues(5, &x, 12);
    testValues(6, &g, 2);
    var a: [test_len]f32 = undefined;
    var b: [test_len]f32 = undefined;
    geglu(&a, &x, &g);
    gegluGeneric(&b, &x, &g);
    try testing.expectEqualSlices(f32, &b, &a);
}

test "softcap: bounded by the cap, near identity for small values" {
    var x: [test_len]f32 = undefined;
    testValues(7, &x, 100);
    var a: [test_len]f32 = undefined;
    var b: [test_len]f32 = undefined;
    softcap(&a, &x, 30);
    softcapGeneric(&b, &x, 30);
    try expectClose(&b, &a, 1e-6);
    for (a) |v| try testing.expect(@abs(v) <= 30);
    var small = [_]f32{0.001};
    softcap(&small, &small, 30);
    try testing.expectApproxEqAbs(@as(f32, 0.001), small[0], 1e-9);
}
