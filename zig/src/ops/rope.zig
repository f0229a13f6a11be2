//! ROPE: rotary position embedding of one head row at one position.
//!
//! Pair i (0 ≤ i < n_rot/2) turns by θ_i = pos · base^(-2i/n_rot) · freq_scale. The angles are
//! built the way ggml builds its cache (θ_0 = pos, then repeated multiplication by
//! base^(-2/n_rot) in f32), so the rounding matches llama.cpp's. Normal mode rotates adjacent
//! pairs (x[2i], x[2i+1]); NeoX mode rotates halves (x[i], x[i + n_rot/2]). Values past n_rot
//! are copied.

const std = @import("std");
const libm = @import("libm.zig");
const assert = std.debug.assert;

/// Adjacent pairs (llama).
pub const mode_normal: i32 = 0;
/// Halves of the rotated dims (GPT-NeoX, qwen2, gemma3).
pub const mode_neox: i32 = 2;

/// Most rotated pairs `Angles` holds (heads of up to 512 rotated dims).
pub const pairs_max = 256;

/// cos θ_i and sin θ_i of one position, for every head row at that position: the angles
/// depend on the position alone, so a token's 32 query and 8 key heads turn by one table
/// (the f64 cos/sin of every pair of every head row were ~0.4 % of a 1B decode's time).
pub const Angles = struct {
    cos: [pairs_max]f32 = undefined,
    sin: [pairs_max]f32 = undefined,
    half: usize = 0,

    /// The angles of `position`, built as ggml builds its cache: pair i turns by
    /// freq_scale · (θ_base,i / factor_i), θ_base,i = position · freq_base^(-2i/n_rot) by
    /// repeated f32 multiplication. `factors` ([n_rot/2], Llama 3's `rope_freqs.weight`)
    /// slows the low frequencies down; none is a factor of 1 (dividing by 1 is exact).
    pub fn of(
        n_rot: usize,
        position: i32,
        freq_base: f32,
        freq_scale: f32,
        factors: ?[]const f32,
    ) Angles {
        assert(n_rot % 2 == 0 and n_rot / 2 <= pairs_max);
        if (factors) |f| assert(f.len == n_rot / 2);
        var angles: Angles = .{ .half = n_rot / 2 };
        const theta_scale = libm.powf(freq_base, -2.0 / @as(f32, @floatFromInt(n_rot)));
        var theta_base: f32 = @floatFromInt(position);
        for (0..angles.half) |i| {
            const factor: f32 = if (factors) |f| f[i] else 1;
            const theta = freq_scale * (theta_base / factor);
            const turn = libm.sincosf(theta);
            angles.cos[i] = turn.cos;
            angles.sin[i] = turn.sin;
            theta_base *= theta_scale;
        }
        return angles;
    }
};

/// Rotates one head row by `angles` (of its position). `dst` may be `src`.
pub fn ropeRowAt(dst: []f32, src: []const f32, mode: i32, angles: *const Angles) void {
    const half = angles.half;
    assert(dst.len == src.len and 2 * half <= src.len);
    assert(mode == mode_normal or mode == mode_neox);
    for (0..half) |i| {
        const first = if (mode == mode_neox) i else 2 * i;
        const second = if (mode == mode_neox) i + half else 2 * i + 1;
        const x0 = src[first];
        const x1 = src[second];
        dst[first] = @mulAdd(f32, x0, angles.cos[i], -(x1 * angles.sin[i]));
        dst[second] = @mulAdd(f32, x0, angles.sin[i], x1 * angles.cos[i]);
    }
    if (dst.ptr != src.ptr) @memcpy(dst[2 * half ..], src[2 * half ..]);
}

/// Rotates one head row. `dst` may be `src`.
pub fn ropeRow(
    dst: []f32,
    src: []const f32,
    n_rot: usize,
    mode: i32,
    position: i32,
    freq_base: f32,
    freq_scale: f32,
    factors: ?[]const f32,
) void {
    assert(n_rot <= src.len);
    const angles = Angles.of(n_rot, position, freq_base, freq_scale, factors);
    ropeRowAt(dst, src, mode, &angles);
}

/// Reference: each angle from the closed form pos · base^(-2i/n_rot) · freq_scale / factor_i
/// in f64.
pub fn ropeRowGeneric(
    dst: []f32,
    src: []const f32,
    n_rot: usize,
    mode: i32,
    position: i32,
    freq_base: f32,
    freq_scale: f32,
    factors: ?[]const f32,
) void {
    assert(dst.len == src.len);
    assert(n_rot % 2 == 0 and n_rot <= src.len);
    const half = n_rot / 2;
    for (0..half) |i| {
        const exponent = -2.0 * @as(f64, @floatFromInt(i)) / @as(f64, @floatFromInt(n_rot));
        const factor: f64 = if (factors) |f| f[i] else 1;
        const theta = @as(f64, @floatFromInt(position)) * std.math.pow(f64, freq_base, exponent) *
            freq_scale / factor;
        const first = if (mode == mode_neox) i else 2 * i;
        const second = if (mode == mode_neox) i + half else 2 * i + 1;
        const x0: f64 = src[first];
        const x1: f64 = src[second];
        dst[first] = @floatCast(x0 * @cos(theta) - x1 * @sin(theta));
        dst[second] = @floatCast(x0 * @sin(theta) + x1 * @cos(theta));
    }
    for (n_rot..src.len) |i| dst[i] = src[i];
}

const testing = std.testing;

test "ropeRow() at position 0 is the identity; matches the closed form elsewhere" {
    var x: [64]f32 = undefined;
    var prng = std.Random.DefaultPrng.init(3);
    for (&x) |*v| v.* = prng.random().floatNorm(f32);
    var out: [64]f32 = undefined;
    ropeRow(&out, &x, 64, mode_normal, 0, 10000, 1, null);
    try testing.expectEqualSlices(f32, &x, &out);
    for ([_]i32{ mode_normal, mode_neox }) |mode| {
        for ([_]i32{ 1, 17, 500 }) |pos| {
            var fast: [64]f32 = undefined;
            var slow: [64]f32 = undefined;
            ropeRow(&fast, &x, 48, mode, pos, 10000, 0.5, null);
            ropeRowGeneric(&slow, &x, 48, mode, pos, 10000, 0.5, null);
            for (fast, slow) |a, b| try testing.expectApproxEqAbs(b, a, 2e-4);
            try testing.expectEqualSlices(f32, x[48..], fast[48..]);
        }
    }
}

test "ropeRow() turns the first pair by pos radians, in place" {
    var row = [_]f32{ 1, 0, 1, 0 };
    ropeRow(&row, &row, 4, mode_normal, 1, 10000, 1, null);
    try testing.expectApproxEqAbs(@cos(@as(f32, 1)), row[0], 1e-7);
    try testing.expectApproxEqAbs(@sin(@as(f32, 1)), row[1], 1e-7);
    // second pair: θ = 1 · 10000^(-1/2) = 0.01
    try testing.expectApproxEqAbs(@cos(@as(f32, 0.01)), row[2], 1e-7);
    var neox = [_]f32{ 1, 1, 0, 0 };
    ropeRow(&neox, &neox, 4, mode_neox, 1, 10000, 1, null);
    try testing.expectApproxEqAbs(@sin(@as(f32, 1)), neox[2], 1e-7);
    try testing.expectApproxEqAbs(@sin(@as(f32, 0.01)), neox[3], 1e-7);
}

test "Angles.of() divides by the frequency factors as ggml does" {
    // Halving by a factor of 2 is exact, and so is doubling the position (θ_base,i is
    // position · scale^i by repeated multiplication): the angles must equal bit for bit.
    const twos: [32]f32 = @splat(2);
    for ([_]i32{ 1, 7, 300 }) |pos| {
        const halved = Angles.of(64, 2 * pos, 500000, 1, &twos);
        const plain = Angles.of(64, pos, 500000, 1, null);
        try testing.expectEqualSlices(f32, plain.cos[0..32], halved.cos[0..32]);
        try testing.expectEqualSlices(f32, plain.sin[0..32], halved.sin[0..32]);
    }
    // Llama 3.2's shape of factors: 1 at high frequencies, 32 at low ones, smooth between.
    var factors: [32]f32 = undefined;
    for (&factors, 0..) |*f, i| f.* = if (i < 12) 1 else if (i > 20) 32 else @floatFromInt(i);
    var x: [64]f32 = undefined;
    var prng = std.Random.DefaultPrng.init(5);
    for (&x) |*v| v.* = prng.random().floatNorm(f32);
    for ([_]i32{ mode_normal, mode_neox }) |mode| {
        var fast: [64]f32 = undefined;
        var slow: [64]f32 = undefined;
        ropeRow(&fast, &x, 64, mode, 4000, 500000, 1, &factors);
        ropeRowGeneric(&slow, &x, 64, mode, 4000, 500000, 1, &factors);
        for (fast, slow) |a, b| try testing.expectApproxEqAbs(b, a, 2e-3);
        var unscaled: [64]f32 = undefined;
        ropeRow(&unscaled, &x, 64, mode, 4000, 500000, 1, null);
        try testing.expect(!std.mem.eql(f32, &unscaled, &fast));
    }
}
