//! Float arithmetic in the exact order of llama.cpp's x86 CPU backend (the AVX-512 build that
//! node-llama-cpp runs on this machine), so zeno's activations are bit-identical to its own.
//!
//! Why bit-identical and not "close": activations are quantized to 8 bits before every matmul.
//! A one-ulp difference anywhere moves some value across a rounding boundary, the quantized
//! value jumps by a whole step, and the difference grows layer by layer until the two logit
//! vectors sit ~0.1–0.5 apart — enough to flip greedy near-ties within a few dozen tokens.
//! Matching llama.cpp token for token therefore means matching every rounding, not the math.
//!
//! What is reproduced here:
//! - `expVec`: ggml's `ggml_v_expf` for 16 lanes (polynomial, `scalef` by 2^n, saturation
//!   beyond |n| > 192), used by SiLU and softmax.
//! - `treeSum`: the halving reductions of `_mm512_reduce_add_ps` and `hsum_float_8`
//!   (upper half + lower half, repeatedly).

const std = @import("std");
const assert = std.debug.assert;
const simd = @import("../quant/simd.zig");

/// Lanes of ggml's AVX-512 float vectors.
pub const lanes = 16;
pub const V16 = @Vector(lanes, f32);

/// Sum of a vector's lanes by halving (quant/simd.zig).
pub const treeSum = simd.treeSum;

/// e^x per lane, ggml's `ggml_v_expf` (AVX-512): n = round(x·log2 e), a degree-5 polynomial
/// in the remainder b = x - n·ln 2 (ln 2 in two parts), scaled by 2^n; |n| > 192 saturates to
/// 0 (n < 0) or +inf.
pub fn expVec(x: V16) V16 {
    const shifter: V16 = @splat(0x1.8p23);
    const z = @mulAdd(V16, x, @splat(0x1.715476p+0), shifter);
    const n = z - shifter;
    const b = @mulAdd(V16, -n, @splat(0x1.7f7d1cp-20), @mulAdd(V16, -n, @splat(0x1.62e4p-1), x));
    const u = b * b;
    const c45 = @mulAdd(V16, @splat(0x1.0e4020p-7), b, @splat(0x1.573e2ep-5));
    const c23 = @mulAdd(V16, @splat(0x1.555e66p-3), b, @splat(0x1.fffdb6p-2));
    const high = @mulAdd(V16, c45, u, c23);
    const j = @mulAdd(V16, high, u, @mulAdd(V16, @splat(0x1.ffffecp-1), b, @splat(1.0)));
    var out: [lanes]f32 = undefined;
    inline for (0..lanes) |i| out[i] = scaleByPowerOfTwo(j[i], n[i]);
    return out;
}

/// `vscalefps` on one lane: j·2^n for an integral n, with ggml's saturation for |n| > 192.
inline fn scaleByPowerOfTwo(j: f32, n: f32) f32 {
    if (std.math.isNan(n)) return n;
    if (@abs(n) > 192) return if (n <= 0) 0 else std.math.inf(f32);
    const exponent: i32 = @intFromFloat(n);
    // Two exact power-of-two factors keep every intermediate normal, so the one rounding is
    // the final multiplication's, as in `vscalefps`.
    const first = @divTrunc(exponent, 2);
    return j * powerOfTwo(first) * powerOfTwo(exponent - first);
}

inline fn powerOfTwo(exponent: i32) f32 {
    assert(exponent >= -126 and exponent <= 127);
    return @bitCast(@as(u32, @intCast(exponent + 127)) << 23);
}

/// silu(x) = x / (1 + e^-x) per lane, ggml's `ggml_v_silu`.
pub fn siluVec(x: V16) V16 {
    const zero: V16 = @splat(0);
    const one: V16 = @splat(1);
    return x / (one + expVec(zero - x));
}

/// e^x for one value, the way a lane of `expVec` computes it.
pub fn expScalar(x: f32) f32 {
    const v: V16 = @splat(x);
    return expVec(v)[0];
}

const testing = std.testing;

test "expVec() is within 2 ulp of exp and saturates like ggml" {
    var prng = std.Random.DefaultPrng.init(5);
    for (0..200) |_| {
        var x: [lanes]f32 = undefined;
        for (&x) |*v| v.* = (prng.random().float(f32) * 2 - 1) * 80;
        const got: [lanes]f32 = expVec(x);
        for (x, got) |xi, g| {
            const want: f32 = @floatCast(@exp(@as(f64, xi)));
            try testing.expectApproxEqRel(want, g, 3e-7);
        }
    }
    try testing.expectEqual(@as(f32, 1), expScalar(0));
    try testing.expectEqual(@as(f32, 0), expScalar(-std.math.inf(f32)));
    try testing.expectEqual(@as(f32, 0), expScalar(-200));
    try testing.expectEqual(std.math.inf(f32), expScalar(200));
}

test "treeSum() adds upper and lower halves" {
    const v: @Vector(8, f32) = .{ 1e8, 1, -1e8, 1, 0.5, 0.25, 0, 0 };
    // (1e8 + 0.5) + (-1e8 + 0) ... rounded per step, as hsum_float_8 does.
    const a = [4]f32{ 1e8 + 0.5, 1 + 0.25, -1e8 + 0, 1 + 0 };
    const b = [2]f32{ a[0] + a[2], a[1] + a[3] };
    try testing.expectEqual(b[0] + b[1], treeSum(8, v));
}
