//! Attention on one thread with Llama-3.2-1B's heads (32 query heads over 8 KV heads of 64
//! dims, F16 cache): decode-shaped (one token, µs per layer by cells scanned) and
//! prefill-shaped (a causal batch, ms per layer). Not part of the test suite; run it alone:
//!
//!   python3 -m ziglang test zig/src/attention_bench.zig -O ReleaseFast \
//!     -mcpu=x86_64_v4+avx512vnni+avx512vbmi -fllvm

const std = @import("std");
const linux = std.os.linux;
const attention = @import("ops/attention.zig");

const heads = 32;
const kv_heads = 8;
const head_dim = 64;
const group = heads / kv_heads;

fn nowNs() u64 {
    var ts: linux.timespec = undefined;
    _ = linux.clock_gettime(.MONOTONIC, &ts);
    return @as(u64, @intCast(ts.sec)) * std.time.ns_per_s + @as(u64, @intCast(ts.nsec));
}

/// One layer's attention for one token: every KV head's group of query heads.
fn layer(
    cells: usize,
    keys: []const f16,
    values: []const f16,
    q: []const f32,
    out: []f32,
    visibility: attention.Visibility,
    scratch: []f32,
    order: attention.SumOrder,
) void {
    const params: attention.Params = .{
        .scale = 0.125,
        .softcap = 0,
        .score_order = order,
        .value_order = order,
    };
    for (0..kv_heads) |kv_head| {
        const key_rows: attention.CacheRows(f16) = .{
            .base = keys.ptr + kv_head * head_dim,
            .stride = kv_heads * head_dim,
            .len = head_dim,
        };
        const value_rows: attention.CacheRows(f16) = .{
            .base = values.ptr + kv_head * head_dim,
            .stride = kv_heads * head_dim,
            .len = head_dim,
        };
        const s = attention.Scratch.carve(scratch, group, cells, head_dim, head_dim);
        const first = kv_head * group;
        attention.attendGroup(
            f16,
            f16,
            group,
            out[first * head_dim ..][0 .. group * head_dim],
            q[first * head_dim ..][0 .. group * head_dim],
            key_rows,
            value_rows,
            visibility,
            params,
            s,
        );
    }
}

/// A random F16 cache of `cells` cells for every KV head, the cells at positions 0, 1, ... of
/// sequence 1.
const Cache = struct {
    keys: []f16,
    values: []f16,
    positions: []i32,
    masks: []i32,

    fn init(allocator: std.mem.Allocator, random: std.Random, cells: usize) !Cache {
        const keys = try allocator.alloc(f16, cells * kv_heads * head_dim);
        const values = try allocator.alloc(f16, cells * kv_heads * head_dim);
        for (keys, values) |*k, *v| {
            k.* = @floatCast(random.floatNorm(f32));
            v.* = @floatCast(random.floatNorm(f32));
        }
        const positions = try allocator.alloc(i32, cells);
        const masks = try allocator.alloc(i32, cells);
        for (positions, masks, 0..) |*p, *m, c| {
            p.* = @intCast(c);
            m.* = 1;
        }
        return .{ .keys = keys, .values = values, .positions = positions, .masks = masks };
    }

    fn deinit(cache: Cache, allocator: std.mem.Allocator) void {
        allocator.free(cache.keys);
        allocator.free(cache.values);
        allocator.free(cache.positions);
        allocator.free(cache.masks);
    }
};

test "decode attention, one thread, µs per layer" {
    const allocator = std.heap.page_allocator;
    var prng = std.Random.DefaultPrng.init(7);
    const random = prng.random();
    inline for ([_]usize{ 16, 64, 512, 1536 }) |cells| {
        const cache = try Cache.init(allocator, random, cells);
        defer cache.deinit(allocator);
        var q: [heads * head_dim]f32 = undefined;
        for (&q) |*v| v.* = random.floatNorm(f32);
        var out: [heads * head_dim]f32 = undefined;
        const scratch = try allocator.alloc(
            f32,
            attention.Scratch.floats(group, cells, head_dim, head_dim),
        );
        defer allocator.free(scratch);
        const visibility: attention.Visibility = .{
            .token_position = @intCast(cells - 1),
            .token_mask = 1,
            .cell_positions = cache.positions,
            .cell_masks = cache.masks,
            .window = 0,
        };
        const rounds = 200;
        var best_ns: u64 = std.math.maxInt(u64);
        for (0..5) |_| {
            const start = nowNs();
            for (0..rounds) |_| {
                layer(cells, cache.keys, cache.values, &q, &out, visibility, scratch, .single);
                std.mem.doNotOptimizeAway(&out);
            }
            best_ns = @min(best_ns, (nowNs() - start) / rounds);
        }
        std.debug.print("\n{d} cells: {d:.1} µs per layer", .{
            cells,
            @as(f64, @floatFromInt(best_ns)) / 1000,
        });
    }
    std.debug.print("\n", .{});
}

test "prefill attention, one thread, ms per layer" {
    const allocator = std.heap.page_allocator;
    var prng = std.Random.DefaultPrng.init(7);
    const random = prng.random();
    inline for ([_]usize{ 128, 512 }) |tokens| {
        const cache = try Cache.init(allocator, random, tokens);
        defer cache.deinit(allocator);
        const q = try allocator.alloc(f32, tokens * heads * head_dim);
        defer allocator.free(q);
        for (q) |*v| v.* = random.floatNorm(f32);
        var out: [heads * head_dim]f32 = undefined;
        const scratch = try allocator.alloc(
            f32,
            attention.Scratch.floats(group, tokens, head_dim, head_dim),
        );
        defer allocator.free(scratch);
        var best_ns: u64 = std.math.maxInt(u64);
        for (0..5) |_| {
            const start = nowNs();
            for (0..tokens) |t| {
                const visibility: attention.Visibility = .{
                    .token_position = @intCast(t),
                    .token_mask = 1,
                    .cell_positions = cache.positions,
                    .cell_masks = cache.masks,
                    .window = 0,
                };
                const token_q = q[t * heads * head_dim ..][0 .. heads * head_dim];
                layer(tokens, cache.keys, cache.values, token_q, &out, visibility, scratch, .batched);
                std.mem.doNotOptimizeAway(&out);
            }
            best_ns = @min(best_ns, nowNs() - start);
        }
        std.debug.print("\n{d} tokens: {d:.2} ms per layer", .{
            tokens,
            @as(f64, @floatFromInt(best_ns)) / 1e6,
        });
    }
    std.debug.print("\n", .{});
}
