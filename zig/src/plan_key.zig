//! A copy of the last graph an executor checked and planned, so a graph that comes again can
//! skip both: a decode loop sends the same graph every token, changing only the number of
//! cache cells its ATTENTION nodes scan (checking and planning the 1B model's ~300 nodes took
//! ~0.17 ms per token, SmolLM2's ~0.27 ms: 1-3 % of a token).

const std = @import("std");
const assert = std.debug.assert;

/// What a key compares: the three entry arrays of a graph (graph_exec.zig's extern structs).
pub fn PlanKey(comptime Buffer: type, comptime TensorEntry: type, comptime Node: type) type {
    return struct {
        const Key = @This();

        allocator: std.mem.Allocator,
        buffers: []Buffer = &.{},
        tensors: []TensorEntry = &.{},
        nodes: []Node = &.{},
        buffer_count: usize = 0,
        tensor_count: usize = 0,
        node_count: usize = 0,
        valid: bool = false,

        pub fn deinit(key: *Key) void {
            key.allocator.free(key.buffers);
            key.allocator.free(key.tensors);
            key.allocator.free(key.nodes);
            key.* = undefined;
        }

        /// Whether the graph is the stored one, every byte equal but the ATTENTION nodes'
        /// `ip[scan_param]` (`attention_op` is their op number).
        pub fn matches(
            key: *const Key,
            buffers: []const Buffer,
            tensors: []const TensorEntry,
            nodes: []const Node,
            comptime attention_op: u32,
            comptime scan_param: usize,
        ) bool {
            if (!key.valid) return false;
            if (buffers.len != key.buffer_count or tensors.len != key.tensor_count) return false;
            if (nodes.len != key.node_count) return false;
            if (!equalContents(Buffer, buffers, key.buffers[0..buffers.len])) return false;
            if (!equalContents(TensorEntry, tensors, key.tensors[0..tensors.len])) return false;
            for (nodes, key.nodes[0..nodes.len]) |node, stored| {
                var scanned = node;
                if (node.op == attention_op) scanned.ip[scan_param] = stored.ip[scan_param];
                if (!std.mem.eql(u8, std.mem.asBytes(&scanned), std.mem.asBytes(&stored))) return false;
            }
            return true;
        }

        /// Stores the graph (valid until `invalidate` or the next `store`).
        pub fn store(
            key: *Key,
            buffers: []const Buffer,
            tensors: []const TensorEntry,
            nodes: []const Node,
        ) error{OutOfMemory}!void {
            key.valid = false;
            try grow(Buffer, key.allocator, &key.buffers, buffers.len);
            try grow(TensorEntry, key.allocator, &key.tensors, tensors.len);
            try grow(Node, key.allocator, &key.nodes, nodes.len);
            @memcpy(key.buffers[0..buffers.len], buffers);
            @memcpy(key.tensors[0..tensors.len], tensors);
            @memcpy(key.nodes[0..nodes.len], nodes);
            key.buffer_count = buffers.len;
            key.tensor_count = tensors.len;
            key.node_count = nodes.len;
            key.valid = true;
        }

        pub fn invalidate(key: *Key) void {
            key.valid = false;
        }
    };
}

fn equalContents(comptime T: type, a: []const T, b: []const T) bool {
    return std.mem.eql(u8, std.mem.sliceAsBytes(a), std.mem.sliceAsBytes(b));
}

fn grow(comptime T: type, allocator: std.mem.Allocator, slice: *[]T, len: usize) error{OutOfMemory}!void {
    if (slice.len >= len) return;
    const grown = try allocator.alloc(T, len);
    allocator.free(slice.*);
    slice.* = grown;
}

const testing = std.testing;

const TestNode = extern struct { op: u32, ip: [4]i32 };
const TestKey = PlanKey(u64, u32, TestNode);

test "a stored graph matches itself and itself with other attention scan counts only" {
    var key: TestKey = .{ .allocator = testing.allocator };
    defer key.deinit();
    const buffers = [_]u64{ 1, 2 };
    const tensors = [_]u32{ 5, 6, 7 };
    var nodes = [_]TestNode{ .{ .op = 1, .ip = .{ 0, 0, 0, 9 } }, .{ .op = 3, .ip = .{ 4, 0, 0, 9 } } };
    try testing.expect(!key.matches(&buffers, &tensors, &nodes, 3, 3));
    try key.store(&buffers, &tensors, &nodes);
    try testing.expect(key.matches(&buffers, &tensors, &nodes, 3, 3));
    // The attention node (op 3) scans more cells: still the same plan.
    nodes[1].ip[3] = 10;
    try testing.expect(key.matches(&buffers, &tensors, &nodes, 3, 3));
    // Any other parameter of it, or the same slot of another op, is a different graph.
    nodes[1].ip[0] = 5;
    try testing.expect(!key.matches(&buffers, &tensors, &nodes, 3, 3));
    nodes[1].ip[0] = 4;
    nodes[0].ip[3] = 10;
    try testing.expect(!key.matches(&buffers, &tensors, &nodes, 3, 3));
    nodes[0].ip[3] = 9;
    // Other buffers or tensors, or fewer nodes.
    try testing.expect(!key.matches(&[_]u64{ 1, 3 }, &tensors, &nodes, 3, 3));
    try testing.expect(!key.matches(&buffers, tensors[0..2], &nodes, 3, 3));
    try testing.expect(!key.matches(&buffers, &tensors, nodes[0..1], 3, 3));
    key.invalidate();
    try testing.expect(!key.matches(&buffers, &tensors, &nodes, 3, 3));
}
