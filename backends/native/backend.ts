/**
 * The native CPU backend: graphs run in the Zig library built for this CPU, on a persistent
 * thread pool, one FFI call per graph (`zeno_graph_compute`; `computeAsync` calls the same
 * function through a `nonblocking` binding, one thread hop per graph).
 *
 * Memory: `allocate` returns native, page-aligned, zero-filled memory (huge pages asked for
 * from 2 MiB), seen from JavaScript without copying; `wrapModel` uses the model's bytes where
 * they are (the file mapping), never a copy. Every buffer's address is made once, when the
 * buffer is created. `matrixLayout`/`repackMatrix` offer an interleaved copy of the legacy
 * types' matrices (zig/src/quant/layout.zig: four rows read as one stream), which the model's
 * weights keep in buffers of this backend.
 *
 * @module
 */

import type {
  Backend,
  BackendBuffer,
  DeviceInfo,
  MatrixSource,
  ModelBytes,
} from "../../core/backend.ts";
import { NativeLibraryError } from "../../core/errors.ts";
import { setArgmaxKernel } from "../../core/sampling/greedy.ts";
import { setLogitsMaskKernel } from "../../core/sampling/logits_mask.ts";
import { ggmlTypeName } from "../../core/gguf/ggml_types.ts";
import { GgmlType } from "../../core/gguf/types.ts";
import type { Graph } from "../../core/graph.ts";
import { Op, OP_NAMES } from "../../core/graph.ts";
import { type EncodedGraph, GraphEncoder, NODE_ENTRY_BYTES } from "./graph_encoding.ts";
import { loadNativeLibrary, type LoadNativeLibraryOptions, type NativeLibrary } from "./library.ts";
import { checkStatus, NATIVE_STATUS, NativeStatusError } from "./status.ts";

/** Options of {@linkcode createNativeBackend}. */
export interface NativeBackendOptions {
  /** Compute threads (default: one per core). */
  threads?: number;
  /** Which library to load (default: the best variant for this CPU). */
  library?: LoadNativeLibraryOptions;
}

/** The `computeAsync` binding: `zeno_graph_compute` again, run off the JavaScript thread. */
const ASYNC_SYMBOLS = {
  zeno_graph_compute_async: {
    name: "zeno_graph_compute",
    parameters: ["pointer", "buffer", "u32", "buffer", "u32", "buffer", "u32"],
    result: "i32",
    nonblocking: true,
  },
} as const satisfies Deno.ForeignLibraryInterface;

type AsyncLibrary = Deno.DynamicLibrary<typeof ASYNC_SYMBOLS>;

const _asyncLibraries = new Map<string, AsyncLibrary>();

function _asyncLibrary(path: string): AsyncLibrary {
  let library = _asyncLibraries.get(path);
  if (library === undefined) {
    library = Deno.dlopen(path, ASYNC_SYMBOLS);
    _asyncLibraries.set(path, library);
  }
  return library;
}

/** A buffer in native memory or over the model's bytes. */
class NativeBuffer implements BackendBuffer {
  #view: Uint8Array | undefined;
  #alive = true;

  constructor(
    readonly label: string,
    readonly byteLength: number,
    /** Native address of byte 0. */
    readonly address: bigint,
    /** Bytes we allocated (freed on dispose), 0 for wrapped memory. */
    readonly ownedBytes: number,
    /** Graphs may only read it (the model's bytes). */
    readonly readOnly: boolean,
    view?: Uint8Array,
  ) {
    this.#view = view;
  }

  host(): Uint8Array {
    if (!this.#alive) {
      throw new NativeLibraryError(`Cannot use buffer "${this.label}": its backend was disposed`);
    }
    if (this.#view === undefined) {
      const pointer = Deno.UnsafePointer.create(this.address)!;
      const bytes = Deno.UnsafePointerView.getArrayBuffer(pointer, this.byteLength);
      this.#view = new Uint8Array(bytes);
    }
    return this.#view;
  }

  /** Drops the view; the memory is about to be freed. */
  kill(): void {
    this.#alive = false;
    this.#view = undefined;
  }
}

/**
 * Creates the native CPU backend.
 *
 * @param options threads and library choice
 * @returns a backend whose `dispose()` stops its threads and frees its buffers
 * @throws NativeLibraryError when the library is missing or the pool cannot start
 *
 * @example Create a backend and read its device
 * ```ts ignore
 * import { createNativeBackend } from "./backend.ts";
 * const backend = createNativeBackend({ threads: 2 });
 * console.log(backend.device.name, backend.device.threads); // "cpu-x86_64-avx2 2"
 * backend.dispose();
 * ```
 */
export function createNativeBackend(options: NativeBackendOptions = {}): Backend {
  const library = loadNativeLibrary(options.library);
  _registerLogitsMask(library);
  _registerArgmax(library);
  const threads = options.threads ?? 0;
  if (!Number.isInteger(threads) || threads < 0 || threads > 256) {
    throw new RangeError(`Cannot create the native backend with ${threads} threads: use 1 to 256`);
  }
  return new NativeBackend(library, threads);
}

/** Hands the library's logits mask kernel to the sampler (the library stays open). */
function _registerLogitsMask(library: NativeLibrary): void {
  const symbols = library.symbols;
  setLogitsMaskKernel((logits, bits, count) => {
    checkStatus(symbols, symbols.zeno_logits_mask(logits, bits, count), "Cannot mask logits");
  });
}

/** Hands the library's greedy argmax to the sampler (the library stays open). */
function _registerArgmax(library: NativeLibrary): void {
  const symbols = library.symbols;
  setArgmaxKernel((logits) => symbols.zeno_argmax_f32(logits, logits.length));
}

class NativeBackend implements Backend {
  readonly device: DeviceInfo;
  readonly #symbols: NativeLibrary["symbols"];
  readonly #async: AsyncLibrary;
  #context: Deno.PointerValue;
  readonly #encoder = new GraphEncoder();
  readonly #buffers = new Set<NativeBuffer>();
  /** The chain of `computeAsync` calls: one graph at a time on the context. */
  #queue: Promise<void> = Promise.resolve();
  #pending = 0;
  #disposed = false;

  constructor(library: NativeLibrary, threads: number) {
    this.#symbols = library.symbols;
    this.#async = _asyncLibrary(library.path);
    const out = new BigUint64Array(1);
    checkStatus(
      this.#symbols,
      this.#symbols.zeno_graph_context_create(threads, out),
      `Cannot start the native backend with ${threads || "default"} threads`,
    );
    this.#context = Deno.UnsafePointer.create(out[0]);
    // The pool's threads live in library code: stop them before the process unloads the
    // library, or a program that never calls dispose() can crash on exit.
    globalThis.addEventListener("unload", this.#onUnload);
    const threadCount = this.#symbols.zeno_graph_context_threads(this.#context);
    this.device = {
      name: `cpu-${Deno.build.arch}-${library.variant}`,
      description: `zeno native CPU backend, ${library.variant} kernels (${
        library.cpuFeatures.join(" ")
      })`,
      memoryBytes: Deno.systemMemoryInfo().total,
      threads: threadCount,
    };
  }

  supportsOp(op: Op, types: readonly GgmlType[]): true | string {
    return _supportsOp(this.#symbols, op, types);
  }

  allocate(byteLength: number, label: string): BackendBuffer {
    this.#checkAlive(`allocate buffer "${label}"`);
    if (!Number.isSafeInteger(byteLength) || byteLength < 0) {
      throw new RangeError(`Cannot allocate buffer "${label}" of ${byteLength} bytes`);
    }
    const ownedBytes = Math.max(byteLength, 1);
    const out = new BigUint64Array(1);
    checkStatus(
      this.#symbols,
      this.#symbols.zeno_buffer_alloc(BigInt(ownedBytes), out),
      `Cannot allocate buffer "${label}" of ${byteLength} bytes`,
    );
    const buffer = new NativeBuffer(label, byteLength, out[0], ownedBytes, false);
    this.#buffers.add(buffer);
    return buffer;
  }

  wrapModel(model: ModelBytes): BackendBuffer {
    this.#checkAlive(`wrap model "${model.path}"`);
    const bytes = model.bytes;
    // The address of the bytes themselves (the mapping for a mapped file): made once here.
    const address = bytes.byteLength === 0
      ? 0n
      : BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(bytes)));
    // Read-only for graphs: a mapped file's pages are PROT_READ, and weights never change.
    const label = `weights ${model.path}`;
    const buffer = new NativeBuffer(label, bytes.byteLength, address, 0, true, bytes);
    this.#buffers.add(buffer);
    return buffer;
  }

  matrixLayout(type: GgmlType, shape: readonly number[]): number | undefined {
    if (shape.length !== 2) return undefined;
    const layout = this.#symbols.zeno_matrix_layout(type, BigInt(shape[0]), BigInt(shape[1]));
    return layout === 0 ? undefined : layout;
  }

  gathersLayout(type: GgmlType, layout: number): boolean {
    return this.#symbols.zeno_rows_gatherable(type, layout) === 1;
  }

  repackMatrix(
    source: MatrixSource,
    layout: number,
    target: BackendBuffer,
    targetOffset: number,
  ): void {
    this.#checkAlive(`repack "${source.name}"`);
    for (const buffer of [source.buffer, target]) {
      if (!(buffer instanceof NativeBuffer) || !this.#buffers.has(buffer)) {
        throw new NativeLibraryError(
          `Cannot repack "${source.name}": buffer "${buffer.label}" is not this backend's`,
        );
      }
    }
    _checkRange("repack into", target, targetOffset, source.byteLength);
    _checkRange("repack from", source.buffer, source.offset, source.byteLength);
    const from = (source.buffer as NativeBuffer).address + BigInt(source.offset);
    const to = (target as NativeBuffer).address + BigInt(targetOffset);
    checkStatus(
      this.#symbols,
      this.#symbols.zeno_matrix_repack(
        source.type,
        layout,
        BigInt(source.shape[0]),
        BigInt(source.shape[1]),
        Deno.UnsafePointer.create(from),
        Deno.UnsafePointer.create(to),
      ),
      `Cannot repack tensor "${source.name}" (${
        ggmlTypeName(source.type)
      } [${source.shape}]) into layout ${layout}`,
    );
  }

  write(buffer: BackendBuffer, offset: number, data: Uint8Array): void {
    _checkRange("write", buffer, offset, data.byteLength);
    buffer.host().set(data, offset);
  }

  read(buffer: BackendBuffer, offset: number, byteLength: number): Uint8Array {
    _checkRange("read", buffer, offset, byteLength);
    return buffer.host().slice(offset, offset + byteLength);
  }

  compute(graph: Graph): void {
    this.#checkAlive("compute a graph");
    if (this.#pending > 0) {
      throw new NativeLibraryError(
        "Cannot compute a graph synchronously: an asynchronous compute is still running",
      );
    }
    const encoded = this.#encode(graph);
    const status = this.#symbols.zeno_graph_compute(
      this.#context,
      encoded.buffers,
      encoded.nBuffers,
      encoded.tensors,
      encoded.nTensors,
      encoded.nodes,
      encoded.nNodes,
    );
    this.#check(status, encoded);
  }

  computeAsync(graph: Graph): Promise<void> {
    this.#checkAlive("compute a graph");
    this.#pending++;
    const run = async () => {
      try {
        // Graphs queued before `dispose` still run: the release waits for them.
        const encoded = this.#encode(graph);
        const status = await this.#async.symbols.zeno_graph_compute_async(
          this.#context,
          encoded.buffers,
          encoded.nBuffers,
          encoded.tensors,
          encoded.nTensors,
          encoded.nodes,
          encoded.nNodes,
        );
        this.#check(status, encoded);
      } finally {
        this.#pending--;
        if (this.#disposed && this.#pending === 0) this.#release();
      }
    };
    const result = this.#queue.then(run);
    this.#queue = result.catch(() => {});
    return result;
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    // Graphs still queued or running finish first; the last one releases (see computeAsync).
    if (this.#pending === 0) this.#release();
  }

  readonly #onUnload = (): void => this.#release();

  #release(): void {
    if (this.#context === null) return;
    globalThis.removeEventListener("unload", this.#onUnload);
    this.#symbols.zeno_graph_context_destroy(this.#context);
    this.#context = null;
    for (const buffer of this.#buffers) {
      buffer.kill();
      if (buffer.ownedBytes > 0) {
        this.#symbols.zeno_buffer_free(buffer.address, BigInt(buffer.ownedBytes));
      }
    }
    this.#buffers.clear();
  }

  #checkAlive(action: string): void {
    if (this.#disposed) {
      throw new NativeLibraryError(`Cannot ${action}: the native backend was disposed`);
    }
  }

  #encode(graph: Graph): EncodedGraph {
    return this.#encoder.encode(graph, (buffer) => {
      if (!(buffer instanceof NativeBuffer) || !this.#buffers.has(buffer)) return undefined;
      return buffer;
    });
  }

  #check(status: number, encoded: EncodedGraph): void {
    if (status === NATIVE_STATUS.ok) return;
    const pointer = this.#symbols.zeno_graph_error_message(this.#context);
    const detail = pointer === null ? "" : Deno.UnsafePointerView.getCString(pointer);
    throw new NativeStatusError(
      `Cannot compute graph on "${this.device.name}": ${_nameNode(detail, encoded)}`,
      status,
    );
  }
}

/** Adds the dst tensor's name to a "node <i> (<op>): ..." message. */
function _nameNode(detail: string, encoded: EncodedGraph): string {
  const match = /^node (\d+) \((\w+|\?)\)/.exec(detail);
  if (match === null) return detail;
  const index = Number(match[1]);
  const dstIndex = encoded.nodes[index * (NODE_ENTRY_BYTES / 4) + 1];
  const name = encoded.tensorList[dstIndex]?.name;
  return name === undefined ? detail : detail.replace(match[0], `${match[0]} "${name}"`);
}

function _checkRange(action: string, buffer: BackendBuffer, offset: number, length: number) {
  if (
    !Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 ||
    offset + length > buffer.byteLength
  ) {
    throw new RangeError(
      `Cannot ${action} ${length} bytes at ${offset} of buffer "${buffer.label}": it holds ${buffer.byteLength} bytes`,
    );
  }
}

const CACHE_TYPES: readonly GgmlType[] = [GgmlType.F32, GgmlType.F16];

/** The kernels' coverage, asked of the library for weight types. */
function _supportsOp(
  symbols: NativeLibrary["symbols"],
  op: Op,
  types: readonly GgmlType[],
): true | string {
  const name = (type: GgmlType) => ggmlTypeName(type);
  switch (op) {
    case Op.GET_ROWS:
      return symbols.zeno_quant_block_size(types[0]) > 0
        ? true
        : `no native dequantizer for type ${name(types[0])}`;
    case Op.MUL_MAT:
      if (symbols.zeno_quant_vec_dot_type(types[0]) < 0) {
        return `no native dot product for weights of type ${name(types[0])}`;
      }
      return types[1] === GgmlType.F32 ? true : `activations of type ${name(types[1])}, not F32`;
    case Op.ATTENTION: {
      const bad = [types[1], types[2]].find((t) => !CACHE_TYPES.includes(t));
      return bad === undefined ? true : `a KV cache of type ${name(bad)}: F32 or F16 only`;
    }
    default: {
      const bad = types.find((t) => t !== GgmlType.F32 && t !== GgmlType.I32);
      return bad === undefined ? true : `${OP_NAMES[op]} of type ${name(bad)}: F32 only`;
    }
  }
}
