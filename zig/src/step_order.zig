//! Which earlier steps of a graph a step must wait for, from the memory each one reads and
//! writes. A step that touches nothing an earlier step writes (and writes nothing an earlier
//! step reads or writes) may run beside it: the K and V projections of a layer beside the Q
//! projection, the RoPE of keys beside that of queries. Threads then move from one such step
//! to the next without waiting for the slowest chunk of the first.
//!
//! Steps complete as a prefix (graph_exec tracks "steps [0, n) are done"), so a step's
//! requirement is a prefix length: one past the last earlier step it conflicts with.

const std = @import("std");
const assert = std.debug.assert;

/// A byte range [begin, end) of memory.
pub const Range = struct {
    begin: usize,
    end: usize,

    pub fn of(bytes: []const u8) Range {
        const begin = @intFromPtr(bytes.ptr);
        return .{ .begin = begin, .end = begin + bytes.len };
    }

    pub fn overlaps(a: Range, b: Range) bool {
        return a.begin < b.end and b.begin < a.end;
    }
};

/// Reads a step may make: its sources that some step could write (read-only weights are left
/// out), and scratch.
pub const reads_max = 9;

/// Writes a step may make: its destination, and a fused step's intermediates (a norm chain's
/// sum, normed rows and their quantized copy).
pub const writes_max = 3;

/// The memory one step reads and writes.
pub const Access = struct {
    writes: [writes_max]Range = undefined,
    write_count: u8 = 0,
    reads: [reads_max]Range = undefined,
    read_count: u8 = 0,

    pub fn writing(range: Range) Access {
        var access: Access = .{};
        access.write(range);
        return access;
    }

    pub fn write(access: *Access, range: Range) void {
        assert(access.write_count < writes_max);
        access.writes[access.write_count] = range;
        access.write_count += 1;
    }

    pub fn read(access: *Access, range: Range) void {
        assert(access.read_count < reads_max);
        access.reads[access.read_count] = range;
        access.read_count += 1;
    }

    fn touches(ranges: []const Range, range: Range) bool {
        for (ranges) |r| {
            if (r.overlaps(range)) return true;
        }
        return false;
    }

    /// Whether `later` must wait for `earlier`: it reads what `earlier` writes, or writes what
    /// `earlier` reads or writes.
    pub fn conflicts(earlier: *const Access, later: *const Access) bool {
        for (later.writes[0..later.write_count]) |w| {
            if (touches(earlier.reads[0..earlier.read_count], w)) return true;
            if (touches(earlier.writes[0..earlier.write_count], w)) return true;
        }
        for (earlier.writes[0..earlier.write_count]) |w| {
            if (touches(later.reads[0..later.read_count], w)) return true;
        }
        return false;
    }
};

/// Steps looked back at for a conflict; a step waits for everything before that window.
pub const lookback_max = 16;

/// The prefix of steps that must be complete before step `index` runs.
pub fn prefixNeeded(accesses: []const Access, index: usize) u32 {
    const window_begin = index -| lookback_max;
    var earlier = index;
    while (earlier > window_begin) {
        earlier -= 1;
        if (accesses[earlier].conflicts(&accesses[index])) return @intCast(earlier + 1);
    }
    return @intCast(window_begin);
}

const testing = std.testing;

fn span(begin: usize, end: usize) Range {
    return .{ .begin = begin, .end = end };
}

test "prefixNeeded() waits for the last conflicting step only" {
    var accesses: [5]Access = undefined;
    // 0: x = norm(h); 1: q = W_q·x; 2: k = W_k·x; 3: rope(q) in place; 4: h = h + q
    const h = span(0, 100);
    const x = span(100, 200);
    const q = span(200, 300);
    const k = span(300, 400);
    accesses[0] = Access.writing(x);
    accesses[0].read(h);
    accesses[1] = Access.writing(q);
    accesses[1].read(x);
    accesses[2] = Access.writing(k);
    accesses[2].read(x);
    accesses[3] = Access.writing(q);
    accesses[3].read(q);
    accesses[4] = Access.writing(h);
    accesses[4].read(h);
    accesses[4].read(q);
    try testing.expectEqual(@as(u32, 0), prefixNeeded(&accesses, 0));
    try testing.expectEqual(@as(u32, 1), prefixNeeded(&accesses, 1));
    try testing.expectEqual(@as(u32, 1), prefixNeeded(&accesses, 2)); // beside step 1
    try testing.expectEqual(@as(u32, 2), prefixNeeded(&accesses, 3)); // after step 1 only
    try testing.expectEqual(@as(u32, 4), prefixNeeded(&accesses, 4)); // reads q after rope
}

test "prefixNeeded() orders a write after earlier reads of the same memory" {
    var accesses: [3]Access = undefined;
    const scratch = span(0, 64);
    accesses[0] = Access.writing(scratch); // quantize
    accesses[1] = Access.writing(span(64, 128)); // mul_mat reads the scratch
    accesses[1].read(scratch);
    accesses[2] = Access.writing(scratch); // the next quantize overwrites it
    try testing.expectEqual(@as(u32, 2), prefixNeeded(&accesses, 2));
}

test "prefixNeeded() waits for everything before its window" {
    var accesses: [lookback_max + 3]Access = undefined;
    for (&accesses, 0..) |*a, i| a.* = Access.writing(span(i * 10, i * 10 + 10));
    const last = accesses.len - 1;
    try testing.expectEqual(@as(u32, @intCast(last - lookback_max)), prefixNeeded(&accesses, last));
}
