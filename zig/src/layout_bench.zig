//! Decode-shaped matrix-vector throughput by weight layout, 2 threads: ~1 GiB of weights
//! (rows of 2048 values) against one activation row, in GB/s of weights read, beside the
//! read-only stream of the same memory. Not part of the test suite; run it alone on a quiet
//! machine:
//!
//!   python3 -m ziglang test zig/src/layout_bench.zig -O ReleaseFast \
//!     -mcpu=x86_64_v4+avx512vnni+avx512vbmi -fllvm
//!
//! (`-mcpu=znver4` dies here with SIGILL: the VM does not offer every Zen 4 feature.)
//!
//! Layouts: the file's rows in 4 KiB pages (how a mapped file is read), the same rows in
//! transparent huge pages, four separate rows per kernel call, rows interleaved four by
//! four (quant/layout.zig) in huge pages, and sixteen rows with lanes = rows (rows16, through
//! MUL_MAT's driver; AVX-512 VNNI only). A second test runs the rows16 kernels on one thread
//! over 72 KiB of weights in cache: their compute ceiling, without memory in the way.
//! A third runs them through MUL_MAT on a batch of 64 tokens over 256 rows (prefill's
//! kernels, weights in L2), in GMAC/s: on a Xeon with AMX (its AVX-512 kernels here) Q4_0 159,
//! Q4_1 82, Q5_0 54, Q8_0 78, Q4_K 124, Q5_K 74, Q6_K 56 one token at a time, 74 two at a time.
//!
//! Measured here (stream 34.6 GB/s): Q4_0 17.5, 22.9, 12.6, 30.2; Q8_0 31.5, 33.6, 19.1,
//! 33.4; Q4_K row by row 18.1 / 18.6 (it is compute-bound). On a busier day (stream 28.8):
//! rows16 Q4_0 20.0, Q4_K 23.9, Q6_K 23.3; in cache, one thread: Q4_0 37.5 GB/s with the
//! block constants computed per group, 52-54 with them prepared once per token.

const std = @import("std");
const linux = std.os.linux;
const traits_mod = @import("quant/traits.zig");
const layout = @import("quant/layout.zig");
const bandwidth = @import("bandwidth.zig");
const mul_mat = @import("ops/mul_mat.zig");
const quant = @import("quant/mod.zig");

const k = 2048;
/// Bytes of each matrix: well past the last-level cache (260 MiB on some hosts here: at 256 MiB
/// part of the matrix came from L3 and rows16 Q4_0 read at 0.91-0.95 of the stream, at 1 GiB
/// it reads at 0.86-0.89, what the engine's kernels reach on the 1B model).
const target_bytes = 1024 << 20;
const passes = 4;

const Mode = enum { row, rows4_separate, rows4_interleaved, rows16 };

const Job = struct {
    quant_type: traits_mod.QuantType,
    t: *const traits_mod.Traits,
    mode: Mode,
    weights: []const u8,
    x: []const u8,
    out: []f32,
    /// Activation rows in `x` (`out` holds tokens × rows results).
    tokens: usize = 1,
};

fn nowNs() u64 {
    var ts: linux.timespec = undefined;
    _ = linux.clock_gettime(.MONOTONIC, &ts);
    return @as(u64, @intCast(ts.sec)) * std.time.ns_per_s + @as(u64, @intCast(ts.nsec));
}

/// Anonymous memory, advised for huge pages or against them.
fn mapAnonymous(len: usize, huge: bool) []u8 {
    const length = std.mem.alignForward(usize, len, 2 << 20);
    const protection: linux.PROT = .{ .READ = true, .WRITE = true };
    const rc = linux.mmap(null, length, protection, .{ .TYPE = .PRIVATE, .ANONYMOUS = true }, -1, 0);
    std.debug.assert(linux.errno(rc) == .SUCCESS);
    const memory: [*]u8 = @ptrFromInt(rc);
    _ = linux.madvise(memory, length, if (huge) linux.MADV.HUGEPAGE else linux.MADV.NOHUGEPAGE);
    return memory[0..len];
}

fn rowsOf(job: *const Job, row: usize) layout.Rows4 {
    const row_bytes = job.t.rowBytes(k);
    if (job.mode == .rows4_interleaved) {
        return layout.Rows4.interleaved(job.weights[row * row_bytes ..].ptr, job.t.bytes_per_block);
    }
    var rows: [4][]const u8 = undefined;
    for (&rows, row..) |*slot, r| slot.* = job.weights[r * row_bytes ..][0..row_bytes];
    return layout.Rows4.separate(rows, job.t.bytes_per_block);
}

fn worker(job: *const Job, half: usize) void {
    const row_bytes = job.t.rowBytes(k);
    const rows = job.out.len / 2;
    const begin = half * rows;
    for (0..passes) |_| {
        if (job.mode == .rows16) {
            mulMatRows16(job, begin, begin + rows);
            continue;
        }
        var r = begin;
        while (r < begin + rows) {
            if (job.mode == .row) {
                job.out[r] = job.t.dot.?(k, job.weights[r * row_bytes ..][0..row_bytes], job.x);
                r += 1;
            } else {
                job.out[r..][0..4].* = job.t.dot_rows4.?(k, rowsOf(job, r), job.x);
                r += 4;
            }
        }
    }
}

fn mulMatRows16(job: *const Job, begin: usize, end: usize) void {
    mul_mat.mulMatRows(.{
        .weight_type = job.quant_type,
        .weight_layout = .rows16,
        .k = k,
        .rows = job.out.len / job.tokens,
        .n = job.tokens,
        .weights = job.weights,
        .activations = job.x,
        .dst = job.out,
    }, begin, end);
}

/// Best of three runs of both halves on two threads, GB/s.
fn measure(job: *const Job) !f64 {
    var best: f64 = 0;
    for (0..3) |_| {
        const start = nowNs();
        const thread = try std.Thread.spawn(.{}, worker, .{ job, 1 });
        worker(job, 0);
        thread.join();
        const bytes: f64 = @floatFromInt(job.out.len * job.t.rowBytes(k) * passes);
        best = @max(best, bytes / @as(f64, @floatFromInt(nowNs() - start)));
    }
    return best;
}

test "matrix-vector throughput by layout" {
    var prng = std.Random.DefaultPrng.init(3);
    var values: [k]f32 = undefined;
    for ([_]traits_mod.QuantType{ .q4_0, .q8_0, .q4_k, .q6_k }) |quant_type| {
        const t = traits_mod.traits(quant_type);
        const row_bytes = t.rowBytes(k);
        const rows = target_bytes / row_bytes / 32 * 32;
        const plain = mapAnonymous(rows * row_bytes, false);
        // 64 distinct rows, repeated: the values do not matter for speed.
        for (0..rows) |r| {
            const row = plain[r * row_bytes ..][0..row_bytes];
            if (r < 64) {
                for (&values) |*v| v.* = prng.random().floatNorm(f32);
                t.quantize_row(&values, row);
            } else @memcpy(row, plain[(r % 64) * row_bytes ..][0..row_bytes]);
        }
        const huge = mapAnonymous(plain.len, true);
        @memcpy(huge, plain);
        const act = traits_mod.traits(t.vec_dot_type);
        var x_bytes: [k * 2]u8 = undefined;
        for (&values) |*v| v.* = prng.random().floatNorm(f32);
        const x = x_bytes[0..act.rowBytes(k)];
        act.quantize_activation_row(&values, x);
        const out = try std.heap.page_allocator.alloc(f32, rows);
        defer std.heap.page_allocator.free(out);
        var job: Job = .{
            .quant_type = quant_type,
            .t = t,
            .mode = .row,
            .weights = plain,
            .x = x,
            .out = out,
        };
        const stream = try bandwidth.readGbps(huge, 2, 5);
        const row_plain = try measure(&job);
        job.weights = huge;
        const row_huge = try measure(&job);
        std.debug.print("\n{s}: stream {d:.1} | rows, 4 KiB pages {d:.1} | huge pages {d:.1}", .{
            t.name, stream, row_plain, row_huge,
        });
        if (t.dot_rows4 != null) {
            job.mode = .rows4_separate;
            const separate = try measure(&job);
            const interleaved = mapAnonymous(plain.len, true);
            layout.interleaveRows4(t.bytes_per_block, k / t.block_size, rows, plain, interleaved);
            job.mode = .rows4_interleaved;
            job.weights = interleaved;
            const grouped = try measure(&job);
            std.debug.print(" | 4 separate rows {d:.1} | rows4 interleaved {d:.1}", .{
                separate, grouped,
            });
        }
        if (mul_mat.supportsLayout(quant_type, .rows16)) {
            const grouped = mapAnonymous(plain.len, true);
            const blocks_per_row = k / t.block_size;
            quant.interleaveRows16(quant_type, blocks_per_row, rows, plain, grouped);
            job.mode = .rows16;
            job.weights = grouped;
            std.debug.print(" | rows16 lanes = rows {d:.1}", .{try measure(&job)});
        }
        std.debug.print(" GB/s\n", .{});
    }
}

/// `rows` random rows of `k` values quantized to `quant_type`, in the rows16 layout.
fn randomRows16(
    prng: *std.Random.DefaultPrng,
    quant_type: traits_mod.QuantType,
    rows: usize,
) ![]u8 {
    const t = traits_mod.traits(quant_type);
    var values: [k]f32 = undefined;
    const plain = try std.heap.page_allocator.alloc(u8, rows * t.rowBytes(k));
    defer std.heap.page_allocator.free(plain);
    for (0..rows) |r| {
        for (&values) |*v| v.* = prng.random().floatNorm(f32);
        t.quantize_row(&values, plain[r * t.rowBytes(k) ..][0..t.rowBytes(k)]);
    }
    const grouped = try std.heap.page_allocator.alloc(u8, plain.len);
    quant.interleaveRows16(quant_type, k / t.block_size, rows, plain, grouped);
    return grouped;
}

/// Best of five: ns per MUL_MAT over `rows` random rows16 rows of `quant_type` against
/// `tokens` random activation rows, run `runs` times back to back (one thread, in cache).
fn rows16NsPerRun(
    prng: *std.Random.DefaultPrng,
    quant_type: traits_mod.QuantType,
    rows: usize,
    tokens: usize,
    runs: usize,
) !f64 {
    const allocator = std.heap.page_allocator;
    const t = traits_mod.traits(quant_type);
    const grouped = try randomRows16(prng, quant_type, rows);
    defer allocator.free(grouped);
    const act = traits_mod.traits(t.vec_dot_type);
    const x = try allocator.alloc(u8, tokens * act.rowBytes(k));
    defer allocator.free(x);
    var values: [k]f32 = undefined;
    for (0..tokens) |i| {
        for (&values) |*v| v.* = prng.random().floatNorm(f32);
        act.quantize_activation_row(&values, x[i * act.rowBytes(k) ..][0..act.rowBytes(k)]);
    }
    const out = try allocator.alloc(f32, rows * tokens);
    defer allocator.free(out);
    const job: Job = .{
        .quant_type = quant_type,
        .t = t,
        .mode = .rows16,
        .weights = grouped,
        .x = x,
        .out = out,
        .tokens = tokens,
    };
    var best: f64 = std.math.inf(f64);
    for (0..5) |_| {
        const start = nowNs();
        for (0..runs) |_| {
            mulMatRows16(&job, 0, rows);
            std.mem.doNotOptimizeAway(out.ptr);
        }
        const ns: f64 = @floatFromInt(nowNs() - start);
        best = @min(best, ns / @as(f64, @floatFromInt(runs)));
    }
    return best;
}

const rows16_types = [_]traits_mod.QuantType{ .q4_0, .q4_1, .q5_0, .q8_0, .q4_k, .q5_k, .q6_k };

test "rows16 kernels in cache, one thread (compute ceiling)" {
    var prng = std.Random.DefaultPrng.init(4);
    const rows = 64;
    for (rows16_types) |quant_type| {
        if (!mul_mat.supportsLayout(quant_type, .rows16)) continue;
        const t = traits_mod.traits(quant_type);
        const ns = try rows16NsPerRun(&prng, quant_type, rows, 1, 2000);
        const bytes: f64 = @floatFromInt(rows * t.rowBytes(k));
        std.debug.print("\n{s} rows16 in cache: {d:.1} GB/s", .{ t.name, bytes / ns });
    }
    std.debug.print("\n", .{});
}

test "rows16 kernels in cache, one thread, a batch of tokens (prefill's compute ceiling)" {
    var prng = std.Random.DefaultPrng.init(5);
    // Enough rows that a pass's per-token preparation is spread as in a real matrix.
    const rows = 256;
    const tokens = 64;
    for (rows16_types) |quant_type| {
        if (!mul_mat.supportsLayout(quant_type, .rows16)) continue;
        const t = traits_mod.traits(quant_type);
        const ns = try rows16NsPerRun(&prng, quant_type, rows, tokens, 12);
        const macs: f64 = @floatFromInt(rows * k * tokens);
        const line = "\n{s} rows16 in cache, {d} tokens: {d:.1} GMAC/s";
        std.debug.print(line, .{ t.name, tokens, macs / ns });
    }
    std.debug.print("\n", .{});
}
