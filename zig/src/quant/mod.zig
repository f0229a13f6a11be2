//! Quantized-weight kernels: block layouts, dequantize, quantize and dot products for ggml's
//! weight types, each SIMD kernel with its scalar reference beside it. `traits.zig` is the
//! table that ties them together by ggml type id.

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

pub const QuantType = traits.QuantType;
pub const Traits = traits.Traits;

test {
    _ = blocks;
    _ = fp;
    _ = simd;
    _ = @import("k_scales.zig");
    _ = traits;
    _ = @import("conformance_test.zig");
    _ = @import("roundtrip_test.zig");
    _ = @import("fixtures_test.zig");
    _ = @import("known_values_test.zig");
}
