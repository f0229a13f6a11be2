/**
 * The reference backend: runs a graph node by node with the plain TypeScript ops of this folder.
 * Slow and obvious on purpose; it is the oracle the native backends are compared against, and it
 * runs the tiny test models (stories260K) end to end.
 *
 * @module
 */

import type { Backend, BackendBuffer, DeviceInfo, ModelBytes } from "../../core/backend.ts";
import { GgmlType } from "../../core/gguf/types.ts";
import type { Graph, GraphNode, GraphTensor } from "../../core/graph.ts";
import { elementCount, Op, OP_NAMES, ROPE_MODE_NEOX, ROPE_MODE_NORMAL } from "../../core/graph.ts";
import { attention } from "./attention.ts";
import { f16ToF32, f32ToF16 } from "./half.ts";
import { getRows, matmul } from "./matmul.ts";
import { REFERENCE_TYPES } from "./quant.ts";
import { add, geglu, mul, rmsNorm, scale, swiglu, tanhSoftcap } from "./ops.ts";
import { rope } from "./rope.ts";
import { activationType } from "./vec_dot.ts";

const CACHE_TYPES: ReadonlySet<GgmlType> = new Set([GgmlType.F32, GgmlType.F16]);

class HostBuffer implements BackendBuffer {
  constructor(readonly label: string, readonly bytes: Uint8Array) {}
  get byteLength(): number {
    return this.bytes.byteLength;
  }
  host(): Uint8Array {
    return this.bytes;
  }
}

/** Creates the reference backend (single-threaded TypeScript). */
export function createReferenceBackend(): Backend {
  const device: DeviceInfo = {
    name: "reference",
    description: "plain TypeScript ops (the oracle)",
    memoryBytes: 0,
    threads: 1,
  };
  return {
    device,
    supportsOp,
    allocate: (byteLength, label) => new HostBuffer(label, new Uint8Array(byteLength)),
    wrapModel: (model: ModelBytes) => new HostBuffer(`weights ${model.path}`, model.bytes),
    write(buffer, offset, data) {
      buffer.host().set(data, offset);
    },
    read(buffer, offset, byteLength) {
      return buffer.host().slice(offset, offset + byteLength);
    },
    compute(graph: Graph) {
      for (const node of graph.nodes) runNode(node);
    },
    computeAsync(graph: Graph) {
      for (const node of graph.nodes) runNode(node);
      return Promise.resolve();
    },
    dispose() {},
  };
}

function supportsOp(op: Op, types: readonly GgmlType[]): true | string {
  switch (op) {
    case Op.GET_ROWS:
      return REFERENCE_TYPES.has(types[0])
        ? true
        : `no ${GgmlType[types[0]] ?? types[0]} dequantizer`;
    case Op.MUL_MAT:
      return hasDotProduct(types[0]) ? true : `no ${GgmlType[types[0]] ?? types[0]} dot product`;
    case Op.SET_ROWS:
      return true;
    case Op.ATTENTION:
      return CACHE_TYPES.has(types[1]) && CACHE_TYPES.has(types[2])
        ? true
        : "cache must be F32 or F16";
    default:
      return types.every((t) => t === GgmlType.F32 || t === GgmlType.I32) ? true : "F32 only";
  }
}

function f32(t: GraphTensor): Float32Array {
  const bytes = t.buffer.host();
  return new Float32Array(bytes.buffer, bytes.byteOffset + t.offset, elementCount(t.shape));
}

function i32(t: GraphTensor): Int32Array {
  const bytes = t.buffer.host();
  return new Int32Array(bytes.buffer, bytes.byteOffset + t.offset, elementCount(t.shape));
}

function raw(t: GraphTensor): Uint8Array {
  return t.buffer.host().subarray(t.offset, t.offset + t.byteLength);
}

function runNode(node: GraphNode): void {
  const { dst, src, fparams } = node;
  switch (node.op) {
    case Op.GET_ROWS:
      return getRows(f32(dst), raw(src[0]), src[0].type, src[0].shape[0], i32(src[1]));
    case Op.RMS_NORM:
      return rmsNorm(
        f32(dst),
        f32(src[0]),
        src[1] ? f32(src[1]) : null,
        src[0].shape[0],
        fparams[0],
      );
    case Op.MUL_MAT:
      return matmul(
        f32(dst),
        raw(src[0]),
        src[0].type,
        src[0].shape[1],
        src[0].shape[0],
        f32(src[1]),
        src[1].shape[1],
        // Activations quantized as llama.cpp's x86 CPU backend does (127/amax, ties to even),
        // the rule the native backend follows too.
        { rounding: "x86" },
      );
    case Op.ADD:
      return add(f32(dst), f32(src[0]), f32(src[1]));
    case Op.MUL:
      return mul(f32(dst), f32(src[0]), f32(src[1]));
    case Op.SCALE:
      return scale(f32(dst), f32(src[0]), fparams[0]);
    case Op.ROPE:
      return runRope(node);
    case Op.SET_ROWS:
      return setRows(dst, f32(src[0]), src[0].shape[0], i32(src[1]));
    case Op.ATTENTION:
      return runAttention(node);
    case Op.SWIGLU:
      return swiglu(f32(dst), f32(src[0]), f32(src[1]));
    case Op.GEGLU:
      return geglu(f32(dst), f32(src[0]), f32(src[1]));
    case Op.SOFTCAP:
      return tanhSoftcap(f32(dst), f32(src[0]), fparams[0]);
    default:
      throw new TypeError(`Cannot run op ${OP_NAMES[node.op] ?? node.op} on the reference backend`);
  }
}

function runRope(node: GraphNode): void {
  const [x, positions, factors] = node.src;
  const [headDim, nHeads, nTokens] = x.shape;
  const out = f32(node.dst);
  if (node.dst.offset !== x.offset || node.dst.buffer !== x.buffer) out.set(f32(x));
  const mode = node.iparams[0] === ROPE_MODE_NEOX
    ? "neox"
    : node.iparams[0] === ROPE_MODE_NORMAL
    ? "normal"
    : undefined;
  if (mode === undefined) {
    throw new RangeError(`Cannot apply rope mode ${node.iparams[0]}: only 0 and 2 exist`);
  }
  rope(out, nTokens, nHeads, headDim, i32(positions), {
    mode,
    nRot: node.iparams[1],
    freqBase: node.fparams[0],
    freqScale: node.fparams[1],
    freqFactors: factors === undefined ? undefined : f32(factors),
  });
}

function setRows(dst: GraphTensor, rows: Float32Array, width: number, cells: Int32Array): void {
  const bytes = dst.buffer.host();
  if (dst.type === GgmlType.F32) {
    const cache = new Float32Array(
      bytes.buffer,
      bytes.byteOffset + dst.offset,
      elementCount(dst.shape),
    );
    cells.forEach((cell, i) => cache.set(rows.subarray(i * width, (i + 1) * width), cell * width));
    return;
  }
  const cache = new Uint16Array(
    bytes.buffer,
    bytes.byteOffset + dst.offset,
    elementCount(dst.shape),
  );
  cells.forEach((cell, i) => {
    for (let j = 0; j < width; j++) cache[cell * width + j] = f32ToF16(rows[i * width + j]);
  });
}

/** The first `cells` rows of a cache tensor as F32 (F16 caches are widened). */
function cacheRows(t: GraphTensor, cells: number): Float32Array {
  const width = t.shape[0];
  if (t.type === GgmlType.F32) return f32(t).subarray(0, cells * width);
  const bytes = t.buffer.host();
  const halves = new Uint16Array(bytes.buffer, bytes.byteOffset + t.offset, cells * width);
  return Float32Array.from(halves, f16ToF32);
}

function runAttention(node: GraphNode): void {
  const [q, k, v, tokPos, tokSeq, cellPos, cellSeq] = node.src;
  const [nHead, nKvHead, headDim, window, nCells] = node.iparams;
  const [scoreScale, softcap] = node.fparams;
  const nTokens = q.shape[2];
  const keys = cacheRows(k, nCells);
  const values = cacheRows(v, nCells);
  const positions = i32(tokPos);
  const seqs = i32(tokSeq);
  const cellPositions = i32(cellPos);
  const cellSeqs = i32(cellSeq);
  const queries = f32(q);
  const out = f32(node.dst);
  const width = nHead * headDim;
  // A cell a token must not see gets position +∞, which the causal rule hides.
  const visible = new Float64Array(nCells);
  for (let t = 0; t < nTokens; t++) {
    for (let c = 0; c < nCells; c++) {
      const shares = (cellSeqs[c] & seqs[t]) !== 0 && cellPositions[c] >= 0;
      visible[c] = shares ? cellPositions[c] : Infinity;
    }
    const query = queries.slice(t * width, (t + 1) * width);
    // F16 keys: the dot product sees the query rounded to f16, as ggml's F16 kernels do.
    if (k.type === GgmlType.F16) {
      for (let i = 0; i < query.length; i++) query[i] = f16ToF32(f32ToF16(query[i]));
    }
    attention(out.subarray(t * width, (t + 1) * width), query, keys, values, {
      nTokens: 1,
      nHead,
      nKvHead,
      headDim,
      kvLength: nCells,
      positions: [positions[t]],
      kvPositions: visible,
      scale: scoreScale,
      causal: true,
      slidingWindow: window > 0 ? window : undefined,
      softcap: softcap > 0 ? softcap : undefined,
    });
  }
}

function hasDotProduct(type: GgmlType): boolean {
  try {
    activationType(type);
    return true;
  } catch {
    return false;
  }
}
