//! Block layouts of ggml's quantized types: the facts of the GGUF format, one `extern struct`
//! per type. Every field is byte-aligned (`align(1)`) so a block can be read in place from any
//! offset of a mapped file or a JavaScript typed array; x86-64 and aarch64 load unaligned
//! scalars and vectors at full speed.
//!
//! Legacy types hold 32 values per block, K-quants 256 values ("super-blocks" of 8 or 16
//! sub-blocks, each with its own small scale).

const std = @import("std");
const assert = std.debug.assert;

/// Values per legacy block (Q4_0 … Q8_1).
pub const qk_legacy: usize = 32;
/// Values per K-quant super-block.
pub const qk_k: usize = 256;
/// Bytes of the packed 6-bit scales and mins of Q4_K / Q5_K, and of Q3_K's 6-bit scales.
pub const k_scale_bytes: usize = 12;

/// Q4_0: x = d·(q - 8), q in 0..15. 4.5 bits per weight.
pub const BlockQ4_0 = extern struct {
    d: f16 align(1),
    /// Value j in the low nibble of byte j, value j+16 in the high nibble.
    qs: [qk_legacy / 2]u8,
};

/// Q4_1: x = d·q + m, q in 0..15. 5 bits per weight.
pub const BlockQ4_1 = extern struct {
    d: f16 align(1),
    m: f16 align(1),
    qs: [qk_legacy / 2]u8,
};

/// Q5_0: x = d·(q - 16), q in 0..31: low nibbles as Q4_0, fifth bits in `qh`. 5.5 bits per weight.
pub const BlockQ5_0 = extern struct {
    d: f16 align(1),
    /// Little-endian u32: bit j is the fifth bit of value j.
    qh: [4]u8,
    qs: [qk_legacy / 2]u8,
};

/// Q5_1: x = d·q + m, q in 0..31. 6 bits per weight.
pub const BlockQ5_1 = extern struct {
    d: f16 align(1),
    m: f16 align(1),
    qh: [4]u8,
    qs: [qk_legacy / 2]u8,
};

/// Q8_0: x = d·q, q in -128..127. 8.5 bits per weight. Also the activation type of
/// Q4_0/Q5_0/Q8_0 dot products.
pub const BlockQ8_0 = extern struct {
    d: f16 align(1),
    qs: [qk_legacy]i8,
};

/// Q8_1: as Q8_0 plus `s = d·Σq`, which lets Q4_1/Q5_1 dot products add `m·s` per block
/// instead of summing activations. 9 bits per weight.
pub const BlockQ8_1 = extern struct {
    d: f16 align(1),
    s: f16 align(1),
    qs: [qk_legacy]i8,
};

/// Q2_K: 16 sub-blocks of 16; x = d·(scales[i] & 15)·q - dmin·(scales[i] >> 4), q in 0..3.
/// 2.625 bits per weight.
pub const BlockQ2_K = extern struct {
    scales: [qk_k / 16]u8,
    /// Four 2-bit values per byte; see `q2_k.zig` for the order.
    qs: [qk_k / 4]u8,
    d: f16 align(1),
    dmin: f16 align(1),
};

/// Q3_K: 16 sub-blocks of 16; x = d·(s - 32)·(q - 4·!high), s a 6-bit scale, q 2 bits plus a
/// high bit in `hmask`. 3.4375 bits per weight.
pub const BlockQ3_K = extern struct {
    hmask: [qk_k / 8]u8,
    qs: [qk_k / 4]u8,
    scales: [k_scale_bytes]u8,
    d: f16 align(1),
};

/// Q4_K: 8 sub-blocks of 32; x = d·sc·q - dmin·m, with 6-bit sc and m packed in `scales`,
/// q in 0..15. 4.5 bits per weight.
pub const BlockQ4_K = extern struct {
    d: f16 align(1),
    dmin: f16 align(1),
    scales: [k_scale_bytes]u8,
    qs: [qk_k / 2]u8,
};

/// Q5_K: as Q4_K with a fifth bit per value in `qh`, q in 0..31. 5.5 bits per weight.
pub const BlockQ5_K = extern struct {
    d: f16 align(1),
    dmin: f16 align(1),
    scales: [k_scale_bytes]u8,
    qh: [qk_k / 8]u8,
    qs: [qk_k / 2]u8,
};

/// Q6_K: 16 sub-blocks of 16; x = d·scales[i]·(q - 32), q in 0..63 (low 4 bits in `ql`, high
/// 2 bits in `qh`), signed 8-bit scales. 6.5625 bits per weight.
pub const BlockQ6_K = extern struct {
    ql: [qk_k / 2]u8,
    qh: [qk_k / 4]u8,
    scales: [qk_k / 16]i8,
    d: f16 align(1),
};

/// Q8_K: the activation type of K-quant dot products; x = d·q with an f32 scale and the sums
/// of each 16 values in `bsums` (they fold the K-quant mins into one product per block).
/// 9.125 bits per value.
pub const BlockQ8_K = extern struct {
    d: f32 align(1),
    qs: [qk_k]i8,
    bsums: [qk_k / 16]i16 align(1),
};

comptime {
    assert(@sizeOf(BlockQ4_0) == 18);
    assert(@sizeOf(BlockQ4_1) == 20);
    assert(@sizeOf(BlockQ5_0) == 22);
    assert(@sizeOf(BlockQ5_1) == 24);
    assert(@sizeOf(BlockQ8_0) == 34);
    assert(@sizeOf(BlockQ8_1) == 36);
    assert(@sizeOf(BlockQ2_K) == 84);
    assert(@sizeOf(BlockQ3_K) == 110);
    assert(@sizeOf(BlockQ4_K) == 144);
    assert(@sizeOf(BlockQ5_K) == 176);
    assert(@sizeOf(BlockQ6_K) == 210);
    assert(@sizeOf(BlockQ8_K) == 292);
    for (.{
        BlockQ4_0, BlockQ4_1, BlockQ5_0, BlockQ5_1, BlockQ8_0, BlockQ8_1,
        BlockQ2_K, BlockQ3_K, BlockQ4_K, BlockQ5_K, BlockQ6_K, BlockQ8_K,
    }) |Block| assert(@alignOf(Block) == 1);
}

/// Views `bytes` as blocks in place; the length must be a whole number of blocks.
pub inline fn asBlocks(comptime Block: type, bytes: []const u8) []const Block {
    comptime assert(@alignOf(Block) == 1);
    assert(bytes.len % @sizeOf(Block) == 0);
    const ptr: [*]const Block = @ptrCast(bytes.ptr);
    return ptr[0 .. bytes.len / @sizeOf(Block)];
}

/// Each of `tokens` activation rows viewed as blocks, each asserted to hold `count` of them:
/// what a kernel over several tokens reads block b of every row from.
pub inline fn asBlockRows(
    comptime Block: type,
    comptime tokens: usize,
    rows: [tokens][]const u8,
    count: usize,
) [tokens][]const Block {
    var out: [tokens][]const Block = undefined;
    inline for (&out, rows) |*o, row| {
        o.* = asBlocks(Block, row);
        assert(o.len == count);
    }
    return out;
}

/// Mutable view of `bytes` as blocks.
pub inline fn asBlocksMut(comptime Block: type, bytes: []u8) []Block {
    comptime assert(@alignOf(Block) == 1);
    assert(bytes.len % @sizeOf(Block) == 0);
    const ptr: [*]Block = @ptrCast(bytes.ptr);
    return ptr[0 .. bytes.len / @sizeOf(Block)];
}

/// Number of blocks of `values_per_block` in a row of `n` values; asserts n is a multiple.
pub inline fn blockCount(n: usize, values_per_block: usize) usize {
    assert(n % values_per_block == 0);
    return n / values_per_block;
}
