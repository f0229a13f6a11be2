//! A persistent pool of compute threads. One `run` per graph: every thread (the caller is
//! thread 0) runs the same job function, which walks the graph's nodes and meets the others at
//! a `barrier` between nodes. Threads are spawned once, when the pool is created, because
//! spawning per call costs tens of microseconds to milliseconds under a hypervisor.
//!
//! Waiting, both for the next job and at a barrier, spins briefly on an atomic generation
//! counter (a node of a decoded token takes microseconds) and then sleeps on a futex, so idle
//! workers cost nothing between requests. Linux only (raw futex calls).

const std = @import("std");
const builtin = @import("builtin");
const linux = std.os.linux;
const assert = std.debug.assert;

comptime {
    assert(builtin.os.tag == .linux);
}

/// Most threads a pool runs, caller included.
pub const threads_max: u32 = 256;

/// Spin iterations before a waiting thread sleeps on the futex (~10-50 µs on current CPUs).
const spin_iterations_max: u32 = 1 << 14;

/// The work of one `run`: called once on every thread with its index.
pub const Job = struct {
    context: *anyopaque,
    run: *const fn (context: *anyopaque, thread_index: u32) void,
};

/// A barrier whose waiters spin, then sleep on the generation word.
pub const Barrier = struct {
    thread_count: u32,
    arrived: std.atomic.Value(u32) = .init(0),
    generation: std.atomic.Value(u32) = .init(0),
    sleepers: std.atomic.Value(u32) = .init(0),

    /// Returns when all `thread_count` threads have called `wait` for this generation.
    pub fn wait(barrier: *Barrier) void {
        assert(barrier.thread_count >= 1);
        if (barrier.thread_count == 1) return;
        const generation = barrier.generation.load(.acquire);
        const arrived = barrier.arrived.fetchAdd(1, .acq_rel) + 1;
        assert(arrived <= barrier.thread_count);
        if (arrived == barrier.thread_count) {
            barrier.arrived.store(0, .monotonic);
            publish(&barrier.generation, &barrier.sleepers, generation +% 1);
            return;
        }
        awaitChange(&barrier.generation, &barrier.sleepers, generation);
    }
};

/// A growing counter threads wait on: spin briefly, then sleep on the futex.
pub const Signal = struct {
    value: std.atomic.Value(u32) = .init(0),
    sleepers: std.atomic.Value(u32) = .init(0),

    /// Sets the value and wakes every sleeper.
    pub fn set(signal: *Signal, value: u32) void {
        publish(&signal.value, &signal.sleepers, value);
    }

    /// Moves the value from `expected` to `value` and wakes every sleeper; false (nothing
    /// done) when another thread changed it first.
    pub fn raise(signal: *Signal, expected: u32, value: u32) bool {
        if (signal.value.cmpxchgStrong(expected, value, .seq_cst, .seq_cst) != null) return false;
        if (signal.sleepers.load(.seq_cst) > 0) futexWakeAll(&signal.value);
        return true;
    }

    /// Returns once the value is at least `target`.
    pub fn waitAtLeast(signal: *Signal, target: u32) void {
        var current = signal.value.load(.acquire);
        if (current >= target) return;
        var spins: u32 = 0;
        while (spins < spin_iterations_max) : (spins += 1) {
            std.atomic.spinLoopHint();
            current = signal.value.load(.acquire);
            if (current >= target) return;
        }
        _ = signal.sleepers.fetchAdd(1, .seq_cst);
        defer _ = signal.sleepers.fetchSub(1, .seq_cst);
        while (true) {
            current = signal.value.load(.seq_cst);
            if (current >= target) return;
            futexWait(&signal.value, current);
        }
    }
};

/// Stores `value` and wakes the threads sleeping on `word` (if any).
fn publish(word: *std.atomic.Value(u32), sleepers: *std.atomic.Value(u32), value: u32) void {
    // seq_cst on the store and the sleeper count (and in awaitChange): either the waker sees
    // the sleeper, or the sleeper's futex call sees the new value and does not sleep.
    word.store(value, .seq_cst);
    if (sleepers.load(.seq_cst) > 0) futexWakeAll(word);
}

/// Returns once `word` differs from `old`: spins first, then sleeps.
fn awaitChange(word: *std.atomic.Value(u32), sleepers: *std.atomic.Value(u32), old: u32) void {
    var spins: u32 = 0;
    while (spins < spin_iterations_max) : (spins += 1) {
        if (word.load(.acquire) != old) return;
        std.atomic.spinLoopHint();
    }
    _ = sleepers.fetchAdd(1, .seq_cst);
    defer _ = sleepers.fetchSub(1, .seq_cst);
    while (word.load(.seq_cst) == old) futexWait(word, old);
}

fn futexWait(word: *const std.atomic.Value(u32), expected: u32) void {
    const op: linux.FUTEX_OP = .{ .cmd = .WAIT, .private = true };
    // EAGAIN (value changed) and EINTR are both "look again"; the caller loops.
    _ = linux.futex_4arg(&word.raw, op, expected, null);
}

fn futexWakeAll(word: *const std.atomic.Value(u32)) void {
    const op: linux.FUTEX_OP = .{ .cmd = .WAKE, .private = true };
    _ = linux.futex_3arg(&word.raw, op, std.math.maxInt(i32));
}

/// The pool. Create with `init`, which spawns `thread_count - 1` workers.
pub const Pool = struct {
    allocator: std.mem.Allocator,
    thread_count: u32,
    workers: []std.Thread,
    /// Bumped once per job; workers wait for it to change.
    job_generation: std.atomic.Value(u32) = .init(0),
    job_sleepers: std.atomic.Value(u32) = .init(0),
    job: ?Job = null,
    /// Set by `run`: workers meet at the barrier after the job.
    job_uses_barrier: bool = false,
    stopping: bool = false,
    /// Between nodes of a job, and at its end.
    barrier: Barrier,

    pub const InitError = error{ OutOfMemory, SystemResources };

    /// Starts a pool of `thread_count` threads (the caller of `run` counts as one).
    /// The pool must not move after `init` (workers hold its address): allocate it.
    pub fn init(pool: *Pool, allocator: std.mem.Allocator, thread_count: u32) InitError!void {
        assert(thread_count >= 1);
        assert(thread_count <= threads_max);
        pool.* = .{
            .allocator = allocator,
            .thread_count = thread_count,
            .workers = try allocator.alloc(std.Thread, thread_count - 1),
            .barrier = .{ .thread_count = thread_count },
        };
        for (pool.workers, 1..) |*worker, index| {
            worker.* = std.Thread.spawn(.{ .stack_size = 1 << 20 }, workerMain, .{
                pool, @as(u32, @intCast(index)),
            }) catch {
                pool.stopWorkers(index - 1);
                allocator.free(pool.workers);
                return error.SystemResources;
            };
        }
    }

    /// Stops and joins the workers. No `run` may be in progress.
    pub fn deinit(pool: *Pool) void {
        pool.stopWorkers(pool.workers.len);
        pool.allocator.free(pool.workers);
        pool.* = undefined;
    }

    fn stopWorkers(pool: *Pool, started: usize) void {
        pool.stopping = true;
        publish(&pool.job_generation, &pool.job_sleepers, pool.job_generation.raw +% 1);
        for (pool.workers[0..started]) |worker| worker.join();
    }

    /// Wakes the workers to run `job` and returns at once; the caller runs its own share. The
    /// job's own protocol says when the work is complete: a worker may still be inside the job
    /// function (finding nothing left to do) after that. `deinit` waits for them.
    pub fn dispatch(pool: *Pool, job: Job) void {
        pool.job = job;
        publish(&pool.job_generation, &pool.job_sleepers, pool.job_generation.raw +% 1);
    }

    /// Runs `job` on every thread and returns when all have finished it.
    /// A pool uses either `run` or `dispatch`, not both.
    pub fn run(pool: *Pool, job: Job) void {
        pool.job_uses_barrier = true;
        pool.job = job;
        publish(&pool.job_generation, &pool.job_sleepers, pool.job_generation.raw +% 1);
        job.run(job.context, 0);
        pool.barrier.wait();
    }

    fn workerMain(pool: *Pool, thread_index: u32) void {
        assert(thread_index >= 1 and thread_index < pool.thread_count);
        // Jobs are counted from the generation at `init` (0): a worker that starts late must
        // still run the first job, so it does not read the counter here.
        var seen: u32 = 0;
        while (true) {
            awaitChange(&pool.job_generation, &pool.job_sleepers, seen);
            seen = pool.job_generation.load(.acquire);
            if (pool.stopping) return;
            const job = pool.job.?;
            job.run(job.context, thread_index);
            if (pool.job_uses_barrier) pool.barrier.wait();
        }
    }
};

/// The half-open slice `[begin, end)` of `count` items that thread `index` of `threads` owns:
/// contiguous, sizes differ by at most one.
pub fn split(count: usize, index: u32, threads: u32) struct { begin: usize, end: usize } {
    assert(threads >= 1);
    assert(index < threads);
    const begin = count * index / threads;
    const end = count * (index + 1) / threads;
    return .{ .begin = begin, .end = end };
}

const testing = std.testing;

const SumJob = struct {
    pool: *Pool,
    values: []u64,
    partial: []u64,
    total: u64 = 0,

    fn run(context: *anyopaque, thread_index: u32) void {
        const job: *SumJob = @ptrCast(@alignCast(context));
        const part = split(job.values.len, thread_index, job.pool.thread_count);
        var sum: u64 = 0;
        for (job.values[part.begin..part.end]) |v| sum += v;
        job.partial[thread_index] = sum;
        job.pool.barrier.wait();
        // After the barrier every partial sum is visible: thread 0 adds them.
        if (thread_index == 0) {
            for (job.partial) |p| job.total += p;
        }
    }
};

test "Pool.run() gives every thread its slice and the barrier orders the phases" {
    const thread_counts = [_]u32{ 1, 2, 3, 8 };
    for (thread_counts) |thread_count| {
        var pool: Pool = undefined;
        try pool.init(testing.allocator, thread_count);
        defer pool.deinit();
        var values: [1000]u64 = undefined;
        for (&values, 0..) |*v, i| v.* = i;
        var partial: [8]u64 = undefined;
        for (0..50) |_| {
            var job: SumJob = .{
                .pool = &pool,
                .values = &values,
                .partial = partial[0..thread_count],
            };
            pool.run(.{ .context = &job, .run = SumJob.run });
            try testing.expectEqual(@as(u64, 999 * 1000 / 2), job.total);
        }
    }
}

test "split() covers every item once" {
    for ([_]u32{ 1, 2, 3, 7 }) |threads| {
        var covered: usize = 0;
        var next: usize = 0;
        for (0..threads) |i| {
            const part = split(10, @intCast(i), threads);
            try testing.expectEqual(next, part.begin);
            next = part.end;
            covered += part.end - part.begin;
        }
        try testing.expectEqual(@as(usize, 10), covered);
    }
}
