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
const libm = @import("libm.zig");

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

    /// The part of a dot of length `len` summed in vector steps; the single order sums the
    /// rest in f64, the batched order has none (its lengths are multiples of 16).
    fn bodyLength(order: SumOrder, len: usize) usize {
        return switch (order) {
            .single => len - len % (4 * lanes),
            .batched => blk: {
                assert(len % lanes == 0);
                break :blk len;
            },
        };
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

    /// `sees` of cells [first, first + 16) at once, in vector operations.
    pub inline fn seesBlock(v: Visibility, first: usize) @Vector(lanes, bool) {
        const I = @Vector(lanes, i32);
        const zero: I = @splat(0);
        const positions: I = v.cell_positions[first..][0..lanes].*;
        const masks: I = v.cell_masks[first..][0..lanes].*;
        const token: I = @splat(v.token_position);
        const shared = (masks & @as(I, @splat(v.token_mask))) != zero;
        const causal = (positions >= zero) & (positions <= token);
        if (v.window <= 0) return shared & causal;
        // Lanes that pass `causal` have 0 <= position <= token: their distance cannot wrap.
        return shared & causal & ((token -% positions) < @as(I, @splat(v.window)));
    }

    /// One past the last cell the token sees (0 when it sees none).
    pub fn visibleEnd(v: Visibility) usize {
        var end = v.cell_positions.len;
        while (end % lanes != 0) : (end -= 1) {
            if (v.sees(end - 1)) return end;
        }
        // 16 cells at a time: a causal prefill's early tokens skip most of the cells.
        while (end > 0) : (end -= lanes) {
            const seen: u16 = @bitCast(v.seesBlock(end - lanes));
            if (seen != 0) return end - @clz(seen);
        }
        return 0;
    }

    /// The same token over cells [0, end) only.
    pub fn prefix(v: Visibility, end: usize) Visibility {
        var p = v;
        p.cell_positions = v.cell_positions[0..end];
        p.cell_masks = v.cell_masks[0..end];
        return p;
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

/// The score of a cell the token does not see: softmax gives it probability 0.
const invisible = -std.math.inf(f32);

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

/// Per-call scratch of `attendGroup`, carved from one f32 slice (`Scratch.floats`): per head,
/// one score per scanned cell and the rounded query; one block of 16 key rows widened to f32;
/// per head, `slots · value_len` value accumulators.
pub const Scratch = struct {
    scores: []f32,
    query: []f32,
    key_block: []f32,
    values: []f32,

    /// f32 values `carve` takes for `heads` heads over `cells` cells.
    pub fn floats(heads: usize, cells: usize, key_len: usize, value_len: usize) usize {
        return heads * (cells + key_len) + lanes * key_len + heads * valuesPerHead(value_len);
    }

    pub fn carve(
        memory: []f32,
        heads: usize,
        cells: usize,
        key_len: usize,
        value_len: usize,
    ) Scratch {
        assert(memory.len >= floats(heads, cells, key_len, value_len));
        var rest = memory;
        return .{
            .scores = take(&rest, heads * cells),
            .query = take(&rest, heads * key_len),
            .key_block = take(&rest, lanes * key_len),
            .values = take(&rest, heads * valuesPerHead(value_len)),
        };
    }

    fn take(rest: *[]f32, count: usize) []f32 {
        const part = rest.*[0..count];
        rest.* = rest.*[count..];
        return part;
    }
};

/// f32 value accumulators of one head.
fn valuesPerHead(value_len: usize) usize {
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
    const whole = q.len - q.len % lanes;
    var i: usize = 0;
    while (i < whole) : (i += lanes) {
        const v: V = q[i..][0..lanes].*;
        query[i..][0..lanes].* = if (K == f16) @as(@Vector(lanes, f16), @floatCast(v)) else v;
    }
    for (query[whole..], q[whole..]) |*out, v| out.* = if (K == f16) @as(f16, @floatCast(v)) else v;
}

fn capAndScale(raw: f32, params: Params) f32 {
    if (!(params.softcap > 0)) return raw * params.scale;
    // llama.cpp: scale by 1/cap, tanh, scale by cap, then the softmax's scale.
    const inverse: f32 = 1.0 / params.softcap;
    return libm.tanhf(raw * inverse) * params.softcap * params.scale;
}

/// `capAndScale` of 16 raw scores (the same operations lane by lane).
fn capAndScaleBlock(raw: V, params: Params) V {
    if (!(params.softcap > 0)) return raw * @as(V, @splat(params.scale));
    var out: V = undefined;
    inline for (0..lanes) |l| out[l] = capAndScale(raw[l], params);
    return out;
}

/// a·b in `order` (b widened from `T`).
pub fn orderedDot(comptime T: type, order: SumOrder, a: []const f32, b: []const T) f32 {
    assert(a.len == b.len);
    const body = order.bodyLength(a.len);
    var sum: f64 = ggml_math.treeSum(lanes, laneSums(T, order, a[0..body], b[0..body]));
    if (order == .batched) return @floatCast(sum);
    for (body..a.len) |i| sum += @as(f64, a[i] * toF32(T, b[i]));
    return @floatCast(sum);
}

/// The lanes of a·b in `order` before their final halving sum, for lengths of whole steps
/// (`bodyLength`): the batched order's one accumulator, the single order's four reduced
/// (a0 + a2) + (a1 + a3).
inline fn laneSums(comptime T: type, order: SumOrder, a: []const f32, b: []const T) V {
    assert(a.len == b.len and order.bodyLength(a.len) == a.len);
    var i: usize = 0;
    switch (order) {
        .batched => {
            var acc: V = @splat(0);
            while (i < a.len) : (i += lanes) {
                acc = @mulAdd(V, a[i..][0..lanes].*, loadF32(T, b, i), acc);
            }
            return acc;
        },
        .single => {
            var acc: [4]V = @splat(@splat(0));
            while (i < a.len) : (i += 4 * lanes) {
                inline for (&acc, 0..) |*slot, j| {
                    const at = i + j * lanes;
                    slot.* = @mulAdd(V, a[at..][0..lanes].*, loadF32(T, b, at), slot.*);
                }
            }
            return (acc[0] + acc[2]) + (acc[1] + acc[3]);
        },
    }
}

/// Raw q·k of 16 cells, one per lane, each exactly `orderedDot`'s: `block` holds their key
/// rows widened to f32 (exact), one after another.
fn scoreBlock(order: SumOrder, query: []const f32, block: []const f32) V {
    const len = query.len;
    var ys: [lanes]V = undefined;
    switch (order) {
        // The 16 cells' accumulators step together (16 independent chains, the query's step
        // loaded once): each is laneSums' chain, in the same order. One cell after another,
        // a prefill's scores ran at a quarter of this speed.
        .batched => {
            ys = @splat(@splat(0));
            var i: usize = 0;
            while (i < len) : (i += lanes) {
                const q: V = query[i..][0..lanes].*;
                inline for (&ys, 0..) |*y, c| {
                    y.* = @mulAdd(V, q, block[c * len + i ..][0..lanes].*, y.*);
                }
            }
        },
        .single => inline for (&ys, 0..) |*y, c| {
            y.* = laneSums(f32, order, query, block[c * len ..][0..len]);
        },
    }
    return ggml_math.treeSums16(ys);
}

/// Key rows [first, first + 16) as f32, one after another, so a group's heads widen them once.
fn widenKeys(comptime K: type, block: []f32, keys: CacheRows(K), first: usize) void {
    const len = keys.len;
    for (0..lanes) |c| {
        const row = keys.row(first + c);
        var i: usize = 0; // len is a multiple of 16 (scoring in blocks needs whole steps)
        while (i < len) : (i += lanes) block[c * len + i ..][0..lanes].* = loadF32(K, row, i);
    }
}

/// Turns scores into probabilities in place (-inf, an invisible cell, becomes 0), as ggml's
/// soft_max: exponentials per 16 cells, each chunk summed by halves in f32, chunks in f64,
/// then multiplied by the f32 inverse of the sum. Returns false when no cell is visible (and
/// every probability is 0).
fn softmax(scores: []f32, comptime round_to_f16: bool) bool {
    const whole = scores.len - scores.len % lanes;
    var maxima: V = @splat(-std.math.inf(f32));
    var chunk: usize = 0;
    while (chunk < whole) : (chunk += lanes) {
        const values: V = scores[chunk..][0..lanes].*;
        maxima = @max(maxima, values);
    }
    var max = @reduce(.Max, maxima);
    for (scores[whole..]) |score| max = @max(max, score);
    if (max == -std.math.inf(f32)) {
        for (scores) |*score| score.* = 0;
        return false;
    }
    var sum: f64 = 0;
    chunk = 0;
    while (chunk < whole) : (chunk += lanes) {
        const values: V = scores[chunk..][0..lanes].*;
        const e = ggml_math.expVec(values - @as(V, @splat(max)));
        scores[chunk..][0..lanes].* = e;
        sum += ggml_math.treeSum(lanes, e);
    }
    if (whole < scores.len) {
        // Lanes past the end are -inf: e^-inf = 0 adds nothing, as in ggml's padded chunk.
        var shifted: [lanes]f32 = @splat(-std.math.inf(f32));
        for (shifted[0 .. scores.len - whole], scores[whole..]) |*x, score| x.* = score - max;
        const e: [lanes]f32 = ggml_math.expVec(shifted);
        @memcpy(scores[whole..], e[0 .. scores.len - whole]);
        sum += ggml_math.treeSum(lanes, e);
    }
    const inverse: f32 = @floatCast(1.0 / sum);
    chunk = 0;
    while (chunk < whole) : (chunk += lanes) {
        const values: V = scores[chunk..][0..lanes].*;
        const p = values * @as(V, @splat(inverse));
        scores[chunk..][0..lanes].* = if (round_to_f16) @as(@Vector(lanes, f16), @floatCast(p)) else p;
    }
    for (scores[whole..]) |*score| {
        const p = score.* * inverse;
        score.* = if (round_to_f16) @as(f16, @floatCast(p)) else p;
    }
    return true;
}

/// out_h = Σ_c p_h[c]·v[c] in `order` for each head h: cell c adds into accumulator slot
/// c % slots of its head (a vector over the value dims), the slots are reduced as the order's
/// lanes are.
fn valueSums(
    comptime Val: type,
    order: SumOrder,
    heads: usize,
    out: []f32,
    probabilities: []const f32,
    values: CacheRows(Val),
    accumulators: []f32,
) void {
    const len = values.len;
    const slot_count = order.slots();
    const cells = probabilities.len / heads;
    const per_head = valuesPerHead(len);
    // Slots from the first multiple of 16 past the cell count get no cell (strips); rows
    // fill one slot per cell up to the slot count.
    const used = if (len % lanes == 0)
        @min(slot_count, (cells + lanes - 1) / lanes * lanes)
    else
        @min(slot_count, cells);
    var h: usize = 0;
    while (h < heads) {
        const tile = @min(max_head_tile, heads - h);
        const acc = accumulators[h * per_head ..][0 .. tile * per_head];
        const p = probabilities[h * cells ..][0 .. tile * cells];
        if (len % lanes != 0) {
            for (0..tile) |t| {
                const head_acc = acc[t * per_head ..][0..per_head];
                valueRows(Val, slot_count, used, head_acc, p[t * cells ..][0..cells], values);
            }
        } else switch (tile) {
            inline 1...max_head_tile => |n| valueStrips(Val, n, slot_count, used, acc, p, values),
            else => unreachable,
        }
        h += tile;
    }
    for (0..heads) |head| {
        const slots: Slots = .{ .acc = accumulators[head * per_head ..], .len = len, .used = used };
        reduceValueSlots(order, out[head * len ..][0..len], slots);
    }
}

/// Heads whose value sums run together: each value row is loaded and widened once for them.
const max_head_tile = 4;

/// Fills the used slots of `heads` heads (accumulators and probabilities one head after
/// another), over up to 64 dims in registers: a cell's row is widened once for every head
/// of the tile, and each accumulator goes through memory only when its slot's sum is complete.
fn valueStrips(
    comptime Val: type,
    comptime heads: usize,
    slot_count: usize,
    used_slots: usize,
    accumulators: []f32,
    probabilities: []const f32,
    values: CacheRows(Val),
) void {
    const len = values.len;
    var d: usize = 0;
    while (d + strip_dims <= len) : (d += strip_dims) {
        const vectors = strip_dims / lanes;
        slotSums(
            Val,
            heads,
            vectors,
            slot_count,
            used_slots,
            accumulators,
            probabilities,
            values,
            d,
        );
    }
    while (d < len) : (d += lanes) {
        slotSums(Val, heads, 1, slot_count, used_slots, accumulators, probabilities, values, d);
    }
}

/// Dims one pass of `slotSums` keeps in registers per slot.
const strip_dims = 4 * lanes;

/// Dims [d, d + 16·vectors) of every used slot of `heads` heads: a lone head runs slots s and
/// s + 1 together (their sums are independent chains, enough to hide the fma latency), a tile
/// of heads one slot at a time; each slot over its cells s, s + slot_count, ... in order.
inline fn slotSums(
    comptime Val: type,
    comptime heads: usize,
    comptime vectors: usize,
    slot_count: usize,
    used_slots: usize,
    accumulators: []f32,
    probabilities: []const f32,
    values: CacheRows(Val),
    d: usize,
) void {
    const len = values.len;
    const per_head = valuesPerHead(len);
    const cells = probabilities.len / heads;
    const together = if (heads == 1) 2 else 1;
    var slot: usize = 0;
    while (slot < used_slots) : (slot += together) {
        var acc: [together][heads][vectors]V = @splat(@splat(@splat(@splat(0))));
        var c = slot;
        while (c < cells) : (c += slot_count) {
            inline for (&acc, 0..) |*slot_acc, pair| {
                const cell = c + pair;
                if (pair == 0 or cell < cells) {
                    const row = values.row(cell);
                    var widened: [vectors]V = undefined;
                    inline for (&widened, 0..) |*w, v| w.* = loadF32(Val, row, d + v * lanes);
                    inline for (slot_acc, 0..) |*head_acc, h| {
                        const p = probabilities[h * cells + cell];
                        // fma(0, v, a) = a; an empty cell's row may hold anything.
                        if (p != 0) {
                            inline for (head_acc, widened) |*a, w| {
                                a.* = @mulAdd(V, @splat(p), w, a.*);
                            }
                        }
                    }
                }
            }
        }
        inline for (acc, 0..) |slot_acc, pair| {
            if (pair == 0 or slot + pair < used_slots) {
                inline for (slot_acc, 0..) |head_acc, h| {
                    const base = h * per_head + (slot + pair) * len + d;
                    inline for (head_acc, 0..) |a, v| {
                        accumulators[base + v * lanes ..][0..lanes].* = a;
                    }
                }
            }
        }
    }
}

/// The slots row by row, for value lengths that are not whole vectors: the first cells fill
/// slots [0, used_slots = min(slot count, cells)), the rest are not written (they read as
/// zeros).
fn valueRows(
    comptime Val: type,
    slot_count: usize,
    used_slots: usize,
    accumulators: []f32,
    probabilities: []const f32,
    values: CacheRows(Val),
) void {
    const len = values.len;
    assert(used_slots == @min(slot_count, probabilities.len));
    for (probabilities[0..used_slots], 0..) |p, c| {
        firstProduct(Val, accumulators[c * len ..][0..len], p, values.row(c));
    }
    for (probabilities[used_slots..], used_slots..) |p, c| {
        if (p == 0) continue; // fma(0, v, a) = a
        axpy(Val, accumulators[(c % slot_count) * len ..][0..len], p, values.row(c));
    }
}

fn reduceValueSlots(order: SumOrder, out: []f32, slots: Slots) void {
    // Dims in vectors: lane l of the order's sum is a vector over 16 dims, and the halving
    // sum over l runs as whole-vector additions (the same additions per dim).
    const vector_dims = out.len - out.len % lanes;
    var d: usize = 0;
    while (d < vector_dims) : (d += lanes) {
        var y: [lanes]V = undefined;
        inline for (&y, 0..) |*lane, l| lane.* = switch (order) {
            .batched => slots.dims(l, d),
            .single => (slots.dims(l, d) + slots.dims(l + 2 * lanes, d)) +
                (slots.dims(l + lanes, d) + slots.dims(l + 3 * lanes, d)),
        };
        out[d..][0..lanes].* = halvingSumOfVectors(y);
    }
    for (out[vector_dims..], vector_dims..) |*o, dim| {
        var y: [lanes]f32 = undefined;
        for (&y, 0..) |*lane, l| lane.* = switch (order) {
            .batched => slots.at(l, dim),
            .single => (slots.at(l, dim) + slots.at(l + 2 * lanes, dim)) +
                (slots.at(l + lanes, dim) + slots.at(l + 3 * lanes, dim)),
        };
        o.* = ggml_math.treeSum(lanes, y);
    }
}

/// Value accumulators: slot s holds `len` f32 from `acc[s * len]`; slots from `used` on read
/// as zeros.
const Slots = struct {
    acc: []const f32,
    len: usize,
    used: usize,

    inline fn dims(s: Slots, slot: usize, d: usize) V {
        if (slot >= s.used) return @splat(0);
        return s.acc[slot * s.len + d ..][0..lanes].*;
    }

    inline fn at(s: Slots, slot: usize, d: usize) f32 {
        return if (slot < s.used) s.acc[slot * s.len + d] else 0;
    }
};

/// treeSum over the array index: y[i] + y[i + half], halving, as vectors.
inline fn halvingSumOfVectors(y: [lanes]V) V {
    var level = y;
    comptime var half = lanes / 2;
    inline while (half >= 1) : (half /= 2) {
        inline for (0..half) |i| level[i] = level[i] + level[i + half];
    }
    return level[0];
}

/// acc = fma(p, v, 0) (a slot's first cell), or 0 when p is 0, as the zeroed accumulator
/// and the skipped cell would leave it.
fn firstProduct(comptime T: type, acc: []f32, p: f32, v: []const T) void {
    assert(acc.len == v.len);
    const pv: V = @splat(p);
    const zero: V = @splat(0);
    const skip: @Vector(lanes, bool) = @splat(p == 0);
    var i: usize = 0;
    while (i + lanes <= acc.len) : (i += lanes) {
        acc[i..][0..lanes].* = @select(f32, skip, zero, @mulAdd(V, pv, loadF32(T, v, i), zero));
    }
    while (i < acc.len) : (i += 1) acc[i] = if (p == 0) 0 else @mulAdd(f32, p, toF32(T, v[i]), 0);
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
    attendGroup(K, Val, 1, out, q, keys, values, visibility, params, scratch);
}

/// Attention of `heads` query heads that share one KV head (grouped-query attention): each key
/// and value row is read once for all of them. `q` and `out` hold the heads one after another
/// ([heads][keys.len], [heads][values.len]); `scratch` comes from `Scratch.carve` for `heads`.
/// Per head the arithmetic is the same as alone.
///
/// Cells after the last one the token sees are skipped: they would add exact zeros to every
/// sum (e^-inf to the softmax's, p = 0 to the value sums'), so results are the same, and a
/// causal batch's token no longer scores the cells of the tokens after it (half the work of
/// a prefill's attention).
pub fn attendGroup(
    comptime K: type,
    comptime Val: type,
    heads: usize,
    out: []f32,
    q: []const f32,
    keys: CacheRows(K),
    values: CacheRows(Val),
    every_cell: Visibility,
    params: Params,
    scratch: Scratch,
) void {
    const visibility = every_cell.prefix(every_cell.visibleEnd());
    const cells = visibility.cell_positions.len;
    assert(heads > 0);
    assert(q.len == heads * keys.len and out.len == heads * values.len);
    assert(scratch.scores.len >= heads * cells and scratch.query.len >= heads * keys.len);
    assert(scratch.key_block.len >= lanes * keys.len);
    assert(scratch.values.len >= heads * valuesPerHead(values.len));
    const query_all = scratch.query[0 .. heads * keys.len];
    prepareQuery(K, query_all, q);
    const scores_all = scratch.scores[0 .. heads * cells];
    // Whole blocks of 16 cells score 16 dots at once when the dot has no f64 tail.
    const blocked = params.score_order.bodyLength(keys.len) == keys.len;
    const block_cells = if (blocked) cells - cells % lanes else 0;
    const block = scratch.key_block[0 .. lanes * keys.len];
    var first: usize = 0;
    while (first < block_cells) : (first += lanes) {
        widenKeys(K, block, keys, first);
        // Which of the 16 cells the token sees: the same for every head of the group.
        const seen = visibility.seesBlock(first);
        for (0..heads) |h| {
            const query = query_all[h * keys.len ..][0..keys.len];
            const raw = scoreBlock(params.score_order, query, block);
            const block_scores = scores_all[h * cells + first ..][0..lanes];
            const scaled = capAndScaleBlock(raw, params);
            block_scores.* = @select(f32, seen, scaled, @as(V, @splat(invisible)));
        }
    }
    for (block_cells..cells) |c| {
        const visible = visibility.sees(c);
        const row = keys.row(c);
        for (0..heads) |h| {
            const query = query_all[h * keys.len ..][0..keys.len];
            const raw = if (visible) orderedDot(K, params.score_order, query, row) else 0;
            scores_all[h * cells + c] = if (visible) capAndScale(raw, params) else invisible;
        }
    }
    // A head that sees no cell gets probabilities 0, so its output is 0.
    for (0..heads) |h| _ = softmax(scores_all[h * cells ..][0..cells], Val == f16);
    valueSums(Val, params.value_order, heads, out, scores_all, values, scratch.values);
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
    const scores = scratch.scores[0..cells];
    const query = scratch.query[0..q.len];
    prepareQuery(K, query, q);
    for (scores, 0..) |*score, c| {
        score.* = if (visibility.sees(c))
            capAndScale(dotGeneric(K, params.score_order, query, keys.row(c)), params)
        else
            invisible;
    }
    if (!softmaxGeneric(scores, Val == f16)) {
        @memset(out, 0);
        return;
    }
    const slot_count = params.value_order.slots();
    for (out, 0..) |*o, d| {
        var acc: [4 * lanes]f32 = @splat(0);
        for (scores, 0..) |p, c| {
            const slot = c % slot_count;
            acc[slot] = @mulAdd(f32, p, toF32(Val, values.row(c)[d]), acc[slot]);
        }
        o.* = reduceSlots(params.value_order, acc);
    }
}

/// `softmax` one cell at a time.
fn softmaxGeneric(scores: []f32, comptime round_to_f16: bool) bool {
    var max: f32 = -std.math.inf(f32);
    for (scores) |score| max = @max(max, score);
    if (max == -std.math.inf(f32)) return false;
    var sum: f64 = 0;
    var chunk: usize = 0;
    while (chunk < scores.len) : (chunk += lanes) {
        var e: [lanes]f32 = @splat(0);
        for (scores[chunk..@min(scores.len, chunk + lanes)], 0..) |*score, i| {
            score.* = ggml_math.expScalar(score.* - max);
            e[i] = score.*;
        }
        sum += ggml_math.treeSum(lanes, e);
    }
    const inverse: f32 = @floatCast(1.0 / sum);
    for (scores) |*score| {
        const p = score.* * inverse;
        score.* = if (round_to_f16) @as(f16, @floatCast(p)) else p;
    }
    return true;
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
    token_position: usize,
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
    const memory = try allocator.alloc(f32, Scratch.floats(1, cells, head_dim, head_dim));
    defer allocator.free(memory);
    const scratch = Scratch.carve(memory, 1, cells, head_dim, head_dim);
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
        .token_position = @intCast(token_position),
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
    // Tokens late and early in the cache: the early ones see none of the cells after them
    // (a causal batch's first tokens), which the SIMD path skips and the generic one scores.
    for ([_]usize{ 8, 64, 80, 130 }) |head_dim| {
        for ([_]usize{ 35, 20, 0 }) |token| {
            try checkAgainstGeneric(f16, head_dim, 37, 0, 0, .single, token);
            try checkAgainstGeneric(f32, head_dim, 37, 0, 0, .single, token);
        }
        for ([_]usize{ 98, 70, 33, 3 }) |token| {
            try checkAgainstGeneric(f16, head_dim, 100, 5, 50, .single, token);
            try checkAgainstGeneric(f16, head_dim, 100, 0, 0, .single, token);
        }
    }
    for ([_]usize{ 16, 64, 80, 160 }) |head_dim| {
        for ([_]usize{ 35, 17, 0 }) |token| {
            try checkAgainstGeneric(f16, head_dim, 37, 0, 0, .batched, token);
        }
        for ([_]usize{ 98, 70, 33, 3 }) |token| {
            try checkAgainstGeneric(f16, head_dim, 100, 5, 50, .batched, token);
        }
    }
}

test "attendGroup() equals attendHead() per head, bit for bit" {
    // 72 dims: the row-by-row value sums; 64: the strips, heads in tiles of 4 (7 = 4 + 3).
    try checkGroupAgainstHeads(72, 3, .single, .batched, 30);
    try checkGroupAgainstHeads(64, 7, .batched, .batched, 0);
    try checkGroupAgainstHeads(64, 5, .single, .single, 0);
    try checkGroupAgainstHeads(64, 1, .batched, .batched, 0);
}

fn checkGroupAgainstHeads(
    comptime head_dim: usize,
    comptime heads: usize,
    score_order: SumOrder,
    value_order: SumOrder,
    softcap: f32,
) !void {
    const allocator = testing.allocator;
    const cells = 41;
    const keys = try testCache(f16, allocator, cells * head_dim, 4);
    defer allocator.free(keys);
    const values = try testCache(f32, allocator, cells * head_dim, 5);
    defer allocator.free(values);
    var positions: [cells]i32 = undefined;
    var masks: [cells]i32 = undefined;
    for (&positions, &masks, 0..) |*p, *m, c| {
        p.* = @intCast(c);
        m.* = if (c % 4 == 3) 0b10 else 0b01;
        // Another sequence's cell: its probability is 0 and its row may hold anything.
        if (c % 4 == 3) @memset(values[c * head_dim ..][0..head_dim], std.math.nan(f32));
    }
    var q: [heads * head_dim]f32 = undefined;
    var prng = std.Random.DefaultPrng.init(9);
    for (&q) |*v| v.* = prng.random().floatNorm(f32);
    const k_rows: CacheRows(f16) = .{ .base = keys.ptr, .stride = head_dim, .len = head_dim };
    const v_rows: CacheRows(f32) = .{ .base = values.ptr, .stride = head_dim, .len = head_dim };
    const params: Params = .{
        .scale = 0.125,
        .softcap = softcap,
        .score_order = score_order,
        .value_order = value_order,
    };
    var group_memory: [Scratch.floats(heads, cells, head_dim, head_dim)]f32 = undefined;
    var head_memory: [Scratch.floats(1, cells, head_dim, head_dim)]f32 = undefined;
    for ([_]i32{ 0, 7 }) |window| {
        const vis: Visibility = .{
            .token_position = cells - 3,
            .token_mask = 0b01,
            .cell_positions = &positions,
            .cell_masks = &masks,
            .window = window,
        };
        var grouped: [heads * head_dim]f32 = undefined;
        const group_scratch = Scratch.carve(&group_memory, heads, cells, head_dim, head_dim);
        attendGroup(f16, f32, heads, &grouped, &q, k_rows, v_rows, vis, params, group_scratch);
        for (0..heads) |h| {
            var single: [head_dim]f32 = undefined;
            const scratch = Scratch.carve(&head_memory, 1, cells, head_dim, head_dim);
            const q_head = q[h * head_dim ..][0..head_dim];
            attendHead(f16, f32, &single, q_head, k_rows, v_rows, vis, params, scratch);
            try testing.expectEqualSlices(f32, &single, grouped[h * head_dim ..][0..head_dim]);
            for (single) |v| try testing.expect(!std.math.isNan(v));
        }
    }
}

test "attendHead() over one visible cell returns that cell's value" {
    const keys = [_]f32{ 1, 0, 5, 5 };
    const values = [_]f32{ 2, 3, 9, 9 };
    const positions = [_]i32{ 0, 1 };
    const masks = [_]i32{ 1, 2 }; // the second cell belongs to another sequence
    var memory: [Scratch.floats(1, 2, 2, 2)]f32 = undefined;
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
    const scratch = Scratch.carve(&memory, 1, 2, 2, 2);
    const params: Params = .{
        .scale = 1,
        .softcap = 0,
        .score_order = .single,
        .value_order = .single,
    };
    attendHead(f32, f32, &out, &.{ 1, 1 }, k_rows, v_rows, visibility, params, scratch);
    try testing.expectEqualSlices(f32, &.{ 2, 3 }, &out);
}

test "Visibility.visibleEnd() is one past the last cell sees() accepts" {
    var prng = std.Random.DefaultPrng.init(3);
    const random = prng.random();
    var positions: [70]i32 = undefined;
    var masks: [70]i32 = undefined;
    for (0..300) |_| {
        const count = random.uintLessThan(usize, positions.len + 1);
        for (positions[0..count], masks[0..count]) |*p, *m| {
            p.* = random.intRangeAtMost(i32, -1, 80);
            m.* = random.intRangeAtMost(i32, 0, 3);
        }
        const v: Visibility = .{
            .token_position = random.intRangeAtMost(i32, 0, 80),
            .token_mask = random.intRangeAtMost(i32, 1, 3),
            .cell_positions = positions[0..count],
            .cell_masks = masks[0..count],
            .window = random.intRangeAtMost(i32, 0, 20),
        };
        var expected = count;
        while (expected > 0 and !v.sees(expected - 1)) expected -= 1;
        try testing.expectEqual(expected, v.visibleEnd());
    }
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
