//! STREAM-like read bandwidth: `thread_count` threads each sum their own contiguous slice of
//! a buffer with wide vector loads, `pass_count` times, meeting at a spin barrier before and
//! after every pass. The best pass gives the figure (as STREAM reports its best trial): the
//! decode ceiling of a memory-bound model is bytes of weights ÷ this bandwidth.
//!
//! Threads are spawned per measurement (a measurement lasts tens of milliseconds or more, so
//! the spawn cost, outside the timed region, does not matter). The buffer is either the
//! caller's (e.g. a mapped model) or allocated here: anonymous memory, advised for transparent
//! huge pages and filled before timing, which is how weights repacked at load would sit.

const std = @import("std");
const linux = std.os.linux;
const assert = std.debug.assert;

/// Most threads one measurement runs.
pub const threads_max: u32 = 64;
/// Most passes one measurement runs.
pub const passes_max: u32 = 1000;

/// Bytes summed per loop step by each thread: four 64-byte vectors.
const step_bytes: usize = 256;
const Lane = @Vector(8, u64);

pub const Error = error{ OutOfMemory, SystemResources };

/// Best read bandwidth over `pass_count` passes of `thread_count` threads over `bytes`,
/// in GB/s (10^9 bytes per second).
pub fn readGbps(bytes: []const u8, thread_count: u32, pass_count: u32) Error!f64 {
    assert(thread_count >= 1 and thread_count <= threads_max);
    assert(pass_count >= 1 and pass_count <= passes_max);
    assert(bytes.len >= step_bytes * thread_count);
    var shared: Shared = .{
        .bytes = bytes,
        .thread_count = thread_count,
        .pass_count = pass_count,
    };
    var threads: [threads_max]std.Thread = undefined;
    var spawned: u32 = 0;
    defer for (threads[0..spawned]) |thread| thread.join();
    errdefer shared.abort.store(true, .release);
    while (spawned + 1 < thread_count) : (spawned += 1) {
        const config: std.Thread.SpawnConfig = .{ .stack_size = 1 << 20 };
        threads[spawned] = std.Thread.spawn(config, worker, .{ &shared, spawned + 1 }) catch
            return error.SystemResources;
    }
    worker(&shared, 0);
    assert(shared.best_ns > 0);
    const total_bytes: f64 = @floatFromInt(shared.sliceBytes() * thread_count);
    return total_bytes / @as(f64, @floatFromInt(shared.best_ns));
}

/// `readGbps` over a buffer of `byte_length` bytes allocated here (huge-page advised, filled).
pub fn readGbpsOwned(byte_length: usize, thread_count: u32, pass_count: u32) Error!f64 {
    const length = std.mem.alignForward(usize, byte_length, 2 << 20);
    const protection: linux.PROT = .{ .READ = true, .WRITE = true };
    const flags: linux.MAP = .{ .TYPE = .PRIVATE, .ANONYMOUS = true };
    const result = linux.mmap(null, length, protection, flags, -1, 0);
    if (linux.errno(result) != .SUCCESS) return error.OutOfMemory;
    const memory: [*]u8 = @ptrFromInt(result);
    defer _ = linux.munmap(memory, length);
    _ = linux.madvise(memory, length, linux.MADV.HUGEPAGE);
    @memset(memory[0..length], 0x5a);
    return readGbps(memory[0..byte_length], thread_count, pass_count);
}

const Shared = struct {
    bytes: []const u8,
    thread_count: u32,
    pass_count: u32,
    /// Threads arrived at the barrier of the current generation.
    arrived: std.atomic.Value(u32) = .init(0),
    generation: std.atomic.Value(u32) = .init(0),
    abort: std.atomic.Value(bool) = .init(false),
    /// Sums of every thread, kept so the loads are not optimised away.
    sink: std.atomic.Value(u64) = .init(0),
    /// Written by thread 0 only.
    best_ns: u64 = std.math.maxInt(u64),

    fn sliceBytes(shared: *const Shared) usize {
        const per_thread = shared.bytes.len / shared.thread_count;
        return per_thread - per_thread % step_bytes;
    }

    /// Returns false when the measurement was aborted (a thread failed to spawn).
    fn barrier(shared: *Shared) bool {
        const generation = shared.generation.load(.acquire);
        if (shared.arrived.fetchAdd(1, .acq_rel) + 1 == shared.thread_count) {
            shared.arrived.store(0, .monotonic);
            shared.generation.store(generation +% 1, .release);
            return true;
        }
        while (shared.generation.load(.acquire) == generation) {
            if (shared.abort.load(.acquire)) return false;
            std.atomic.spinLoopHint();
        }
        return true;
    }
};

fn worker(shared: *Shared, index: u32) void {
    const slice_bytes = shared.sliceBytes();
    const slice = shared.bytes[index * slice_bytes ..][0..slice_bytes];
    var sum: u64 = 0;
    for (0..shared.pass_count) |_| {
        if (!shared.barrier()) return;
        const start_ns = nowNs();
        sum +%= sumSlice(slice);
        if (!shared.barrier()) return;
        if (index == 0) shared.best_ns = @min(shared.best_ns, @max(1, nowNs() - start_ns));
    }
    _ = shared.sink.fetchAdd(sum, .monotonic);
}

/// Sums `slice` as u64 lanes, four independent vector accumulators (`slice.len` is a multiple
/// of `step_bytes`).
fn sumSlice(slice: []const u8) u64 {
    assert(slice.len % step_bytes == 0);
    var acc: [4]Lane = @splat(@as(Lane, @splat(0)));
    var offset: usize = 0;
    while (offset < slice.len) : (offset += step_bytes) {
        inline for (0..4) |k| {
            const lane: *align(1) const Lane = @ptrCast(slice[offset + k * 64 ..][0..64]);
            acc[k] +%= lane.*;
        }
    }
    return @reduce(.Add, acc[0] +% acc[1] +% acc[2] +% acc[3]);
}

fn nowNs() u64 {
    var ts: linux.timespec = undefined;
    _ = linux.clock_gettime(.MONOTONIC, &ts);
    return @as(u64, @intCast(ts.sec)) * std.time.ns_per_s + @as(u64, @intCast(ts.nsec));
}

test "sumSlice() adds every u64 of the slice" {
    var words: [64]u64 = undefined;
    for (&words, 0..) |*w, i| w.* = i;
    try std.testing.expectEqual(@as(u64, 63 * 64 / 2), sumSlice(std.mem.sliceAsBytes(&words)));
}

test "readGbps() measures a positive bandwidth on 1 and 2 threads" {
    const buffer = try std.testing.allocator.alloc(u8, 1 << 20);
    defer std.testing.allocator.free(buffer);
    @memset(buffer, 1);
    try std.testing.expect(try readGbps(buffer, 1, 3) > 0);
    try std.testing.expect(try readGbps(buffer, 2, 3) > 0);
    try std.testing.expect(try readGbpsOwned(1 << 20, 2, 2) > 0);
}
