//! Quantized-weight kernels: block layouts, dequantize, quantize and dot products for ggml's
//! weight types, each SIMD kernel with its scalar reference beside it. `traits.zig` is the
//! table that ties them together by ggml type id; `c_api.zig` exposes it as `zeno_quant_*`.
//!
//! Types: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K,
//! Q8_K, with ggml's block layouts (`blocks.zig`). Every type dequantizes and quantizes.
//!
//! Dot products pair a weight row with an activation row of ggml's `vec_dot_type`: Q4_0, Q5_0,
//! Q8_0 with Q8_0; Q4_1, Q5_1 with Q8_1; K-quants with Q8_K; F32, F16 and BF16 with F32 (ggml
//! converts activations to F16/BF16 there; f32 is at least as accurate). Q8_1 and Q8_K are
//! activation types only. Integer sums are exact inside a block (i32); float scales are
//! applied once per block as ggml does, so results match llama.cpp's to f32 rounding.
//!
//! Activation quantizers reproduce ggml's reference rounding bit for bit: Q8_0/Q8_1 scale by
//! 1/(amax/127) and round halves away from zero; Q8_K scales by -127/max (max signed; ggml
//! changed from -128) and rounds halves to even. llama.cpp's AVX2 Q8_0/Q8_1 quantizers differ
//! (127/amax, ties to even); the TypeScript reference offers that variant, we do not (yet).
//! Weight quantizers follow ggml's reference algorithms: Q4_0/Q4_1/Q5_0/Q5_1/Q8_0 byte for byte
//! (checked against gguf-py), K-quants with the same scale searches (`k_search.zig`).
//!
//! SIMD: `@Vector` code with a comptime width (`simd.zig`: 512-bit with AVX-512BW, 256-bit
//! with AVX2, 128-bit otherwise) and scalar tails; on x86-64 with AVX2 the i8 group sums use
//! `vpsignb`/`vpmaddubsw`/`vpmaddwd` through inline asm, which LLVM does not emit. The AVX2
//! path requires activations without -128, which our quantizers never write. Tests run on
//! x86-64 baseline and AVX2 and on aarch64 under QEMU; this machine has no AVX-512, so the
//! 512-bit build is compiled, not run.
//!
//! Tests: `zig build test` (from zig/), or
//! `python3 -m ziglang test zig/src/quant/mod.zig -O ReleaseFast -mcpu=x86_64_v3`.
//! Throughput: `dot_bench.zig`.

const std = @import("std");

pub const blocks = @import("blocks.zig");
pub const fp = @import("fp.zig");
pub const simd = @import("simd.zig");
pub const float = @import("float.zig");
pub const q4_0 = @import("q4_0.zig");
pub const q4_1 = @import("q4_1.zig");
pub const q5_0 = @import("q5_0.zig");
pub const q5_1 = @import("q5_1.zig");
pub const q8_0 = @import("q8_0.zig");
pub const q8_1 = @import("q8_1.zig");
pub const q2_k = @import("q2_k.zig");
pub const q3_k = @import("q3_k.zig");
pub const q4_k = @import("q4_k.zig");
pub const q5_k = @import("q5_k.zig");
pub const q6_k = @import("q6_k.zig");
pub const q8_k = @import("q8_k.zig");
pub const traits = @import("traits.zig");
pub const layout = @import("layout.zig");
pub const q4_0_rows16 = @import("q4_0_rows16.zig");
pub const q4_1_rows16 = @import("q4_1_rows16.zig");
pub const q5_0_rows16 = @import("q5_0_rows16.zig");
pub const q8_0_rows16 = @import("q8_0_rows16.zig");
pub const q4_k_rows16 = @import("q4_k_rows16.zig");
pub const q5_k_rows16 = @import("q5_k_rows16.zig");
pub const q6_k_rows16 = @import("q6_k_rows16.zig");

pub const QuantType = traits.QuantType;
pub const Traits = traits.Traits;

/// Writes `rows` rows of `quant_type` (a type with a sixteen-row kernel) in its rows16 layout.
pub fn interleaveRows16(
    quant_type: QuantType,
    blocks_per_row: usize,
    rows: usize,
    src: []const u8,
    dst: []u8,
) void {
    switch (quant_type) {
        .q4_0 => q4_0_rows16.interleave(blocks_per_row, rows, src, dst),
        .q4_1 => q4_1_rows16.interleave(blocks_per_row, rows, src, dst),
        .q5_0 => q5_0_rows16.interleave(blocks_per_row, rows, src, dst),
        .q8_0 => q8_0_rows16.interleave(blocks_per_row, rows, src, dst),
        .q4_k => q4_k_rows16.interleave(blocks_per_row, rows, src, dst),
        .q5_k => q5_k_rows16.interleave(blocks_per_row, rows, src, dst),
        .q6_k => q6_k_rows16.interleave(blocks_per_row, rows, src, dst),
        else => std.debug.panic("{s} has no rows16 layout", .{@tagName(quant_type)}),
    }
}

test {
    _ = blocks;
    _ = fp;
    _ = simd;
    _ = @import("k_scales.zig");
    _ = traits;
    _ = layout;
    _ = q4_0;
    _ = q5_k;
    _ = @import("legacy_rows16.zig");
    _ = q4_0_rows16;
    _ = q4_1_rows16;
    _ = q5_0_rows16;
    _ = q8_0_rows16;
    _ = q4_k_rows16;
    _ = q5_k_rows16;
    _ = q6_k_rows16;
    _ = @import("conformance_test.zig");
    _ = @import("roundtrip_test.zig");
    _ = @import("fixtures_test.zig");
    _ = @import("known_values_test.zig");
}
