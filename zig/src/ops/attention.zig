//! ATTENTION of query heads over the KV cache (grouped-query: the caller picks the KV head).
//!
//! A token sees a cell when their sequence masks share a bit, the cell's position is not
//! after the token's, and (window > 0) the distance is below the window. Scores of visible
//! cells are q·k, soft-capped (cap·tanh(s/cap), before the scale, as llama.cpp orders it) and
//! scaled; the output is Σ p·v over the softmax probabilities p.
//!
//! The arithmetic is llama.cpp's non-flash CPU path, rounding for rounding (ggml_math.zig says
//! why): with an F16 cache, q is rounded to f16 before q·k and p is rounded to f16 before Σ p·v;
//! the softmax exponentials come from ggml's vector `expf`, summed per 16 cells (by cell index)
//! in f32 and across chunks in f64. Both products sum in one of two orders (`SumOrder`),
//! the one llama.cpp's `mul_mat` takes for the batch: `ggml_vec_dot_f16` for one token, the
//! llamafile tinyBLAS kernel for several.
//!
//! `attendGroup` runs the query heads that share a KV head together, reading each key row
//! once for the group.

const std = @import("std");
const assert = std.debug.assert;
const ggml_math = @import("ggml_math.zig");

const lanes = ggml_math.lanes;
const V = ggml_math.V16;

/// Summation order of a dot product, as llama.cpp's CPU matmul picks it.
pub const SumOrder = enum {
    /// One token (`ggml_vec_dot_f16`/`_f32`): 64-value steps into four 16-lane accumulators,
    /// reduced (a0 + a2) + (a1 + a3), then by halves; a tail past the last step in f64.
    single,
    /// Several tokens (tinyBLAS): one 16-lane accumulator over 16-value steps, then halves.
    batched,

    /// The order of a dot of length `len` in a batch of `tokens` tokens; tinyBLAS refuses
    /// lengths that are not a multiple of 16, and ggml then falls back to the single order.
    pub fn of(tokens: usize, len: usize) SumOrder {
        return if (tokens >= 2 and len % lanes == 0) .batched else .single;
    }

    /// Accumulator slots a value sum needs: element c of the dot adds into slot c % slots.
    fn slots(order: SumOrder) usize {
        return switch (order) {
            .single => 4 * lanes,
            .batched => lanes,
        };
    }
};

/// Which cells a token sees.
pub const Visibility = struct {
    token_position: i32,
    token_mask: i32,
    /// Position of each cell (-1 empty), one per scanned cell.
    cell_positions: []const i32,
    /// Sequence mask of each cell.
    cell_masks: []const i32,
    /// Sliding window in positions; 0 = none.
    window: i32,

    pub inline fn sees(v: Visibility, cell: usize) bool {
        const position = v.cell_positions[cell];
        if (v.token_mask & v.cell_masks[cell] == 0) return false;
        if (position < 0 or position > v.token_position) return false;
        if (v.window > 0 and @as(i64, v.token_position) - position >= v.window) return false;
        return true;
    }
};

/// One head's cache rows: cell c's vector is `base[c * stride ..][0..len]`.
pub fn CacheRows(comptime T: type) type {
    return struct {
        base: [*]const T,
        /// Elements between consecutive cells.
        stride: usize,
        /// Elements of one head's vector.
        len: usize,

        pub inline fn row(rows: @This(), cell: usize) []const T {
            return rows.base[cell * rows.stride ..][0..rows.len];
        }
    };
}

/// Score and value settings.
pub const Params = struct {
    scale: f32,
    /// 0 = no soft-cap.
    softcap: f32,
    /// Order of the q·k dots (from the cache type and the batch: `SumOrder.of`).
    score_order: SumOrder,
    /// Order of the Σ p·v sums.
    value_order: SumOrder,
};

/// Per-call scratch: `scores` holds one f32 per scanned cell and head, `query` one per head
/// dim and head, `values` `slots_max · value_len` f32 (`scratchValues`).
pub const Scratch = struct {
    scores: []f32,
    query: []f32,
    values: []f32,
};

/// f32 values the value accumulators of one head need.
pub fn scratchValues(value_len: usize) usize {
    return SumOrder.single.slots() * value_len;
}

inline fn toF32(comptime T: type, value: T) f32 {
    return if (T == f16) @floatCast(value) else value;
}

inline fn loadF32(comptime T: type, values: []const T, index: usize) V {
    const raw: @Vector(lanes, T) = values[index..][0..lanes].*;
    return if (T == f16) @floatCast(raw) else raw;
}

/// q rounded the way the cache type multiplies it.
fn prepareQuery(comptime K: type, query: []f32, q: []const f32) void {
    assert(query.len == q.len);
    for (query, q) |*out, v| out.* = if (K == f16) @as(f16, @floatCast(v)) else v;
}

fn capAndScale(raw: f32, params: Params) f32 {
    if (!(params.softcap > 0)) return raw * params.scale;
    // llama.cpp: scale by 1/cap, tanh, scale by cap, then the softmax's scale.
    const inverse: f32 = 1.0 / params.softcap;
    return std.math.tanh(raw * inverse) * params.softcap * params.scale;
}

/// a·b in `order` (b widened from `T`).
pub fn orderedDot(comptime T: type, order: SumOrder, a: []const f32, b: []const T) f32 {
    assert(a.len == b.len);
    var i: usize = 0;
    switch (order) {
        .batched => {
            assert(a.len % lanes == 0);
            var acc: V = @splat(0);
            while (i < a.len) : (i += lanes) {
                acc = @mulAdd(V, a[i..][0..lanes].*, loadF32(T, b, i), acc);
            }
            return ggml_math.treeSum(lanes, acc);
        },
        .single => {
            var acc: [4]V = @splat(@splat(0));
            while (i + 4 * lanes <= a.len) : (i += 4 * lanes) {
                inline for (&acc, 0..) |*slot, j| {
                    const at = i + j * lanes;
                    slot.* = @mulAdd(V, a[at..][0..lanes].*, loadF32(T, b, at), slot.*);
                }
            }
            var sum: f64 = ggml_math.treeSum(lanes, (acc[0] + acc[2]) + (acc[1] + acc[3]));
            while (i < a.len) : (i += 1) sum += @as(f64, a[i] * toF32(T, b[i]));
            return @floatCast(sum);
        },
    }
}

/// Turns visible scores into probabilities in place (invisible cells become 0), as ggml's
/// soft_max: exponentials per 16 cells, each chunk summed by halves in f32, chunks in f64,
/// then multiplied by the f32 inverse of the sum. Returns false when no cell is visible.
fn softmax(scores: []f32, visibility: Visibility, comptime round_to_f16: bool) bool {
    var max: f32 = -std.math.inf(f32);
    for (scores, 0..) |s, c| {
        if (visibility.sees(c)) max = @max(max, s);
    }
    if (max == -std.math.inf(f32)) return false;
    var sum: f64 = 0;
    var chunk: usize = 0;
    while (chunk < scores.len) : (chunk += lanes) {
        var shifted: [lanes]f32 = @splat(-std.math.inf(f32));
        const end = @min(scores.len, chunk + lanes);
        for (chunk..end) |c| {
            if (visibility.sees(c)) shifted[c - chunk] = scores[c] - max;
        }
        const e: [lanes]f32 = ggml_math.expVec(shifted);
        @memcpy(scores[chunk..end], e[0 .. end - chunk]);
        sum += ggml_math.treeSum(lanes, e);
    }
    const inverse: f32 = @floatCast(1.0 / sum);
    for (scores) |*s| {
        const p = s.* * inverse;
        s.* = if (round_to_f16) @as(f16, @floatCast(p)) else p;
    }
    return true;
}

/// out = Σ_c p[c]·v[c] in `order`: cell c adds into accumulator slot c % slots (a vector over
/// the value dims), the slots are reduced as the order's lanes are.
fn valueSum(
    comptime Val: type,
    order: SumOrder,
    out: []f32,
    probabilities: []const f32,
    values: CacheRows(Val),
    accumulators: []f32,
) void {
    const len = values.len;
    const slot_count = order.slots();
    const acc = accumulators[0 .. slot_count * len];
    @memset(acc, 0);
    for (probabilities, 0..) |p, c| {
        if (p == 0) continue; // fma(0, v, a) = a
        axpy(Val, acc[(c % slot_count) * len ..][0..len], p, values.row(c));
    }
    for (out, 0..) |*o, d| {
        var y: [lanes]f32 = undefined;
        for (&y, 0..) |*lane, l| lane.* = switch (order) {
            .batched => acc[l * len + d],
            .single => (acc[l * len + d] + acc[(l + 2 * lanes) * len + d]) +
                (acc[(l + lanes) * len + d] + acc[(l + 3 * lanes) * len + d]),
        };
        o.* = ggml_math.treeSum(lanes, y);
    }
}

/// acc = fma(p, v, acc), vectorized over the dims.
fn axpy(comptime T: type, acc: []f32, p: f32, v: []const T) void {
    assert(acc.len == v.len);
    const pv: V = @splat(p);
    var i: usize = 0;
    while (i + lanes <= acc.len) : (i += lanes) {
        acc[i..][0..lanes].* = @mulAdd(V, pv, loadF32(T, v, i), acc[i..][0..lanes].*);
    }
    while (i < acc.len) : (i += 1) acc[i] = @mulAdd(f32, p, toF32(T, v[i]), acc[i]);
}

/// out = attention of query `q` over cells [0, visibility.cell_positions.len).
pub fn attendHead(
    comptime K: type,
    comptime Val: type,
    out: []f32,
    q: []const f32,
    keys: CacheRows(K),
    values: CacheRows(Val),
    visibility: Visibility,
    params: Params,
    scratch: Scratch,
) void {
    const head_scratch: Scratch = .{
        .scores = scratch.scores,
        .query = scratch.query[0..q.len],
        .values = scratch.values,
    };
    attendGroup(K, Val, 1, out, q, keys, values, visibility, params, head_scratch);
}

/// Attention of `heads` query heads that share one KV head (grouped-query attention): each key
/// row is read once for all of them. `q` and `out` hold the heads one after another
/// ([heads][keys.len], [heads][values.len]); `scratch` holds `heads` rows of scores and of
/// rounded queries. Per head the arithmetic is the same as alone.
pub fn attendGroup(
    comptime K: type,
    comptime Val: type,
    heads: usize,
    out: []f32,
    q: []const f32,
    keys: CacheRows(K),
    values: CacheRows(Val),
    visibility: Visibility,
    params: Params,
    scratch: Scratch,
) void {
    const cells = visibility.cell_positions.len;
    assert(heads > 0);
    assert(q.len == heads * keys.len and out.len == heads * values.len);
    assert(scratch.scores.len == heads * cells and scratch.query.len == heads * keys.len);
    assert(scratch.values.len >= scratchValues(values.len));
    prepareQuery(K, scratch.query, q);
    for (0..cells) |c| {
        const visible = visibility.sees(c);
        const row = keys.row(c);
        for (0..heads) |h| {
            const query = scratch.query[h * keys.len ..][0..keys.len];
            const raw = if (visible) orderedDot(K, params.score_order, query, row) else 0;
            scratch.scores[h * cells + c] = if (visible) capAndScale(raw, params) else 0;
        }
    }
    for (0..heads) |h| {
        const scores = scratch.scores[h * cells ..][0..cells];
        const head_out = out[h * values.len ..][0..values.len];
        if (!softmax(scores, visibility, Val == f16)) {
            @memset(head_out, 0);
            continue;
        }
        valueSum(Val, params.value_order, head_out, scores, values, scratch.values);
    }
}

/// `attendHead` with scalar loops (the reference): the same rounding steps, one lane at a time.
pub fn attendHeadGeneric(
    comptime K: type,
    comptime Val: type,
    out: []f32,
    q: []const f32,
    keys: CacheRows(K),
    values: CacheRows(Val),
    visibility: Visibility,
    params: Params,
    scratch: Scratch,
) void {
    assert(q.len == keys.len and out.len == values.len);
    const cells = visibility.cell_positions.len;
    assert(scratch.scores.len == cells);
    const query = scratch.query[0..q.len];
    prepareQuery(K, query, q);
    for (scratch.scores, 0..) |*score, c| {
        score.* = if (visibility.sees(c))
            capAndScale(dotGeneric(K, params.score_order, query, keys.row(c)), params)
        else
            0;
    }
    if (!softmax(scratch.scores, visibility, Val == f16)) {
        @memset(out, 0);
        return;
    }
    const slot_count = params.value_order.slots();
    for (out, 0..) |*o, d| {
        var acc: [4 * lanes]f32 = @splat(0);
        for (scratch.scores, 0..) |p, c| {
            const slot = c % slot_count;
            acc[slot] = @mulAdd(f32, p, toF32(Val, values.row(c)[d]), acc[slot]);
        }
        o.* = reduceSlots(params.value_order, acc);
    }
}

fn dotGeneric(comptime T: type, order: SumOrder, a: []const f32, b: []const T) f32 {
    const slot_count = order.slots();
    var acc: [4 * lanes]f32 = @splat(0);
    const body = if (order == .batched) a.len else a.len - a.len % slot_count;
    for (0..body) |i| acc[i % slot_count] = @mulAdd(f32, a[i], toF32(T, b[i]), acc[i % slot_count]);
    var sum: f64 = reduceSlots(order, acc);
    for (body..a.len) |i| sum += @as(f64, a[i] * toF32(T, b[i]));
    return @floatCast(sum);
}

fn reduceSlots(order: SumOrder, acc: [4 * lanes]f32) f32 {
    var y: [lanes]f32 = undefined;
    for (&y, 0..) |*lane, l| lane.* = switch (order) {
        .batched => acc[l],
        .single => (acc[l] + acc[l + 2 * lanes]) + (acc[l + lanes] + acc[l + 3 * lanes]),
    };
    return ggml_math.treeSum(lanes, y);
}

const testing = std.testing;

fn testCache(comptime T: type, allocator: std.mem.Allocator, count: usize, seed: u64) ![]T {
    const values = try allocator.alloc(T, count);
    var prng = std.Random.DefaultPrng.init(seed);
    for (values) |*v| {
        const value = prng.random().floatNorm(f32);
        v.* = if (T == f16) @floatCast(value) else value;
    }
    return values;
}

fn checkAgainstGeneric(
    comptime T: type,
    head_dim: usize,
    cells: usize,
    window: i32,
    cap: f32,
    order: SumOrder,
) !void {
    const allocator = testing.allocator;
    const kv_heads = 2;
    const keys = try testCache(T, allocator, cells * kv_heads * head_dim, 1);
    defer allocator.free(keys);
    const values = try testCache(T, allocator, cells * kv_heads * head_dim, 2);
    defer allocator.free(values);
    const positions = try allocator.alloc(i32, cells);
    defer allocator.free(positions);
    const masks = try allocator.alloc(i32, cells);
    defer allocator.free(masks);
    for (positions, masks, 0..) |*p, *m, c| {
        p.* = @intCast(c);
        m.* = if (c % 3 == 0) 0b11 else if (c % 3 == 1) 0b01 else 0b10;
    }
    var q: [160]f32 = undefined;
    var prng = std.Random.DefaultPrng.init(3);
    for (&q) |*v| v.* = prng.random().floatNorm(f32);
    const scores = try allocator.alloc(f32, cells);
    defer allocator.free(scores);
    var query: [160]f32 = undefined;
    var value_acc: [4 * lanes * 160]f32 = undefined;
    const scratch: Scratch = .{ .scores = scores, .query = &query, .values = &value_acc };
    const k_rows: CacheRows(T) = .{
        .base = keys.ptr + head_dim,
        .stride = kv_heads * head_dim,
        .len = head_dim,
    };
    const v_rows: CacheRows(T) = .{
        .base = values.ptr + head_dim,
        .stride = kv_heads * head_dim,
        .len = head_dim,
    };
    const vis: Visibility = .{
        .token_position = @intCast(cells - 2),
        .token_mask = 0b01,
        .cell_positions = positions,
        .cell_masks = masks,
        .window = window,
    };
    const params: Params = .{
        .scale = 1 / @sqrt(@as(f32, @floatFromInt(head_dim))),
        .softcap = cap,
        .score_order = order,
        .value_order = order,
    };
    var fast: [160]f32 = undefined;
    var slow: [160]f32 = undefined;
    attendHead(T, T, fast[0..head_dim], q[0..head_dim], k_rows, v_rows, vis, params, scratch);
    attendHeadGeneric(
        T,
        T,
        slow[0..head_dim],
        q[0..head_dim],
        k_rows,
        v_rows,
        vis,
        params,
        scratch,
    );
    try testing.expectEqualSlices(f32, slow[0..head_dim], fast[0..head_dim]);
}

test "attendHead(): SIMD equals generic bit for bit: F16/F32 caches, odd sizes, windows, cap" {
    for ([_]usize{ 8, 64, 80, 130 }) |head_dim| {
        try checkAgainstGeneric(f16, head_dim, 37, 0, 0, .single);
        try checkAgainstGeneric(f32, head_dim, 37, 0, 0, .single);
        try checkAgainstGeneric(f16, head_dim, 100, 5, 50, .single);
    }
    for ([_]usize{ 16, 64, 80, 160 }) |head_dim| {
        try checkAgainstGeneric(f16, head_dim, 37, 0, 0, .batched);
        try checkAgainstGeneric(f16, head_dim, 100, 5, 50, .batched);
    }
}

test "attendGroup() equals attendHead() per head, bit for bit" {
    const allocator = testing.allocator;
    const head_dim = 72;
    const cells = 41;
    const heads = 3;
    const keys = try testCache(f16, allocator, cells * head_dim, 4);
    defer allocator.free(keys);
    const values = try testCache(f32, allocator, cells * head_dim, 5);
    defer allocator.free(values);
    var positions: [cells]i32 = undefined;
    var masks: [cells]i32 = undefined;
    for (&positions, &masks, 0..) |*p, *m, c| {
        p.* = @intCast(c);
        m.* = if (c % 4 == 3) 0b10 else 0b01;
    }
    var q: [heads * head_dim]f32 = undefined;
    var prng = std.Random.DefaultPrng.init(9);
    for (&q) |*v| v.* = prng.random().floatNorm(f32);
    const k_rows: CacheRows(f16) = .{ .base = keys.ptr, .stride = head_dim, .len = head_dim };
    const v_rows: CacheRows(f32) = .{ .base = values.ptr, .stride = head_dim, .len = head_dim };
    const params: Params = .{
        .scale = 0.125,
        .softcap = 30,
        .score_order = .single,
        .value_order = .batched,
    };
    var value_acc: [4 * lanes * head_dim]f32 = undefined;
    for ([_]i32{ 0, 7 }) |window| {
        const vis: Visibility = .{
            .token_position = cells - 3,
            .token_mask = 0b01,
            .cell_positions = &positions,
            .cell_masks = &masks,
            .window = window,
        };
        var group_scores: [heads * cells]f32 = undefined;
        var group_query: [heads * head_dim]f32 = undefined;
        var grouped: [heads * head_dim]f32 = undefined;
        const group_scratch: Scratch = .{
            .scores = &group_scores,
            .query = &group_query,
            .values = &value_acc,
        };
        attendGroup(f16, f32, heads, &grouped, &q, k_rows, v_rows, vis, params, group_scratch);
        for (0..heads) |h| {
            var scores: [cells]f32 = undefined;
            var query: [head_dim]f32 = undefined;
            var single: [head_dim]f32 = undefined;
            const scratch: Scratch = .{ .scores = &scores, .query = &query, .values = &value_acc };
            const q_head = q[h * head_dim ..][0..head_dim];
            attendHead(f16, f32, &single, q_head, k_rows, v_rows, vis, params, scratch);
            try testing.expectEqualSlices(f32, &single, grouped[h * head_dim ..][0..head_dim]);
        }
    }
}

test "attendHead() over one visible cell returns that cell's value" {
    const keys = [_]f32{ 1, 0, 5, 5 };
    const values = [_]f32{ 2, 3, 9, 9 };
    const positions = [_]i32{ 0, 1 };
    const masks = [_]i32{ 1, 2 }; // the second cell belongs to another sequence
    var scores: [2]f32 = undefined;
    var query: [2]f32 = undefined;
    var out: [2]f32 = undefined;
    const visibility: Visibility = .{
        .token_position = 1,
        .token_mask = 1,
        .cell_positions = &positions,
        .cell_masks = &masks,
        .window = 0,
    };
    const k_rows: CacheRows(f32) = .{ .base = &keys, .stride = 2, .len = 2 };
    const v_rows: CacheRows(f32) = .{ .base = &values, .stride = 2, .len = 2 };
    var value_acc: [4 * lanes * 2]f32 = undefined;
    const scratch: Scratch = .{ .scores = &scores, .query = &query, .values = &value_acc };
    const params: Params = .{
        .scale = 1,
        .softcap = 0,
        .score_order = .single,
        .value_order = .single,
    };
    attendHead(f32, f32, &out, &.{ 1, 1 }, k_rows, v_rows, visibility, params, scratch);
    try testing.expectEqualSlices(f32, &.{ 2, 3 }, &out);
}

test "Visibility.sees() applies masks, causality and the sliding window" {
    const positions = [_]i32{ 0, 1, 2, 3, -1 };
    const masks = [_]i32{ 1, 1, 1, 1, 0 };
    const vis: Visibility = .{
        .token_position = 2,
        .token_mask = 1,
        .cell_positions = &positions,
        .cell_masks = &masks,
        .window = 2,
    };
    try testing.expect(!vis.sees(0)); // distance 2 is not below the window
    try testing.expect(vis.sees(1));
    try testing.expect(vis.sees(2));
    try testing.expect(!vis.sees(3)); // after the token
    try testing.expect(!vis.sees(4)); // empty
}
