//! Decode-shaped matrix-vector throughput by weight layout, 2 threads: ~256 MiB of weights
//! (rows of 2048 values) against one activation row, in GB/s of weights read, beside the
//! read-only stream of the same memory. Not part of the test suite; run it alone on a quiet
//! machine:
//!
//!   python3 -m ziglang test zig/src/layout_bench.zig -O ReleaseFast -mcpu=znver4 -fllvm
//!
//! Layouts: the file's rows in 4 KiB pages (how a mapped file is read), the same rows in
//! transparent huge pages, four separate rows per kernel call, and rows interleaved four by
//! four (quant/layout.zig) in huge pages. Measured here (stream 34.6 GB/s): Q4_0 17.5, 22.9,
//! 12.6, 30.2; Q8_0 31.5, 33.6, 19.1, 33.4; Q4_K row by row 18.1 / 18.6 (it is compute-bound).

const std = @import("std");
const linux = std.os.linux;
const traits_mod = @import("quant/traits.zig");
const layout = @import("quant/layout.zig");
const bandwidth = @import("bandwidth.zig");

const k = 2048;
const target_bytes = 256 << 20;
const passes = 4;

const Mode = enum { row, rows4_separate, rows4_interleaved };

const Job = struct {
    t: *const traits_mod.Traits,
    mode: Mode,
    weights: []const u8,
    x: []const u8,
    out: []f32,
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
        const rows = target_bytes / row_bytes / 8 * 8;
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
        var job: Job = .{ .t = t, .mode = .row, .weights = plain, .x = x, .out = out };
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
        std.debug.print(" GB/s\n", .{});
    }
}
