/**
 * The model's tensors as graph inputs: names resolved in the GGUF tensor table, bound to the
 * backend buffer that holds the file (a view of the mapping, never a copy).
 *
 * Weight matrices go through `bindMatrix`: when the backend multiplies a matrix faster in a
 * layout of its own (`Backend.matrixLayout`, e.g. rows interleaved four by four), the matrix
 * is copied once into that layout, in backend buffers of 64 MiB and more, on first bind; the
 * copied range of the file then leaves the process's pages (`ModelBytes.release`), so the
 * copy replaces it in memory rather than adding to it. Every engine shares the copies.
 *
 * With such a backend, the small tensors read in place (norms, biases, RoPE factors) are
 * copied too, so computing reads nothing from the mapping. On kernels whose page cache holds
 * large folios (ext4 on Linux 6.18), one read of a 2 KiB norm maps the whole folio around it
 * (up to 2 MiB, mostly released matrix pages): SmolLM2's 61 norms brought 23-65 MB of the file
 * back into the RSS on the first eval.
 *
 * @module
 */

import type { Backend, BackendBuffer, ModelBytes } from "../backend.ts";
import { ModelError } from "../errors.ts";
import type { GgufFile, GgufTensorInfo } from "../gguf/types.ts";
import type { GraphBuilder, GraphTensor } from "../graph.ts";

/** Bytes of each buffer repacked matrices are placed in (a larger matrix gets its own). */
const REPACK_CHUNK_BYTES = 64 << 20;
/**
 * Most bytes of one repack call. A matrix is copied a slice of rows at a time and each slice's
 * file pages are released at once, so the file's pages and the copy overlap by one slice, not
 * one matrix (SmolLM2's 30 MB token embedding raised the load's peak RSS by 28 MB).
 */
const REPACK_SLICE_BYTES = 2 << 20;
/** Rows of a slice are a multiple of this: whole groups of every layout (4, 8 or 16 rows). */
const REPACK_SLICE_ROW_MULTIPLE = 64;
/** Tensors up to this size that are read in place are copied instead (see the module doc). */
const SMALL_TENSOR_BYTES = 1 << 20;
/**
 * Released ranges are widened to this alignment: the largest folio the kernel maps at once
 * (a PMD, 2 MiB on x86-64 and 4 KiB-page ARM), so pages mapped around a read go too. Dropping
 * pages of a neighbour still read in place is harmless: they fault back in.
 */
const RELEASE_ALIGN_BYTES = 2 << 20;
/** Alignment of a repacked matrix in its buffer. */
const REPACK_ALIGN_BYTES = 64;

/** Where a repacked matrix lives. */
interface RepackedMatrix {
  readonly buffer: BackendBuffer;
  readonly offset: number;
  readonly layout: number;
}

/** Tensors of one model file, looked up by GGUF name. */
export class ModelWeights {
  readonly #byName: ReadonlyMap<string, GgufTensorInfo>;
  readonly #backend: Backend | undefined;
  readonly #bytes: ModelBytes | undefined;
  /** Per matrix name: its copy, or null when it is used in place. */
  readonly #matrices = new Map<string, RepackedMatrix | null>();
  /** Per small tensor name: its copy (see {@linkcode SMALL_TENSOR_BYTES}). */
  readonly #smallCopies = new Map<string, { buffer: BackendBuffer; offset: number }>();
  #chunk: { buffer: BackendBuffer; used: number } | undefined;
  #repackedBytes = 0;
  #copiedBytes = 0;

  /**
   * Binds a parsed file's tensors to a buffer over its bytes.
   *
   * @param gguf the parsed file
   * @param buffer the backend buffer over the whole file (offsets are absolute file offsets)
   * @param fileName for errors
   * @param repack the backend `buffer` belongs to and the file's bytes, when matrices may be
   *   repacked into the backend's preferred layout (omitted: every tensor is used in place)
   */
  constructor(
    readonly gguf: GgufFile,
    readonly buffer: BackendBuffer,
    readonly fileName: string,
    repack?: { readonly backend: Backend; readonly bytes: ModelBytes },
  ) {
    this.#byName = new Map(gguf.tensors.map((t) => [t.name, t]));
    this.#backend = repack?.backend;
    this.#bytes = repack?.bytes;
  }

  /** Bytes of the matrices copied into another layout so far (memory beyond the file). */
  get repackedBytes(): number {
    return this.#repackedBytes;
  }

  /** Bytes of the small tensors copied out of the mapping so far (norms, biases). */
  get copiedBytes(): number {
    return this.#copiedBytes;
  }

  /** Whether the file has a tensor of that name. */
  has(name: string): boolean {
    return this.#byName.has(name);
  }

  /** The table entry of `name`; throws `ModelError` naming the file and tensor when absent. */
  info(name: string): GgufTensorInfo {
    const info = this.#byName.get(name);
    if (info === undefined) {
      throw new ModelError(`Cannot load model "${this.fileName}": tensor "${name}" is missing`);
    }
    return info;
  }

  /**
   * The tensor as a graph input, checking its shape when `shape` is given.
   * @param g the graph being built
   * @param name GGUF tensor name, e.g. `blk.3.attn_q.weight`
   * @param shape expected dims in ggml order
   */
  bind(g: GraphBuilder, name: string, shape?: readonly number[]): GraphTensor {
    const info = this.#checked(name, shape);
    const copy = this.#smallCopy(info);
    if (copy === undefined) {
      return g.external(name, info.type, info.dims, this.buffer, info.fileOffset);
    }
    return g.external(name, info.type, info.dims, copy.buffer, copy.offset);
  }

  /** Like `bind`, or undefined when the file has no such tensor (optional biases, norms). */
  bindOptional(g: GraphBuilder, name: string, shape?: readonly number[]): GraphTensor | undefined {
    return this.has(name) ? this.bind(g, name, shape) : undefined;
  }

  /**
   * A weight matrix that is only ever MUL_MAT's src0: like `bind`, but in the backend's
   * preferred layout when it has one (repacked on first use, then shared).
   */
  bindMatrix(g: GraphBuilder, name: string, shape: readonly number[]): GraphTensor {
    const info = this.#checked(name, shape);
    const copy = this.#repacked(info);
    if (copy === null) return g.external(name, info.type, info.dims, this.buffer, info.fileOffset);
    return g.external(name, info.type, info.dims, copy.buffer, copy.offset, copy.layout);
  }

  /**
   * A matrix that GET_ROWS gathers rows from and that is also a MUL_MAT weight (a tied
   * embedding): its copy when the backend gathers from the copy's layout, else the file's
   * bytes. Read in place, every token's row would fault ~64 KiB of the file around it into
   * memory (the kernel maps neighbouring cached pages too) beside the copy, up to the
   * matrix's whole size over a long session (30 MB for SmolLM2, 178 MB for Gemma 3 270M).
   */
  bindGatherMatrix(g: GraphBuilder, name: string, shape: readonly number[]): GraphTensor {
    const info = this.#checked(name, shape);
    const copy = this.#repacked(info);
    if (copy === null || this.#backend?.gathersLayout?.(info.type, copy.layout) !== true) {
      return g.external(name, info.type, info.dims, this.buffer, info.fileOffset);
    }
    return g.external(name, info.type, info.dims, copy.buffer, copy.offset, copy.layout);
  }

  #checked(name: string, shape: readonly number[] | undefined): GgufTensorInfo {
    const info = this.info(name);
    if (shape !== undefined && !sameShape(info.dims, shape)) {
      throw new ModelError(
        `Cannot load model "${this.fileName}": tensor "${name}" has shape [${info.dims}], expected [${shape}]`,
      );
    }
    return info;
  }

  #repacked(info: GgufTensorInfo): RepackedMatrix | null {
    const known = this.#matrices.get(info.name);
    if (known !== undefined) return known;
    const backend = this.#backend;
    const layout = backend?.repackMatrix && backend.matrixLayout?.(info.type, info.dims);
    let copy: RepackedMatrix | null = null;
    if (backend !== undefined && layout) {
      const { buffer, offset } = this.#place(backend, info.byteLength);
      for (const [firstRow, rowCount] of repackSlices(backend, info, layout)) {
        this.#repackRows(backend, info, layout, firstRow, rowCount, buffer, offset);
      }
      this.#release(info.fileOffset, info.byteLength);
      this.#repackedBytes += info.byteLength;
      copy = { buffer, offset, layout };
    }
    this.#matrices.set(info.name, copy);
    return copy;
  }

  /** Copies rows [firstRow, firstRow + rowCount) into the copy and releases their file pages. */
  #repackRows(
    backend: Backend,
    info: GgufTensorInfo,
    layout: number,
    firstRow: number,
    rowCount: number,
    target: BackendBuffer,
    targetOffset: number,
  ): void {
    const rowBytes = info.byteLength / info.dims[1];
    const skipBytes = firstRow * rowBytes;
    const byteLength = rowCount * rowBytes;
    const source = {
      name: info.name,
      type: info.type,
      shape: [info.dims[0], rowCount],
      buffer: this.buffer,
      offset: info.fileOffset + skipBytes,
      byteLength,
    };
    backend.repackMatrix!(source, layout, target, targetOffset + skipBytes);
    this.#release(source.offset, byteLength);
  }

  /** A copy of a small tensor out of the mapping, or undefined when it is read in place. */
  #smallCopy(info: GgufTensorInfo): { buffer: BackendBuffer; offset: number } | undefined {
    const known = this.#smallCopies.get(info.name);
    if (known !== undefined) return known;
    const backend = this.#backend;
    const bytes = this.#bytes;
    if (backend?.repackMatrix === undefined || bytes?.release === undefined) return undefined;
    if (info.byteLength > SMALL_TENSOR_BYTES) return undefined;
    const copy = this.#place(backend, info.byteLength);
    const end = info.fileOffset + info.byteLength;
    backend.write(copy.buffer, copy.offset, bytes.bytes.subarray(info.fileOffset, end));
    this.#release(info.fileOffset, info.byteLength);
    this.#copiedBytes += info.byteLength;
    this.#smallCopies.set(info.name, copy);
    return copy;
  }

  /** Drops the process's pages of the file around bytes [offset, offset + byteLength). */
  #release(offset: number, byteLength: number): void {
    const bytes = this.#bytes;
    if (bytes?.release === undefined) return;
    const start = Math.floor(offset / RELEASE_ALIGN_BYTES) * RELEASE_ALIGN_BYTES;
    const end = Math.min(alignUp(offset + byteLength, RELEASE_ALIGN_BYTES), bytes.bytes.byteLength);
    bytes.release(start, end - start);
  }

  /** Room for `byteLength` bytes in the current chunk, or in a new one. */
  #place(backend: Backend, byteLength: number): { buffer: BackendBuffer; offset: number } {
    let chunk = this.#chunk;
    const offset = chunk === undefined ? 0 : alignUp(chunk.used, REPACK_ALIGN_BYTES);
    if (chunk === undefined || offset + byteLength > chunk.buffer.byteLength) {
      const bytes = Math.max(REPACK_CHUNK_BYTES, byteLength);
      chunk = { buffer: backend.allocate(bytes, `repacked weights of ${this.fileName}`), used: 0 };
      this.#chunk = chunk;
      chunk.used = byteLength;
      return { buffer: chunk.buffer, offset: 0 };
    }
    chunk.used = offset + byteLength;
    return { buffer: chunk.buffer, offset };
  }
}

/**
 * The [first row, row count] slices a matrix is repacked in: the whole matrix when it is
 * small, else slices of whole row groups of about `REPACK_SLICE_BYTES`. Layouts keep each
 * group of rows in its own byte range (`Backend.repackMatrix`), so the slices' copies make
 * the whole matrix's copy; a slice whose shape the backend would lay out otherwise (a ragged
 * last slice) makes the matrix go in one piece.
 */
function repackSlices(
  backend: Backend,
  info: GgufTensorInfo,
  layout: number,
): Array<[number, number]> {
  const [rowLength, rows] = info.dims;
  const rowBytes = info.byteLength / rows;
  const sliceRows = Math.floor(REPACK_SLICE_BYTES / rowBytes / REPACK_SLICE_ROW_MULTIPLE) *
    REPACK_SLICE_ROW_MULTIPLE;
  if (sliceRows === 0 || sliceRows >= rows) return [[0, rows]];
  const slices: Array<[number, number]> = [];
  for (let first = 0; first < rows; first += sliceRows) {
    const count = Math.min(sliceRows, rows - first);
    if (backend.matrixLayout!(info.type, [rowLength, count]) !== layout) return [[0, rows]];
    slices.push([first, count]);
  }
  return slices;
}

function alignUp(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}

function sameShape(dims: readonly number[], shape: readonly number[]): boolean {
  const trimmed = [...dims];
  while (trimmed.length > shape.length && trimmed[trimmed.length - 1] === 1) trimmed.pop();
  return trimmed.length === shape.length && trimmed.every((d, i) => d === shape[i]);
}
