//! Executes a serialized graph (core/graph.ts, encoded by backends/native/graph_encoding.ts).
//!
//! The graph arrives as three tables of extern structs:
//!   buffers [n_buffers]BufferEntry   base address, byte length and flags of each memory block
//!   tensors [n_tensors]TensorEntry   buffer index, ggml type, byte offset, ne[4]
//!   nodes   [n_nodes]NodeEntry       op, dst, src[8] (-1 = none), ip[8], fp[4]
//! Everything is checked before the first node runs (indices in range, byte ranges inside
//! their buffers, alignment, types and shapes per op, index values of GET_ROWS/SET_ROWS):
//! a bad graph is an error with a message, never a crash (a node that would write into a
//! read-only buffer, such as the mapped model file, is one). Then the nodes become steps of
//! chunks that the pool's threads claim from one atomic word (see `work`); a thread waits
//! only until the steps before its chunk are complete.
//!
//! Scratch (quantized activations shared by the threads of a MUL_MAT, attention scores per
//! thread) is sized from the nodes and grows only when a larger graph arrives.

const std = @import("std");
const assert = std.debug.assert;
const ops = @import("ops/mod.zig");
const traits = @import("quant/traits.zig");
const layout_module = @import("quant/layout.zig");
const Layout = layout_module.Layout;
const pool_module = @import("pool.zig");
const step_order = @import("step_order.zig");
const plan_key_module = @import("plan_key.zig");
const Pool = pool_module.Pool;
const QuantType = traits.QuantType;

/// Limits mirrored by core/graph.ts.
pub const src_max = 8;
pub const iparams_max = 8;
pub const fparams_max = 4;

/// One memory block the graph's tensors live in.
pub const BufferEntry = extern struct {
    address: u64,
    byte_length: u64,
    /// `buffer_read_only`: no node may write here (a read-only file mapping).
    flags: u64,
};

/// `BufferEntry.flags` bit: the memory is read-only.
pub const buffer_read_only: u64 = 1;

/// One tensor: `ne[0]` values per row, `ne[1] * ne[2] * ne[3]` rows, contiguous.
pub const TensorEntry = extern struct {
    buffer: u32,
    /// ggml type id in bits 0..16; the row layout (quant/layout.zig, 0 = rows one after
    /// another) in bits 16..24: only MUL_MAT weights may be interleaved.
    type: u32,
    offset: u64,
    ne: [4]u32,
};

/// One node: `dst = op(src...)`.
pub const NodeEntry = extern struct {
    op: u32,
    dst: i32,
    src: [src_max]i32,
    ip: [iparams_max]i32,
    fp: [fparams_max]f32,
};

comptime {
    assert(@sizeOf(BufferEntry) == 24);
    assert(@sizeOf(TensorEntry) == 32);
    assert(@sizeOf(NodeEntry) == 88);
}

/// Op numbers of core/graph.ts.
pub const Op = enum(u32) {
    get_rows = 0,
    rms_norm = 1,
    mul_mat = 2,
    add = 3,
    mul = 4,
    scale = 5,
    rope = 6,
    set_rows = 7,
    attention = 8,
    swiglu = 9,
    geglu = 10,
    softcap = 11,
};

/// ggml's I32 type id (indices, positions, masks).
pub const type_i32: u32 = 26;

/// Why a graph was refused. The executor's `message` says which node and what.
pub const Error = error{ InvalidGraph, Unsupported, OutOfMemory, Busy };

/// A tensor resolved to memory.
pub const Tensor = struct {
    bytes: [*]u8,
    /// False in a read-only buffer: no node may write the tensor.
    writable: bool,
    byte_length: usize,
    type_id: u32,
    layout: Layout,
    ne: [4]usize,

    pub fn rowLength(t: Tensor) usize {
        return t.ne[0];
    }

    pub fn rowCount(t: Tensor) usize {
        return t.ne[1] * t.ne[2] * t.ne[3];
    }

    pub fn count(t: Tensor) usize {
        return t.ne[0] * t.rowCount();
    }

    pub fn rowBytes(t: Tensor) usize {
        return t.byte_length / t.rowCount();
    }

    pub fn quantType(t: Tensor) QuantType {
        return QuantType.fromId(t.type_id).?;
    }

    pub fn f32s(t: Tensor) []f32 {
        assert(t.type_id == @intFromEnum(QuantType.f32));
        const values: [*]f32 = @ptrCast(@alignCast(t.bytes));
        return values[0..t.count()];
    }

    pub fn i32s(t: Tensor) []const i32 {
        assert(t.type_id == type_i32);
        const values: [*]const i32 = @ptrCast(@alignCast(t.bytes));
        return values[0..t.count()];
    }

    pub fn rowSlice(t: Tensor, row: usize) []u8 {
        const row_bytes = t.rowBytes();
        return t.bytes[row * row_bytes ..][0..row_bytes];
    }
};

const message_bytes_max = 256;

/// Storage facts of a tensor type.
const ElementInfo = struct {
    block_size: usize,
    bytes_per_block: usize,
    /// Alignment the kernels read the type with (quant blocks are read unaligned).
    alignment: usize,
};

fn elementInfo(type_id: u32) ?ElementInfo {
    if (type_id == type_i32) return .{ .block_size = 1, .bytes_per_block = 4, .alignment = 4 };
    const quant_type = QuantType.fromId(type_id) orelse return null;
    const t = traits.traits(quant_type);
    const alignment: usize = switch (quant_type) {
        .f32 => 4,
        .f16, .bf16 => 2,
        else => 1,
    };
    return .{
        .block_size = t.block_size,
        .bytes_per_block = t.bytes_per_block,
        .alignment = alignment,
    };
}

fn tensorBytes(ne: [4]usize, element: ElementInfo) ?u64 {
    var total: u64 = (ne[0] / element.block_size) * element.bytes_per_block;
    for (ne[1..]) |d| total = std.math.mul(u64, total, d) catch return null;
    if (total > std.math.maxInt(usize)) return null;
    return total;
}

/// Scratch bytes a graph needs, the maximum over its nodes.
const ScratchNeeds = struct {
    shared_bytes: usize = 0,
    thread_bytes: usize = 0,

    fn need(needs: *ScratchNeeds, shared_bytes: usize, thread_bytes: usize) void {
        needs.shared_bytes = @max(needs.shared_bytes, shared_bytes);
        needs.thread_bytes = @max(needs.thread_bytes, thread_bytes);
    }
};

/// A thread pool, scratch memory and the last error message. One graph at a time.
pub const Executor = struct {
    allocator: std.mem.Allocator,
    pool: Pool,
    /// Room for the largest graph seen; the first `tensor_count` belong to the current one.
    tensor_storage: []Tensor = &.{},
    tensor_count: usize = 0,
    shared_scratch: []align(64) u8 = &.{},
    thread_scratch: []align(64) u8 = &.{},
    thread_scratch_stride: usize = 0,
    /// Steps of the current graph (a node, or a MUL_MAT's activation quantization), in order;
    /// room for the largest graph seen.
    step_storage: []Step = &.{},
    /// The memory each step reads and writes (planning only), as long as `step_storage`.
    access_storage: []step_order.Access = &.{},
    step_count: u32 = 0,
    /// Each node's tensors, resolved once when the graph is checked (a chunk reads them
    /// instead of looking its tensors up again: ~0.4 % of a 1B decode's thread time).
    node_tensor_storage: []NodeTensors = &.{},
    /// Work claims of the current graph: `Claim` packed in a u64.
    claim: std.atomic.Value(u64) = .init(0),
    /// Steps finished in the current graph (every chunk of steps [0, value) is done).
    completed_steps: pool_module.Signal = .{},
    epoch: u8 = 0,
    /// The graph being run (valid during `compute`).
    nodes: []const NodeEntry = &.{},
    busy: std.atomic.Value(bool) = .init(false),
    message_buffer: [message_bytes_max:0]u8 = @splat(0),
    /// The last graph checked and planned, and what its plan needed (see `reusePlan`).
    plan_key: PlanKey,
    plan_needs: ScratchNeeds = .{},

    const PlanKey = plan_key_module.PlanKey(BufferEntry, TensorEntry, NodeEntry);

    /// Creates an executor with `thread_count` compute threads.
    pub fn create(allocator: std.mem.Allocator, thread_count: u32) Error!*Executor {
        const exec = try allocator.create(Executor);
        exec.* = .{ .allocator = allocator, .pool = undefined, .plan_key = .{ .allocator = allocator } };
        exec.pool.init(allocator, thread_count) catch {
            allocator.destroy(exec);
            return error.OutOfMemory;
        };
        return exec;
    }

    /// Stops the threads and frees everything.
    pub fn destroy(exec: *Executor) void {
        assert(!exec.busy.load(.acquire));
        exec.pool.deinit();
        exec.allocator.free(exec.tensor_storage);
        exec.allocator.free(exec.shared_scratch);
        exec.allocator.free(exec.thread_scratch);
        exec.allocator.free(exec.step_storage);
        exec.allocator.free(exec.access_storage);
        exec.allocator.free(exec.node_tensor_storage);
        exec.plan_key.deinit();
        exec.allocator.destroy(exec);
    }

    pub fn threadCount(exec: *const Executor) u32 {
        return exec.pool.thread_count;
    }

    /// The message of the last failed `compute` ("" after a success).
    pub fn message(exec: *const Executor) [:0]const u8 {
        return std.mem.sliceTo(&exec.message_buffer, 0);
    }

    fn fail(exec: *Executor, err: Error, comptime format: []const u8, args: anytype) Error {
        const room = exec.message_buffer[0..message_bytes_max];
        const text = std.fmt.bufPrint(room, format, args) catch room[0 .. message_bytes_max - 1];
        exec.message_buffer[text.len] = 0;
        return err;
    }

    fn tensors(exec: *const Executor) []const Tensor {
        return exec.tensor_storage[0..exec.tensor_count];
    }

    /// Checks and runs a graph.
    pub fn compute(
        exec: *Executor,
        buffers: []const BufferEntry,
        tensor_entries: []const TensorEntry,
        nodes: []const NodeEntry,
    ) Error!void {
        if (exec.busy.swap(true, .acq_rel)) {
            return exec.fail(error.Busy, "another graph is running on this context", .{});
        }
        defer exec.busy.store(false, .release);
        exec.message_buffer[0] = 0;
        const chunk_total = (try exec.reusePlan(buffers, tensor_entries, nodes)) orelse
            try exec.checkAndPlan(buffers, tensor_entries, nodes);
        exec.nodes = nodes;
        defer exec.nodes = &.{};
        exec.run(chunk_total);
    }

    /// Resolves and checks every tensor and node, reserves scratch and plans the steps; the
    /// graph is kept as the plan's key.
    fn checkAndPlan(
        exec: *Executor,
        buffers: []const BufferEntry,
        tensor_entries: []const TensorEntry,
        nodes: []const NodeEntry,
    ) Error!u32 {
        exec.plan_key.invalidate();
        try exec.resolveTensors(buffers, tensor_entries);
        var needs: ScratchNeeds = .{};
        for (nodes, 0..) |*node, index| {
            checkNode(exec, node, &needs) catch |err| {
                const op_name = if (std.enums.fromInt(Op, node.op)) |op| @tagName(op) else "?";
                return exec.prefixNode(err, index, op_name);
            };
        }
        try exec.reserveScratch(needs);
        try exec.storeNodeTensors(nodes);
        const chunk_total = try exec.planSteps(nodes);
        exec.plan_needs = needs;
        // Without room for the key the next graph is only checked and planned again.
        exec.plan_key.store(buffers, tensor_entries, nodes) catch {};
        return chunk_total;
    }

    /// The last plan again (its tensors still resolved), when the graph is the last one but
    /// for the cells its ATTENTION nodes scan: those nodes are checked again (their scratch
    /// grows with the cells) and must keep their chunk counts. Null when it does not apply.
    fn reusePlan(
        exec: *Executor,
        buffers: []const BufferEntry,
        tensor_entries: []const TensorEntry,
        nodes: []const NodeEntry,
    ) Error!?u32 {
        const attention = @intFromEnum(Op.attention);
        const cells = attention_cells_param;
        if (!exec.plan_key.matches(buffers, tensor_entries, nodes, attention, cells)) return null;
        var needs = exec.plan_needs;
        const steps = exec.step_storage[0..exec.step_count];
        for (steps) |step| {
            const node = &nodes[step.node];
            if (step.kind != .node or node.op != attention) continue;
            const stored = &exec.plan_key.nodes[step.node];
            if (node.ip[cells] == stored.ip[cells]) continue;
            checkNode(exec, node, &needs) catch |err| {
                exec.plan_key.invalidate();
                return exec.prefixNode(err, step.node, "attention");
            };
            if (attentionChunks(exec, node) != step.chunk_count) return null;
            stored.ip[cells] = node.ip[cells];
        }
        try exec.reserveScratch(needs);
        exec.plan_needs = needs;
        for (steps) |*step| step.done_chunks.store(0, .monotonic);
        if (steps.len == 0) return 0;
        const last = steps[steps.len - 1];
        return last.first_chunk + last.chunk_count;
    }

    /// Keeps every (checked) node's tensors for the run and for runs of a reused plan.
    fn storeNodeTensors(exec: *Executor, nodes: []const NodeEntry) Error!void {
        if (exec.node_tensor_storage.len < nodes.len) {
            const grown = exec.allocator.alloc(NodeTensors, nodes.len) catch
                return error.OutOfMemory;
            exec.allocator.free(exec.node_tensor_storage);
            exec.node_tensor_storage = grown;
        }
        for (nodes, exec.node_tensor_storage[0..nodes.len]) |*node, *nt| {
            nt.* = nodeTensors(exec, node) catch unreachable; // checked
        }
    }

    /// The chunks `planSteps` gives an ATTENTION node (its work grows with the cells).
    fn attentionChunks(exec: *Executor, node: *const NodeEntry) u32 {
        const nt = nodeTensors(exec, node) catch unreachable; // checked
        const plan = stepsOf(nt, node, exec.chunksMax(nt, node), exec.threadCount(), false);
        return plan.steps[plan.count - 1].chunk_count;
    }

    /// Most chunks a node is split into: one (one thread) when its work is small.
    fn chunksMax(exec: *const Executor, nt: NodeTensors, node: *const NodeEntry) usize {
        const parallel = exec.threadCount() > 1 and nodeWork(nt, node) >= parallel_work_min;
        return if (parallel) chunks_per_thread * exec.threadCount() else 1;
    }

    /// Splits every node into steps of chunks. Small nodes are one chunk (one thread); large
    /// ones several per thread, so a thread the OS has descheduled holds up at most one
    /// small chunk while the others take the rest. A MUL_MAT whose activations are already
    /// quantized in scratch (the K and V projections after Q, up after gate) gets no
    /// quantization step of its own; an RMS_NORM runs in one step with the residual ADD before
    /// it and the quantization for the MUL_MAT after it (`normChain`). Each step waits only
    /// for the earlier steps whose memory it touches (step_order.zig).
    fn planSteps(exec: *Executor, nodes: []const NodeEntry) Error!u32 {
        if (exec.step_storage.len < 2 * nodes.len) {
            const steps = exec.allocator.alloc(Step, 2 * nodes.len) catch return error.OutOfMemory;
            exec.allocator.free(exec.step_storage);
            exec.step_storage = steps;
            const accesses = exec.allocator.alloc(step_order.Access, 2 * nodes.len) catch
                return error.OutOfMemory;
            exec.allocator.free(exec.access_storage);
            exec.access_storage = accesses;
        }
        var count: u32 = 0;
        var chunk_total: u32 = 0;
        var quantized: ?QuantizedActivations = null;
        var index: usize = 0;
        while (index < nodes.len) {
            if (normChain(exec, nodes, index)) |chain| {
                const norm = &nodes[chain.norm];
                const norm_nt = nodeTensors(exec, norm) catch unreachable; // checked
                const chunks_max = exec.chunksMax(norm_nt, norm);
                const plan = stepsOf(norm_nt, norm, chunks_max, exec.threadCount(), false);
                const chunk_count = plan.steps[0].chunk_count;
                try exec.appendStep(nodes, index, .norm_chain, chunk_count, &count, &chunk_total);
                exec.step_storage[count - 1].chain = .{
                    .add = chain.norm > index,
                    .quantize = chain.quantized != null,
                };
                quantized = staleAfter(exec, quantized, nodes[index .. chain.norm + 1]);
                if (chain.quantized) |q| quantized = q;
                index = chain.norm + 1;
                continue;
            }
            const node = &nodes[index];
            const nt = nodeTensors(exec, node) catch unreachable; // checked
            const activations = QuantizedActivations.of(nt, node);
            const reuse = activations != null and quantized != null and
                std.meta.eql(activations.?, quantized.?);
            const gated = gatedProduct(exec, nodes, index);
            var plan = stepsOf(nt, node, exec.chunksMax(nt, node), exec.threadCount(), reuse);
            if (gated) |kind| plan.steps[plan.count - 1].kind = kind;
            for (plan.steps[0..plan.count]) |step| {
                const chunk_count = step.chunk_count;
                try exec.appendStep(nodes, index, step.kind, chunk_count, &count, &chunk_total);
            }
            if (activations != null and !reuse) quantized = activations;
            const node_count: usize = if (gated != null) 3 else 1;
            quantized = staleAfter(exec, quantized, nodes[index..][0..node_count]);
            index += node_count;
        }
        exec.step_count = count;
        return chunk_total;
    }

    /// Adds step `count` (of `kind`, for the node at `index`) to the plan.
    fn appendStep(
        exec: *Executor,
        nodes: []const NodeEntry,
        index: usize,
        kind: StepKind,
        chunk_count: u32,
        count: *u32,
        chunk_total: *u32,
    ) Error!void {
        if (chunk_total.* + chunk_count > Claim.count_max) {
            return exec.fail(error.InvalidGraph, "the graph has too many work chunks", .{});
        }
        const accesses = exec.access_storage[0 .. count.* + 1];
        accesses[count.*] = exec.stepAccess(nodes, index, kind);
        exec.step_storage[count.*] = .{
            .node = @intCast(index),
            .kind = kind,
            .chunk_count = chunk_count,
            .first_chunk = chunk_total.*,
            .prefix_needed = step_order.prefixNeeded(accesses, count.*),
        };
        chunk_total.* += chunk_count;
        count.* += 1;
    }

    /// The memory a step reads and writes. Weights in read-only buffers are left out: no step
    /// writes them.
    fn stepAccess(exec: *Executor, nodes: []const NodeEntry, index: usize, kind: StepKind) step_order.Access {
        const node = &nodes[index];
        const nt = nodeTensors(exec, node) catch unreachable; // checked
        const op = std.enums.fromInt(Op, node.op).?;
        if (kind == .norm_chain) return exec.normChainAccess(nodes, index);
        const quantizes = op == .mul_mat and !ops.mul_mat.readsF32(nt.src[0].?.quantType());
        const scratch = if (quantizes) exec.quantizedScratch(nt) else undefined;
        if (kind == .quantize) {
            var access = step_order.Access.writing(scratch);
            access.read(tensorRange(nt.src[1].?));
            return access;
        }
        var access = step_order.Access.writing(tensorRange(nt.dst));
        if (kind == .swiglu_product or kind == .geglu_product) {
            // The up projection's output is written too, and its weights read (x is the
            // gate's, below).
            const up = nodeTensors(exec, &nodes[index + 1]) catch unreachable;
            access.write(tensorRange(up.dst));
            if (up.src[0].?.writable) access.read(tensorRange(up.src[0].?));
        }
        for (nt.src, 0..) |maybe, i| {
            const src = maybe orelse continue;
            if (!src.writable) continue;
            if (quantizes and i == 1) continue; // the MUL_MAT reads the quantized copy
            access.read(tensorRange(src));
        }
        if (quantizes) access.read(scratch);
        return access;
    }

    /// A `norm_chain` step's memory: what its ADD, RMS_NORM and quantization read and write.
    fn normChainAccess(exec: *Executor, nodes: []const NodeEntry, index: usize) step_order.Access {
        const chain = normChain(exec, nodes, index).?;
        var access: step_order.Access = .{};
        for (nodes[index .. chain.norm + 1]) |*node| {
            const nt = nodeTensors(exec, node) catch unreachable; // checked
            access.write(tensorRange(nt.dst));
            for (nt.src) |maybe| {
                const src = maybe orelse continue;
                if (src.writable) access.read(tensorRange(src));
            }
        }
        if (chain.quantized != null) {
            const mul_mat = nodeTensors(exec, &nodes[chain.norm + 1]) catch unreachable;
            access.write(exec.quantizedScratch(mul_mat));
        }
        return access;
    }

    /// The shared scratch a MUL_MAT's activations are quantized into.
    fn quantizedScratch(exec: *const Executor, mul_mat: NodeTensors) step_order.Range {
        const x = mul_mat.src[1].?;
        const weight_type = mul_mat.src[0].?.quantType();
        const bytes = ops.mul_mat.quantizedBytes(weight_type, x.rowLength(), x.rowCount());
        return step_order.Range.of(exec.shared_scratch[0..bytes]);
    }

    /// Publishes the graph's chunks, works on them, and returns when every step is done.
    fn run(exec: *Executor, chunk_total: u32) void {
        exec.completed_steps.value.store(0, .monotonic);
        exec.epoch +%= 1;
        const claim: Claim = .{ .epoch = exec.epoch, .total = chunk_total, .next = 0 };
        exec.claim.store(claim.pack(), .release);
        // A graph of single-chunk steps runs on the calling thread: the pool stays asleep.
        if (chunk_total > exec.step_count) {
            exec.pool.dispatch(.{ .context = exec, .run = workJob });
        }
        work(exec, 0);
        exec.completed_steps.waitAtLeast(exec.step_count);
    }

    /// Moves the completed prefix past every step whose chunks are all done. Steps can finish
    /// out of order; whichever thread finishes the step at the prefix carries it on.
    fn advanceCompleted(exec: *Executor) void {
        const steps = exec.step_storage[0..exec.step_count];
        var prefix = exec.completed_steps.value.load(.seq_cst);
        while (prefix < steps.len and
            steps[prefix].done_chunks.load(.seq_cst) == steps[prefix].chunk_count)
        {
            if (exec.completed_steps.raise(prefix, prefix + 1)) {
                prefix += 1;
            } else {
                prefix = exec.completed_steps.value.load(.seq_cst);
            }
        }
    }

    /// Puts "node <i> (<op>): " in front of the message a check wrote.
    fn prefixNode(exec: *Executor, err: Error, index: usize, op_name: []const u8) Error {
        var detail: [message_bytes_max]u8 = undefined;
        const text = exec.message();
        @memcpy(detail[0..text.len], text);
        return exec.fail(err, "node {d} ({s}): {s}", .{ index, op_name, detail[0..text.len] });
    }

    fn resolveTensors(
        exec: *Executor,
        buffers: []const BufferEntry,
        entries: []const TensorEntry,
    ) Error!void {
        exec.tensor_count = 0;
        if (exec.tensor_storage.len < entries.len) {
            const grown = exec.allocator.alloc(Tensor, entries.len) catch return error.OutOfMemory;
            exec.allocator.free(exec.tensor_storage);
            exec.tensor_storage = grown;
        }
        for (entries, exec.tensor_storage[0..entries.len], 0..) |entry, *tensor, index| {
            tensor.* = try exec.resolveTensor(buffers, entry, index);
        }
        exec.tensor_count = entries.len;
    }

    fn resolveTensor(
        exec: *Executor,
        buffers: []const BufferEntry,
        entry: TensorEntry,
        index: usize,
    ) Error!Tensor {
        if (entry.buffer >= buffers.len) {
            return exec.fail(
                error.InvalidGraph,
                "tensor {d}: buffer {d} does not exist ({d} buffers)",
                .{ index, entry.buffer, buffers.len },
            );
        }
        const type_id = entry.type & 0xFFFF;
        const element = elementInfo(type_id) orelse
            return exec.fail(
                error.Unsupported,
                "tensor {d} has type {d}, which is not supported",
                .{ index, type_id },
            );
        const layout = Layout.fromId(entry.type >> 16) orelse
            return exec.fail(
                error.Unsupported,
                "tensor {d} has layout {d}, which does not exist",
                .{ index, entry.type >> 16 },
            );
        var ne: [4]usize = undefined;
        for (&ne, entry.ne) |*d, e| {
            if (e == 0) return exec.fail(
                error.InvalidGraph,
                "tensor {d} has a zero dimension",
                .{index},
            );
            d.* = e;
        }
        if (ne[0] % element.block_size != 0) {
            return exec.fail(
                error.InvalidGraph,
                "tensor {d}: row length {d} is not a multiple of the block size {d}",
                .{ index, ne[0], element.block_size },
            );
        }
        const byte_length = tensorBytes(ne, element) orelse
            return exec.fail(error.InvalidGraph, "tensor {d} is too large", .{index});
        const buffer = buffers[entry.buffer];
        const end = std.math.add(u64, entry.offset, byte_length) catch std.math.maxInt(u64);
        if (buffer.address == 0 or end > buffer.byte_length) {
            return exec.fail(
                error.InvalidGraph,
                "tensor {d}: bytes {d}..{d} are outside buffer {d} of {d} bytes",
                .{ index, entry.offset, end, entry.buffer, buffer.byte_length },
            );
        }
        const address = std.math.add(u64, buffer.address, entry.offset) catch
            return exec.fail(error.InvalidGraph, "tensor {d}: address overflows", .{index});
        if (address % element.alignment != 0) {
            return exec.fail(
                error.InvalidGraph,
                "tensor {d}: address is not {d}-byte aligned",
                .{ index, element.alignment },
            );
        }
        return .{
            .bytes = @ptrFromInt(address),
            .writable = buffer.flags & buffer_read_only == 0,
            .byte_length = @intCast(byte_length),
            .type_id = type_id,
            .layout = layout,
            .ne = ne,
        };
    }

    fn reserveScratch(exec: *Executor, needs: ScratchNeeds) Error!void {
        if (exec.shared_scratch.len < needs.shared_bytes) {
            const grown = exec.allocator.alignedAlloc(u8, .@"64", needs.shared_bytes) catch
                return error.OutOfMemory;
            exec.allocator.free(exec.shared_scratch);
            exec.shared_scratch = grown;
        }
        const stride = std.mem.alignForward(usize, needs.thread_bytes, 64);
        const thread_bytes = stride * exec.threadCount();
        if (exec.thread_scratch.len < thread_bytes) {
            const grown = exec.allocator.alignedAlloc(u8, .@"64", thread_bytes) catch
                return error.OutOfMemory;
            exec.allocator.free(exec.thread_scratch);
            exec.thread_scratch = grown;
        }
        exec.thread_scratch_stride = stride;
    }

    /// Thread `index`'s scratch, `thread_scratch_stride` bytes.
    fn threadScratch(exec: *const Executor, index: u32) []align(64) u8 {
        const stride = exec.thread_scratch_stride;
        return @alignCast(exec.thread_scratch[index * stride ..][0..stride]);
    }
};

// ---------------------------------------------------------------------------------------------
// Checks: each returns error.InvalidGraph / error.Unsupported with a message, or records the
// node's scratch needs.

/// The node's tensors, looked up with their indices checked.
const NodeTensors = struct {
    dst: Tensor,
    src: [src_max]?Tensor,

    fn required(nt: NodeTensors, exec: *Executor, index: usize) Error!Tensor {
        return nt.src[index] orelse exec.fail(error.InvalidGraph, "src{d} is missing", .{index});
    }
};

fn lookup(exec: *Executor, index: i32) Error!?Tensor {
    if (index == -1) return null;
    const all = exec.tensors();
    if (index < 0 or index >= all.len) {
        return exec.fail(
            error.InvalidGraph,
            "tensor index {d} is out of range ({d} tensors)",
            .{ index, all.len },
        );
    }
    return all[@intCast(index)];
}

fn nodeTensors(exec: *Executor, node: *const NodeEntry) Error!NodeTensors {
    var nt: NodeTensors = .{ .dst = (try lookup(exec, node.dst)) orelse
        return exec.fail(error.InvalidGraph, "dst is missing", .{}), .src = undefined };
    for (&nt.src, node.src) |*slot, index| slot.* = try lookup(exec, index);
    return nt;
}

fn expectType(exec: *Executor, tensor: Tensor, type_id: u32, name: []const u8) Error!void {
    if (tensor.type_id != type_id) {
        return exec.fail(
            error.Unsupported,
            "{s} has type {d}, expected {d}",
            .{ name, tensor.type_id, type_id },
        );
    }
}

const f32_id: u32 = @intFromEnum(QuantType.f32);
const f16_id: u32 = @intFromEnum(QuantType.f16);

/// dst has src's element count and row length.
fn expectSameShape(exec: *Executor, dst: Tensor, src: Tensor) Error!void {
    if (dst.count() != src.count() or dst.rowLength() != src.rowLength()) {
        return exec.fail(
            error.InvalidGraph,
            "dst [{d}, {d}] does not match src0 [{d}, {d}]",
            .{ dst.rowLength(), dst.rowCount(), src.rowLength(), src.rowCount() },
        );
    }
}

fn expectIndices(exec: *Executor, indices: Tensor, limit: usize, name: []const u8) Error!void {
    try expectType(exec, indices, type_i32, name);
    for (indices.i32s()) |value| {
        if (value < 0 or value >= limit) {
            return exec.fail(
                error.InvalidGraph,
                "{s} holds {d}, outside 0..{d}",
                .{ name, value, limit },
            );
        }
    }
}

fn checkNode(exec: *Executor, node: *const NodeEntry, needs: *ScratchNeeds) Error!void {
    const op = std.enums.fromInt(Op, node.op) orelse
        return exec.fail(error.Unsupported, "op {d} does not exist", .{node.op});
    const nt = try nodeTensors(exec, node);
    if (!nt.dst.writable) return exec.fail(error.InvalidGraph, "dst is in a read-only buffer", .{});
    try expectRowLayout(exec, nt, op);
    try expectType(exec, nt.dst, if (op == .set_rows) nt.dst.type_id else f32_id, "dst");
    switch (op) {
        .get_rows => try checkGetRows(exec, nt),
        .rms_norm => try checkRmsNorm(exec, nt, node),
        .mul_mat => try checkMulMat(exec, nt, needs),
        .add, .mul => try checkBinary(exec, nt),
        .scale, .softcap => try checkUnary(exec, nt, node, op),
        .swiglu, .geglu => try checkGated(exec, nt),
        .rope => try checkRope(exec, nt, node),
        .set_rows => try checkSetRows(exec, nt),
        .attention => try checkAttention(exec, nt, node, needs),
    }
}

/// An interleaved matrix holds whole groups of rows (its layout's).
fn expectWholeGroups(exec: *Executor, matrix: Tensor, name: []const u8) Error!void {
    const group_rows = layout_module.rowsPerGroup(matrix.layout);
    if (matrix.rowCount() % group_rows == 0) return;
    return exec.fail(
        error.InvalidGraph,
        "{s} in layout {s}: {d} rows, not a multiple of {d}",
        .{ name, @tagName(matrix.layout), matrix.rowCount(), group_rows },
    );
}

/// Interleaved rows are read only by MUL_MAT's kernels, as its weights (src0), and by
/// GET_ROWS from its table (src0: a tied embedding's copy; checkGetRows says which layouts).
fn expectRowLayout(exec: *Executor, nt: NodeTensors, op: Op) Error!void {
    if (nt.dst.layout != .rows) return exec.fail(error.InvalidGraph, "dst has interleaved rows", .{});
    for (nt.src, 0..) |maybe, i| {
        const src = maybe orelse continue;
        if (src.layout == .rows or ((op == .mul_mat or op == .get_rows) and i == 0)) continue;
        return exec.fail(
            error.InvalidGraph,
            "src{d} has interleaved rows (layout {s}), which only MUL_MAT weights and " ++
                "GET_ROWS tables may have",
            .{ i, @tagName(src.layout) },
        );
    }
}

fn checkGetRows(exec: *Executor, nt: NodeTensors) Error!void {
    const table = try nt.required(exec, 0);
    const indices = try nt.required(exec, 1);
    if (QuantType.fromId(table.type_id) == null) {
        return exec.fail(
            error.Unsupported,
            "src0 has type {d}, which is not supported",
            .{table.type_id},
        );
    }
    const quant_type = table.quantType();
    if (!ops.rows.gathersLayout(quant_type, table.layout)) {
        return exec.fail(
            error.Unsupported,
            "src0 of type {s} cannot be gathered in layout {s}",
            .{ traits.traits(quant_type).name, @tagName(table.layout) },
        );
    }
    try expectWholeGroups(exec, table, "src0");
    try expectIndices(exec, indices, table.rowCount(), "src1");
    if (nt.dst.rowLength() != table.rowLength() or nt.dst.rowCount() != indices.count()) {
        return exec.fail(
            error.InvalidGraph,
            "dst [{d}, {d}] is not [{d}, {d}]",
            .{ nt.dst.rowLength(), nt.dst.rowCount(), table.rowLength(), indices.count() },
        );
    }
}

fn checkRmsNorm(exec: *Executor, nt: NodeTensors, node: *const NodeEntry) Error!void {
    const src = try nt.required(exec, 0);
    try expectType(exec, src, f32_id, "src0");
    try expectSameShape(exec, nt.dst, src);
    if (!(node.fp[0] >= 0)) return exec.fail(
        error.InvalidGraph,
        "eps {d} is negative",
        .{node.fp[0]},
    );
    if (nt.src[1]) |weight| {
        try expectType(exec, weight, f32_id, "src1");
        if (weight.count() != src.rowLength()) {
            return exec.fail(
                error.InvalidGraph,
                "weight has {d} values for rows of {d}",
                .{ weight.count(), src.rowLength() },
            );
        }
    }
}

fn checkMulMat(exec: *Executor, nt: NodeTensors, needs: *ScratchNeeds) Error!void {
    const weights = try nt.required(exec, 0);
    const x = try nt.required(exec, 1);
    const weight_type = QuantType.fromId(weights.type_id) orelse
        return exec.fail(
            error.Unsupported,
            "src0 has type {d}, which is not supported",
            .{weights.type_id},
        );
    if (traits.traits(weight_type).dot == null) {
        return exec.fail(
            error.Unsupported,
            "weights of type {s} have no dot product",
            .{traits.traits(weight_type).name},
        );
    }
    if (!ops.mul_mat.supportsLayout(weight_type, weights.layout)) {
        return exec.fail(
            error.Unsupported,
            "weights of type {s} cannot be multiplied in layout {s}",
            .{ traits.traits(weight_type).name, @tagName(weights.layout) },
        );
    }
    try expectWholeGroups(exec, weights, "weights");
    try expectType(exec, x, f32_id, "src1");
    if (x.rowLength() != weights.rowLength()) {
        return exec.fail(
            error.InvalidGraph,
            "src1 rows of {d} do not match weight rows of {d}",
            .{ x.rowLength(), weights.rowLength() },
        );
    }
    if (nt.dst.rowLength() != weights.rowCount() or nt.dst.rowCount() != x.rowCount()) {
        return exec.fail(
            error.InvalidGraph,
            "dst [{d}, {d}] is not [{d}, {d}]",
            .{ nt.dst.rowLength(), nt.dst.rowCount(), weights.rowCount(), x.rowCount() },
        );
    }
    if (!ops.mul_mat.readsF32(weight_type)) {
        needs.need(ops.mul_mat.quantizedBytes(weight_type, weights.rowLength(), x.rowCount()), 0);
    }
}

fn checkBinary(exec: *Executor, nt: NodeTensors) Error!void {
    const a = try nt.required(exec, 0);
    const b = try nt.required(exec, 1);
    try expectType(exec, a, f32_id, "src0");
    try expectType(exec, b, f32_id, "src1");
    try expectSameShape(exec, nt.dst, a);
    if (b.count() != a.count() and b.count() != a.rowLength()) {
        return exec.fail(
            error.InvalidGraph,
            "src1 has {d} values: neither src0's {d} nor one row of {d}",
            .{ b.count(), a.count(), a.rowLength() },
        );
    }
}

fn checkUnary(exec: *Executor, nt: NodeTensors, node: *const NodeEntry, op: Op) Error!void {
    const src = try nt.required(exec, 0);
    try expectType(exec, src, f32_id, "src0");
    try expectSameShape(exec, nt.dst, src);
    if (op == .softcap and !(node.fp[0] > 0)) {
        return exec.fail(error.InvalidGraph, "cap {d} is not positive", .{node.fp[0]});
    }
}

fn checkGated(exec: *Executor, nt: NodeTensors) Error!void {
    const x = try nt.required(exec, 0);
    const gate = try nt.required(exec, 1);
    try expectType(exec, x, f32_id, "src0");
    try expectType(exec, gate, f32_id, "src1");
    try expectSameShape(exec, nt.dst, x);
    try expectSameShape(exec, gate, x);
}

fn checkRope(exec: *Executor, nt: NodeTensors, node: *const NodeEntry) Error!void {
    const x = try nt.required(exec, 0);
    const positions = try nt.required(exec, 1);
    try expectType(exec, x, f32_id, "src0");
    try expectType(exec, positions, type_i32, "src1");
    try expectSameShape(exec, nt.dst, x);
    const mode = node.ip[0];
    const n_rot = node.ip[1];
    if (mode != ops.rope.mode_normal and mode != ops.rope.mode_neox) {
        return exec.fail(error.Unsupported, "mode {d} is not 0 (normal) or 2 (neox)", .{mode});
    }
    if (n_rot <= 0 or @mod(n_rot, 2) != 0 or n_rot > x.rowLength()) {
        return exec.fail(
            error.InvalidGraph,
            "rotated dims {d} must be even and within 1..{d}",
            .{ n_rot, x.rowLength() },
        );
    }
    if (n_rot > 2 * ops.rope.pairs_max) {
        return exec.fail(
            error.Unsupported,
            "rotated dims {d} exceed the {d} this library turns",
            .{ n_rot, 2 * ops.rope.pairs_max },
        );
    }
    const tokens = x.rowCount() / x.ne[1];
    if (positions.count() != tokens) {
        return exec.fail(
            error.InvalidGraph,
            "{d} positions for {d} tokens",
            .{ positions.count(), tokens },
        );
    }
    if (nt.src[2]) |factors| {
        try expectType(exec, factors, f32_id, "src2 (frequency factors)");
        if (factors.count() != @as(usize, @intCast(n_rot)) / 2) {
            return exec.fail(
                error.InvalidGraph,
                "{d} frequency factors for {d} rotated dims (one per pair)",
                .{ factors.count(), n_rot },
            );
        }
    }
}

fn checkSetRows(exec: *Executor, nt: NodeTensors) Error!void {
    const src = try nt.required(exec, 0);
    const cells = try nt.required(exec, 1);
    try expectType(exec, src, f32_id, "src0");
    if (nt.dst.type_id != f32_id and nt.dst.type_id != f16_id) {
        return exec.fail(
            error.Unsupported,
            "dst has type {d}; the cache must be F32 or F16",
            .{nt.dst.type_id},
        );
    }
    if (nt.dst.rowLength() != src.rowLength()) {
        return exec.fail(
            error.InvalidGraph,
            "rows of {d} cannot go into cache rows of {d}",
            .{ src.rowLength(), nt.dst.rowLength() },
        );
    }
    if (cells.count() != src.rowCount()) {
        return exec.fail(
            error.InvalidGraph,
            "{d} cells for {d} rows",
            .{ cells.count(), src.rowCount() },
        );
    }
    try expectIndices(exec, cells, nt.dst.rowCount(), "src1");
}

/// The ATTENTION parameter that says how many cache cells it scans: the only one a decode
/// loop changes from token to token.
const attention_cells_param = 4;

/// Sizes of an ATTENTION node, from its parameters and tensors.
const AttentionShape = struct {
    tokens: usize,
    heads: usize,
    kv_heads: usize,
    head_dim: usize,
    head_dim_v: usize,
    cells: usize,
    window: i32,

    fn of(nt: NodeTensors, node: *const NodeEntry) ?AttentionShape {
        const positions = nt.src[3] orelse return null;
        const values = nt.src[2] orelse return null;
        if (node.ip[0] <= 0 or node.ip[1] <= 0 or node.ip[2] <= 0 or node.ip[4] <= 0) return null;
        if (node.ip[3] < 0) return null;
        const kv_heads: usize = @intCast(node.ip[1]);
        return .{
            .tokens = positions.count(),
            .heads = @intCast(node.ip[0]),
            .kv_heads = kv_heads,
            .head_dim = @intCast(node.ip[2]),
            .head_dim_v = values.rowLength() / kv_heads,
            .cells = @intCast(node.ip[attention_cells_param]),
            .window = node.ip[3],
        };
    }

    /// Query heads per KV head.
    fn group(s: AttentionShape) usize {
        return s.heads / s.kv_heads;
    }

    /// Per-thread scratch: `ops.attention.Scratch` for a whole group of heads.
    fn threadBytes(s: AttentionShape) usize {
        const floats = ops.attention.Scratch.floats(s.group(), s.cells, s.head_dim, s.head_dim_v);
        return floats * @sizeOf(f32) + 64;
    }

    /// Parts a group of heads is split into: 1 (each cache row read once per token), more
    /// only when tokens × KV heads are fewer than the threads, so every thread has work.
    fn groupSplits(s: AttentionShape, threads: usize) usize {
        const groups = s.tokens * s.kv_heads;
        if (groups >= threads) return 1;
        return @min(s.group(), (threads + groups - 1) / groups);
    }

    /// Work units: (token, KV head, part of the group).
    fn units(s: AttentionShape, threads: usize) usize {
        return s.tokens * s.kv_heads * s.groupSplits(threads);
    }
};

fn checkAttention(
    exec: *Executor,
    nt: NodeTensors,
    node: *const NodeEntry,
    needs: *ScratchNeeds,
) Error!void {
    for (0..7) |i| _ = try nt.required(exec, i);
    const shape = AttentionShape.of(nt, node) orelse
        return exec.fail(
            error.InvalidGraph,
            "heads, kv heads, head dim and cells must be positive, window not negative",
            .{},
        );
    const q = nt.src[0].?;
    const keys = nt.src[1].?;
    const values = nt.src[2].?;
    try expectType(exec, q, f32_id, "src0");
    for ([_]Tensor{ keys, values }, [_][]const u8{ "src1", "src2" }) |cache, name| {
        if (cache.type_id != f32_id and cache.type_id != f16_id) {
            return exec.fail(
                error.Unsupported,
                "{s} has type {d}; the cache must be F32 or F16",
                .{ name, cache.type_id },
            );
        }
        if (cache.rowCount() < shape.cells) {
            return exec.fail(
                error.InvalidGraph,
                "{s} has {d} cells, fewer than the {d} to scan",
                .{ name, cache.rowCount(), shape.cells },
            );
        }
    }
    for (3..7) |i| try expectType(exec, nt.src[i].?, type_i32, "sources 3 to 6");
    if (nt.src[4].?.count() != shape.tokens) return exec.fail(
        error.InvalidGraph,
        "src4 has {d} masks for {d} tokens",
        .{ nt.src[4].?.count(), shape.tokens },
    );
    if (nt.src[5].?.count() < shape.cells or nt.src[6].?.count() < shape.cells) {
        return exec.fail(
            error.InvalidGraph,
            "cell positions or masks cover fewer than {d} cells",
            .{shape.cells},
        );
    }
    if (shape.heads % shape.kv_heads != 0) {
        return exec.fail(
            error.InvalidGraph,
            "{d} heads are not a multiple of {d} kv heads",
            .{ shape.heads, shape.kv_heads },
        );
    }
    const q_count = shape.tokens * shape.heads * shape.head_dim;
    if (q.count() != q_count or keys.rowLength() != shape.kv_heads * shape.head_dim) {
        return exec.fail(
            error.InvalidGraph,
            "queries of {d} values or key rows of {d} do not fit {d} tokens, {d}/{d} heads of {d}",
            .{
                q.count(),   keys.rowLength(), shape.tokens,
                shape.heads, shape.kv_heads,   shape.head_dim,
            },
        );
    }
    const dst_count = shape.tokens * shape.heads * shape.head_dim_v;
    if (values.rowLength() % shape.kv_heads != 0 or nt.dst.count() != dst_count) {
        return exec.fail(
            error.InvalidGraph,
            "value rows of {d} or dst of {d} values do not fit {d} heads",
            .{ values.rowLength(), nt.dst.count(), shape.heads },
        );
    }
    needs.need(0, shape.threadBytes());
}

// ---------------------------------------------------------------------------------------------
// Execution: every thread runs every node's share, then waits at the barrier.

/// The claim word: which chunk is next, of how many, in which graph (epoch). One atomic word,
/// so a worker that wakes late can never claim a chunk of a graph whose tables are not
/// published, nor one of a finished graph.
const Claim = struct {
    epoch: u8,
    total: u32,
    next: u32,

    const count_bits = 28;
    const count_max: u32 = (1 << count_bits) - 1;

    fn pack(c: Claim) u64 {
        assert(c.total <= count_max and c.next <= count_max);
        return (@as(u64, c.epoch) << (2 * count_bits)) | (@as(u64, c.total) << count_bits) | c.next;
    }

    fn unpack(word: u64) Claim {
        return .{
            .epoch = @truncate(word >> (2 * count_bits)),
            .total = @truncate((word >> count_bits) & count_max),
            .next = @truncate(word & count_max),
        };
    }
};

/// A node's share of the schedule: its work, or its activation quantization (MUL_MAT).
/// `swiglu_product`/`geglu_product`: a gate MUL_MAT, the up MUL_MAT after it and the
/// SWIGLU/GEGLU of the two, run together (see `gatedProduct`).
/// `norm_chain`: an RMS_NORM with the residual ADD before it and/or the quantization of its
/// rows for the MUL_MAT after it, row by row (see `normChain`).
const StepKind = enum(u8) { node, quantize, swiglu_product, geglu_product, norm_chain };

/// What a `norm_chain` step runs besides its RMS_NORM.
const NormChain = struct {
    /// The residual ADD before the norm (the step's node).
    add: bool = false,
    /// The quantization of the normed rows for the MUL_MAT after the norm.
    quantize: bool = false,
};

const Step = struct {
    node: u32,
    kind: StepKind,
    chunk_count: u32,
    /// Index of the step's first chunk among the graph's chunks.
    first_chunk: u32,
    /// Steps [0, prefix_needed) must be complete before a chunk of this one runs.
    prefix_needed: u32,
    /// Chunks of this step finished.
    done_chunks: std.atomic.Value(u32) = .init(0),
    chain: NormChain = .{},
};

/// Whether nodes [index, index + 3) are a gated feed-forward that can run as one step: gate =
/// W_gate·x, up = W_up·x (same x, same dot type, same shape), then gate = act(gate)·up in
/// place. Returns the fused step's kind.
fn gatedProduct(exec: *Executor, nodes: []const NodeEntry, index: usize) ?StepKind {
    if (index + 3 > nodes.len) return null;
    const ops_of = [3]?Op{
        std.enums.fromInt(Op, nodes[index].op),
        std.enums.fromInt(Op, nodes[index + 1].op),
        std.enums.fromInt(Op, nodes[index + 2].op),
    };
    if (ops_of[0] != .mul_mat or ops_of[1] != .mul_mat) return null;
    const kind: StepKind = switch (ops_of[2].?) {
        .swiglu => .swiglu_product,
        .geglu => .geglu_product,
        else => return null,
    };
    const gate = nodeTensors(exec, &nodes[index]) catch unreachable;
    const up = nodeTensors(exec, &nodes[index + 1]) catch unreachable;
    const act = nodeTensors(exec, &nodes[index + 2]) catch unreachable;
    const gate_type = traits.traits(gate.src[0].?.quantType());
    const up_type = traits.traits(up.src[0].?.quantType());
    const same_input = sameBytes(gate.src[1].?, up.src[1].?) and
        gate_type.vec_dot_type == up_type.vec_dot_type and
        std.mem.eql(usize, &gate.dst.ne, &up.dst.ne);
    const in_place = sameBytes(act.dst, gate.dst) and sameBytes(act.src[0].?, gate.dst) and
        sameBytes(act.src[1].?, up.dst);
    const separate = !tensorRange(gate.dst).overlaps(tensorRange(up.dst));
    return if (same_input and in_place and separate) kind else null;
}

/// An RMS_NORM at `index` or `index + 1` that runs as one step with the nodes around it
/// that work on the same rows: an ADD at `index` whose sum it normalizes, and the
/// quantization of its output for the MUL_MAT right after it. Row r of the ADD, of the norm
/// and of the quantization run in the same chunk, one after the other, so a decoded token's
/// residual sum, norm and quantized row take one step instead of three hand-offs between
/// threads. Null when the norm has neither neighbour (or there is no norm).
fn normChain(exec: *Executor, nodes: []const NodeEntry, index: usize) ?struct {
    norm: usize,
    quantized: ?QuantizedActivations,
} {
    const first = nodes[index].op;
    const norm_index = if (first == @intFromEnum(Op.add)) index + 1 else index;
    if (norm_index >= nodes.len or nodes[norm_index].op != @intFromEnum(Op.rms_norm)) return null;
    const norm = nodeTensors(exec, &nodes[norm_index]) catch unreachable;
    if (norm_index > index) {
        const add = nodeTensors(exec, &nodes[index]) catch unreachable;
        const rows_match = add.dst.rowCount() == norm.dst.rowCount();
        if (!sameBytes(add.dst, norm.src[0].?) or !rows_match) return null;
    }
    var quantized: ?QuantizedActivations = null;
    if (norm_index + 1 < nodes.len) {
        const next = &nodes[norm_index + 1];
        const next_nt = nodeTensors(exec, next) catch unreachable;
        const activations = QuantizedActivations.of(next_nt, next);
        const x = next_nt.src[1];
        const same_rows = x != null and x.?.rowCount() == norm.dst.rowCount();
        if (activations != null and same_rows and sameBytes(x.?, norm.dst)) quantized = activations;
    }
    if (norm_index == index and quantized == null) return null;
    return .{ .norm = norm_index, .quantized = quantized };
}

fn sameBytes(a: Tensor, b: Tensor) bool {
    return a.bytes == b.bytes and a.byte_length == b.byte_length;
}

/// Activation rows a MUL_MAT quantizes into shared scratch: a later MUL_MAT of the same rows
/// to the same dot type reads them as they are.
const QuantizedActivations = struct {
    source: []const u8,
    dot_type: QuantType,

    fn of(nt: NodeTensors, node: *const NodeEntry) ?QuantizedActivations {
        if (std.enums.fromInt(Op, node.op).? != .mul_mat) return null;
        const weight_type = nt.src[0].?.quantType();
        if (ops.mul_mat.readsF32(weight_type)) return null;
        const x = nt.src[1].?;
        return .{
            .source = x.bytes[0..x.byte_length],
            .dot_type = traits.traits(weight_type).vec_dot_type,
        };
    }
};

/// `quantized`, or null when one of `written`'s nodes writes into the rows it was quantized
/// from (the copy is stale).
fn staleAfter(
    exec: *Executor,
    quantized: ?QuantizedActivations,
    written: []const NodeEntry,
) ?QuantizedActivations {
    const q = quantized orelse return null;
    for (written) |*node| {
        const dst = tensorRange((nodeTensors(exec, node) catch unreachable).dst);
        if (step_order.Range.of(q.source).overlaps(dst)) return null;
    }
    return q;
}

fn tensorRange(t: Tensor) step_order.Range {
    return step_order.Range.of(t.bytes[0..t.byte_length]);
}

/// Chunks per thread of a large step: enough that a late thread's share is picked up by the
/// others, few enough that claiming (one atomic) stays negligible.
const chunks_per_thread = 8;

const StepPlan = struct {
    steps: [2]struct { kind: StepKind, chunk_count: u32 },
    count: usize,
};

/// Blocks of `ops.mul_mat.rows_per_block` weight rows (the last may be short).
fn rowBlocks(rows: usize) usize {
    return (rows + ops.mul_mat.rows_per_block - 1) / ops.mul_mat.rows_per_block;
}

fn chunksFor(units: usize, chunks_max: usize) u32 {
    return @intCast(@max(1, @min(units, chunks_max)));
}

fn stepsOf(
    nt: NodeTensors,
    node: *const NodeEntry,
    chunks_max: usize,
    threads: u32,
    quantized: bool,
) StepPlan {
    const op = std.enums.fromInt(Op, node.op).?;
    var plan: StepPlan = .{ .steps = undefined, .count = 0 };
    if (op == .mul_mat and !quantized and !ops.mul_mat.readsF32(nt.src[0].?.quantType())) {
        const tokens = nt.src[1].?.rowCount();
        const quantize_chunks = if (chunks_max > 1) chunksFor(tokens, threads) else 1;
        plan.steps[0] = .{ .kind = .quantize, .chunk_count = quantize_chunks };
        plan.count = 1;
    }
    const units: usize = switch (op) {
        .mul_mat => rowBlocks(nt.src[0].?.rowCount()),
        .attention => AttentionShape.of(nt, node).?.units(threads),
        .get_rows, .set_rows => nt.src[1].?.count(),
        .rms_norm, .add, .mul, .rope => nt.dst.rowCount(),
        .scale, .softcap, .swiglu, .geglu => nt.dst.count() / 256,
    };
    plan.steps[plan.count] = .{ .kind = .node, .chunk_count = chunksFor(units, chunks_max) };
    plan.count += 1;
    return plan;
}

fn workJob(context: *anyopaque, thread_index: u32) void {
    work(@ptrCast(@alignCast(context)), thread_index);
}

/// Claims chunks until none is left, waiting before each for the steps before its own.
fn work(exec: *Executor, thread_index: u32) void {
    var epoch: ?u8 = null;
    var step_index: u32 = 0;
    while (true) {
        const word = exec.claim.load(.acquire);
        const claim = Claim.unpack(word);
        if (claim.next >= claim.total) return;
        if (exec.claim.cmpxchgWeak(word, word + 1, .acq_rel, .acquire) != null) continue;
        const steps = exec.step_storage[0..exec.step_count];
        // A new graph (or, after 256 graphs, an epoch seen before): search from the start.
        if (epoch != claim.epoch or step_index >= steps.len or
            steps[step_index].first_chunk > claim.next)
        {
            epoch = claim.epoch;
            step_index = 0;
        }
        while (steps[step_index].first_chunk + steps[step_index].chunk_count <= claim.next) {
            step_index += 1;
        }
        const step = &steps[step_index];
        exec.completed_steps.waitAtLeast(step.prefix_needed);
        runStep(exec, step.*, claim.next - step.first_chunk, thread_index);
        if (step.done_chunks.fetchAdd(1, .seq_cst) + 1 == step.chunk_count) {
            exec.advanceCompleted();
        }
    }
}

/// Work below which a node runs on one thread: waking the pool and a barrier cost a few
/// microseconds, about what one core does with this many bytes or multiply-adds.
const parallel_work_min: u64 = 1 << 16;

/// A node's work in bytes streamed or multiply-adds, whichever dominates.
fn nodeWork(nt: NodeTensors, node: *const NodeEntry) u64 {
    const op = std.enums.fromInt(Op, node.op).?;
    return switch (op) {
        .mul_mat => nt.src[0].?.byte_length * @as(u64, nt.src[1].?.rowCount()),
        .attention => blk: {
            const shape = AttentionShape.of(nt, node).?;
            const per_cell = shape.head_dim + shape.head_dim_v;
            break :blk @as(u64, shape.tokens) * shape.heads * shape.cells * per_cell;
        },
        .rope, .geglu, .swiglu, .softcap => 8 * @as(u64, nt.dst.count()),
        else => nt.dst.byte_length,
    };
}

/// One chunk of a step: `chunk` of `chunks` equal parts of the work, run by thread `worker`.
const Share = struct {
    exec: *Executor,
    chunk: u32,
    chunks: u32,
    worker: u32,

    fn range(s: Share, count: usize) struct { begin: usize, end: usize } {
        const part = pool_module.split(count, s.chunk, s.chunks);
        return .{ .begin = part.begin, .end = part.end };
    }

    /// The chunk's weight rows of a MUL_MAT: whole row blocks, so a block is never split
    /// between threads (`taperedSplit`'s sizes).
    fn rowRange(s: Share, rows: usize) struct { begin: usize, end: usize } {
        const part = taperedSplit(rowBlocks(rows), s.chunk, s.chunks);
        return .{
            .begin = @min(rows, part.begin * ops.mul_mat.rows_per_block),
            .end = @min(rows, part.end * ops.mul_mat.rows_per_block),
        };
    }
};

/// Part `chunk` of `count` items in `chunks` parts whose sizes shrink geometrically (each
/// `taper_ratio` of the one before; fewer than four parts are equal), so a product starts with
/// long chunks and ends with short ones. The step after a product waits for its last chunk,
/// and a thread that finishes first waits about half of one: with 16 chunks the last is ~1/140
/// of the product (one 16-row block of the 1B model's down projection). In 1B Q4_0 decode the
/// threads' spinning went from 3.4-3.6 % to 2.8-3.0 % of their time (perf, four alternating
/// runs) against the two-level taper before it (eight chunks of 3/32, eight of 1/32), which
/// had cut it from equal parts.
fn taperedSplit(count: usize, chunk: u32, chunks: u32) struct { begin: usize, end: usize } {
    assert(chunk < chunks);
    if (chunks < 4) {
        const part = pool_module.split(count, chunk, chunks);
        return .{ .begin = part.begin, .end = part.end };
    }
    return .{
        .begin = taperedBoundary(count, chunk, chunks),
        .end = taperedBoundary(count, chunk + 1, chunks),
    };
}

/// Size of a tapered chunk over the size of the chunk before it.
const taper_ratio: f64 = 0.8;

/// taper_ratio^i for the chunk counts a pool of up to 32 threads plans (`pow` per chunk was
/// ~0.2 % of a 1B decode's thread time); larger counts call `pow`.
const taper_powers = blk: {
    @setEvalBranchQuota(1 << 20);
    var powers: [chunks_per_thread * 32 + 1]f64 = undefined;
    for (&powers, 0..) |*p, i| p.* = std.math.pow(f64, taper_ratio, @floatFromInt(i));
    break :blk powers;
};

fn taperPower(exponent: u32) f64 {
    if (exponent < taper_powers.len) return taper_powers[exponent];
    return std.math.pow(f64, taper_ratio, @floatFromInt(exponent));
}

/// Where tapered part `part` starts: count · (1 - r^part) / (1 - r^chunks), rounded (so
/// consecutive parts meet, the last ends at `count`, and a part may be empty).
fn taperedBoundary(count: usize, part: u32, chunks: u32) usize {
    if (part >= chunks) return count;
    const items: f64 = @floatFromInt(count);
    const start = items * (1 - taperPower(part)) / (1 - taperPower(chunks));
    return @min(count, @as(usize, @intFromFloat(@round(start))));
}

fn runStep(exec: *Executor, step: Step, chunk: u32, worker: u32) void {
    assert(chunk < step.chunk_count);
    const node = &exec.nodes[step.node];
    const resolved = exec.node_tensor_storage[step.node..];
    const nt = resolved[0];
    const share: Share = .{
        .exec = exec,
        .chunk = chunk,
        .chunks = step.chunk_count,
        .worker = worker,
    };
    switch (step.kind) {
        .node => {},
        .quantize => return runMulMatQuantize(share, nt),
        .swiglu_product => return runGatedProduct(share, resolved[0..3], .swiglu),
        .geglu_product => return runGatedProduct(share, resolved[0..3], .geglu),
        .norm_chain => return runNormChain(share, resolved, step.chain, exec.nodes[step.node..]),
    }
    switch (std.enums.fromInt(Op, node.op).?) {
        .get_rows => runGetRows(share, nt),
        .rms_norm => runRmsNorm(share, nt, node.fp[0]),
        .mul_mat => runMulMat(share, nt),
        .add => runBinary(share, nt, .add),
        .mul => runBinary(share, nt, .mul),
        .scale => runUnary(share, nt, .scale, node.fp[0]),
        .softcap => runUnary(share, nt, .softcap, node.fp[0]),
        .swiglu => runGated(share, nt, .swiglu),
        .geglu => runGated(share, nt, .geglu),
        .rope => runRope(share, nt, node),
        .set_rows => runSetRows(share, nt),
        .attention => runAttention(share, nt, node),
    }
}

fn runGetRows(share: Share, nt: NodeTensors) void {
    const table = nt.src[0].?;
    const indices = nt.src[1].?.i32s();
    const dst = nt.dst.f32s();
    const len = table.rowLength();
    const part = share.range(indices.len);
    const all_rows = table.bytes[0..table.byte_length];
    for (part.begin..part.end) |i| {
        const row: usize = @intCast(indices[i]);
        const out = dst[i * len ..][0..len];
        ops.rows.getRowOf(out, all_rows, row, table.quantType(), table.layout);
    }
}

fn runRmsNorm(share: Share, nt: NodeTensors, eps: f32) void {
    const src = nt.src[0].?.f32s();
    const dst = nt.dst.f32s();
    const weight: ?[]const f32 = if (nt.src[1]) |w| w.f32s() else null;
    const len = nt.dst.rowLength();
    const part = share.range(nt.dst.rowCount());
    for (part.begin..part.end) |r| {
        ops.norm.rmsNormRow(dst[r * len ..][0..len], src[r * len ..][0..len], weight, eps);
    }
}

/// A `norm_chain` step's rows: the residual ADD's (when `chain.add`), the RMS_NORM's, and
/// their quantization for the MUL_MAT after the norm (when `chain.quantize`). Every part splits
/// the same rows the same way, so the chunk's rows of each are the ones it just wrote.
fn runNormChain(
    share: Share,
    resolved: []const NodeTensors,
    chain: NormChain,
    nodes: []const NodeEntry,
) void {
    var at: usize = 0;
    if (chain.add) {
        runBinary(share, resolved[0], .add);
        at = 1;
    }
    runRmsNorm(share, resolved[at], nodes[at].fp[0]);
    if (chain.quantize) runMulMatQuantize(share, resolved[at + 1]);
}

/// MUL_MAT's first step: activation rows to the weights' dot type, into shared scratch.
fn runMulMatQuantize(share: Share, nt: NodeTensors) void {
    const weight_type = nt.src[0].?.quantType();
    const x = nt.src[1].?;
    const k = x.rowLength();
    const bytes = ops.mul_mat.quantizedBytes(weight_type, k, x.rowCount());
    const part = share.range(x.rowCount());
    const scratch = share.exec.shared_scratch[0..bytes];
    ops.mul_mat.quantizeRows(weight_type, x.f32s(), k, part.begin, part.end, scratch);
}

/// MUL_MAT's dot products over a slice of weight rows.
fn runMulMat(share: Share, nt: NodeTensors) void {
    const operands = mulMatOperands(share.exec, nt);
    const rows = share.rowRange(operands.rows);
    ops.mul_mat.mulMatRows(operands, rows.begin, rows.end);
}

/// A MUL_MAT node's operands: its weights, and its activations as the dot reads them.
fn mulMatOperands(exec: *const Executor, nt: NodeTensors) ops.mul_mat.Operands {
    const weights = nt.src[0].?;
    const x = nt.src[1].?;
    const weight_type = weights.quantType();
    const k = weights.rowLength();
    const n = x.rowCount();
    const activations: []const u8 = if (ops.mul_mat.readsF32(weight_type))
        x.bytes[0..x.byte_length]
    else
        exec.shared_scratch[0..ops.mul_mat.quantizedBytes(weight_type, k, n)];
    return .{
        .weight_type = weight_type,
        .weight_layout = weights.layout,
        .k = k,
        .rows = weights.rowCount(),
        .n = n,
        .weights = weights.bytes[0..weights.byte_length],
        .activations = activations,
        .dst = nt.dst.f32s(),
    };
}

/// gate·x and up·x over a slice of rows, then act(gate)·up on that slice of every token's
/// row while it is in cache: the feed-forward's three nodes as one pass. The slices start at
/// multiples of 16 rows, so each value takes the same vector lane (or scalar tail) as in a
/// whole-row SWIGLU.
fn runGatedProduct(
    share: Share,
    nodes: *const [3]NodeTensors,
    comptime kind: enum { swiglu, geglu },
) void {
    const exec = share.exec;
    const gate = mulMatOperands(exec, nodes[0]);
    const up = mulMatOperands(exec, nodes[1]);
    const out = nodes[2].dst.f32s();
    const rows = share.rowRange(gate.rows);
    ops.mul_mat.mulMatRows(gate, rows.begin, rows.end);
    ops.mul_mat.mulMatRows(up, rows.begin, rows.end);
    for (0..gate.n) |token| {
        const at = token * gate.rows;
        const slice = out[at + rows.begin .. at + rows.end];
        const g = gate.dst[at + rows.begin .. at + rows.end];
        const u = up.dst[at + rows.begin .. at + rows.end];
        switch (kind) {
            .swiglu => ops.elementwise.swiglu(slice, g, u),
            .geglu => ops.elementwise.geglu(slice, g, u),
        }
    }
}

fn runBinary(share: Share, nt: NodeTensors, comptime kind: enum { add, mul }) void {
    const a = nt.src[0].?.f32s();
    const b = nt.src[1].?.f32s();
    const dst = nt.dst.f32s();
    const len = nt.dst.rowLength();
    const broadcast = b.len != a.len;
    const part = share.range(nt.dst.rowCount());
    for (part.begin..part.end) |r| {
        const row_b = if (broadcast) b else b[r * len ..][0..len];
        const out = dst[r * len ..][0..len];
        const row_a = a[r * len ..][0..len];
        switch (kind) {
            .add => ops.elementwise.add(out, row_a, row_b),
            .mul => ops.elementwise.mul(out, row_a, row_b),
        }
    }
}

fn runUnary(
    share: Share,
    nt: NodeTensors,
    comptime kind: enum { scale, softcap },
    value: f32,
) void {
    const src = nt.src[0].?.f32s();
    const dst = nt.dst.f32s();
    const part = share.range(dst.len);
    const out = dst[part.begin..part.end];
    const in = src[part.begin..part.end];
    switch (kind) {
        .scale => ops.elementwise.scale(out, in, value),
        .softcap => ops.elementwise.softcap(out, in, value),
    }
}

/// SWIGLU/GEGLU over the chunk's share of 16-value groups: every row is computed as
/// llama.cpp computes it, vectors from its start and a scalar tail at its end, however the
/// rows are cut into chunks.
fn runGated(share: Share, nt: NodeTensors, comptime kind: enum { swiglu, geglu }) void {
    const x = nt.src[0].?.f32s();
    const gate = nt.src[1].?.f32s();
    const dst = nt.dst.f32s();
    const len = nt.dst.rowLength();
    const groups_per_row = (len + 15) / 16;
    const part = share.range(nt.dst.rowCount() * groups_per_row);
    var group = part.begin;
    while (group < part.end) {
        const row = group / groups_per_row;
        const row_groups_end = @min(part.end, (row + 1) * groups_per_row);
        const begin = row * len + (group % groups_per_row) * 16;
        const end = @min((row + 1) * len, begin + (row_groups_end - group) * 16);
        switch (kind) {
            .swiglu => ops.elementwise.swiglu(dst[begin..end], x[begin..end], gate[begin..end]),
            .geglu => ops.elementwise.geglu(dst[begin..end], x[begin..end], gate[begin..end]),
        }
        group = row_groups_end;
    }
}

fn runRope(share: Share, nt: NodeTensors, node: *const NodeEntry) void {
    const x = nt.src[0].?;
    const positions = nt.src[1].?.i32s();
    const src = x.f32s();
    const dst = nt.dst.f32s();
    const len = x.rowLength();
    const heads = x.ne[1];
    const n_rot: usize = @intCast(node.ip[1]);
    const part = share.range(x.rowCount());
    // The rows of one token (its heads) share a position and so the angles.
    const factors: ?[]const f32 = if (nt.src[2]) |f| f.f32s() else null;
    var angles: ops.rope.Angles = undefined;
    var angles_position: ?i32 = null;
    for (part.begin..part.end) |r| {
        const position = positions[r / heads];
        if (angles_position != position) {
            angles = .of(n_rot, position, node.fp[0], node.fp[1], factors);
            angles_position = position;
        }
        ops.rope.ropeRowAt(dst[r * len ..][0..len], src[r * len ..][0..len], node.ip[0], &angles);
    }
}

fn runSetRows(share: Share, nt: NodeTensors) void {
    const src = nt.src[0].?;
    const cells = nt.src[1].?.i32s();
    const values = src.f32s();
    const len = src.rowLength();
    const cache_type: ops.rows.CacheType = if (nt.dst.type_id == f16_id) .f16 else .f32;
    const part = share.range(cells.len);
    for (part.begin..part.end) |i| {
        const cell: usize = @intCast(cells[i]);
        ops.rows.setRow(nt.dst.rowSlice(cell), values[i * len ..][0..len], cache_type);
    }
}

fn runAttention(share: Share, nt: NodeTensors, node: *const NodeEntry) void {
    const k_f16 = nt.src[1].?.type_id == f16_id;
    const v_f16 = nt.src[2].?.type_id == f16_id;
    if (k_f16 and v_f16) return attentionTyped(f16, f16, share, nt, node);
    if (k_f16) return attentionTyped(f16, f32, share, nt, node);
    if (v_f16) return attentionTyped(f32, f16, share, nt, node);
    attentionTyped(f32, f32, share, nt, node);
}

fn cacheValues(comptime T: type, tensor: Tensor) [*]const T {
    return @ptrCast(@alignCast(tensor.bytes));
}

fn attentionTyped(
    comptime K: type,
    comptime Val: type,
    share: Share,
    nt: NodeTensors,
    node: *const NodeEntry,
) void {
    const shape = AttentionShape.of(nt, node).?;
    const q = nt.src[0].?.f32s();
    const token_positions = nt.src[3].?.i32s();
    const token_masks = nt.src[4].?.i32s();
    const cell_positions = nt.src[5].?.i32s()[0..shape.cells];
    const cell_masks = nt.src[6].?.i32s()[0..shape.cells];
    const dst = nt.dst.f32s();
    const group = shape.group();
    const scratch_bytes = share.exec.threadScratch(share.worker);
    const scratch_floats: [*]f32 = @ptrCast(scratch_bytes.ptr);
    const scratch = ops.attention.Scratch.carve(
        scratch_floats[0 .. scratch_bytes.len / @sizeOf(f32)],
        group,
        shape.cells,
        shape.head_dim,
        shape.head_dim_v,
    );
    const splits = shape.groupSplits(share.exec.threadCount());
    const order = ops.attention.SumOrder;
    const params: ops.attention.Params = .{
        .scale = node.fp[0],
        .softcap = node.fp[1],
        // llama.cpp: q·k goes through tinyBLAS only with an F16 cache (an F32 one multiplies
        // the permuted q in place); Σ p·v runs over its cell count padded to 256.
        .score_order = if (K == f16) order.of(shape.tokens, shape.head_dim) else .single,
        .value_order = order.of(shape.tokens, 256),
    };
    const part = share.range(shape.units(share.exec.threadCount()));
    for (part.begin..part.end) |task| {
        // task = (token · kv_heads + kv_head) · splits + split
        const token = task / (shape.kv_heads * splits);
        const kv_head = (task / splits) % shape.kv_heads;
        const heads = pool_module.split(group, @intCast(task % splits), @intCast(splits));
        const head_count = heads.end - heads.begin;
        if (head_count == 0) continue;
        const first_head = token * shape.heads + kv_head * group + heads.begin;
        const keys: ops.attention.CacheRows(K) = .{
            .base = cacheValues(K, nt.src[1].?) + kv_head * shape.head_dim,
            .stride = nt.src[1].?.rowLength(),
            .len = shape.head_dim,
        };
        const values: ops.attention.CacheRows(Val) = .{
            .base = cacheValues(Val, nt.src[2].?) + kv_head * shape.head_dim_v,
            .stride = nt.src[2].?.rowLength(),
            .len = shape.head_dim_v,
        };
        const visibility: ops.attention.Visibility = .{
            .token_position = token_positions[token],
            .token_mask = token_masks[token],
            .cell_positions = cell_positions,
            .cell_masks = cell_masks,
            .window = shape.window,
        };
        const out = dst[first_head * shape.head_dim_v ..][0 .. head_count * shape.head_dim_v];
        const query = q[first_head * shape.head_dim ..][0 .. head_count * shape.head_dim];
        ops.attention.attendGroup(
            K,
            Val,
            head_count,
            out,
            query,
            keys,
            values,
            visibility,
            params,
            scratch,
        );
    }
}

const testing = std.testing;

test {
    _ = ops;
    _ = pool_module;
    _ = step_order;
    _ = plan_key_module;
}

/// A small graph over one f32 buffer, built by hand as the TypeScript encoder would.
const TestGraph = struct {
    memory: [64]f32 align(64) = @splat(0),
    tensors: [8]TensorEntry = undefined,
    tensor_count: usize = 0,

    fn buffers(g: *TestGraph) [1]BufferEntry {
        const address = @intFromPtr(&g.memory);
        return .{.{ .address = address, .byte_length = @sizeOf(@TypeOf(g.memory)), .flags = 0 }};
    }

    fn tensor(g: *TestGraph, type_id: u32, offset_values: u64, ne0: u32, ne1: u32) i32 {
        g.tensors[g.tensor_count] = .{
            .buffer = 0,
            .type = type_id,
            .offset = offset_values * 4,
            .ne = .{ ne0, ne1, 1, 1 },
        };
        g.tensor_count += 1;
        return @intCast(g.tensor_count - 1);
    }
};

/// One 64-byte-aligned allocation holding regions of the given sizes, each starting on a
/// 64-byte boundary (a test graph's weights, activations and outputs in one buffer).
fn TestRegions(comptime count: usize) type {
    return struct {
        memory: []align(64) u8,
        offsets: [count]usize,

        fn init(sizes: [count]usize) !@This() {
            var offsets: [count]usize = undefined;
            var total: usize = 0;
            for (sizes, &offsets) |size, *offset| {
                offset.* = total;
                total += std.mem.alignForward(usize, size, 64);
            }
            const memory = try testing.allocator.alignedAlloc(u8, .@"64", total);
            return .{ .memory = memory, .offsets = offsets };
        }

        fn deinit(regions: @This()) void {
            testing.allocator.free(regions.memory);
        }

        /// The buffer table of a graph over the whole allocation.
        fn buffers(regions: @This()) [1]BufferEntry {
            const address = @intFromPtr(regions.memory.ptr);
            return .{.{ .address = address, .byte_length = regions.memory.len, .flags = 0 }};
        }
    };
}

fn testNode(op: Op, dst: i32, src: []const i32, fp0: f32) NodeEntry {
    var node: NodeEntry = .{
        .op = @intFromEnum(op),
        .dst = dst,
        .src = @splat(-1),
        .ip = @splat(0),
        .fp = @splat(0),
    };
    @memcpy(node.src[0..src.len], src);
    node.fp[0] = fp0;
    return node;
}

test "Executor.compute() runs mul_mat, add and scale in order on 1 and 3 threads" {
    for ([_]u32{ 1, 3 }) |threads| {
        const exec = try Executor.create(testing.allocator, threads);
        defer exec.destroy();
        var g: TestGraph = .{};
        // w [3 rows][2], x [2 tokens][2], out [2][3], bias [3]
        @memcpy(g.memory[0..6], &[_]f32{ 1, 0, 0, 1, 1, 1 });
        @memcpy(g.memory[8..12], &[_]f32{ 2, 3, 4, 5 });
        @memcpy(g.memory[24..27], &[_]f32{ 10, 20, 30 });
        const w = g.tensor(0, 0, 2, 3);
        const x = g.tensor(0, 8, 2, 2);
        const out = g.tensor(0, 16, 3, 2);
        const bias = g.tensor(0, 24, 3, 1);
        const nodes = [_]NodeEntry{
            testNode(.mul_mat, out, &.{ w, x }, 0),
            testNode(.add, out, &.{ out, bias }, 0),
            testNode(.scale, out, &.{out}, 0.5),
        };
        const buffers = g.buffers();
        try exec.compute(&buffers, g.tensors[0..g.tensor_count], &nodes);
        try testing.expectEqualSlices(f32, &.{ 6, 11.5, 17.5, 7, 12.5, 19.5 }, g.memory[16..22]);
        try testing.expectEqualStrings("", exec.message());
    }
}

test "Executor.compute() reuses the last plan for the same graph, and only for it" {
    const exec = try Executor.create(testing.allocator, 2);
    defer exec.destroy();
    var g: TestGraph = .{};
    @memcpy(g.memory[0..6], &[_]f32{ 1, 0, 0, 1, 1, 1 });
    @memcpy(g.memory[8..10], &[_]f32{ 2, 3 });
    const w = g.tensor(0, 0, 2, 3);
    const x = g.tensor(0, 8, 2, 1);
    const out = g.tensor(0, 16, 3, 1);
    var nodes = [_]NodeEntry{
        testNode(.mul_mat, out, &.{ w, x }, 0),
        testNode(.scale, out, &.{out}, 0.5),
    };
    const buffers = g.buffers();
    try exec.compute(&buffers, g.tensors[0..g.tensor_count], &nodes);
    try testing.expectEqualSlices(f32, &.{ 1, 1.5, 2.5 }, g.memory[16..19]);
    // Same graph, new input: the stored plan runs it (every step's chunks counted afresh).
    @memcpy(g.memory[8..10], &[_]f32{ 4, 6 });
    const attention = @intFromEnum(Op.attention);
    const tensors = g.tensors[0..g.tensor_count];
    try testing.expect(exec.plan_key.matches(&buffers, tensors, &nodes, attention, attention_cells_param));
    try exec.compute(&buffers, g.tensors[0..g.tensor_count], &nodes);
    try testing.expectEqualSlices(f32, &.{ 2, 3, 5 }, g.memory[16..19]);
    // A changed parameter is a new graph, checked and planned again.
    nodes[1].fp[0] = 2;
    try exec.compute(&buffers, g.tensors[0..g.tensor_count], &nodes);
    try testing.expectEqualSlices(f32, &.{ 8, 12, 20 }, g.memory[16..19]);
    // A graph that fails its checks leaves no plan to reuse.
    nodes[1].src[0] = 7;
    try testing.expectError(error.InvalidGraph, exec.compute(&buffers, g.tensors[0..g.tensor_count], &nodes));
    try testing.expect(!exec.plan_key.valid);
}

test "Executor.compute() refuses bad graphs with a message" {
    const exec = try Executor.create(testing.allocator, 2);
    defer exec.destroy();
    var g: TestGraph = .{};
    const a = g.tensor(0, 0, 4, 2);
    const too_long = g.tensor(0, 60, 8, 1);
    const buffers = g.buffers();
    var nodes = [_]NodeEntry{testNode(.scale, a, &.{a}, 2)};
    try testing.expectError(
        error.InvalidGraph,
        exec.compute(&buffers, g.tensors[0..g.tensor_count], &nodes),
    );
    try testing.expectEqualStrings(
        "tensor 1: bytes 240..272 are outside buffer 0 of 256 bytes",
        exec.message(),
    );
    g.tensor_count = 1;
    nodes[0].src[0] = too_long;
    try testing.expectError(error.InvalidGraph, exec.compute(&buffers, g.tensors[0..1], &nodes));
    try testing.expectEqualStrings(
        "node 0 (scale): tensor index 1 is out of range (1 tensors)",
        exec.message(),
    );
    nodes[0] = testNode(.mul_mat, a, &.{ a, a }, 0);
    try testing.expectError(error.InvalidGraph, exec.compute(&buffers, g.tensors[0..1], &nodes));
    nodes[0].op = 99;
    try testing.expectError(error.Unsupported, exec.compute(&buffers, g.tensors[0..1], &nodes));
    try testing.expectEqualStrings("node 0 (?): op 99 does not exist", exec.message());
    var read_only = buffers;
    read_only[0].flags = buffer_read_only;
    nodes[0] = testNode(.scale, a, &.{a}, 2);
    try testing.expectError(error.InvalidGraph, exec.compute(&read_only, g.tensors[0..1], &nodes));
    try testing.expectEqualStrings("node 0 (scale): dst is in a read-only buffer", exec.message());
    nodes[0].op = 99;
    g.tensors[0].type = 39;
    try testing.expectError(error.Unsupported, exec.compute(&buffers, g.tensors[0..1], &nodes));
    try testing.expectEqualStrings("tensor 0 has type 39, which is not supported", exec.message());
    g.tensors[0].type = 0 | 7 << 16;
    try testing.expectError(error.Unsupported, exec.compute(&buffers, g.tensors[0..1], &nodes));
    try testing.expectEqualStrings("tensor 0 has layout 7, which does not exist", exec.message());
}

test "Executor.compute() lets only MUL_MAT weights of legacy types have interleaved rows" {
    const exec = try Executor.create(testing.allocator, 1);
    defer exec.destroy();
    var g: TestGraph = .{};
    const rows4: u32 = @as(u32, @intFromEnum(Layout.rows4)) << 16;
    const f32_rows4 = g.tensor(rows4 | f32_id, 0, 4, 4);
    const x = g.tensor(f32_id, 16, 4, 1);
    const out = g.tensor(f32_id, 20, 4, 1);
    const buffers = g.buffers();
    var nodes = [_]NodeEntry{testNode(.mul_mat, out, &.{ f32_rows4, x }, 0)};
    try testing.expectError(
        error.Unsupported,
        exec.compute(&buffers, g.tensors[0..g.tensor_count], &nodes),
    );
    try testing.expectEqualStrings(
        "node 0 (mul_mat): weights of type F32 cannot be multiplied in layout rows4",
        exec.message(),
    );
    nodes[0] = testNode(.scale, out, &.{f32_rows4}, 2);
    try testing.expectError(
        error.InvalidGraph,
        exec.compute(&buffers, g.tensors[0..g.tensor_count], &nodes),
    );
    try testing.expectEqualStrings(
        "node 0 (scale): src0 has interleaved rows (layout rows4), which only MUL_MAT " ++
            "weights and GET_ROWS tables may have",
        exec.message(),
    );
    // Rows of 32 Q8_0 values (one 34-byte block): 3 rows in bytes 0..102.
    const q8_rows4 = g.tensor(rows4 | @intFromEnum(QuantType.q8_0), 0, 32, 3);
    const out3 = g.tensor(f32_id, 28, 3, 1);
    const x32 = g.tensor(f32_id, 32, 32, 1);
    nodes[0] = testNode(.mul_mat, out3, &.{ q8_rows4, x32 }, 0);
    try testing.expectError(
        error.InvalidGraph,
        exec.compute(&buffers, g.tensors[0..g.tensor_count], &nodes),
    );
    try testing.expectEqualStrings(
        "node 0 (mul_mat): weights in layout rows4: 3 rows, not a multiple of 4",
        exec.message(),
    );
}

test "Executor.compute() gathers GET_ROWS from a rows16 copy as from the file's rows" {
    const exec = try Executor.create(testing.allocator, 2);
    defer exec.destroy();
    const k = 64;
    const rows = 32;
    const picks = [_]i32{ 17, 0, 31, 5, 17 };
    const t = traits.traits(.q8_0);
    const table_bytes = rows * t.rowBytes(k);
    const out_bytes = picks.len * k * 4;
    // file table, rows16 copy, indices, rows from the file, rows from the copy
    const sizes = [_]usize{ table_bytes, table_bytes, picks.len * 4, out_bytes, out_bytes };
    const regions = try TestRegions(sizes.len).init(sizes);
    defer regions.deinit();
    const memory = regions.memory;
    const offsets = regions.offsets;
    var prng = std.Random.DefaultPrng.init(3);
    var values: [k]f32 = undefined;
    for (0..rows) |r| {
        const scale: f32 = @floatFromInt(r + 1); // rows differ: a wrong lane shows
        for (&values) |*v| v.* = prng.random().floatNorm(f32) * scale;
        t.quantize_row(&values, memory[offsets[0] + r * t.rowBytes(k) ..][0..t.rowBytes(k)]);
    }
    const file = memory[offsets[0]..][0..table_bytes];
    const copy = memory[offsets[1]..][0..table_bytes];
    @import("quant/mod.zig").interleaveRows16(.q8_0, k / 32, rows, file, copy);
    @memcpy(memory[offsets[2]..][0 .. picks.len * 4], std.mem.sliceAsBytes(&picks));
    const buffers = regions.buffers();
    const q8_0_id: u32 = @intFromEnum(QuantType.q8_0);
    const rows16: u32 = @as(u32, @intFromEnum(Layout.rows16)) << 16;
    const copy_q8_0_id = rows16 | q8_0_id;
    const copy_q4_k_id = rows16 | @as(u32, @intFromEnum(QuantType.q4_k));
    var tensors = [_]TensorEntry{
        .{ .buffer = 0, .type = q8_0_id, .offset = offsets[0], .ne = .{ k, rows, 1, 1 } },
        .{ .buffer = 0, .type = copy_q8_0_id, .offset = offsets[1], .ne = .{ k, rows, 1, 1 } },
        .{ .buffer = 0, .type = type_i32, .offset = offsets[2], .ne = .{ picks.len, 1, 1, 1 } },
        .{ .buffer = 0, .type = f32_id, .offset = offsets[3], .ne = .{ k, picks.len, 1, 1 } },
        .{ .buffer = 0, .type = f32_id, .offset = offsets[4], .ne = .{ k, picks.len, 1, 1 } },
    };
    const nodes = [_]NodeEntry{
        testNode(.get_rows, 3, &.{ 0, 2 }, 0),
        testNode(.get_rows, 4, &.{ 1, 2 }, 0),
    };
    try exec.compute(&buffers, &tensors, &nodes);
    try testing.expectEqualSlices(
        u8,
        memory[offsets[3]..][0..out_bytes],
        memory[offsets[4]..][0..out_bytes],
    );
    // A copy holds whole groups of 16 rows.
    tensors[1].ne[1] = 8;
    try testing.expectError(error.InvalidGraph, exec.compute(&buffers, &tensors, nodes[1..]));
    try testing.expectEqualStrings(
        "node 0 (get_rows): src0 in layout rows16: 8 rows, not a multiple of 16",
        exec.message(),
    );
    // Q4_K's rows16 blocks are rearranged bit by bit: refused, not read wrong.
    tensors[1] = .{ .buffer = 0, .type = copy_q4_k_id, .offset = offsets[1], .ne = .{ 256, 8, 1, 1 } };
    try testing.expectError(error.Unsupported, exec.compute(&buffers, &tensors, nodes[1..]));
    try testing.expectEqualStrings(
        "node 0 (get_rows): src0 of type Q4_K cannot be gathered in layout rows16",
        exec.message(),
    );
}

test "Executor.compute() splits large nodes over the pool and orders them with small ones" {
    const k = 256;
    const rows = 128;
    const n = 3;
    const memory = try testing.allocator.alignedAlloc(f32, .@"64", rows * k + n * k + 2 * n * rows);
    defer testing.allocator.free(memory);
    var prng = std.Random.DefaultPrng.init(5);
    for (memory) |*v| v.* = prng.random().floatNorm(f32);
    const buffers = [_]BufferEntry{
        .{ .address = @intFromPtr(memory.ptr), .byte_length = memory.len * 4, .flags = 0 },
    };
    const tensors = [_]TensorEntry{
        .{ .buffer = 0, .type = 0, .offset = 0, .ne = .{ k, rows, 1, 1 } },
        .{ .buffer = 0, .type = 0, .offset = rows * k * 4, .ne = .{ k, n, 1, 1 } },
        .{ .buffer = 0, .type = 0, .offset = (rows * k + n * k) * 4, .ne = .{ rows, n, 1, 1 } },
        .{ .buffer = 0, .type = 0, .offset = (rows * k + n * k + n * rows) * 4, .ne = .{
            rows,
            n,
            1,
            1,
        } },
    };
    const nodes = [_]NodeEntry{
        testNode(.mul_mat, 2, &.{ 0, 1 }, 0), // 128 KiB of weights × 3 tokens: parallel
        testNode(.scale, 2, &.{2}, 2), // small: thread 0
        testNode(.mul_mat, 3, &.{ 0, 1 }, 0),
        testNode(.add, 3, &.{ 3, 2 }, 0),
    };
    const exec = try Executor.create(testing.allocator, 3);
    defer exec.destroy();
    for (0..300) |_| {
        try exec.compute(&buffers, &tensors, &nodes);
        // The big MUL_MAT is split into chunks; SCALE is one chunk.
        try testing.expect(exec.step_storage[0].chunk_count > 1);
        try testing.expectEqual(@as(u32, 1), exec.step_storage[1].chunk_count);
        const out = memory[rows * k + n * k ..][0 .. 2 * n * rows];
        for (0..n) |t| for (0..rows) |r| {
            var sum: f32 = 0;
            for (0..k) |i| sum += memory[r * k + i] * memory[rows * k + t * k + i];
            try testing.expectApproxEqAbs(2 * sum, out[t * rows + r], 1e-3);
            try testing.expectApproxEqAbs(3 * sum, out[n * rows + t * rows + r], 1e-3);
        };
    }
}

test "Executor.compute() runs gate, up and SWIGLU as one step, equal to the three nodes alone" {
    const k = 64;
    const rows = 40; // not a multiple of 16: the last slice ends in a scalar tail
    const n = 3;
    for ([_]QuantType{ .f32, .q8_0 }) |weight_type| {
        const t = traits.traits(weight_type);
        const weight_bytes = rows * t.rowBytes(k);
        const sizes = [_]usize{ weight_bytes, weight_bytes, n * k * 4, n * rows * 4, n * rows * 4 };
        const regions = try TestRegions(sizes.len).init(sizes);
        defer regions.deinit();
        const memory = regions.memory;
        const offsets = regions.offsets;
        var prng = std.Random.DefaultPrng.init(8);
        var values: [k]f32 = undefined;
        for (0..2 * rows) |r| {
            for (&values) |*v| v.* = prng.random().floatNorm(f32);
            const weights = memory[offsets[r / rows] + (r % rows) * t.rowBytes(k) ..][0..t.rowBytes(k)];
            t.quantize_row(&values, weights);
        }
        const x: []f32 = @alignCast(std.mem.bytesAsSlice(f32, memory[offsets[2]..][0 .. n * k * 4]));
        for (x) |*v| v.* = prng.random().floatNorm(f32);
        const buffers = regions.buffers();
        const type_id: u32 = @intFromEnum(weight_type);
        const tensors = [_]TensorEntry{
            .{ .buffer = 0, .type = type_id, .offset = offsets[0], .ne = .{ k, rows, 1, 1 } },
            .{ .buffer = 0, .type = type_id, .offset = offsets[1], .ne = .{ k, rows, 1, 1 } },
            .{ .buffer = 0, .type = f32_id, .offset = offsets[2], .ne = .{ k, n, 1, 1 } },
            .{ .buffer = 0, .type = f32_id, .offset = offsets[3], .ne = .{ rows, n, 1, 1 } },
            .{ .buffer = 0, .type = f32_id, .offset = offsets[4], .ne = .{ rows, n, 1, 1 } },
        };
        const nodes = [_]NodeEntry{
            testNode(.mul_mat, 3, &.{ 0, 2 }, 0),
            testNode(.mul_mat, 4, &.{ 1, 2 }, 0),
            testNode(.swiglu, 3, &.{ 3, 4 }, 0),
        };
        const exec = try Executor.create(testing.allocator, 2);
        defer exec.destroy();
        const out: []f32 = @alignCast(std.mem.bytesAsSlice(f32, memory[offsets[3]..][0 .. n * rows * 4]));
        try exec.compute(&buffers, &tensors, &nodes);
        const last = exec.step_storage[exec.step_count - 1];
        try testing.expectEqual(StepKind.swiglu_product, last.kind);
        try testing.expectEqual(@as(u32, if (weight_type == .f32) 1 else 2), exec.step_count);
        var fused: [n * rows]f32 = undefined;
        @memcpy(&fused, out);
        for (0..nodes.len) |i| try exec.compute(&buffers, &tensors, nodes[i..][0..1]);
        try testing.expectEqualSlices(f32, out, &fused);
    }
}

test "Executor.compute() runs a residual ADD, its RMS_NORM and their quantization as one step" {
    const k = 64;
    const rows = 32;
    const n = 256; // 64 KiB of rows: two threads split the chain into chunks
    const t = traits.traits(.q8_0);
    const weight_bytes = rows * t.rowBytes(k);
    // w, a, b, sum, norm weight, normed, out
    const row_bytes = n * k * 4;
    const sizes = [_]usize{
        weight_bytes, row_bytes, row_bytes, row_bytes, k * 4, row_bytes, n * rows * 4,
    };
    const regions = try TestRegions(sizes.len).init(sizes);
    defer regions.deinit();
    const memory = regions.memory;
    const offsets = regions.offsets;
    var prng = std.Random.DefaultPrng.init(9);
    var values: [k]f32 = undefined;
    for (0..rows) |r| {
        for (&values) |*v| v.* = prng.random().floatNorm(f32);
        t.quantize_row(&values, memory[offsets[0] + r * t.rowBytes(k) ..][0..t.rowBytes(k)]);
    }
    for (offsets[1..5], sizes[1..5]) |offset, size| {
        const floats: []f32 = @alignCast(std.mem.bytesAsSlice(f32, memory[offset..][0..size]));
        for (floats) |*v| v.* = prng.random().floatNorm(f32);
    }
    const buffers = regions.buffers();
    const q8_0_id: u32 = @intFromEnum(QuantType.q8_0);
    const tensors = [_]TensorEntry{
        .{ .buffer = 0, .type = q8_0_id, .offset = offsets[0], .ne = .{ k, rows, 1, 1 } },
        .{ .buffer = 0, .type = f32_id, .offset = offsets[1], .ne = .{ k, n, 1, 1 } },
        .{ .buffer = 0, .type = f32_id, .offset = offsets[2], .ne = .{ k, n, 1, 1 } },
        .{ .buffer = 0, .type = f32_id, .offset = offsets[3], .ne = .{ k, n, 1, 1 } },
        .{ .buffer = 0, .type = f32_id, .offset = offsets[4], .ne = .{ k, 1, 1, 1 } },
        .{ .buffer = 0, .type = f32_id, .offset = offsets[5], .ne = .{ k, n, 1, 1 } },
        .{ .buffer = 0, .type = f32_id, .offset = offsets[6], .ne = .{ rows, n, 1, 1 } },
    };
    const nodes = [_]NodeEntry{
        testNode(.add, 3, &.{ 1, 2 }, 0),
        testNode(.rms_norm, 5, &.{ 3, 4 }, 1e-5),
        testNode(.mul_mat, 6, &.{ 0, 5 }, 0),
    };
    // What the nodes write: sum, normed rows, product (the norm weight between is input).
    const outputs = [_][]u8{
        memory[offsets[3]..][0..sizes[3]],
        memory[offsets[5]..][0..sizes[5]],
        memory[offsets[6]..][0..sizes[6]],
    };
    for ([_]u32{ 1, 2 }) |threads| {
        const exec = try Executor.create(testing.allocator, threads);
        defer exec.destroy();
        try exec.compute(&buffers, &tensors, &nodes);
        // The chain, then the product without a quantization step of its own.
        try testing.expectEqual(@as(u32, 2), exec.step_count);
        const chain = exec.step_storage[0];
        try testing.expectEqual(StepKind.norm_chain, chain.kind);
        try testing.expect(chain.chain.add and chain.chain.quantize);
        try testing.expectEqual(threads > 1, chain.chunk_count > 1);
        try testing.expectEqual(StepKind.node, exec.step_storage[1].kind);
        var fused: [outputs.len][]u8 = undefined;
        for (&fused, outputs) |*copy, output| copy.* = try testing.allocator.dupe(u8, output);
        defer for (fused) |copy| testing.allocator.free(copy);
        for (outputs) |output| @memset(output, 0);
        for (0..nodes.len) |i| try exec.compute(&buffers, &tensors, nodes[i..][0..1]);
        for (fused, outputs) |copy, output| try testing.expectEqualSlices(u8, copy, output);
    }
}

test "the taper powers computed at compile time equal pow's at run time" {
    for (taper_powers, 0..) |power, i| {
        var exponent: f64 = @floatFromInt(i);
        std.mem.doNotOptimizeAway(&exponent);
        try testing.expectEqual(std.math.pow(f64, taper_ratio, exponent), power);
    }
}

test "taperedSplit() covers every item once, in chunks that shrink from first to last" {
    for ([_]u32{ 1, 2, 3, 4, 5, 16, 17 }) |chunks| {
        for ([_]usize{ 0, 1, 7, 64, 128, 513 }) |count| {
            var next: usize = 0;
            var previous_len: usize = count;
            for (0..chunks) |chunk| {
                const part = taperedSplit(count, @intCast(chunk), chunks);
                try testing.expectEqual(next, part.begin);
                try testing.expect(part.end >= part.begin);
                // Rounding moves a boundary by at most half an item: a chunk is never more
                // than one item longer than the one before it.
                if (chunks >= 4) try testing.expect(part.end - part.begin <= previous_len + 1);
                previous_len = part.end - part.begin;
                next = part.end;
            }
            try testing.expectEqual(count, next);
        }
    }
    // 128 blocks in 16 chunks: 0.2/0.972 of them first (26), one last.
    try testing.expectEqual(@as(usize, 26), taperedSplit(128, 0, 16).end);
    const last = taperedSplit(128, 15, 16);
    try testing.expectEqual(@as(usize, 127), last.begin);
    try testing.expectEqual(@as(usize, 128), last.end);
    // Three chunks or fewer are equal parts.
    try testing.expectEqual(@as(usize, 42), taperedSplit(128, 0, 3).end);
}
