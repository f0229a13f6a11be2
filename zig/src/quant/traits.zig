//! One traits entry per supported type: block geometry, the activation type of its dot
//! product (ggml's `vec_dot_type`), and its row kernels. Type ids are ggml's (as stored in
//! GGUF tensor infos), so the C API and the TypeScript side share one numbering.
//!
//! | type | dot activations |      | type | dot activations |
//! |------|-----------------|------|------|-----------------|
//! | F32, F16, BF16 | F32 |        | Q2_K … Q6_K | Q8_K |
//! | Q4_0, Q5_0, Q8_0 | Q8_0 |     | Q8_1, Q8_K | (activation types: no dot) |
//! | Q4_1, Q5_1 | Q8_1 |

const std = @import("std");
const assert = std.debug.assert;
const blocks = @import("blocks.zig");
const float = @import("float.zig");
const layout = @import("layout.zig");

/// ggml type ids of the types this module implements.
pub const QuantType = enum(u32) {
    f32 = 0,
    f16 = 1,
    q4_0 = 2,
    q4_1 = 3,
    q5_0 = 6,
    q5_1 = 7,
    q8_0 = 8,
    q8_1 = 9,
    q2_k = 10,
    q3_k = 11,
    q4_k = 12,
    q5_k = 13,
    q6_k = 14,
    q8_k = 15,
    bf16 = 30,

    /// The type with ggml id `id`, or null when we do not implement it.
    pub fn fromId(id: u32) ?QuantType {
        return std.enums.fromInt(QuantType, id);
    }
};

/// Block bytes → f32 values; `dst.len` is the row length (a multiple of the block size).
pub const DequantizeRowFn = *const fn (src: []const u8, dst: []f32) void;
/// f32 values → block bytes; `src.len` is the row length.
pub const QuantizeRowFn = *const fn (src: []const f32, dst: []u8) void;
/// Dot product of `n` weights (row bytes) with `n` activations (bytes of `vec_dot_type`).
pub const DotFn = *const fn (n: usize, w: []const u8, x: []const u8) f32;
/// One weight row and four activation rows; `out[t]` is the dot with `xs[t]`.
pub const DotTokens4Fn = *const fn (n: usize, w: []const u8, xs: [4][]const u8, out: *[4]f32) void;
/// `DotFn` for four weight rows (either layout) and one activation row.
pub const DotRows4Fn = *const fn (n: usize, rows: layout.Rows4, x: []const u8) [4]f32;

/// What a kernel needs to know about one type.
pub const Traits = struct {
    name: []const u8,
    /// Values per block (1 for the float types).
    block_size: usize,
    bytes_per_block: usize,
    /// The type activations are quantized to for `dot`.
    vec_dot_type: QuantType,
    dequantize_row: DequantizeRowFn,
    quantize_row: QuantizeRowFn,
    /// How activations are quantized to this type before a dot product (llama.cpp's CPU
    /// rule; differs from `quantize_row` for Q8_0 and Q8_1, which follow llama-quantize).
    quantize_activation_row: QuantizeRowFn,
    /// SIMD dot product; null for the activation-only types.
    dot: ?DotFn,
    /// Scalar reference of `dot`.
    dot_generic: ?DotFn,
    /// `dot` in the order llama.cpp uses for tokens it multiplies in groups of four (null:
    /// the same as `dot`). Only Q4_K differs, through its repacked kernels.
    dot_batched: ?DotFn = null,
    /// `dot` in the order llama.cpp uses for every token of a matrix it repacks (rows a
    /// multiple of 8; null: `dot`'s order). Only Q4_0 has one: the rows16 layout computes it.
    dot_repacked: ?DotFn = null,
    /// `dot` of four rows at once, bit-identical per row (legacy types).
    dot_rows4: ?DotRows4Fn = null,
    /// One weight row against four activation rows, bit-identical per token to `dot_batched`
    /// when the type has one, else to `dot` (K-quants: each block unpacked once for four).
    dot_tokens4: ?DotTokens4Fn = null,

    /// Bytes of a row of `n` values; asserts n is a multiple of the block size.
    pub fn rowBytes(self: *const Traits, n: usize) usize {
        return blocks.blockCount(n, self.block_size) * self.bytes_per_block;
    }
};

fn FloatKernels(comptime format: float.Format) type {
    return struct {
        fn dequantizeRow(src: []const u8, dst: []f32) void {
            float.dequantizeRow(format, src, dst);
        }
        fn quantizeRow(src: []const f32, dst: []u8) void {
            float.quantizeRow(format, src, dst);
        }
        fn dot(n: usize, w: []const u8, x: []const u8) f32 {
            return float.dot(format, n, w, x);
        }
        fn dotGeneric(n: usize, w: []const u8, x: []const u8) f32 {
            return float.dotGeneric(format, n, w, x);
        }
    };
}

fn floatTraits(comptime format: float.Format, name: []const u8) Traits {
    const kernels = FloatKernels(format);
    return .{
        .name = name,
        .block_size = 1,
        .bytes_per_block = float.bytesPerValue(format),
        .vec_dot_type = .f32,
        .dequantize_row = kernels.dequantizeRow,
        .quantize_row = kernels.quantizeRow,
        .quantize_activation_row = kernels.quantizeRow,
        .dot = kernels.dot,
        .dot_generic = kernels.dotGeneric,
    };
}

fn quantTraits(comptime Kernels: type, name: []const u8, comptime vec_dot_type: QuantType) Traits {
    const has_dot = @hasDecl(Kernels, "dot");
    return .{
        .name = name,
        .block_size = blockSize(Kernels.Block),
        .bytes_per_block = @sizeOf(Kernels.Block),
        .vec_dot_type = vec_dot_type,
        .dequantize_row = Kernels.dequantizeRow,
        .quantize_row = Kernels.quantizeRow,
        .quantize_activation_row = if (@hasDecl(Kernels, "quantizeRowActivation"))
            Kernels.quantizeRowActivation
        else
            Kernels.quantizeRow,
        .dot = if (has_dot) Kernels.dot else null,
        .dot_generic = if (has_dot) Kernels.dotGeneric else null,
        .dot_batched = if (@hasDecl(Kernels, "dotBatched")) Kernels.dotBatched else null,
        .dot_repacked = if (@hasDecl(Kernels, "dotRepacked")) Kernels.dotRepacked else null,
        .dot_rows4 = if (@hasDecl(Kernels, "dotRows4")) Kernels.dotRows4 else null,
        .dot_tokens4 = if (@hasDecl(Kernels, "dotTokens4")) Kernels.dotTokens4 else null,
    };
}

fn blockSize(comptime Block: type) usize {
    return switch (Block) {
        blocks.BlockQ2_K, blocks.BlockQ3_K, blocks.BlockQ4_K => blocks.qk_k,
        blocks.BlockQ5_K, blocks.BlockQ6_K, blocks.BlockQ8_K => blocks.qk_k,
        else => blocks.qk_legacy,
    };
}

const table = std.enums.EnumArray(QuantType, Traits).init(.{
    .f32 = floatTraits(.f32, "F32"),
    .f16 = floatTraits(.f16, "F16"),
    .bf16 = floatTraits(.bf16, "BF16"),
    .q4_0 = quantTraits(@import("q4_0.zig"), "Q4_0", .q8_0),
    .q4_1 = quantTraits(@import("q4_1.zig"), "Q4_1", .q8_1),
    .q5_0 = quantTraits(@import("q5_0.zig"), "Q5_0", .q8_0),
    .q5_1 = quantTraits(@import("q5_1.zig"), "Q5_1", .q8_1),
    .q8_0 = quantTraits(@import("q8_0.zig"), "Q8_0", .q8_0),
    .q8_1 = quantTraits(@import("q8_1.zig"), "Q8_1", .q8_1),
    .q2_k = quantTraits(@import("q2_k.zig"), "Q2_K", .q8_k),
    .q3_k = quantTraits(@import("q3_k.zig"), "Q3_K", .q8_k),
    .q4_k = quantTraits(@import("q4_k.zig"), "Q4_K", .q8_k),
    .q5_k = quantTraits(@import("q5_k.zig"), "Q5_K", .q8_k),
    .q6_k = quantTraits(@import("q6_k.zig"), "Q6_K", .q8_k),
    .q8_k = quantTraits(@import("q8_k.zig"), "Q8_K", .q8_k),
});

/// The traits of `quant_type`.
pub fn traits(quant_type: QuantType) *const Traits {
    return table.getPtrConst(quant_type);
}

comptime {
    assert(traits(.q4_0).bytes_per_block == 18);
    assert(traits(.q6_k).block_size == 256);
    assert(traits(.q8_0).block_size == 32);
}
