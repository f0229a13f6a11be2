//! Op kernels of the CPU backend, one file per op family. Each kernel is a free function over
//! primitive arguments with a scalar `_generic` reference beside its SIMD version; the graph
//! executor (graph_exec.zig) splits the work of a node over threads and calls them.

pub const argmax = @import("argmax.zig");
pub const attention = @import("attention.zig");
pub const elementwise = @import("elementwise.zig");
pub const ggml_math = @import("ggml_math.zig");
pub const libm = @import("libm.zig");
pub const logits_mask = @import("logits_mask.zig");
pub const mul_mat = @import("mul_mat.zig");
pub const norm = @import("norm.zig");
pub const rope = @import("rope.zig");
pub const rows = @import("rows.zig");

test {
    _ = argmax;
    _ = attention;
    _ = elementwise;
    _ = ggml_math;
    _ = logits_mask;
    _ = mul_mat;
    _ = norm;
    _ = rope;
    _ = rows;
}
