//! MUL_MAT: dst [n][rows] = x [n][k] · wᵀ, w [rows][k] weights of any type with a dot kernel.
//!
//! The activation rows are quantized once per node into the weight type's `vec_dot_type`
//! (Q8_0, Q8_1 or Q8_K; F32 for float weights, which need no conversion), then every output is
//! one dot product of a weight row with an activation row. Threads split the weight rows, so
//! each streams its own contiguous slice of the weights; within a slice, a block of rows is
//! reused for every token while it is hot in cache. With several tokens and a legacy weight
//! type, the block is computed in tiles of 4 rows × 4 tokens (quant/multi_dot.zig), each
//! weight block unpacked once per tile instead of once per token; edges use the row kernel.

const std = @import("std");
const cpu = @import("../cpu.zig");
const assert = std.debug.assert;
const traits = @import("../quant/traits.zig");
const multi_dot = @import("../quant/multi_dot.zig");
const layout = @import("../quant/layout.zig");
const q4_0 = @import("../quant/q4_0.zig");
const legacy_rows16 = @import("../quant/legacy_rows16.zig");
const q4_0_rows16 = @import("../quant/q4_0_rows16.zig");
const q4_1_rows16 = @import("../quant/q4_1_rows16.zig");
const q5_0_rows16 = @import("../quant/q5_0_rows16.zig");
const q8_0_rows16 = @import("../quant/q8_0_rows16.zig");
const q4_k_rows16 = @import("../quant/q4_k_rows16.zig");
const q5_k_rows16 = @import("../quant/q5_k_rows16.zig");
const q6_k_rows16 = @import("../quant/q6_k_rows16.zig");
const simd = @import("../quant/simd.zig");

/// Weight rows per block of the blocked kernel: small enough that a block of a 4096-wide
/// 8-bit matrix (~70 KB) stays in L2 while every token of a prefill batch passes over it.
pub const rows_per_block: usize = 16;

/// Bytes of `n` activation rows of length `k` in the dot type of `weight_type`.
pub fn quantizedBytes(weight_type: traits.QuantType, k: usize, n: usize) usize {
    const vec_type = traits.traits(weight_type).vec_dot_type;
    return traits.traits(vec_type).rowBytes(k) * n;
}

/// Converts activation rows [row_begin, row_end) of `x` ([n][k] f32) to the dot type of
/// `weight_type`, into `out` (all n rows' room). F32 dot types copy nothing: callers use `x`.
pub fn quantizeRows(
    weight_type: traits.QuantType,
    x: []const f32,
    k: usize,
    row_begin: usize,
    row_end: usize,
    out: []u8,
) void {
    assert(row_begin <= row_end);
    assert(row_end * k <= x.len);
    if (readsF32(weight_type)) return;
    const vec = traits.traits(traits.traits(weight_type).vec_dot_type);
    const row_bytes = vec.rowBytes(k);
    assert(out.len >= row_end * row_bytes);
    for (row_begin..row_end) |r| {
        vec.quantize_activation_row(x[r * k ..][0..k], out[r * row_bytes ..][0..row_bytes]);
    }
}

/// Whether `weight_type`'s dot product reads f32 activations directly (float weights).
pub fn readsF32(weight_type: traits.QuantType) bool {
    return traits.traits(weight_type).vec_dot_type == .f32;
}

/// Whether weights of `weight_type` can be multiplied in `weight_layout` (the file's row
/// layout: every type with a dot kernel; four rows interleaved: the legacy types; sixteen
/// rows with lanes = rows: Q4_0, Q4_1, Q5_0, Q8_0, Q4_K, Q5_K and Q6_K, where AVX-512 VNNI
/// exists: elsewhere they would be slower).
pub fn supportsLayout(weight_type: traits.QuantType, weight_layout: layout.Layout) bool {
    const t = traits.traits(weight_type);
    return switch (weight_layout) {
        .rows => t.dot != null,
        .rows4 => t.dot_rows4 != null and multi_dot.supported(weight_type),
        .rows16 => hasRows16Kernel(weight_type) and simd.use_vnni512,
    };
}

/// Whether a matrix of `weight_type` with `rows` rows of `k` values can sit in
/// `weight_layout`: the type supports it, the rows fill whole groups, rows16 Q4_0/Q8_0 rows
/// are no longer than their kernels prepare constants for, and four interleaved rows are not
/// asked of a matrix whose order is llama.cpp's repacked one (`dot_repacked`: their kernels
/// compute `dot`'s order).
pub fn supportsMatrix(
    weight_type: traits.QuantType,
    weight_layout: layout.Layout,
    k: usize,
    rows: usize,
) bool {
    if (!supportsLayout(weight_type, weight_layout)) return false;
    if (rows % layout.rowsPerGroup(weight_layout) != 0) return false;
    const prepared = weight_type == .q4_0 or weight_type == .q8_0; // groups16Prepared
    if (weight_layout == .rows16 and prepared) {
        if (k / traits.traits(weight_type).block_size > legacy_rows16.max_blocks) return false;
    }
    return weight_layout != .rows4 or !repackedOrder(traits.traits(weight_type), rows);
}

/// Whether every token of a matrix with `rows` rows is multiplied in `dot_repacked`'s order
/// (llama.cpp repacks such matrices and computes them in that order).
fn repackedOrder(t: *const traits.Traits, rows: usize) bool {
    return t.dot_repacked != null and rows % 8 == 0;
}

fn hasRows16Kernel(weight_type: traits.QuantType) bool {
    return switch (weight_type) {
        .q4_0, .q4_1, .q5_0, .q8_0, .q4_k, .q5_k, .q6_k => true,
        else => false,
    };
}

/// The operands of one MUL_MAT node, as raw bytes.
pub const Operands = struct {
    weight_type: traits.QuantType,
    /// How the weight rows sit in memory (layout.zig).
    weight_layout: layout.Layout = .rows,
    /// Row length (dot length).
    k: usize,
    /// Weight rows = output row length.
    rows: usize,
    /// Activation rows (tokens).
    n: usize,
    /// rows × row bytes of `weight_type`.
    weights: []const u8,
    /// n × row bytes of the dot type (or f32).
    activations: []const u8,
    /// n × rows.
    dst: []f32,

    fn check(o: Operands) void {
        const t = traits.traits(o.weight_type);
        assert(supportsLayout(o.weight_type, o.weight_layout) or
            (o.weight_layout == .rows16 and hasRows16Kernel(o.weight_type))); // tests, any CPU
        assert(o.rows % layout.rowsPerGroup(o.weight_layout) == 0);
        assert(o.weight_layout != .rows4 or !repackedOrder(t, o.rows));
        assert(o.weights.len == t.rowBytes(o.k) * o.rows);
        assert(o.activations.len == traits.traits(t.vec_dot_type).rowBytes(o.k) * o.n);
        assert(o.dst.len == o.n * o.rows);
    }
};

/// Outputs of weight rows [row_begin, row_end) for every token (SIMD dots, row blocks).
/// Interleaved weights (`rows4`) go four rows at a time everywhere, `row_begin` and `row_end`
/// multiples of four.
pub fn mulMatRows(o: Operands, row_begin: usize, row_end: usize) void {
    o.check();
    assert(row_begin <= row_end and row_end <= o.rows);
    if (o.weight_layout == .rows16) return mulMatGroups16(o, row_begin, row_end);
    if (repackedOrder(traits.traits(o.weight_type), o.rows)) {
        return mulMatRepacked(o, row_begin, row_end);
    }
    const interleaved = o.weight_layout == .rows4;
    assert(!interleaved or (row_begin % layout.group_rows == 0 and row_end % layout.group_rows == 0));
    const t = traits.traits(o.weight_type);
    const dot = t.dot.?;
    const w_row_bytes = t.rowBytes(o.k);
    const x_row_bytes = o.activations.len / o.n;
    const tiled = o.n >= multi_dot.tile_tokens and multi_dot.supported(o.weight_type);
    var block_begin = row_begin;
    while (block_begin < row_end) : (block_begin += rows_per_block) {
        const block_end = @min(row_end, block_begin + rows_per_block);
        // Tiles cover whole groups of tokens and rows; the edges go through the row kernel.
        const tokens_tiled = if (tiled) o.n - o.n % multi_dot.tile_tokens else 0;
        const rows_tiled = if (tiled) (block_end - block_begin) / multi_dot.tile_rows else 0;
        const rows_end = block_begin + rows_tiled * multi_dot.tile_rows;
        var token: usize = 0;
        while (token < tokens_tiled) : (token += multi_dot.tile_tokens) {
            var r = block_begin;
            while (r < rows_end) : (r += multi_dot.tile_rows) tileAt(o, r, token);
        }
        const tokens4_kernel = tokens4For(t, o);
        const grouped = if (tokens4_kernel != null) o.n - o.n % 4 else 0;
        var group: usize = 0;
        while (group < grouped) : (group += 4) {
            tokens4(tokens4_kernel.?, o, block_begin, block_end, group);
        }
        for (grouped..o.n) |edge_token| {
            const x = o.activations[edge_token * x_row_bytes ..][0..x_row_bytes];
            const out = o.dst[edge_token * o.rows ..][0..o.rows];
            const first = if (edge_token < tokens_tiled) rows_end else block_begin;
            const token_dot = dotFor(t, o, edge_token) orelse dot;
            var r = first;
            // Four rows at once when they are one stream (interleaved) or reused from cache
            // (several tokens): four separate row streams read slower here than one.
            if (o.n > 1 or interleaved) if (t.dot_rows4) |rows4| {
                while (r + 4 <= block_end) : (r += 4) out[r..][0..4].* = rows4(o.k, rowsAt(o, r), x);
            };
            assert(!interleaved or r == block_end);
            while (r < block_end) : (r += 1) {
                out[r] = token_dot(o.k, o.weights[r * w_row_bytes ..][0..w_row_bytes], x);
            }
        }
    }
}

/// `mulMatRows` for `rows16` weights, group by group of 16 rows (rows16 matrices have a
/// multiple of 16 rows). Q4_K: tokens in groups of four (`dotBatched`'s order), then the
/// remaining tokens one by one (`dot`'s), as `repacked` says llama.cpp orders them. Q4_0 and
/// Q8_0: `groups16Prepared` (`dotRepacked`'s and `dot`'s order). Q6_K four tokens at a time;
/// Q4_1, Q5_0 and Q5_K two; then one, all in `dot`'s order.
fn mulMatGroups16(o: Operands, row_begin: usize, row_end: usize) void {
    comptime assert(rows_per_block % group_rows16 == 0);
    const kernels = .{
        q4_0_rows16, q4_1_rows16, q5_0_rows16, q8_0_rows16, q4_k_rows16, q5_k_rows16,
        q6_k_rows16,
    };
    comptime for (kernels) |kernel| {
        assert(kernel.group_rows == group_rows16);
    };
    switch (o.weight_type) {
        .q4_0 => {
            const kernel = q4_0_rows16.dotGroupTokens4;
            groups16Prepared(q4_0_rows16, 4, kernel, o, row_begin, row_end);
        },
        .q8_0 => {
            const kernel = q8_0_rows16.dotGroupTokens3;
            groups16Prepared(q8_0_rows16, 3, kernel, o, row_begin, row_end);
        },
        .q4_k => {
            const kernel = q4_k_rows16.dotGroupTokens4;
            groups16(4, kernel, q4_k_rows16.dotGroup, o, row_begin, row_end);
        },
        inline .q4_1, .q5_0, .q5_k => |weight_type| {
            const Kernel = switch (weight_type) {
                .q4_1 => q4_1_rows16,
                .q5_0 => q5_0_rows16,
                .q5_k => q5_k_rows16,
                else => unreachable,
            };
            groups16(2, Kernel.dotGroupTokens2, Kernel.dotGroup, o, row_begin, row_end);
        },
        .q6_k => {
            const kernel = q6_k_rows16.dotGroupTokens4;
            groups16(4, kernel, q6_k_rows16.dotGroup, o, row_begin, row_end);
        },
        else => unreachable, // Operands.check
    }
}

const group_rows16: usize = 16;

/// Rows [row_begin, row_end) of a rows16 matrix against every token: `tokens` at a time
/// through `dot_tokens` when there is one, the rest through `dot_one`; rows in tiles of
/// `preparedTileBytes()`, which every token goes over while they are hot in L2 (a group at a
/// time read each token's activations from L3 once per 16 rows: the 1B model's Q4_K_M
/// prefill512 went from 152-164 to 162-168 t/s with tiles).
fn groups16(
    comptime tokens: usize,
    comptime dot_tokens: ?fn (usize, []const u8, [tokens][]const u8) [tokens][16]f32,
    comptime dot_one: fn (usize, []const u8, []const u8) [16]f32,
    o: Operands,
    row_begin: usize,
    row_end: usize,
) void {
    const group_rows = group_rows16;
    assert(row_begin % group_rows == 0 and row_end % group_rows == 0);
    const group_bytes = group_rows * traits.traits(o.weight_type).rowBytes(o.k);
    const x_row_bytes = o.activations.len / o.n;
    const tokens_grouped = if (dot_tokens != null) o.n - o.n % tokens else 0;
    const tile_rows = if (o.n <= tokens)
        row_end - row_begin
    else
        @max(1, preparedTileBytes() / group_bytes) * group_rows;
    var tile_begin = row_begin;
    while (tile_begin < row_end) : (tile_begin += tile_rows) {
        const tile_end = @min(row_end, tile_begin + tile_rows);
        if (dot_tokens) |kernel| {
            var token: usize = 0;
            while (token < tokens_grouped) : (token += tokens) {
                var xs: [tokens][]const u8 = undefined;
                for (&xs, token..) |*x, i| x.* = o.activations[i * x_row_bytes ..][0..x_row_bytes];
                var row = tile_begin;
                while (row < tile_end) : (row += group_rows) {
                    const group = o.weights[row / group_rows * group_bytes ..][0..group_bytes];
                    const sums = kernel(o.k, group, xs);
                    for (sums, token..) |s, i| o.dst[i * o.rows + row ..][0..group_rows].* = s;
                }
            }
        }
        for (tokens_grouped..o.n) |edge_token| {
            const x = o.activations[edge_token * x_row_bytes ..][0..x_row_bytes];
            var row = tile_begin;
            while (row < tile_end) : (row += group_rows) {
                const group = o.weights[row / group_rows * group_bytes ..][0..group_bytes];
                o.dst[edge_token * o.rows + row ..][0..group_rows].* = dot_one(o.k, group, x);
            }
        }
    }
}

/// Bytes of rows16 weights one pass of `groups16` or `groups16Prepared` keeps hot in L2 while
/// every token goes over them: a quarter of the core's L2, 256 KiB where it is not known.
/// Tuned at 256 KiB on Zen 4/5 (1 MiB of L2); on a Xeon with 2 MiB, 512 KiB tiles took the 1B
/// model's prefill512 from 122 to 136 t/s (Q8_0) and from 202 to 210 (Q4_0); 1 MiB did 1-2 %
/// better again, 64 KiB 20 % worse.
fn preparedTileBytes() usize {
    const Cache = struct {
        var bytes = std.atomic.Value(usize).init(0);
    };
    const known = Cache.bytes.load(.monotonic);
    if (known != 0) return known;
    const l2 = cpu.l2CacheBytes();
    const bytes = if (l2 == 0) 256 << 10 else std.math.clamp(l2 / 4, 128 << 10, 4 << 20);
    Cache.bytes.store(bytes, .monotonic);
    return bytes;
}

/// `mulMatRows` for rows16 weights whose kernel (q4_0_rows16.zig, q8_0_rows16.zig) takes
/// per-token block constants: rows in tiles of about `preparedTileBytes()`; within a tile,
/// `tokens` at a time through `dot_tokens` (edges one by one through `Kernel.dotGroup`: the
/// same order), each token's constants prepared once per tile instead of once per group.
fn groups16Prepared(
    comptime Kernel: type,
    comptime tokens: usize,
    comptime dot_tokens: fn (
        usize,
        []const u8,
        [tokens][]const u8,
        [tokens][]const Kernel.BlockConstants,
    ) [tokens][16]f32,
    o: Operands,
    row_begin: usize,
    row_end: usize,
) void {
    const Constants = Kernel.BlockConstants;
    const block_count = o.k / traits.traits(o.weight_type).block_size;
    assert(block_count <= Kernel.max_blocks); // supportsMatrix
    assert(row_begin % group_rows16 == 0 and row_end % group_rows16 == 0);
    const group_bytes = group_rows16 * traits.traits(o.weight_type).rowBytes(o.k);
    // One pass of tokens (decode) reads each group once: one tile, constants prepared once
    // per call (for the 1B model's 8192-wide down projection they cost ~0.5 µs, a few % of
    // a 256 KiB tile's time).
    const one_pass = o.n <= tokens;
    const tile_rows = if (one_pass)
        row_end - row_begin
    else
        @max(1, preparedTileBytes() / group_bytes) * group_rows16;
    const x_row_bytes = o.activations.len / o.n;
    var buffer: [tokens][Kernel.max_blocks]Constants = undefined;
    var tile_begin = row_begin;
    while (tile_begin < row_end) : (tile_begin += tile_rows) {
        const tile_end = @min(row_end, tile_begin + tile_rows);
        var token: usize = 0;
        while (token < o.n) {
            const count = @min(tokens, o.n - token);
            var xs: [tokens][]const u8 = undefined;
            var constants: [tokens][]const Constants = undefined;
            for (0..count) |i| {
                xs[i] = o.activations[(token + i) * x_row_bytes ..][0..x_row_bytes];
                Kernel.prepare(xs[i], buffer[i][0..block_count]);
                constants[i] = buffer[i][0..block_count];
            }
            var row = tile_begin;
            while (row < tile_end) : (row += group_rows16) {
                const group = o.weights[row / group_rows16 * group_bytes ..][0..group_bytes];
                if (count == tokens) {
                    const sums = dot_tokens(o.k, group, xs, constants);
                    for (sums, token..) |sum, i| {
                        o.dst[i * o.rows + row ..][0..group_rows16].* = sum;
                    }
                } else for (0..count) |i| {
                    const sum = Kernel.dotGroup(o.k, group, xs[i], constants[i]);
                    o.dst[(token + i) * o.rows + row ..][0..group_rows16].* = sum;
                }
            }
            token += count;
        }
    }
}

/// `mulMatRows` for matrices in `dot_repacked`'s order and the file's layout (Q4_0 off the
/// AVX-512 rows16 path), row by row: a block of rows against every token, four at a time,
/// while it is hot in cache.
fn mulMatRepacked(o: Operands, row_begin: usize, row_end: usize) void {
    assert(o.weight_layout == .rows);
    const t = traits.traits(o.weight_type);
    const dot = t.dot_repacked.?;
    const w_row_bytes = t.rowBytes(o.k);
    const x_row_bytes = o.activations.len / o.n;
    const kernel4 = q4_0.dotRepackedTokens4;
    assert(o.weight_type == .q4_0); // the only type with a `dot_repacked`
    const tokens_grouped = o.n - o.n % 4;
    var block_begin = row_begin;
    while (block_begin < row_end) : (block_begin += rows_per_block) {
        const block_end = @min(row_end, block_begin + rows_per_block);
        var token: usize = 0;
        while (token < tokens_grouped) : (token += 4) {
            var xs: [4][]const u8 = undefined;
            for (&xs, token..) |*x, i| x.* = o.activations[i * x_row_bytes ..][0..x_row_bytes];
            for (block_begin..block_end) |r| {
                var out: [4]f32 = undefined;
                kernel4(o.k, o.weights[r * w_row_bytes ..][0..w_row_bytes], xs, &out);
                for (out, token..) |v, i| o.dst[i * o.rows + r] = v;
            }
        }
        for (tokens_grouped..o.n) |edge_token| {
            const x = o.activations[edge_token * x_row_bytes ..][0..x_row_bytes];
            for (block_begin..block_end) |r| {
                const row = o.weights[r * w_row_bytes ..][0..w_row_bytes];
                o.dst[edge_token * o.rows + r] = dot(o.k, row, x);
            }
        }
    }
}

/// Whether llama.cpp multiplies these weights through its repacked kernels (Q4_K, rows a
/// multiple of 8), whose order `dot_batched` (tokens in whole groups of four) and `dot` (the
/// rest) follow.
fn repacked(t: *const traits.Traits, o: Operands) bool {
    return t.dot_batched != null and o.rows % 8 == 0;
}

/// The four-token kernel of `t` for these operands, if its results are the right ones: for a
/// type with a repacked order only when that order applies.
fn tokens4For(t: *const traits.Traits, o: Operands) ?traits.DotTokens4Fn {
    const kernel = t.dot_tokens4 orelse return null;
    if (t.dot_batched != null and !repacked(t, o)) return null;
    return kernel;
}

/// Rows [row_begin, row_end) against tokens [token, token + 4).
fn tokens4(
    kernel: traits.DotTokens4Fn,
    o: Operands,
    row_begin: usize,
    row_end: usize,
    token: usize,
) void {
    const w_row_bytes = traits.traits(o.weight_type).rowBytes(o.k);
    const x_row_bytes = o.activations.len / o.n;
    var xs: [4][]const u8 = undefined;
    for (&xs, token..) |*x, i| x.* = o.activations[i * x_row_bytes ..][0..x_row_bytes];
    for (row_begin..row_end) |r| {
        var out: [4]f32 = undefined;
        kernel(o.k, o.weights[r * w_row_bytes ..][0..w_row_bytes], xs, &out);
        for (out, token..) |v, i| o.dst[i * o.rows + r] = v;
    }
}

/// The dot of `token` when it differs from `dot`: the group-of-four order of repacked weights.
fn dotFor(t: *const traits.Traits, o: Operands, token: usize) ?traits.DotFn {
    if (!repacked(t, o)) return null;
    return if (token < o.n - o.n % 4) t.dot_batched.? else null;
}

/// Weight rows [row, row + 4) in the operands' layout.
fn rowsAt(o: Operands, row: usize) layout.Rows4 {
    const t = traits.traits(o.weight_type);
    const w_row_bytes = t.rowBytes(o.k);
    switch (o.weight_layout) {
        .rows => {
            var rows: [layout.group_rows][]const u8 = undefined;
            for (&rows, row..) |*slot, r| slot.* = o.weights[r * w_row_bytes ..][0..w_row_bytes];
            return layout.Rows4.separate(rows, t.bytes_per_block);
        },
        .rows4 => {
            // Group g (rows 4g..4g+3) starts where row 4g would in the file's layout.
            assert(row % layout.group_rows == 0);
            const group = o.weights[row * w_row_bytes ..][0 .. layout.group_rows * w_row_bytes];
            return layout.Rows4.interleaved(group.ptr, t.bytes_per_block);
        },
        .rows16 => unreachable, // mulMatGroups16
    }
}

/// The tile of weight rows [row, row + tile_rows) and tokens [token, token + tile_tokens).
fn tileAt(o: Operands, row: usize, token: usize) void {
    comptime assert(multi_dot.tile_rows == layout.group_rows);
    const x_row_bytes = o.activations.len / o.n;
    var tile: multi_dot.Tile = .{
        .rows = rowsAt(o, row),
        .tokens = undefined,
        .out = o.dst[token * o.rows + row ..].ptr,
        .out_stride = o.rows,
    };
    for (&tile.tokens, token..) |*slot, t| {
        slot.* = o.activations[t * x_row_bytes ..][0..x_row_bytes];
    }
    multi_dot.dotTile(o.weight_type, o.k, tile);
}

/// `mulMatRows` with scalar dots, row by row (the reference).
pub fn mulMatRowsGeneric(o: Operands, row_begin: usize, row_end: usize) void {
    o.check();
    assert(row_begin <= row_end and row_end <= o.rows);
    const t = traits.traits(o.weight_type);
    const dot = t.dot_generic.?;
    const w_row_bytes = t.rowBytes(o.k);
    const x_row_bytes = o.activations.len / o.n;
    for (row_begin..row_end) |r| {
        for (0..o.n) |token| {
            const x = o.activations[token * x_row_bytes ..][0..x_row_bytes];
            o.dst[token * o.rows + r] = dot(o.k, o.weights[r * w_row_bytes ..][0..w_row_bytes], x);
        }
    }
}

test {
    _ = multi_dot;
}

const testing = std.testing;

/// Every weight type with a dot kernel.
const weight_types = [_]traits.QuantType{
    .f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_k, .q3_k, .q4_k, .q5_k, .q6_k,
};

fn normalizedSquaredError(expected: []const f64, actual: []const f32) f64 {
    var err: f64 = 0;
    var norm: f64 = 0;
    for (expected, actual) |e, a| {
        err += (e - a) * (e - a);
        norm += e * e;
    }
    return err / norm;
}

fn checkType(weight_type: traits.QuantType, k: usize, rows: usize, n: usize) !void {
    const allocator = testing.allocator;
    const t = traits.traits(weight_type);
    var prng = std.Random.DefaultPrng.init(@intFromEnum(weight_type) + 100 * k);
    const w = try allocator.alloc(f32, rows * k);
    defer allocator.free(w);
    const x = try allocator.alloc(f32, n * k);
    defer allocator.free(x);
    for (w) |*v| v.* = prng.random().floatNorm(f32);
    for (x) |*v| v.* = prng.random().floatNorm(f32);
    const w_bytes = try allocator.alloc(u8, t.rowBytes(k) * rows);
    defer allocator.free(w_bytes);
    for (0..rows) |r| t.quantize_row(
        w[r * k ..][0..k],
        w_bytes[r * t.rowBytes(k) ..][0..t.rowBytes(k)],
    );
    const xq = try allocator.alloc(u8, quantizedBytes(weight_type, k, n));
    defer allocator.free(xq);
    if (readsF32(weight_type)) @memcpy(xq, std.mem.sliceAsBytes(x)) else quantizeRows(
        weight_type,
        x,
        k,
        0,
        n,
        xq,
    );
    const fast = try allocator.alloc(f32, n * rows);
    defer allocator.free(fast);
    const slow = try allocator.alloc(f32, n * rows);
    defer allocator.free(slow);
    const o: Operands = .{
        .weight_type = weight_type,
        .k = k,
        .rows = rows,
        .n = n,
        .weights = w_bytes,
        .activations = xq,
        .dst = fast,
    };
    mulMatRows(o, 0, rows / 3);
    mulMatRows(o, rows / 3, rows);
    var o_slow = o;
    o_slow.dst = slow;
    mulMatRowsGeneric(o_slow, 0, rows);
    // SIMD and scalar dots differ only in summation order.
    for (fast, slow) |a, b| try testing.expectApproxEqAbs(
        b,
        a,
        1e-3 * @sqrt(@as(f32, @floatFromInt(k))),
    );
    // Against the exact product of the dequantized weights: only activation rounding remains.
    const exact = try allocator.alloc(f64, n * rows);
    defer allocator.free(exact);
    const row = try allocator.alloc(f32, k);
    defer allocator.free(row);
    for (0..rows) |r| {
        t.dequantize_row(w_bytes[r * t.rowBytes(k) ..][0..t.rowBytes(k)], row);
        for (0..n) |token| {
            var sum: f64 = 0;
            for (row, x[token * k ..][0..k]) |a, b| sum += @as(f64, a) * b;
            exact[token * rows + r] = sum;
        }
    }
    const nmse = normalizedSquaredError(exact, fast);
    const limit: f64 = if (readsF32(weight_type)) 1e-10 else 1e-3;
    testing.expect(nmse < limit) catch |err| {
        std.debug.print("{s}: nmse {e} ≥ {e}\n", .{ t.name, nmse, limit });
        return err;
    };
}

test "mulMatRows(): every weight type, SIMD equals scalar, close to the exact product" {
    for (weight_types) |weight_type| {
        const block = traits.traits(weight_type).block_size;
        // k: one block of K-quants, or 3 legacy blocks (a row shorter than the vector width).
        const k: usize = if (block == 256) 512 else if (block == 32) 96 else 83;
        try checkType(weight_type, k, 37, 1);
        try checkType(weight_type, k, 21, 5);
        // Tiles of 4 × 4 with edges on both sides: 18 rows, 11 tokens.
        try checkType(weight_type, k, 18, 11);
    }
}

test "mulMatRows(): rows4 weights give the file layout's results bit for bit" {
    const allocator = testing.allocator;
    const k = 96;
    // One block of 16 rows and one of 12: Q4_0 matrices with rows 8k take llama.cpp's
    // repacked order instead, which four interleaved rows do not compute.
    const rows = 28;
    var prng = std.Random.DefaultPrng.init(5);
    for ([_]traits.QuantType{ .q4_0, .q4_1, .q5_0, .q5_1, .q8_0 }) |weight_type| {
        try testing.expect(supportsLayout(weight_type, .rows4));
        const t = traits.traits(weight_type);
        const w_bytes = try allocator.alloc(u8, t.rowBytes(k) * rows);
        defer allocator.free(w_bytes);
        var values: [k]f32 = undefined;
        for (0..rows) |r| {
            for (&values) |*v| v.* = prng.random().floatNorm(f32);
            t.quantize_row(&values, w_bytes[r * t.rowBytes(k) ..][0..t.rowBytes(k)]);
        }
        const interleaved = try allocator.alloc(u8, w_bytes.len);
        defer allocator.free(interleaved);
        layout.interleaveRows4(t.bytes_per_block, k / t.block_size, rows, w_bytes, interleaved);
        for ([_]usize{ 1, 3, 5, 11 }) |n| {
            const x = try allocator.alloc(f32, n * k);
            defer allocator.free(x);
            for (x) |*v| v.* = prng.random().floatNorm(f32);
            const xq = try allocator.alloc(u8, quantizedBytes(weight_type, k, n));
            defer allocator.free(xq);
            quantizeRows(weight_type, x, k, 0, n, xq);
            const want = try allocator.alloc(f32, n * rows);
            defer allocator.free(want);
            const got = try allocator.alloc(f32, n * rows);
            defer allocator.free(got);
            const file_layout: Operands = .{
                .weight_type = weight_type,
                .k = k,
                .rows = rows,
                .n = n,
                .weights = w_bytes,
                .activations = xq,
                .dst = want,
            };
            mulMatRows(file_layout, 0, rows);
            var grouped = file_layout;
            grouped.weight_layout = .rows4;
            grouped.weights = interleaved;
            grouped.dst = got;
            mulMatRows(grouped, 0, 8);
            mulMatRows(grouped, 8, rows);
            try testing.expectEqualSlices(f32, want, got);
        }
    }
    try testing.expect(!supportsLayout(.q4_k, .rows4));
}

test "mulMatRows(): Q4_0 matrices with rows 8k give dotRepackedGeneric()'s results" {
    const allocator = testing.allocator;
    const k = 96;
    const t = traits.traits(.q4_0);
    var prng = std.Random.DefaultPrng.init(17);
    for ([_]usize{ 8, 24 }) |rows| {
        const w_bytes = try allocator.alloc(u8, t.rowBytes(k) * rows);
        defer allocator.free(w_bytes);
        var values: [k]f32 = undefined;
        for (0..rows) |r| {
            for (&values) |*v| v.* = prng.random().floatNorm(f32);
            t.quantize_row(&values, w_bytes[r * t.rowBytes(k) ..][0..t.rowBytes(k)]);
        }
        const n = 6;
        var x: [n * k]f32 = undefined;
        for (&x) |*v| v.* = prng.random().floatNorm(f32);
        var xq: [quantizedBytes(.q4_0, k, n)]u8 = undefined;
        quantizeRows(.q4_0, &x, k, 0, n, &xq);
        const got = try allocator.alloc(f32, n * rows);
        defer allocator.free(got);
        mulMatRows(.{
            .weight_type = .q4_0,
            .k = k,
            .rows = rows,
            .n = n,
            .weights = w_bytes,
            .activations = &xq,
            .dst = got,
        }, 0, rows);
        const x_row_bytes = xq.len / n;
        for (0..n) |token| for (0..rows) |r| {
            const row = w_bytes[r * t.rowBytes(k) ..][0..t.rowBytes(k)];
            const act = xq[token * x_row_bytes ..][0..x_row_bytes];
            try testing.expectEqual(q4_0.dotRepackedGeneric(k, row, act), got[token * rows + r]);
        };
    }
}

test "mulMatRows(): rows16 weights give the file layout's results bit for bit" {
    try checkRows16(.q4_0, q4_0_rows16.interleave);
    try checkRows16(.q4_1, q4_1_rows16.interleave);
    try checkRows16(.q5_0, q5_0_rows16.interleave);
    try checkRows16(.q8_0, q8_0_rows16.interleave);
    try checkRows16(.q4_k, q4_k_rows16.interleave);
    try checkRows16(.q5_k, q5_k_rows16.interleave);
    try checkRows16(.q6_k, q6_k_rows16.interleave);
}

fn checkRows16(
    comptime weight_type: traits.QuantType,
    interleave: fn (usize, usize, []const u8, []u8) void,
) !void {
    const allocator = testing.allocator;
    const k = 512;
    const rows = 48; // three groups: one block of 16 rows per group
    const t = traits.traits(weight_type);
    var prng = std.Random.DefaultPrng.init(9);
    const w_bytes = try allocator.alloc(u8, t.rowBytes(k) * rows);
    defer allocator.free(w_bytes);
    var values: [k]f32 = undefined;
    for (0..rows) |r| {
        for (&values) |*v| v.* = prng.random().floatNorm(f32);
        t.quantize_row(&values, w_bytes[r * t.rowBytes(k) ..][0..t.rowBytes(k)]);
    }
    const grouped_bytes = try allocator.alloc(u8, w_bytes.len);
    defer allocator.free(grouped_bytes);
    interleave(k / t.block_size, rows, w_bytes, grouped_bytes);
    for ([_]usize{ 1, 4, 6, 9 }) |n| {
        const x = try allocator.alloc(f32, n * k);
        defer allocator.free(x);
        for (x) |*v| v.* = prng.random().floatNorm(f32);
        const xq = try allocator.alloc(u8, quantizedBytes(weight_type, k, n));
        defer allocator.free(xq);
        quantizeRows(weight_type, x, k, 0, n, xq);
        const want = try allocator.alloc(f32, n * rows);
        defer allocator.free(want);
        const got = try allocator.alloc(f32, n * rows);
        defer allocator.free(got);
        const file_layout: Operands = .{
            .weight_type = weight_type,
            .k = k,
            .rows = rows,
            .n = n,
            .weights = w_bytes,
            .activations = xq,
            .dst = want,
        };
        mulMatRows(file_layout, 0, rows);
        var grouped = file_layout;
        grouped.weight_layout = .rows16;
        grouped.weights = grouped_bytes;
        grouped.dst = got;
        mulMatRows(grouped, 0, 16);
        mulMatRows(grouped, 16, rows);
        try testing.expectEqualSlices(f32, want, got);
    }
}
