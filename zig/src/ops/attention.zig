//! ATTENTION of one query head over the KV cache (grouped-query: the caller picks the KV head).
//!
//! A token sees a cell when their sequence masks share a bit, the cell's position is not
//! after the token's, and (window > 0) the distance is below the window. Scores of visible
//! cells are q·k, soft-capped (cap·tanh(s/cap), before the scale, as llama.cpp orders it) and
//! scaled; softmax subtracts the maximum and sums in f64; the output is Σ p·v.
//!
//! To stay close to llama.cpp's non-flash path, which multiplies in the cache's type: with an
//! F16 cache, q is rounded to f16 before the q·k dot, and the normalized probabilities are
//! rounded to f16 before the value sum. Products accumulate in f32 either way.
//!
//! `attendGroup` runs the query heads that share a KV head together, reading each cache row
//! once for the group (decode reads the whole cache per token, so this divides its cache
//! traffic by the group size).

const std = @import("std");
const assert = std.debug.assert;
const simd = @import("../quant/simd.zig");

const lanes = simd.f32_lanes;
const V = @Vector(lanes, f32);

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
};

/// Per-call scratch: `scores` holds one f32 per scanned cell, `query` one per head dim.
pub const Scratch = struct {
    scores: []f32,
    query: []f32,
};

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
    return params.softcap * std.math.tanh(raw / params.softcap) * params.scale;
}

/// Turns visible scores into probabilities in place (invisible cells become 0).
/// Returns false when no cell is visible.
fn softmax(scores: []f32, visibility: Visibility, comptime round_to_f16: bool) bool {
    var max: f32 = -std.math.inf(f32);
    for (scores, 0..) |s, c| {
        if (visibility.sees(c)) max = @max(max, s);
    }
    if (max == -std.math.inf(f32)) return false;
    var sum: f64 = 0;
    for (scores, 0..) |*s, c| {
        s.* = if (visibility.sees(c)) @exp(s.* - max) else 0;
        sum += s.*;
    }
    const inverse: f32 = @floatCast(1.0 / sum);
    for (scores) |*s| {
        const p = s.* * inverse;
        s.* = if (round_to_f16) @as(f16, @floatCast(p)) else p;
    }
    return true;
}

/// out = attention of query `q` over cells [0, scratch.scores.len) (SIMD dots and sums).
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
    assert(q.len == keys.len and out.len == values.len);
    assert(visibility.cell_positions.len == scratch.scores.len);
    const query = scratch.query[0..q.len];
    prepareQuery(K, query, q);
    for (scratch.scores, 0..) |*score, c| {
        const visible = visibility.sees(c);
        score.* = if (visible) capAndScale(dotSimd(K, query, keys.row(c)), params) else 0;
    }
    @memset(out, 0);
    if (!softmax(scratch.scores, visibility, Val == f16)) return;
    for (scratch.scores, 0..) |p, c| {
        if (p != 0) axpySimd(Val, out, p, values.row(c));
    }
}

/// Attention of `heads` query heads that share one KV head (grouped-query attention): each key
/// and value row is read once for all of them instead of once per head. `q` and `out` hold
/// the heads one after another ([heads][keys.len], [heads][values.len]); `scratch` holds
/// `heads` rows of scores and of rounded queries. Per head the arithmetic is `attendHead`'s,
/// in the same order, so the results are equal bit for bit.
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
    prepareQuery(K, scratch.query, q);
    for (0..cells) |c| {
        const visible = visibility.sees(c);
        const row = keys.row(c);
        for (0..heads) |h| {
            const query = scratch.query[h * keys.len ..][0..keys.len];
            const score = if (visible) capAndScale(dotSimd(K, query, row), params) else 0;
            scratch.scores[h * cells + c] = score;
        }
    }
    @memset(out, 0);
    // Every head sees the same cells: either all have a visible cell or none has.
    for (0..heads) |h| {
        const scores = scratch.scores[h * cells ..][0..cells];
        if (!softmax(scores, visibility, Val == f16)) return;
    }
    for (0..cells) |c| {
        const row = values.row(c);
        for (0..heads) |h| {
            const p = scratch.scores[h * cells + c];
            if (p != 0) axpySimd(Val, out[h * values.len ..][0..values.len], p, row);
        }
    }
}

/// `attendHead` with scalar loops (the reference).
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
    assert(visibility.cell_positions.len == scratch.scores.len);
    const query = scratch.query[0..q.len];
    prepareQuery(K, query, q);
    for (scratch.scores, 0..) |*score, c| {
        if (!visibility.sees(c)) {
            score.* = 0;
            continue;
        }
        var sum: f32 = 0;
        for (query, keys.row(c)) |a, b| sum += a * toF32(K, b);
        score.* = capAndScale(sum, params);
    }
    @memset(out, 0);
    if (!softmax(scratch.scores, visibility, Val == f16)) return;
    for (scratch.scores, 0..) |p, c| {
        for (out, values.row(c)) |*o, v| o.* += p * toF32(Val, v);
    }
}

fn dotSimd(comptime T: type, a: []const f32, b: []const T) f32 {
    assert(a.len == b.len);
    var acc: V = @splat(0);
    var i: usize = 0;
    while (i + lanes <= a.len) : (i += lanes) {
        const av: V = a[i..][0..lanes].*;
        acc = @mulAdd(V, av, loadF32(T, b, i), acc);
    }
    var sum = @reduce(.Add, acc);
    while (i < a.len) : (i += 1) sum += a[i] * toF32(T, b[i]);
    return sum;
}

/// out += p · v.
fn axpySimd(comptime T: type, out: []f32, p: f32, v: []const T) void {
    assert(out.len == v.len);
    const pv: V = @splat(p);
    var i: usize = 0;
    while (i + lanes <= out.len) : (i += lanes) {
        const o: V = out[i..][0..lanes].*;
        out[i..][0..lanes].* = @mulAdd(V, pv, loadF32(T, v, i), o);
    }
    while (i < out.len) : (i += 1) out[i] += p * toF32(T, v[i]);
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
    const scratch: Scratch = .{ .scores = scores, .query = &query };
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
    for (fast[0..head_dim], slow[0..head_dim]) |a, b| try testing.expectApproxEqAbs(b, a, 1e-5);
}

test "attendHead(): SIMD matches generic for F16/F32 caches, odd sizes, windows, soft-cap" {
    for ([_]usize{ 8, 64, 80, 130 }) |head_dim| {
        try checkAgainstGeneric(f16, head_dim, 37, 0, 0);
        try checkAgainstGeneric(f32, head_dim, 37, 0, 0);
        try checkAgainstGeneric(f16, head_dim, 100, 5, 50);
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
    const params: Params = .{ .scale = 0.125, .softcap = 30 };
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
        const group_scratch: Scratch = .{ .scores = &group_scores, .query = &group_query };
        attendGroup(f16, f32, heads, &grouped, &q, k_rows, v_rows, vis, params, group_scratch);
        for (0..heads) |h| {
            var scores: [cells]f32 = undefined;
            var query: [head_dim]f32 = undefined;
            var single: [head_dim]f32 = undefined;
            const scratch: Scratch = .{ .scores = &scores, .query = &query };
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
    const scratch: Scratch = .{ .scores = &scores, .query = &query };
    const params: Params = .{ .scale = 1, .softcap = 0 };
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
