/**
 * The `Deno.dlopen` symbol table of the native library: one entry per `export fn zeno_*` of
 * `zig/src/c_api.zig`, with the same parameters in the same order. `tests/native_abi_test.ts`
 * parses c_api.zig and checks this table against it. Add kernels here when c_api.zig exports
 * them, and bump {@linkcode ZENO_ABI_VERSION} with `abi_version` when a signature changes.
 *
 * Conventions: fallible calls return an `i32` status (see status.ts); C strings come back as
 * `"pointer"`; `"buffer"` parameters take typed arrays zero-copy (out-parameters too).
 *
 * @module
 */

/** The ABI version this TypeScript expects; the library's `zeno_abi_version()` must equal it. */
export const ZENO_ABI_VERSION = 7;

/** Every symbol of the native library. */
export const NATIVE_SYMBOLS = {
  // Version and status.
  zeno_abi_version: { parameters: [], result: "u32" },
  zeno_status_message: { parameters: ["i32"], result: "pointer" },
  // CPU features and variants.
  zeno_cpu_features: { parameters: [], result: "u64" },
  zeno_build_variant: { parameters: [], result: "pointer" },
  zeno_variant_count: { parameters: [], result: "u32" },
  zeno_variant_name: { parameters: ["u32"], result: "pointer" },
  zeno_variant_features: { parameters: ["u32"], result: "u64" },
  // Mapped files: (path bytes, path length, out handle: BigUint64Array(1)) -> status.
  zeno_map_open: { parameters: ["buffer", "usize", "buffer"], result: "i32" },
  zeno_map_ptr: { parameters: ["pointer"], result: "pointer" },
  zeno_map_len: { parameters: ["pointer"], result: "u64" },
  zeno_map_advise: { parameters: ["pointer", "i32"], result: "i32" },
  zeno_map_lock: { parameters: ["pointer"], result: "i32" },
  zeno_map_release: { parameters: ["pointer", "u64", "u64"], result: "i32" },
  zeno_map_close: { parameters: ["pointer"], result: "void" },
  // Quantized kernels: (ggml type id, ...); rows are typed arrays of blocks / f32.
  zeno_quant_block_size: { parameters: ["u32"], result: "u32" },
  zeno_quant_row_bytes: { parameters: ["u32", "u64"], result: "u64" },
  zeno_quant_vec_dot_type: { parameters: ["u32"], result: "i32" },
  zeno_quant_dequantize_row: { parameters: ["u32", "buffer", "buffer", "usize"], result: "i32" },
  zeno_quant_quantize_row: { parameters: ["u32", "buffer", "buffer", "usize"], result: "i32" },
  zeno_quant_vec_dot: { parameters: ["u32", "usize", "buffer", "buffer"], result: "f32" },
  // Weight layouts: (type id, row length, rows) -> layout; repack(type, layout, n, rows, src, dst).
  zeno_matrix_layout: { parameters: ["u32", "u64", "u64"], result: "u32" },
  zeno_matrix_repack: {
    parameters: ["u32", "u32", "u64", "u64", "pointer", "pointer"],
    result: "i32",
  },
  // (type id, layout) -> 1 when GET_ROWS reads a table in that layout (a tied embedding's copy).
  zeno_rows_gatherable: { parameters: ["u32", "u32"], result: "u32" },
  // Graph compute (backend.ts): contexts own a thread pool; tables as in graph_encoding.ts.
  zeno_graph_context_create: { parameters: ["u32", "buffer"], result: "i32" },
  zeno_graph_context_threads: { parameters: ["pointer"], result: "u32" },
  zeno_graph_context_destroy: { parameters: ["pointer"], result: "void" },
  zeno_graph_compute: {
    parameters: ["pointer", "buffer", "u32", "buffer", "u32", "buffer", "u32"],
    result: "i32",
  },
  zeno_graph_error_message: { parameters: ["pointer"], result: "pointer" },
  // Native memory: (byte length, out address: BigUint64Array(1)) -> status; free(address, length).
  zeno_buffer_alloc: { parameters: ["u64", "buffer"], result: "i32" },
  zeno_buffer_free: { parameters: ["u64", "u64"], result: "void" },
  // Memory bandwidth: (address or null, byte length, threads, passes, out GB/s: Float64Array(1)).
  zeno_stream_read_gbps: {
    parameters: ["pointer", "usize", "u32", "u32", "buffer"],
    result: "i32",
  },
  // Logits masks: (logits: Float32Array, bits: Uint32Array, count) -> status.
  zeno_logits_mask: { parameters: ["buffer", "buffer", "u32"], result: "i32" },
  // Greedy choice: (logits: Float32Array, count) -> first index of the largest, or -1.
  zeno_argmax_f32: { parameters: ["buffer", "u32"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/**
 * The symbols a library of any ABI version has: opened first, so a stale library is reported
 * by its version instead of by a missing symbol.
 */
export const PROBE_SYMBOLS = {
  zeno_abi_version: NATIVE_SYMBOLS.zeno_abi_version,
} as const satisfies Deno.ForeignLibraryInterface;

/** The bound functions of {@linkcode NATIVE_SYMBOLS}. */
export type NativeSymbols = Deno.DynamicLibrary<typeof NATIVE_SYMBOLS>["symbols"];
