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

/// Sum of a vector's lanes by halving: v[i] + v[i + n/2], then again, down to one lane. This
/// is the order of x86's `_mm512_reduce_add_ps` and ggml's `hsum_float_8`, which llama.cpp's
/// kernels end with.
pub inline fn treeSum(comptime n: usize, v: @Vector(n, f32)) f32 {
    comptime assert(std.math.isPowerOfTwo(n));
    if (n == 1) return v[0];
    const half = n / 2;
    const low: [half]f32 = @as([n]f32, v)[0..half].*;
    const high: [half]f32 = @as([n]f32, v)[half..n].*;
    return treeSum(half, @as(@Vector(half, f32), low) + @as(@Vector(half, f32), high));
}

fn strideMask(
    comptime len: usize,
    comptime stride: usize,
    comptime offset: usize,
) [len / stride]i32 {
    @setEvalBranchQuota(10_000);
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

/// Whether `dotGroups4` uses AVX2's `vpsignb` / `vpmaddubsw` / `vpmaddwd`, which LLVM does not
/// emit from plain vector code (a 256-bit VEX sequence, valid on AVX-512 CPUs too).
pub const use_avx2_madd = hasX86(.avx2);

/// Whether 64-lane `dotGroups4` uses AVX-512 VNNI's `vpdpbusd` (one instruction per 64 bytes).
pub const use_vnni512 = hasX86(.avx512vnni) and hasX86(.avx512bw);

/// Products of i8 lanes summed in groups of four: out[k] = Σ_{i<4} a[4k+i]·b[4k+i].
/// The layout of x86 `vpdpbusd` / ARM `sdot`.
///
/// `b` must not hold -128 (our Q8 quantizers never write it: they round to -127..127): the
/// AVX2 path multiplies |a| by b with a's sign, and -(-128) does not fit an i8. `a` may be
/// anything.
pub inline fn dotGroups4(
    comptime len: usize,
    a: @Vector(len, i8),
    b: @Vector(len, i8),
) @Vector(len / 4, i32) {
    comptime assert(len % 4 == 0);
    if (use_vnni512 and len == 64) return dotGroups4Vnni(a, b);
    if (use_avx2_madd and len % 32 == 0) {
        var out: [len / 4]i32 = undefined;
        const a_array: [len]i8 = a;
        const b_array: [len]i8 = b;
        inline for (0..len / 32) |k| {
            const a32: @Vector(32, i8) = a_array[32 * k ..][0..32].*;
            out[8 * k ..][0..8].* = dotGroups4Avx2(a32, b_array[32 * k ..][0..32].*);
        }
        return out;
    }
    return dotGroups4Generic(len, a, b);
}

/// `dotGroups4` with each pair of products weighted by an i16 scale before the pairs of pairs
/// are added: out[k] = Σ_{p=2k,2k+1} scales[p]·(a[2p]·b[2p] + a[2p+1]·b[2p+1]). The K-quant
/// kernels pass their sub-block scales here, so AVX2 folds the scaling into `vpmaddwd`.
/// Same precondition on `b` as `dotGroups4`.
pub inline fn dotGroups4Scaled(
    comptime len: usize,
    a: @Vector(len, i8),
    b: @Vector(len, i8),
    scales: @Vector(len / 2, i16),
) @Vector(len / 4, i32) {
    comptime assert(len % 4 == 0);
    if (use_avx2_madd and len % 32 == 0) {
        var out: [len / 4]i32 = undefined;
        const a_array: [len]i8 = a;
        const b_array: [len]i8 = b;
        const scale_array: [len / 2]i16 = scales;
        inline for (0..len / 32) |k| {
            const pairs = pairSumsAvx2(a_array[32 * k ..][0..32].*, b_array[32 * k ..][0..32].*);
            out[8 * k ..][0..8].* = maddAvx2(pairs, scale_array[16 * k ..][0..16].*);
        }
        return out;
    }
    const a16: @Vector(len, i16) = a;
    const b16: @Vector(len, i16) = b;
    const products: @Vector(len, i32) = a16 * b16;
    const scale32: @Vector(len / 2, i32) = scales;
    return addPairs(len / 2, addPairs(len, products) * scale32);
}

/// `dotGroups4` in plain vector code: products widened to i16 first, so nothing saturates.
pub inline fn dotGroups4Generic(
    comptime len: usize,
    a: @Vector(len, i8),
    b: @Vector(len, i8),
) @Vector(len / 4, i32) {
    const a16: @Vector(len, i16) = a;
    const b16: @Vector(len, i16) = b;
    // |a·b| ≤ 2^14 fits i16; pairs of them fit i32.
    const products: @Vector(len, i32) = a16 * b16;
    return addPairs(len / 2, addPairs(len, products));
}

/// 64 lanes with AVX-512 VNNI: |a| (unsigned) times b carrying a's sign, four products per
/// i32 lane in one `vpdpbusd` (exact: 4·128·127 fits).
inline fn dotGroups4Vnni(a: @Vector(64, i8), b: @Vector(64, i8)) @Vector(16, i32) {
    const a_abs: @Vector(64, u8) = @abs(a);
    const negative = a < @as(@Vector(64, i8), @splat(0));
    const b_signed = @select(i8, negative, @as(@Vector(64, i8), @splat(0)) -% b, b);
    return dotUnsigned4(a_abs, b_signed);
}

/// Σ of four u8·i8 products per i32 lane (`vpdpbusd` with AVX-512 VNNI; exact).
pub inline fn dotUnsigned4(a: @Vector(64, u8), b: @Vector(64, i8)) @Vector(16, i32) {
    return dotUnsigned4Add(@splat(0), a, b);
}

/// `start` + `dotUnsigned4(a, b)`, accumulated inside the one instruction.
pub inline fn dotUnsigned4Add(
    start: @Vector(16, i32),
    a: @Vector(64, u8),
    b: @Vector(64, i8),
) @Vector(16, i32) {
    if (!use_vnni512) {
        const a16: @Vector(64, i16) = a;
        const b16: @Vector(64, i16) = b;
        return start + addPairs(32, addPairs(64, @as(@Vector(64, i32), a16 * b16)));
    }
    return asm ("vpdpbusd %[signed], %[unsigned], %[acc]"
        : [acc] "=x" (-> @Vector(16, i32)),
        : [unsigned] "x" (a),
          [signed] "x" (b),
          [_] "0" (start),
    );
}

/// How far ahead of the block they compute the rows16 kernels ask for weights: a matrix-vector
/// product here reads ~0.6 of the stream bandwidth on the hardware prefetcher alone and ~0.8
/// with 2-8 KiB of software prefetch into L1 (zig/src/layout_bench.zig; 1 KiB is too close).
pub const prefetch_distance_bytes: usize = 4096;

/// Where a prefetch puts the weights.
pub const PrefetchTarget = enum {
    /// L1 (`prefetcht0`): a block several tokens use at once, computed as soon as it lands.
    l1,
    /// L2 (`prefetcht1`): a block one token streams past. Alternating builds on this machine,
    /// single-token rows16 Q4_0 went from 0.80-0.89 of the stream with `prefetcht0` to
    /// 0.94-0.97, Q6_K from 0.69-0.88 to 0.84-0.94 (2 KiB or 8 KiB ahead, or `prefetcht2`, did
    /// no better; `prefetchnta` halves it); prefill was 2-7 % slower with it, so batches keep L1.
    l2,

    /// The target for a kernel that multiplies each weight block with `tokens` tokens.
    pub fn forTokens(tokens: usize) PrefetchTarget {
        return if (tokens == 1) .l2 else .l1;
    }
};

/// Asks for the `bytes` that start `prefetch_distance_bytes` past `block` to be brought into
/// `target`, one prefetch per 64-byte line. A prefetch never faults, so past the end is
/// harmless.
pub inline fn prefetchAhead(block: [*]const u8, comptime bytes: usize, comptime target: PrefetchTarget) void {
    const locality = switch (target) {
        .l1 => 3,
        .l2 => 2,
    };
    inline for (0..(bytes + 63) / 64) |line| {
        @prefetch(block + prefetch_distance_bytes + 64 * line, .{ .locality = locality });
    }
}

/// Four bytes repeated over 64 lanes (one `vpbroadcastd`): the activations every row's lane
/// of a lanes = rows kernel multiplies.
pub inline fn repeat4Bytes(bytes: *const [4]i8) @Vector(64, i8) {
    const word = std.mem.readInt(u32, @ptrCast(bytes), .little);
    return @bitCast(@as(@Vector(16, u32), @splat(word)));
}

/// Pair sums of u8·i8 products in i16 lanes: out[p] = a[2p]·b[2p] + a[2p+1]·b[2p+1]
/// (`vpmaddubsw`, which saturates: callers keep 2·max(a)·128 below 32768).
pub inline fn pairSumsUnsigned(a: @Vector(64, u8), b: @Vector(64, i8)) @Vector(32, i16) {
    if (!use_vnni512) {
        const a16: @Vector(64, i16) = a;
        const b16: @Vector(64, i16) = b;
        const products: @Vector(64, i32) = @as(@Vector(64, i32), a16) * @as(@Vector(64, i32), b16);
        return @intCast(addPairs(64, products));
    }
    return asm ("vpmaddubsw %[signed], %[unsigned], %[out]"
        : [out] "=x" (-> @Vector(32, i16)),
        : [unsigned] "x" (a),
          [signed] "x" (b),
    );
}

/// Each i32 lane's two i16 halves from `low` and `high` (values that fit i16): the operand
/// `dotPairs16Add` multiplies a lane's two i16 with.
pub inline fn i16Pairs(low: @Vector(16, i32), high: @Vector(16, i32)) @Vector(32, i16) {
    const low_half = low & @as(@Vector(16, i32), @splat(0xFFFF));
    return @bitCast(low_half | (high << @splat(16)));
}

/// `start` + Σ of the two i16·i16 products of each i32 lane (`vpdpwssd`; exact while the sum
/// fits i32).
pub inline fn dotPairs16Add(
    start: @Vector(16, i32),
    a: @Vector(32, i16),
    b: @Vector(32, i16),
) @Vector(16, i32) {
    if (!use_vnni512) {
        const products = @as(@Vector(32, i32), a) * @as(@Vector(32, i32), b);
        return start + addPairs(32, products);
    }
    return asm ("vpdpwssd %[b], %[a], %[acc]"
        : [acc] "=x" (-> @Vector(16, i32)),
        : [a] "x" (a),
          [b] "x" (b),
          [_] "0" (start),
    );
}

/// 32 lanes with AVX2: |a| (unsigned) times b carrying a's sign, pairs summed to i16 (at most
/// 2·128·127, no saturation), then pairs of pairs to i32.
inline fn dotGroups4Avx2(a: @Vector(32, i8), b: @Vector(32, i8)) @Vector(8, i32) {
    return maddAvx2(pairSumsAvx2(a, b), @splat(1));
}

/// out[p] = a[2p]·b[2p] + a[2p+1]·b[2p+1] in i16, via `vpsignb` and `vpmaddubsw`.
inline fn pairSumsAvx2(a: @Vector(32, i8), b: @Vector(32, i8)) @Vector(16, i16) {
    const a_abs: @Vector(32, u8) = @abs(a);
    const b_signed = asm ("vpsignb %[signs], %[values], %[out]"
        : [out] "=x" (-> @Vector(32, i8)),
        : [values] "x" (b),
          [signs] "x" (a),
    );
    return asm ("vpmaddubsw %[signed], %[unsigned], %[out]"
        : [out] "=x" (-> @Vector(16, i16)),
        : [unsigned] "x" (a_abs),
          [signed] "x" (b_signed),
    );
}

/// out[k] = pairs[2k]·scales[2k] + pairs[2k+1]·scales[2k+1] in i32 (`vpmaddwd`).
inline fn maddAvx2(pairs: @Vector(16, i16), scales: @Vector(16, i16)) @Vector(8, i32) {
    return asm ("vpmaddwd %[scales], %[pairs], %[out]"
        : [out] "=x" (-> @Vector(8, i32)),
        : [pairs] "x" (pairs),
          [scales] "x" (scales),
    );
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
    var a: [32]i8 = @splat(0);
    var b: [32]i8 = @splat(0);
    a[0..8].* = .{ -128, -128, -128, -128, 1, 2, 3, 4 };
    b[0..8].* = .{ -127, -127, -127, -127, 5, -6, 7, -8 };
    a[28..32].* = .{ 127, -127, 0, -1 };
    b[28..32].* = .{ 127, 127, 100, -127 };
    for ([_][8]i32{ dotGroups4(32, a, b), dotGroups4Generic(32, a, b) }) |got| {
        try testing.expectEqual(@as(i32, 4 * 128 * 127), got[0]);
        try testing.expectEqual(@as(i32, 5 - 12 + 21 - 32), got[1]);
        try testing.expectEqual(@as(i32, 0), got[2]);
        try testing.expectEqual(@as(i32, 127 * 127 - 127 * 127 + 127), got[7]);
    }
    // The generic path also takes -128 in b.
    const generic = dotGroups4Generic(4, .{ -128, -128, -128, -128 }, .{ -128, -128, -128, -128 });
    try testing.expectEqual(@as(i32, 4 * 16384), generic[0]);
}

test "dotGroups4() and dotGroups4Scaled() equal plain sums on random lanes" {
    var prng = std.Random.DefaultPrng.init(11);
    const random = prng.random();
    for (0..1000) |_| {
        var a: [64]i8 = undefined;
        var b: [64]i8 = undefined;
        random.bytes(std.mem.asBytes(&a));
        for (&b) |*v| v.* = random.intRangeAtMost(i8, -127, 127);
        const fast: [16]i32 = dotGroups4(64, a, b);
        const generic: [16]i32 = dotGroups4Generic(64, a, b);
        try testing.expectEqual(generic, fast);
        var scales: [32]i16 = undefined;
        for (&scales) |*v| v.* = random.intRangeAtMost(i16, -128, 127);
        const scaled: [16]i32 = dotGroups4Scaled(64, a, b, scales);
        for (scaled, 0..) |got, k| {
            var want: i32 = 0;
            for (0..4) |i| want += @as(i32, scales[2 * k + i / 2]) * a[4 * k + i] * b[4 * k + i];
            try testing.expectEqual(want, got);
        }
    }
}

test "concat() and repeatLanes() place lanes in order" {
    const a: @Vector(2, u8) = .{ 1, 2 };
    const b: @Vector(2, u8) = .{ 3, 4 };
    try testing.expectEqual([4]u8{ 1, 2, 3, 4 }, @as([4]u8, concat(u8, 2, a, b)));
    try testing.expectEqual([4]u8{ 1, 1, 2, 2 }, @as([4]u8, repeatLanes(u8, 2, 2, a)));
}
