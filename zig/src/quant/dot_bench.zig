//! Throughput of the dot kernels, SIMD and scalar, per type: weight bytes read per second for
//! a matrix in cache (~256 KiB) and one far out of cache (~64 MiB), one thread. Not part of the
//! test suite; run it alone on a quiet machine:
//!
//!   python3 -m ziglang test zig/src/quant/dot_bench.zig -O ReleaseFast -mcpu=x86_64_v3
//!
//! (`-mcpu=x86_64_v4` for 512-bit code, `-mcpu=x86_64` for the baseline.)

const std = @import("std");
const linux = std.os.linux;
const traits_mod = @import("traits.zig");
const QuantType = traits_mod.QuantType;
const traits = traits_mod.traits;

const row_values = 4096;

fn nowNs() u64 {
    var ts: linux.timespec = undefined;
    _ = linux.clock_gettime(.MONOTONIC, &ts);
    return @as(u64, @intCast(ts.sec)) * std.time.ns_per_s + @as(u64, @intCast(ts.nsec));
}

/// Best of `repeats` passes over all rows, in GB/s of weight bytes.
fn measure(dot: traits_mod.DotFn, weights: []const u8, row_bytes: usize, act: []const u8) f64 {
    const rows = weights.len / row_bytes;
    var best_ns: u64 = std.math.maxInt(u64);
    var sink: f32 = 0;
    const repeats: usize = if (weights.len > 1 << 20) 5 else 200;
    for (0..repeats) |_| {
        const start = nowNs();
        for (0..rows) |r| sink += dot(row_values, weights[r * row_bytes ..][0..row_bytes], act);
        best_ns = @min(best_ns, nowNs() - start);
    }
    std.mem.doNotOptimizeAway(sink);
    return @as(f64, @floatFromInt(weights.len)) / @as(f64, @floatFromInt(best_ns));
}

test "dot throughput" {
    const types = [_]QuantType{
        .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_k, .q3_k,
        .q4_k, .q5_k, .q6_k, .f16,  .bf16, .f32,
    };
    const allocator = std.heap.page_allocator;
    var prng = std.Random.DefaultPrng.init(7);
    const values = try allocator.alloc(f32, row_values);
    defer allocator.free(values);
    for (values) |*v| v.* = prng.random().floatNorm(f32);
    std.debug.print("\ntype   | in-cache SIMD | scalar | out-of-cache SIMD | scalar", .{});
    std.debug.print("  (GB/s of weights)\n", .{});
    for (types) |quant_type| {
        const t = traits(quant_type);
        const act_traits = traits(t.vec_dot_type);
        const row_bytes = t.rowBytes(row_values);
        const act = try allocator.alloc(u8, act_traits.rowBytes(row_values));
        defer allocator.free(act);
        act_traits.quantize_row(values, act);
        var results: [4]f64 = undefined;
        for ([_]usize{ 256 << 10, 64 << 20 }, 0..) |target_bytes, size_index| {
            const rows = @max(1, target_bytes / row_bytes);
            const weights = try allocator.alloc(u8, rows * row_bytes);
            defer allocator.free(weights);
            for (0..rows) |r| t.quantize_row(values, weights[r * row_bytes ..][0..row_bytes]);
            results[2 * size_index] = measure(t.dot.?, weights, row_bytes, act);
            results[2 * size_index + 1] = measure(t.dot_generic.?, weights, row_bytes, act);
        }
        std.debug.print("{s:<6} | {d:>13.1} | {d:>6.1} | {d:>17.1} | {d:>6.1}\n", .{
            t.name, results[0], results[1], results[2], results[3],
        });
    }
}
