/**
 * The graph IR handed to backends: named tensors (weights, activations, inputs, KV cache) and a
 * list of ops in execution order. A model's graph builder makes a new graph for every batch
 * (it is a few hundred nodes, microseconds of JS); a backend runs the whole list in one call.
 *
 * Shapes are ggml order: `shape[0]` is the contiguous length (a row), `shape[1]` the number of
 * rows, `shape[2]` an optional third dimension (heads). Every tensor is contiguous.
 *
 * @module
 */

import { GgmlType } from "./gguf/types.ts";
import type { BackendBuffer } from "./backend.ts";

/** Operations every backend implements (or refuses through `supportsOp`). */
export enum Op {
  /** dst[i] = dequantize(src0 row src1[i]); src0 [rows, dim] any type, src1 [n] I32. */
  GET_ROWS = 0,
  /** dst = x / rms(x) * (src1 ?? 1) per row of length src0.shape[0]; fp[0] = eps. */
  RMS_NORM = 1,
  /** dst [n, rows] = src1 [n, k] · src0ᵀ, src0 [rows, k] weights of any supported type. */
  MUL_MAT = 2,
  /** dst = src0 + src1; src1 is either the same shape or one row broadcast over rows. */
  ADD = 3,
  /** dst = src0 * src1; src1 is either the same shape or one row broadcast over rows. */
  MUL = 4,
  /** dst = src0 * fp[0]. */
  SCALE = 5,
  /**
   * Rotary embedding of src0 [n, heads, headDim] at positions src1 [n] I32.
   * ip[0] = mode (0 normal: adjacent pairs, 2 neox: halves), ip[1] = rotated dims;
   * fp[0] = frequency base, fp[1] = frequency scale.
   */
  ROPE = 6,
  /** Writes rows of src0 [n, width] F32 into dst [cells, width] (F32 or F16) at cells src1 [n]. */
  SET_ROWS = 7,
  /**
   * Attention of queries src0 [n, nHead, headDim] over cached keys src1 and values src2
   * ([cells, nKvHead * headDim], F32 or F16). Token positions src3 [n] I32, token sequence
   * masks src4 [n] I32, cell positions src5 [cells] I32 (-1 = empty), cell sequence masks
   * src6 [cells] I32. A token sees a cell when their masks share a bit, the cell's position is
   * not after the token's, and (ip[3] > 0) the distance is below the sliding window ip[3].
   * ip[0] = nHead, ip[1] = nKvHead, ip[2] = headDim, ip[4] = cells to scan;
   * fp[0] = score scale, fp[1] = tanh soft-cap of scores (0 = none).
   */
  ATTENTION = 8,
  /** dst = silu(src0) * src1 (SwiGLU feed-forward). */
  SWIGLU = 9,
  /** dst = gelu_tanh(src0) * src1 (GeGLU feed-forward). */
  GEGLU = 10,
  /** dst = fp[0] * tanh(src0 / fp[0]) (logit soft-cap). */
  SOFTCAP = 11,
}

/** Human names of ops, for errors and dumps. */
export const OP_NAMES: Readonly<Record<Op, string>> = {
  [Op.GET_ROWS]: "get_rows",
  [Op.RMS_NORM]: "rms_norm",
  [Op.MUL_MAT]: "mul_mat",
  [Op.ADD]: "add",
  [Op.MUL]: "mul",
  [Op.SCALE]: "scale",
  [Op.ROPE]: "rope",
  [Op.SET_ROWS]: "set_rows",
  [Op.ATTENTION]: "attention",
  [Op.SWIGLU]: "swiglu",
  [Op.GEGLU]: "geglu",
  [Op.SOFTCAP]: "softcap",
};

/** RoPE modes, as llama.cpp numbers them. */
export const ROPE_MODE_NORMAL = 0;
/** RoPE on halves of the head (GPT-NeoX layout), used by qwen2 and gemma3. */
export const ROPE_MODE_NEOX = 2;

/** Maximum inputs of one node. */
export const MAX_SRC = 8;
/** Maximum integer parameters of one node. */
export const MAX_IPARAMS = 8;
/** Maximum float parameters of one node. */
export const MAX_FPARAMS = 4;

/** Where a tensor's bytes live: a backend buffer and a byte offset inside it. */
export interface GraphTensor {
  /** Index of the tensor in `Graph.tensors`. */
  readonly id: number;
  /** Name for dumps and errors, e.g. `blk.3.attn_out`. */
  readonly name: string;
  /** Element type. */
  readonly type: GgmlType;
  /** ggml order, 1 to 3 dims: [row length, rows, third]. */
  readonly shape: readonly number[];
  /** The buffer holding the bytes. */
  readonly buffer: BackendBuffer;
  /** Byte offset of the first element in `buffer`. */
  readonly offset: number;
  /** Size in bytes. */
  readonly byteLength: number;
  /**
   * How a weight matrix's rows sit in memory when a backend repacked it (its own number,
   * from `Backend.matrixLayout`); 0 or absent: rows one after another, as in the file.
   */
  readonly layout?: number;
}

/** One operation: `dst = op(src...)` with integer and float parameters. */
export interface GraphNode {
  /** The operation. */
  readonly op: Op;
  /** The tensor written. */
  readonly dst: GraphTensor;
  /** The tensors read, in the op's argument order. */
  readonly src: readonly GraphTensor[];
  /** Integer parameters (meaning per op). */
  readonly iparams: readonly number[];
  /** Float parameters (meaning per op). */
  readonly fparams: readonly number[];
}

/** A computation: tensors and nodes in execution order. */
export interface Graph {
  /** Every tensor a node reads or writes, by id. */
  readonly tensors: readonly GraphTensor[];
  /** The nodes, in execution order. */
  readonly nodes: readonly GraphNode[];
}

/** Number of elements of a shape. */
export function elementCount(shape: readonly number[]): number {
  let count = 1;
  for (const d of shape) count *= d;
  return count;
}

/** Bytes of `rowLength` elements of `type` (rowLength must be a multiple of the block size). */
export type RowBytes = (type: GgmlType, rowLength: number) => number;

const ACTIVATION_ALIGNMENT_BYTES = 64;

/**
 * Builds a graph. Activations are bump-allocated from one arena buffer; `mark()`/`release()`
 * reuse the arena between layers (a layer's intermediates die at its end). Building with a
 * zero-capacity arena in `measure` mode records the high-water mark instead, which is how an
 * engine sizes its arena for the largest batch.
 */
export class GraphBuilder {
  /** Tensors created so far, by id. */
  readonly tensors: GraphTensor[] = [];
  /** Nodes added so far, in execution order. */
  readonly nodes: GraphNode[] = [];
  #top = 0;
  #highWaterBytes = 0;

  /**
   * Creates a builder that allocates activations from `arena`.
   *
   * @param arena the buffer activations are allocated from
   * @param rowBytes the byte size of a row of a type (from the ggml type table)
   * @param options `measure`: do not check capacity, only record the high-water mark
   */
  constructor(
    readonly arena: BackendBuffer,
    readonly rowBytes: RowBytes,
    readonly options: { measure?: boolean } = {},
  ) {}

  /** Most arena bytes in use at any point so far. */
  get highWaterBytes(): number {
    return this.#highWaterBytes;
  }

  /** Current arena position, to give back to `release`. */
  mark(): number {
    return this.#top;
  }

  /** Frees every activation allocated after `mark`. */
  release(mark: number): void {
    if (mark > this.#top) {
      throw new RangeError(`Cannot release arena to ${mark}: top is ${this.#top}`);
    }
    this.#top = mark;
  }

  /** A tensor over existing bytes (weights, KV cache, inputs). */
  external(
    name: string,
    type: GgmlType,
    shape: readonly number[],
    buffer: BackendBuffer,
    offset: number,
    layout = 0,
  ): GraphTensor {
    const byteLength = this.#byteLength(type, shape);
    if (!this.options.measure && offset + byteLength > buffer.byteLength) {
      throw new RangeError(
        `Cannot place tensor "${name}" at ${offset}+${byteLength}: buffer "${buffer.label}" holds ${buffer.byteLength} bytes`,
      );
    }
    const tensor = {
      id: this.tensors.length,
      name,
      type,
      shape,
      buffer,
      offset,
      byteLength,
      layout,
    };
    this.tensors.push(tensor);
    return tensor;
  }

  /** A new activation tensor in the arena. */
  activation(name: string, type: GgmlType, shape: readonly number[]): GraphTensor {
    const byteLength = this.#byteLength(type, shape);
    const offset = this.#top;
    const end = offset + alignUp(byteLength, ACTIVATION_ALIGNMENT_BYTES);
    if (!this.options.measure && end > this.arena.byteLength) {
      throw new RangeError(
        `Cannot allocate activation "${name}" (${byteLength} bytes): arena of ${this.arena.byteLength} bytes is full at ${offset}`,
      );
    }
    this.#top = end;
    this.#highWaterBytes = Math.max(this.#highWaterBytes, end);
    const tensor = {
      id: this.tensors.length,
      name,
      type,
      shape,
      buffer: this.arena,
      offset,
      byteLength,
    };
    this.tensors.push(tensor);
    return tensor;
  }

  /** The same bytes seen with another shape of equal element count. */
  view(tensor: GraphTensor, shape: readonly number[], name = tensor.name): GraphTensor {
    if (elementCount(shape) !== elementCount(tensor.shape)) {
      throw new TypeError(
        `Cannot view "${tensor.name}" [${tensor.shape}] as [${shape}]: element counts differ`,
      );
    }
    const view = { ...tensor, id: this.tensors.length, name, shape };
    this.tensors.push(view);
    return view;
  }

  /** Rows `[first, first + count)` of a 2-D tensor, as a tensor of its own. */
  rows(tensor: GraphTensor, first: number, count: number, name = tensor.name): GraphTensor {
    const rowBytes = this.rowBytes(tensor.type, tensor.shape[0]);
    const shape = [tensor.shape[0], count];
    const rows = tensor.shape.length > 1 ? tensor.shape[1] : 1;
    if (tensor.layout) {
      // Its rows are interleaved in the backend's own way: a byte range is not a row range.
      throw new RangeError(
        `Cannot take rows of "${tensor.name}": it is repacked (layout ${tensor.layout}); bind it with bind()`,
      );
    }
    if (first < 0 || first + count > rows) {
      throw new RangeError(
        `Cannot take rows ${first}..${first + count} of "${tensor.name}" with ${rows} rows`,
      );
    }
    const view = {
      ...tensor,
      id: this.tensors.length,
      name,
      shape,
      offset: tensor.offset + first * rowBytes,
      byteLength: count * rowBytes,
    };
    this.tensors.push(view);
    return view;
  }

  /** Appends `dst = op(src...)` and returns dst. */
  node(
    op: Op,
    dst: GraphTensor,
    src: readonly GraphTensor[],
    iparams: readonly number[] = [],
    fparams: readonly number[] = [],
  ): GraphTensor {
    if (src.length > MAX_SRC || iparams.length > MAX_IPARAMS || fparams.length > MAX_FPARAMS) {
      throw new RangeError(
        `Cannot add node ${OP_NAMES[op]} "${dst.name}": too many inputs or parameters`,
      );
    }
    this.nodes.push({ op, dst, src, iparams, fparams });
    return dst;
  }

  /** The finished graph. */
  build(): Graph {
    return { tensors: this.tensors, nodes: this.nodes };
  }

  #byteLength(type: GgmlType, shape: readonly number[]): number {
    const rows = elementCount(shape) / shape[0];
    return this.rowBytes(type, shape[0]) * rows;
  }
}

function alignUp(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}

/** Element types of activations and inputs. */
export const F32 = GgmlType.F32;
/** Token ids, positions, cell indices and sequence masks. */
export const I32 = GgmlType.I32;
