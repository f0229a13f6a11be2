//! The SIMD width the kernels are compiled for, and the integer building blocks of the SIMD
//! dot products. The width is a comptime constant of the build target (one shared library is
//! built per CPU variant): 512-bit with AVX-512BW, 256-bit with AVX2, 128-bit otherwise
//! (SSE2 baseline, NEON).

const std = @import("std");
const builtin = @import("builtin");
const assert = std.debug.assert;

fn hasX86(comptime feature: std.Target.x86.Feature) bool {
    return builtin.cpu.arch == .x86_64 and
        std.Target.x86.featureSetHas(builtin.cpu.features, feature);
}

/// Bytes per SIMD register on the build target.
pub const vector_bytes: usize = if (hasX86(.avx512bw)) 64 else if (hasX86(.avx2)) 32 else 16;

/// f32 lanes per register.
pub const f32_lanes: usize = vector_bytes / 4;

/// Legacy (32-value) blocks handled per step of a SIMD dot product: one register of i8 values
/// when it holds at least one block, else one block split over registers by LLVM.
pub const legacy_blocks_per_step: usize = @max(1, vector_bytes / 32);

fn strideMask(comptime len: usize, comptime stride: usize, comptime offset: usize) [len / stride]i32 {
    var mask: [len / stride]i32 = undefined;
    for (&mask, 0..) |*lane, k| lane.* = @intCast(k * stride + offset);
    return mask;
}

/// Sums adjacent lane pairs: out[k] = v[2k] + v[2k+1].
pub inline fn addPairs(comptime len: usize, v: @Vector(len, i32)) @Vector(len / 2, i32) {
    const even = @shuffle(i32, v, undefined, strideMask(len, 2, 0));
    const odd = @shuffle(i32, v, undefined, strideMask(len, 2, 1));
    return even + odd;
}

/// Products of i8 lanes summed in groups of four: out[k] = Σ_{i<4} a[4k+i]·b[4k+i].
/// The layout of x86 `vpdpbusd` / ARM `sdot`; products are widened first, so nothing saturates.
pub inline fn dotGroups4(
    comptime len: usize,
    a: @Vector(len, i8),
    b: @Vector(len, i8),
) @Vector(len / 4, i32) {
    comptime assert(len % 4 == 0);
    const a16: @Vector(len, i16) = a;
    const b16: @Vector(len, i16) = b;
    // |a·b| ≤ 2^14 fits i16; pairs of them fit i32.
    const products: @Vector(len, i32) = a16 * b16;
    return addPairs(len / 2, addPairs(len, products));
}

/// Sum of all lanes of `v`.
pub inline fn sumI32(comptime len: usize, v: @Vector(len, i32)) i32 {
    return @reduce(.Add, v);
}

/// Concatenates two vectors: lanes of `a`, then lanes of `b`.
pub inline fn concat(
    comptime T: type,
    comptime len: usize,
    a: @Vector(len, T),
    b: @Vector(len, T),
) @Vector(2 * len, T) {
    comptime var mask: [2 * len]i32 = undefined;
    inline for (0..len) |i| {
        mask[i] = @intCast(i);
        mask[len + i] = ~@as(i32, @intCast(i));
    }
    return @shuffle(T, a, b, mask);
}

/// Each lane of `v` repeated `times` times: out[k] = v[k / times].
pub inline fn repeatLanes(
    comptime T: type,
    comptime len: usize,
    comptime times: usize,
    v: @Vector(len, T),
) @Vector(len * times, T) {
    comptime var mask: [len * times]i32 = undefined;
    inline for (0..len * times) |k| mask[k] = @intCast(k / times);
    return @shuffle(T, v, undefined, mask);
}

const testing = std.testing;

test "dotGroups4() sums products in groups of four without saturating" {
    const a: [8]i8 = .{ -128, -128, -128, -128, 1, 2, 3, 4 };
    const b: [8]i8 = .{ -128, -128, -128, -128, 5, -6, 7, -8 };
    const got = dotGroups4(8, a, b);
    try testing.expectEqual(@as(i32, 4 * 16384), got[0]);
    try testing.expectEqual(@as(i32, 5 - 12 + 21 - 32), got[1]);
}

test "concat() and repeatLanes() place lanes in order" {
    const a: @Vector(2, u8) = .{ 1, 2 };
    const b: @Vector(2, u8) = .{ 3, 4 };
    try testing.expectEqual([4]u8{ 1, 2, 3, 4 }, @as([4]u8, concat(u8, 2, a, b)));
    try testing.expectEqual([4]u8{ 1, 1, 2, 2 }, @as([4]u8, repeatLanes(u8, 2, 2, a)));
}
