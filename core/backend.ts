/**
 * The backend contract, modeled on ggml's backend layers and sized for zeno:
 * a registry of backends with scores, a device that says which ops it runs, buffers
 * (weights may be views into the mapped model file), and `compute` of a whole graph.
 *
 * @module
 */

import type { GgmlType } from "./gguf/types.ts";
import type { Graph, Op } from "./graph.ts";

/** Memory a backend owns or maps. Offsets in graph tensors are relative to it. */
export interface BackendBuffer {
  /** What it holds, for errors: "weights smollm2.gguf", "arena", "kv.k". */
  readonly label: string;
  /** Size in bytes. */
  readonly byteLength: number;
  /**
   * A host view of the bytes, zero-copy where the memory is host memory (CPU backends).
   * Device backends (Vulkan) throw here and use `Backend.read`/`write` instead.
   */
  host(): Uint8Array;
}

/** What a device is and can do. */
export interface DeviceInfo {
  /** e.g. "cpu-x86_64-avx512", "reference". */
  readonly name: string;
  /** A human-readable description (CPU model, variant). */
  readonly description: string;
  /** Memory the device can use, in bytes (0 when unknown). */
  readonly memoryBytes: number;
  /** Threads the backend computes with. */
  readonly threads: number;
}

/** A model file's bytes, already mapped into memory by the native library or read. */
export interface ModelBytes {
  /** The file's path. */
  readonly path: string;
  /** The whole file's bytes (a mapping or a copy). */
  readonly bytes: Uint8Array;
  /**
   * Drops this process's pages of bytes [offset, offset + length) once they are copied
   * elsewhere (repacked weights): they leave the RSS, stay in the page cache and fault back in
   * if read. Only file mappings have it.
   */
  release?(offset: number, length: number): void;
}

/** A weight matrix as the file stores it, for {@linkcode Backend.repackMatrix}. */
export interface MatrixSource {
  /** GGUF tensor name, for errors. */
  readonly name: string;
  /** Element type. */
  readonly type: GgmlType;
  /** ggml order: [row length, rows]. */
  readonly shape: readonly number[];
  /** The buffer over the file. */
  readonly buffer: BackendBuffer;
  /** Byte offset of the matrix in `buffer`. */
  readonly offset: number;
  /** Size in bytes. */
  readonly byteLength: number;
}

/** One compute backend. */
export interface Backend {
  /** What the backend runs on. */
  readonly device: DeviceInfo;
  /**
   * Whether the backend runs `op` with these input types (in `src` order).
   * @returns true, or the reason it cannot (a backend never computes an op wrongly)
   */
  supportsOp(op: Op, types: readonly GgmlType[]): true | string;
  /** A zero-filled buffer of `byteLength` bytes. */
  allocate(byteLength: number, label: string): BackendBuffer;
  /** The model file as a buffer: a view of the mapping, never a copy, on CPU backends. */
  wrapModel(model: ModelBytes): BackendBuffer;
  /**
   * The layout (the backend's own number, not 0) it multiplies this weight matrix fastest in
   * when that is not the file's and worth a copy; undefined to use the file's bytes in place.
   */
  matrixLayout?(type: GgmlType, shape: readonly number[]): number | undefined;
  /**
   * Writes `source` in `layout` into `target` at `targetOffset` (the same byte length as the
   * source): graph tensors with that `layout` then read the copy. A layout keeps each group
   * of rows in the byte range the group has in the file, so a slice of whole groups may be
   * repacked on its own (callers copy large matrices a slice at a time).
   */
  repackMatrix?(
    source: MatrixSource,
    layout: number,
    target: BackendBuffer,
    targetOffset: number,
  ): void;
  /**
   * Whether GET_ROWS gathers rows of `type` from a matrix copied in `layout` (by
   * `repackMatrix`); when it does, a tied embedding is read from the copy its vocabulary
   * projection uses, and the file's pages of it stay out of memory. Default: never.
   */
  gathersLayout?(type: GgmlType, layout: number): boolean;
  /** Copies `data` into `buffer` at `offset`. */
  write(buffer: BackendBuffer, offset: number, data: Uint8Array): void;
  /** Copies `byteLength` bytes out of `buffer` at `offset`. */
  read(buffer: BackendBuffer, offset: number, byteLength: number): Uint8Array;
  /** Runs every node of the graph, in order, before returning. */
  compute(graph: Graph): void;
  /**
   * Runs the graph without blocking the event loop (a native worker thread). Backends without
   * a thread of their own run `compute` and resolve.
   */
  computeAsync(graph: Graph): Promise<void>;
  /** Frees what the backend allocated. Buffers are invalid afterwards. */
  dispose(): void;
}

/** A backend that can exist on this machine, with a score (higher runs first). */
export interface BackendEntry {
  /** The name `loadModel({ backend })` takes ("native"). */
  readonly name: string;
  /** Preference: the available backend with the highest score is the default. */
  readonly score: number;
  /** Whether it can start here (the library is built, the driver exists). */
  available(): true | string;
  /** Creates an instance with `threads` compute threads. */
  create(options: { threads?: number }): Backend;
}

const registry: BackendEntry[] = [];

/** Adds a backend to the registry (backends register themselves in their mod.ts). */
export function registerBackend(entry: BackendEntry): void {
  if (registry.some((e) => e.name === entry.name)) return;
  registry.push(entry);
}

/** Registered backends, best score first. */
export function listBackends(): readonly BackendEntry[] {
  return [...registry].sort((a, b) => b.score - a.score);
}
