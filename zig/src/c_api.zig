//! The C ABI of the zeno native library: the only file with `export`s.
//!
//! Rules for every export (Deno binds them by name in backends/native/symbols.ts; a test
//! checks that table against the `export fn zeno_*` lines of this file):
//! - names start with `zeno_`; arguments and results are integers, floats or pointers;
//! - fallible calls return `Status`; results go through `out_*` pointers;
//! - handles are opaque to callers; their structs have comptime-asserted sizes;
//! - the foreign caller is untrusted: null or out-of-range arguments are `invalid_argument`,
//!   never a crash. Inside the modules, broken invariants are asserts.
//! Changing a signature, a status value or a feature bit bumps `abi_version`.
//!
//! Sections: version, status, CPU, variants, mapped files, quantized kernels. Kernels add
//! sections below.

const std = @import("std");
const builtin = @import("builtin");
const build_options = @import("build_options");
const cpu = @import("cpu.zig");
const mmap = @import("mmap.zig");
const variants = @import("variants.zig");
const assert = std.debug.assert;

// ---------------------------------------------------------------------------------------------
// Version

/// Bumped on every incompatible change of this file; the loader refuses any other value.
pub const abi_version: u32 = 7;

/// The ABI version this library was built with (`ZENO_ABI_VERSION` in symbols.ts).
export fn zeno_abi_version() u32 {
    return abi_version;
}

// ---------------------------------------------------------------------------------------------
// Status

/// The result of every fallible call. Values are stable: append, never renumber.
pub const Status = enum(c_int) {
    ok = 0,
    invalid_argument = 1,
    not_found = 2,
    access_denied = 3,
    is_directory = 4,
    not_regular_file = 5,
    name_too_long = 6,
    too_many_open_files = 7,
    out_of_memory = 8,
    file_too_big = 9,
    io_error = 10,
    unsupported = 11,
    unexpected = 12,
    lock_limit_exceeded = 13,

    /// A short lowercase phrase for error messages ("file does not exist").
    pub fn message(status: Status) [:0]const u8 {
        return switch (status) {
            .ok => "ok",
            .invalid_argument => "invalid argument",
            .not_found => "file does not exist",
            .access_denied => "permission denied",
            .is_directory => "is a directory",
            .not_regular_file => "not a regular file",
            .name_too_long => "path is too long",
            .too_many_open_files => "too many open files",
            .out_of_memory => "out of memory",
            .file_too_big => "file is too big to map",
            .io_error => "input/output error",
            .unsupported => "not supported by this system",
            .unexpected => "unexpected system error",
            .lock_limit_exceeded => "locked-memory limit (RLIMIT_MEMLOCK) exceeded",
        };
    }
};

comptime {
    assert(@sizeOf(Status) == @sizeOf(c_int));
}

fn statusFromMapError(err: mmap.MapError) Status {
    return switch (err) {
        error.InvalidPath => .invalid_argument,
        error.FileNotFound => .not_found,
        error.AccessDenied => .access_denied,
        error.IsDirectory => .is_directory,
        error.NotRegularFile => .not_regular_file,
        error.NameTooLong => .name_too_long,
        error.TooManyOpenFiles => .too_many_open_files,
        error.OutOfMemory => .out_of_memory,
        error.FileTooBig => .file_too_big,
        error.InputOutput => .io_error,
        error.Unexpected => .unexpected,
    };
}

/// The message of a status value; "unknown status" for a value that is not one.
export fn zeno_status_message(status: c_int) [*:0]const u8 {
    const known = std.enums.fromInt(Status, status) orelse return "unknown status";
    return known.message().ptr;
}

// ---------------------------------------------------------------------------------------------
// CPU

/// The running CPU's features: bit `i` set means `cpu.Feature` with value `i` is usable.
export fn zeno_cpu_features() u64 {
    return cpu.detect();
}

// ---------------------------------------------------------------------------------------------
// Variants: the builds of this library for this architecture, most portable first.

const arch_variants = variants.forArch(builtin.cpu.arch);

/// The name of the variant this library was built as ("avx2").
export fn zeno_build_variant() [*:0]const u8 {
    return build_options.variant_name.ptr;
}

/// How many variants exist for this library's architecture.
export fn zeno_variant_count() u32 {
    return arch_variants.len;
}

/// The name of variant `index` (0 = baseline), or null past the end.
export fn zeno_variant_name(index: u32) ?[*:0]const u8 {
    if (index >= arch_variants.len) return null;
    return arch_variants[index].name.ptr;
}

/// The feature mask variant `index` needs (as `zeno_cpu_features`), or 0 past the end.
export fn zeno_variant_features(index: u32) u64 {
    if (index >= arch_variants.len) return 0;
    return cpu.featureMask(arch_variants[index].features_required);
}

// ---------------------------------------------------------------------------------------------
// Mapped files

/// An open read-only mapping. Callers see an opaque pointer.
const MapHandle = extern struct {
    /// `map_magic` while open; catches use after close in safe builds.
    magic: u64,
    /// Null for an empty file.
    ptr: ?[*]const u8,
    byte_length: u64,
};

comptime {
    assert(@sizeOf(MapHandle) == 24);
    assert(@alignOf(MapHandle) == 8);
}

const map_magic: u64 = 0x7a65_6e6f_6d61_7030; // "zenomap0"

const allocator = std.heap.c_allocator;

/// Maps the file at `path_ptr[0..path_len]` (UTF-8, not NUL-terminated) read-only and shared,
/// and stores a handle in `out_handle`. An empty file gives a handle of length 0.
export fn zeno_map_open(
    path_ptr: ?[*]const u8,
    path_len: usize,
    out_handle: ?*?*MapHandle,
) Status {
    const path = (path_ptr orelse return .invalid_argument)[0..path_len];
    const out = out_handle orelse return .invalid_argument;
    out.* = null;
    const handle = allocator.create(MapHandle) catch return .out_of_memory;
    const mapping = mmap.Mapping.open(path) catch |err| {
        allocator.destroy(handle);
        return statusFromMapError(err);
    };
    handle.* = .{
        .magic = map_magic,
        .ptr = if (mapping.bytes.len == 0) null else mapping.bytes.ptr,
        .byte_length = mapping.bytes.len,
    };
    out.* = handle;
    return .ok;
}

/// The first byte of the mapping (null for an empty file or a null handle).
export fn zeno_map_ptr(handle: ?*const MapHandle) ?[*]const u8 {
    const map = handle orelse return null;
    assert(map.magic == map_magic);
    return map.ptr;
}

/// The mapping's length in bytes (0 for a null handle).
export fn zeno_map_len(handle: ?*const MapHandle) u64 {
    const map = handle orelse return 0;
    assert(map.magic == map_magic);
    return map.byte_length;
}

/// Advice for the whole mapping: 0 normal, 1 sequential, 2 random, 3 willneed, 4 hugepage.
export fn zeno_map_advise(handle: ?*const MapHandle, advice: c_int) Status {
    const map = handle orelse return .invalid_argument;
    assert(map.magic == map_magic);
    if (advice < 0 or advice > @intFromEnum(mmap.Advice.hugepage)) return .invalid_argument;
    const mapping = mappingOf(map);
    mapping.advise(@enumFromInt(advice)) catch |err| return switch (err) {
        error.Unsupported => .unsupported,
        error.Unexpected => .unexpected,
    };
    return .ok;
}

/// Reads the whole file now and pins its pages in RAM until close (`mlock`): weights that
/// must stay hot survive page-cache reclaim. Costs the file's size in locked memory.
export fn zeno_map_lock(handle: ?*const MapHandle) Status {
    const map = handle orelse return .invalid_argument;
    assert(map.magic == map_magic);
    mappingOf(map).lock() catch |err| return switch (err) {
        error.LockLimitExceeded => .lock_limit_exceeded,
        error.PermissionDenied => .access_denied,
        error.Unexpected => .unexpected,
    };
    return .ok;
}

/// Drops this process's pages of the whole pages inside bytes [offset, offset + length) of the
/// mapping (they stay in the page cache; reading them again faults them back in). For weights
/// copied elsewhere. `invalid_argument` for a null handle or a range outside the file.
export fn zeno_map_release(handle: ?*const MapHandle, offset: u64, length: u64) Status {
    const map = handle orelse return .invalid_argument;
    assert(map.magic == map_magic);
    if (offset > map.byte_length or length > map.byte_length - offset) return .invalid_argument;
    mappingOf(map).release(@intCast(offset), @intCast(length));
    return .ok;
}

/// Unmaps and frees. A null handle is ignored; a handle must not be closed twice.
export fn zeno_map_close(handle: ?*MapHandle) void {
    const map = handle orelse return;
    assert(map.magic == map_magic);
    var mapping = mappingOf(map);
    mapping.close();
    map.magic = 0;
    allocator.destroy(map);
}

fn mappingOf(map: *const MapHandle) mmap.Mapping {
    const length: usize = @intCast(map.byte_length);
    const ptr = map.ptr orelse return .{ .bytes = &.{} };
    const aligned: [*]align(std.heap.page_size_min) const u8 = @alignCast(ptr);
    return .{ .bytes = aligned[0..length] };
}

// ---------------------------------------------------------------------------------------------
// Quantized kernels (zig/src/quant). `type_id` is a ggml type id as stored in GGUF (0 F32,
// 1 F16, 2 Q4_0, 3 Q4_1, 6 Q5_0, 7 Q5_1, 8 Q8_0, 9 Q8_1, 10..15 Q2_K..Q8_K, 30 BF16); `n` is a
// row length in values, a multiple of the type's block size. Rows are byte arrays of blocks.

const quant = @import("quant/mod.zig");
const ops = @import("ops/mod.zig");

fn quantTraits(type_id: u32) ?*const quant.Traits {
    const quant_type = quant.QuantType.fromId(type_id) orelse return null;
    return quant.traits.traits(quant_type);
}

/// Values per block of the type (1 for F32/F16/BF16), or 0 when the type is not supported.
export fn zeno_quant_block_size(type_id: u32) u32 {
    const t = quantTraits(type_id) orelse return 0;
    return @intCast(t.block_size);
}

/// Bytes of a row of `n` values, or 0 when the type is not supported or `n` is not a multiple
/// of its block size.
export fn zeno_quant_row_bytes(type_id: u32, n: u64) u64 {
    const t = quantTraits(type_id) orelse return 0;
    if (n % t.block_size != 0) return 0;
    return n / t.block_size * t.bytes_per_block;
}

/// The type id the activations of `zeno_quant_vec_dot` must have for weights of `type_id`
/// (0 = F32, 8 = Q8_0, 9 = Q8_1, 15 = Q8_K), or -1 when the type has no dot product.
export fn zeno_quant_vec_dot_type(type_id: u32) i32 {
    const t = quantTraits(type_id) orelse return -1;
    if (t.dot == null) return -1;
    return @intCast(@intFromEnum(t.vec_dot_type));
}

/// Dequantizes a row of `n` values: `src` holds `zeno_quant_row_bytes(type_id, n)` bytes,
/// `dst` receives `n` f32. `unsupported` for an unknown type, `invalid_argument` for null
/// pointers or a length that is not a multiple of the block size.
export fn zeno_quant_dequantize_row(
    type_id: u32,
    src: ?[*]const u8,
    dst: ?[*]f32,
    n: usize,
) Status {
    const t = quantTraits(type_id) orelse return .unsupported;
    if (n % t.block_size != 0) return .invalid_argument;
    if (n == 0) return .ok;
    const src_bytes = (src orelse return .invalid_argument)[0..t.rowBytes(n)];
    t.dequantize_row(src_bytes, (dst orelse return .invalid_argument)[0..n]);
    return .ok;
}

/// Quantizes `n` f32 from `src` into `zeno_quant_row_bytes(type_id, n)` bytes at `dst`, with
/// ggml's reference rounding. Statuses as `zeno_quant_dequantize_row`.
export fn zeno_quant_quantize_row(
    type_id: u32,
    src: ?[*]const f32,
    dst: ?[*]u8,
    n: usize,
) Status {
    const t = quantTraits(type_id) orelse return .unsupported;
    if (n % t.block_size != 0) return .invalid_argument;
    if (n == 0) return .ok;
    const dst_bytes = (dst orelse return .invalid_argument)[0..t.rowBytes(n)];
    t.quantize_row((src orelse return .invalid_argument)[0..n], dst_bytes);
    return .ok;
}

/// Dot product of a weight row (`type_id`) with an activation row of
/// `zeno_quant_vec_dot_type(type_id)`, both `n` values long (SIMD kernel of this variant).
/// NaN when the type has no dot product, a pointer is null or `n` is not a whole number of
/// blocks of both rows: check with the functions above once, not per call.
export fn zeno_quant_vec_dot(type_id: u32, n: usize, w: ?[*]const u8, x: ?[*]const u8) f32 {
    const nan = std.math.nan(f32);
    const t = quantTraits(type_id) orelse return nan;
    const dot = t.dot orelse return nan;
    const act = quant.traits.traits(t.vec_dot_type);
    if (n % t.block_size != 0 or n % act.block_size != 0) return nan;
    if (n == 0) return 0;
    const w_bytes = (w orelse return nan)[0..t.rowBytes(n)];
    return dot(n, w_bytes, (x orelse return nan)[0..act.rowBytes(n)]);
}

// Weight layouts (quant/layout.zig): how MUL_MAT's weights may sit in memory.

/// The layout MUL_MAT multiplies a matrix of `type_id` with `rows` rows of `n` values fastest
/// in: 1 (rows interleaved in groups of four) for the legacy types when `rows` is a multiple
/// of four; 2 (groups of sixteen, lanes = rows) for Q4_0, Q4_1, Q5_0, Q8_0, Q4_K, Q5_K and
/// Q6_K when `rows` is a multiple of 16 and this CPU has AVX-512 VNNI; else 0 (the file's
/// layout, read in place).
export fn zeno_matrix_layout(type_id: u32, n: u64, rows: u64) u32 {
    const quant_type = quant.QuantType.fromId(type_id) orelse return 0;
    if (n == 0 or n % quant.traits.traits(quant_type).block_size != 0 or rows == 0) return 0;
    for ([_]quant.layout.Layout{ .rows16, .rows4 }) |layout| {
        if (ops.mul_mat.supportsMatrix(quant_type, layout, @intCast(n), @intCast(rows))) {
            return @intFromEnum(layout);
        }
    }
    return 0;
}

/// 1 when GET_ROWS gathers rows of `type_id` from a table in `layout_id` (a tied embedding's
/// copy), 0 when the rows must come from the file's layout (or the ids do not exist).
export fn zeno_rows_gatherable(type_id: u32, layout_id: u32) u32 {
    const quant_type = quant.QuantType.fromId(type_id) orelse return 0;
    const layout = quant.layout.Layout.fromId(layout_id) orelse return 0;
    return @intFromBool(ops.rows.gathersLayout(quant_type, layout));
}

/// Writes the matrix at `src` (`rows` rows of `n` values of `type_id`, the file's layout) to
/// `dst` in `layout` (as returned by `zeno_matrix_layout`); both hold rows × row bytes and
/// must not overlap. `unsupported` for a layout the type cannot have, `invalid_argument` for
/// null pointers or a shape that does not fit it.
export fn zeno_matrix_repack(
    type_id: u32,
    layout_id: u32,
    n: u64,
    rows: u64,
    src: ?[*]const u8,
    dst: ?[*]u8,
) Status {
    const quant_type = quant.QuantType.fromId(type_id) orelse return .unsupported;
    const layout = quant.layout.Layout.fromId(layout_id) orelse return .unsupported;
    if (layout == .rows or !ops.mul_mat.supportsLayout(quant_type, layout)) return .unsupported;
    const t = quant.traits.traits(quant_type);
    if (n == 0 or n % t.block_size != 0 or rows == 0) return .invalid_argument;
    // Whole groups of rows, and the order and length limits of the layout's kernels.
    if (!ops.mul_mat.supportsMatrix(quant_type, layout, @intCast(n), @intCast(rows))) {
        return .invalid_argument;
    }
    const byte_length = std.math.mul(u64, t.rowBytes(@intCast(n)), rows) catch
        return .invalid_argument;
    const from = (src orelse return .invalid_argument)[0..@intCast(byte_length)];
    const to = (dst orelse return .invalid_argument)[0..@intCast(byte_length)];
    const blocks_per_row: usize = @intCast(n / t.block_size);
    switch (layout) {
        .rows => unreachable,
        .rows4 => quant.layout.interleaveRows4(t.bytes_per_block, blocks_per_row, @intCast(rows), from, to),
        .rows16 => quant.interleaveRows16(quant_type, blocks_per_row, @intCast(rows), from, to),
    }
    return .ok;
}

test "zeno_rows_gatherable() says which copies GET_ROWS reads" {
    try testing.expectEqual(@as(u32, 1), zeno_rows_gatherable(8, 2)); // Q8_0 rows16
    try testing.expectEqual(@as(u32, 1), zeno_rows_gatherable(2, 2)); // Q4_0 rows16
    try testing.expectEqual(@as(u32, 1), zeno_rows_gatherable(12, 1)); // Q4_K rows4
    try testing.expectEqual(@as(u32, 0), zeno_rows_gatherable(12, 2)); // Q4_K rows16
    try testing.expectEqual(@as(u32, 0), zeno_rows_gatherable(8, 9)); // no such layout
    try testing.expectEqual(@as(u32, 0), zeno_rows_gatherable(99, 0)); // no such type
}

test "zeno_matrix_layout() and zeno_matrix_repack() pick and write the layouts each type has" {
    try testing.expectEqual(@as(u32, 1), zeno_matrix_layout(2, 64, 12)); // Q4_0
    try testing.expectEqual(@as(u32, 0), zeno_matrix_layout(2, 64, 6)); // rows not 4k
    // Q4_0 with rows 8k: llama.cpp's repacked order, which rows4 kernels do not compute.
    try testing.expectEqual(@as(u32, 0), zeno_matrix_layout(2, 64, 8));
    const q4_0_layout: u32 = if (quant.simd.use_vnni512) 2 else 0;
    try testing.expectEqual(q4_0_layout, zeno_matrix_layout(2, 64, 32));
    const q8_0_layout: u32 = if (quant.simd.use_vnni512) 2 else 1;
    try testing.expectEqual(q8_0_layout, zeno_matrix_layout(8, 64, 32)); // Q8_0
    try testing.expectEqual(@as(u32, 1), zeno_matrix_layout(8, 64, 8));
    const q4_k_layout: u32 = if (quant.simd.use_vnni512) 2 else 0;
    try testing.expectEqual(@as(u32, 0), zeno_matrix_layout(12, 256, 8)); // Q4_K, 8 rows
    try testing.expectEqual(q4_k_layout, zeno_matrix_layout(12, 256, 32));
    try testing.expectEqual(@as(u32, 0), zeno_matrix_layout(0, 64, 8)); // F32
    var src: [4 * 36]u8 = undefined;
    for (&src, 0..) |*b, i| b.* = @truncate(i);
    var dst: [src.len]u8 = undefined;
    try testing.expectEqual(Status.ok, zeno_matrix_repack(2, 1, 64, 4, &src, &dst));
    // Block 0 of row 1 (bytes 36..54) follows block 0 of row 0.
    try testing.expectEqualSlices(u8, src[36..54], dst[18..36]);
    try testing.expectEqual(Status.unsupported, zeno_matrix_repack(12, 1, 256, 4, &src, &dst));
    try testing.expectEqual(Status.unsupported, zeno_matrix_repack(9, 2, 32, 16, &src, &dst));
    try testing.expectEqual(Status.unsupported, zeno_matrix_repack(2, 9, 64, 4, &src, &dst));
    try testing.expectEqual(Status.invalid_argument, zeno_matrix_repack(2, 1, 64, 3, &src, &dst));
    try testing.expectEqual(Status.invalid_argument, zeno_matrix_repack(2, 1, 64, 4, null, &dst));
}

test "zeno_quant_*() reject unknown types, ragged lengths and null rows" {
    try testing.expectEqual(@as(u32, 32), zeno_quant_block_size(2));
    try testing.expectEqual(@as(u32, 0), zeno_quant_block_size(4)); // Q4_2 was removed.
    try testing.expectEqual(@as(u64, 144), zeno_quant_row_bytes(12, 256));
    try testing.expectEqual(@as(u64, 0), zeno_quant_row_bytes(12, 100));
    try testing.expectEqual(@as(i32, 15), zeno_quant_vec_dot_type(14));
    try testing.expectEqual(@as(i32, -1), zeno_quant_vec_dot_type(15));
    var values: [32]f32 = @splat(0.5);
    var bytes: [34]u8 = undefined;
    try testing.expectEqual(Status.unsupported, zeno_quant_quantize_row(99, &values, &bytes, 32));
    try testing.expectEqual(Status.invalid_argument, zeno_quant_quantize_row(8, &values, &bytes, 31));
    try testing.expectEqual(Status.invalid_argument, zeno_quant_quantize_row(8, null, &bytes, 32));
    try testing.expectEqual(Status.ok, zeno_quant_quantize_row(8, &values, &bytes, 32));
    try testing.expectEqual(Status.ok, zeno_quant_dequantize_row(8, &bytes, &values, 32));
    // 0.5 = 127·d with d = 0.5/127 rounded to f16.
    const d = quant.fp.halfToF32(quant.fp.f32ToHalf(0.5 / 127.0));
    try testing.expectEqual(127 * d, values[7]);
    // Q8_0 · Q8_0: 32 · 0.5 · 0.5, within the rounding of d = 0.5/127 to f16.
    try testing.expectApproxEqRel(@as(f32, 8), zeno_quant_vec_dot(8, 32, &bytes, &bytes), 1e-3);
    try testing.expect(std.math.isNan(zeno_quant_vec_dot(9, 32, &bytes, &bytes)));
    try testing.expect(std.math.isNan(zeno_quant_vec_dot(8, 32, null, &bytes)));
}

// ---------------------------------------------------------------------------------------------
// Graph compute (zig/src/graph_exec.zig): a context owns a thread pool and scratch memory and
// runs one serialized graph per call; buffers are native, 64-byte aligned, zero-filled memory.

const graph_exec = @import("graph_exec.zig");
const pool = @import("pool.zig");

fn statusFromGraphError(err: graph_exec.Error) Status {
    return switch (err) {
        error.InvalidGraph, error.Busy => .invalid_argument,
        error.Unsupported => .unsupported,
        error.OutOfMemory => .out_of_memory,
    };
}

/// Creates a compute context with `threads` threads (0 = one per core, at most 256) and stores
/// it in `out_context`.
export fn zeno_graph_context_create(threads: u32, out_context: ?*?*graph_exec.Executor) Status {
    const out = out_context orelse return .invalid_argument;
    out.* = null;
    if (threads > pool.threads_max) return .invalid_argument;
    const cores: u32 = @intCast(@min(pool.threads_max, std.Thread.getCpuCount() catch 1));
    const count = if (threads == 0) cores else threads;
    out.* = graph_exec.Executor.create(allocator, count) catch |err| return statusFromGraphError(err);
    return .ok;
}

/// The context's thread count (0 for a null context).
export fn zeno_graph_context_threads(context: ?*const graph_exec.Executor) u32 {
    const exec = context orelse return 0;
    return exec.threadCount();
}

/// Stops the context's threads and frees it. Null is ignored; no compute may be running.
export fn zeno_graph_context_destroy(context: ?*graph_exec.Executor) void {
    const exec = context orelse return;
    exec.destroy();
}

/// Checks and runs a graph: `buffers` [n_buffers] of {address, byte_length, flags} (u64s),
/// `tensors` [n_tensors] of 32-byte entries, `nodes` [n_nodes] of 88-byte entries (layouts in
/// graph_exec.zig). `invalid_argument` or `unsupported` leave every buffer untouched and set
/// `zeno_graph_error_message`.
export fn zeno_graph_compute(
    context: ?*graph_exec.Executor,
    buffers: ?[*]const graph_exec.BufferEntry,
    n_buffers: u32,
    tensors: ?[*]const graph_exec.TensorEntry,
    n_tensors: u32,
    nodes: ?[*]const graph_exec.NodeEntry,
    n_nodes: u32,
) Status {
    const exec = context orelse return .invalid_argument;
    if (n_nodes == 0) return .ok;
    const buffer_table = (buffers orelse return .invalid_argument)[0..n_buffers];
    const tensor_table = (tensors orelse return .invalid_argument)[0..n_tensors];
    const node_table = (nodes orelse return .invalid_argument)[0..n_nodes];
    exec.compute(buffer_table, tensor_table, node_table) catch |err| return statusFromGraphError(err);
    return .ok;
}

/// Why the context's last `zeno_graph_compute` failed ("" after a success).
export fn zeno_graph_error_message(context: ?*const graph_exec.Executor) [*:0]const u8 {
    const exec = context orelse return "";
    return exec.message().ptr;
}

/// Allocates `byte_length` bytes of zero-filled, page-aligned memory (transparent huge pages
/// asked for from 2 MiB) and stores the address in `out_address`.
export fn zeno_buffer_alloc(byte_length: u64, out_address: ?*u64) Status {
    const out = out_address orelse return .invalid_argument;
    out.* = 0;
    if (byte_length == 0 or byte_length > std.math.maxInt(usize)) return .invalid_argument;
    const length: usize = @intCast(byte_length);
    const linux = std.os.linux;
    const rc = linux.mmap(null, length, .{ .READ = true, .WRITE = true }, .{ .TYPE = .PRIVATE, .ANONYMOUS = true }, -1, 0);
    if (linux.errno(rc) != .SUCCESS) return .out_of_memory;
    // Ignored when THP is off: the memory works either way, only slower to stream.
    if (length >= 2 << 20) _ = linux.madvise(@ptrFromInt(rc), length, linux.MADV.HUGEPAGE);
    out.* = rc;
    return .ok;
}

/// Frees memory from `zeno_buffer_alloc` (same length). Address 0 is ignored.
export fn zeno_buffer_free(address: u64, byte_length: u64) void {
    if (address == 0) return;
    const rc = std.os.linux.munmap(@ptrFromInt(address), @intCast(byte_length));
    assert(std.os.linux.errno(rc) == .SUCCESS);
}

test "zeno_graph_*() and zeno_buffer_*() reject null and bad arguments" {
    var context: ?*graph_exec.Executor = undefined;
    try testing.expectEqual(Status.invalid_argument, zeno_graph_context_create(1000, &context));
    try testing.expectEqual(Status.ok, zeno_graph_context_create(2, &context));
    defer zeno_graph_context_destroy(context);
    try testing.expectEqual(@as(u32, 2), zeno_graph_context_threads(context));
    try testing.expectEqual(Status.invalid_argument, zeno_graph_compute(context, null, 0, null, 0, null, 1));
    try testing.expectEqual(Status.ok, zeno_graph_compute(context, null, 0, null, 0, null, 0));
    var address: u64 = undefined;
    try testing.expectEqual(Status.invalid_argument, zeno_buffer_alloc(0, &address));
    try testing.expectEqual(Status.ok, zeno_buffer_alloc(100, &address));
    defer zeno_buffer_free(address, 100);
    const bytes: [*]u8 = @ptrFromInt(address);
    try testing.expectEqual(@as(u8, 0), bytes[99]);
    try testing.expectEqual(@as(u64, 0), address % 64);
}

// ---------------------------------------------------------------------------------------------
// Memory bandwidth (zig/src/bandwidth.zig): the decode ceiling, measured STREAM-like.

const bandwidth = @import("bandwidth.zig");

/// Best read bandwidth, in GB/s, of `threads` threads summing `len` bytes at `ptr` over
/// `passes` passes, stored in `out_gbps`. A null `ptr` measures a buffer of `len` bytes
/// allocated here (huge-page advised, filled first) and freed after. `invalid_argument` for
/// threads outside 1..64, passes outside 1..1000, fewer than 256 bytes per thread or a null
/// `out_gbps`.
export fn zeno_stream_read_gbps(
    ptr: ?[*]const u8,
    len: usize,
    threads: u32,
    passes: u32,
    out_gbps: ?*f64,
) Status {
    const out = out_gbps orelse return .invalid_argument;
    out.* = 0;
    if (threads < 1 or threads > bandwidth.threads_max) return .invalid_argument;
    if (passes < 1 or passes > bandwidth.passes_max) return .invalid_argument;
    if (len / threads < 256) return .invalid_argument;
    const measured = if (ptr) |bytes|
        bandwidth.readGbps(bytes[0..len], threads, passes)
    else
        bandwidth.readGbpsOwned(len, threads, passes);
    out.* = measured catch |err| return switch (err) {
        error.OutOfMemory => .out_of_memory,
        error.SystemResources => .unexpected,
    };
    return .ok;
}

test "zeno_stream_read_gbps() measures and rejects bad arguments" {
    var gbps: f64 = undefined;
    const invalid = Status.invalid_argument;
    try testing.expectEqual(invalid, zeno_stream_read_gbps(null, 1 << 20, 0, 1, &gbps));
    try testing.expectEqual(invalid, zeno_stream_read_gbps(null, 100, 1, 1, &gbps));
    try testing.expectEqual(invalid, zeno_stream_read_gbps(null, 1 << 20, 1, 1, null));
    try testing.expectEqual(Status.ok, zeno_stream_read_gbps(null, 1 << 20, 2, 2, &gbps));
    try testing.expect(gbps > 0);
}

// Logits masks (constrained sampling): ops/logits_mask.zig.

/// Writes -inf into `logits[i]` for every i < `count` whose bit in `bits` (bit i % 32 of word
/// i / 32, ceil(count / 32) words) is clear. `invalid_argument` for null arrays.
export fn zeno_logits_mask(logits: ?[*]f32, bits: ?[*]const u32, count: u32) Status {
    if (count == 0) return .ok;
    const row = (logits orelse return .invalid_argument)[0..count];
    const words = (bits orelse return .invalid_argument)[0 .. (count + 31) / 32];
    ops.logits_mask.maskByBits(row, words);
    return .ok;
}

/// Index of the largest of `count` values, the first on ties; -1 when every value is NaN or
/// -inf, `count` is 0 or `values` is null. `count` fits an i32 (a vocabulary).
export fn zeno_argmax_f32(values: ?[*]const f32, count: u32) i32 {
    if (count == 0 or count > std.math.maxInt(i32)) return -1;
    const row = (values orelse return -1)[0..count];
    const index = ops.argmax.argmax(row) orelse return -1;
    return @intCast(index);
}

test "zeno_argmax_f32() returns the first largest index, or -1 for none" {
    const inf = std.math.inf(f32);
    const values = [_]f32{ -1, 4, std.math.nan(f32), 4 };
    try testing.expectEqual(@as(i32, 1), zeno_argmax_f32(&values, values.len));
    const none = [_]f32{ -inf, std.math.nan(f32) };
    try testing.expectEqual(@as(i32, -1), zeno_argmax_f32(&none, none.len));
    try testing.expectEqual(@as(i32, -1), zeno_argmax_f32(null, 3));
    try testing.expectEqual(@as(i32, -1), zeno_argmax_f32(&values, 0));
}

test "zeno_logits_mask() masks clear bits and rejects null arrays" {
    var logits = [_]f32{ 1, 2, 3, 4, 5 };
    const bits = [_]u32{0b10110};
    try testing.expectEqual(Status.ok, zeno_logits_mask(&logits, &bits, logits.len));
    const inf = std.math.inf(f32);
    try testing.expectEqualSlices(f32, &.{ -inf, 2, 3, -inf, 5 }, &logits);
    try testing.expectEqual(Status.invalid_argument, zeno_logits_mask(null, &bits, 5));
    try testing.expectEqual(Status.invalid_argument, zeno_logits_mask(&logits, null, 5));
}

// ---------------------------------------------------------------------------------------------
// Tests

// `zig build test` compiles this file as the test root: list every module here so its tests
// run too (quant/ has its own root in build.zig).
test {
    _ = cpu;
    _ = mmap;
    _ = variants;
    _ = graph_exec;
    _ = bandwidth;
}

const testing = std.testing;

test "statusFromMapError() gives each error its own status" {
    const errors = @typeInfo(mmap.MapError).error_set.?;
    var seen = std.EnumSet(Status).initEmpty();
    inline for (errors) |e| {
        const status = statusFromMapError(@field(mmap.MapError, e.name));
        try testing.expect(status != .ok);
        try testing.expect(!seen.contains(status));
        seen.insert(status);
    }
}

test "zeno_status_message() names every status and rejects unknown values" {
    try testing.expectEqualStrings("file does not exist", std.mem.span(zeno_status_message(2)));
    try testing.expectEqualStrings("unknown status", std.mem.span(zeno_status_message(-1)));
    try testing.expectEqualStrings("unknown status", std.mem.span(zeno_status_message(999)));
    for (std.enums.values(Status)) |status| {
        try testing.expect(std.mem.span(zeno_status_message(@intFromEnum(status))).len > 0);
    }
}

test "zeno_map_open() returns statuses, not crashes" {
    var handle: ?*MapHandle = undefined;
    const missing = "/nonexistent-zeno-dir/model.gguf";
    try testing.expectEqual(Status.not_found, zeno_map_open(missing, missing.len, &handle));
    try testing.expectEqual(@as(?*MapHandle, null), handle);
    try testing.expectEqual(Status.is_directory, zeno_map_open("/", 1, &handle));
    try testing.expectEqual(Status.invalid_argument, zeno_map_open(null, 0, &handle));
    try testing.expectEqual(Status.invalid_argument, zeno_map_open("/", 1, null));
    try testing.expectEqual(Status.invalid_argument, zeno_map_open("", 0, &handle));
}

test "zeno_map_open() maps a file that zeno_map_ptr() and zeno_map_len() expose" {
    const path = "/proc/self/exe";
    var handle: ?*MapHandle = null;
    try testing.expectEqual(Status.ok, zeno_map_open(path, path.len, &handle));
    defer zeno_map_close(handle);
    const length = zeno_map_len(handle);
    try testing.expect(length > 4);
    const ptr = zeno_map_ptr(handle).?;
    try testing.expectEqualSlices(u8, "\x7fELF", ptr[0..4]);
    try testing.expectEqual(Status.ok, zeno_map_advise(handle, 3));
    try testing.expectEqual(Status.invalid_argument, zeno_map_advise(handle, 5));
    try testing.expectEqual(Status.invalid_argument, zeno_map_advise(null, 0));
    try testing.expectEqual(Status.invalid_argument, zeno_map_lock(null));
}

test "zeno_variant_*() describe this architecture's variants" {
    try testing.expect(zeno_variant_count() >= 2);
    try testing.expectEqualStrings("baseline", std.mem.span(zeno_variant_name(0).?));
    try testing.expectEqual(@as(?[*:0]const u8, null), zeno_variant_name(zeno_variant_count()));
    try testing.expectEqual(@as(u64, 0), zeno_variant_features(zeno_variant_count()));
    // This build's own variant runs here, so the CPU has all the features it requires.
    const own = std.mem.span(zeno_build_variant());
    for (0..zeno_variant_count()) |i| {
        const index: u32 = @intCast(i);
        if (!std.mem.eql(u8, own, std.mem.span(zeno_variant_name(index).?))) continue;
        const required = zeno_variant_features(index);
        try testing.expectEqual(required, zeno_cpu_features() & required);
        return;
    }
    return error.TestUnexpectedResult; // The build variant is not in the table.
}
