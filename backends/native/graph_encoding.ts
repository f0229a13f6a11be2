/**
 * Encodes a `Graph` into the three tables `zeno_graph_compute` reads (layouts mirror the extern
 * structs of zig/src/graph_exec.zig, little-endian):
 *
 * ```
 * buffers [nBuffers]  { address: u64, byteLength: u64, flags: u64 }         24 bytes
 * tensors [nTensors]  { buffer: u32, type: u32, offset: u64, ne: [4]u32 }    32 bytes
 * nodes   [nNodes]    { op: u32, dst: i32, src: [8]i32, ip: [8]i32, fp: [4]f32 }  88 bytes
 * ```
 *
 * The typed arrays are kept and reused (grown when a larger graph arrives), so encoding a
 * decode step allocates only two small maps. Buffer addresses come from the backend, which
 * made them once per buffer.
 *
 * The graph encoded last is remembered: given the same `Graph` object again (the engine keeps
 * one per batch shape), only the node parameters are rewritten, the one part an engine
 * changes between steps (the attention's scan count); tensors and node structure are taken
 * as unchanged, as the graph IR is immutable apart from that.
 *
 * @module
 */

import type { BackendBuffer } from "../../core/backend.ts";
import type { Graph, GraphNode, GraphTensor } from "../../core/graph.ts";
import { MAX_FPARAMS, MAX_IPARAMS, MAX_SRC, OP_NAMES } from "../../core/graph.ts";

/** Bytes of one buffer entry. */
export const BUFFER_ENTRY_BYTES = 24;
/** Buffer flag: no node may write the buffer (the mapped model file). */
export const BUFFER_READ_ONLY = 1n;
const BUFFER_WORDS = BUFFER_ENTRY_BYTES / 8;
/** Bytes of one tensor entry. */
export const TENSOR_ENTRY_BYTES = 32;
/** Bytes of one node entry. */
export const NODE_ENTRY_BYTES = 88;

const TENSOR_WORDS = TENSOR_ENTRY_BYTES / 4;
const NODE_WORDS = NODE_ENTRY_BYTES / 4;
const NODE_SRC_WORD = 2;
const NODE_IP_WORD = NODE_SRC_WORD + MAX_SRC;
const NODE_FP_WORD = NODE_IP_WORD + MAX_IPARAMS;
const MAX_DIMS = 4;

/** The tables of one encoded graph: views of the encoder's reused memory. */
export interface EncodedGraph {
  readonly buffers: BigUint64Array;
  readonly nBuffers: number;
  readonly tensors: Uint32Array;
  readonly nTensors: number;
  readonly nodes: Int32Array;
  readonly nNodes: number;
  /** Graph tensors in table order, to name them in errors. */
  readonly tensorList: readonly GraphTensor[];
}

/** Where a buffer is in native memory. */
export interface NativeLocation {
  readonly address: bigint;
  /** Nodes must not write it (a read-only file mapping). */
  readonly readOnly: boolean;
}

/** The native location of a buffer, or undefined when it is not this backend's. */
export type AddressOf = (buffer: BackendBuffer) => NativeLocation | undefined;

/** Reusable encoder of graphs into native tables. */
export class GraphEncoder {
  #buffers = new BigUint64Array(BUFFER_WORDS * 16);
  #tensorWords = new Uint32Array(TENSOR_WORDS * 256);
  #nodeWords = new Int32Array(NODE_WORDS * 256);
  #nodeFloats = new Float32Array(this.#nodeWords.buffer);
  #lastBuffer: BackendBuffer | undefined;
  #lastIndex: Map<BackendBuffer, number> | undefined;
  #lastSlot = 0;
  /** The graph of the last `encode` and its result, for the parameters-only path. */
  #lastGraph: Graph | undefined;
  #lastEncoded: EncodedGraph | undefined;

  /**
   * Fills the tables from `graph`.
   *
   * @param graph tensors and nodes in execution order
   * @param addressOf the native address of each buffer the graph uses
   * @throws TypeError when a tensor lives in a buffer without an address, has more than four
   *   dimensions, or a parameter is not representable
   */
  encode(graph: Graph, addressOf: AddressOf): EncodedGraph {
    const last = this.#lastEncoded;
    if (
      graph === this.#lastGraph && last !== undefined && last.nNodes === graph.nodes.length &&
      last.tensorList.length === graph.tensors.length
    ) {
      this.#writeParams(graph.nodes);
      return last;
    }
    this.#lastGraph = undefined;
    const encoded = this.#encodeAll(graph, addressOf);
    this.#lastGraph = graph;
    this.#lastEncoded = encoded;
    return encoded;
  }

  #encodeAll(graph: Graph, addressOf: AddressOf): EncodedGraph {
    const tensorList: GraphTensor[] = [];
    const bufferIndex = new Map<BackendBuffer, number>();
    // Graph builders number tensors by position (`tensors[t.id] === t`); anything else (a
    // tensor missing from the list, ids out of order) goes through a map.
    let others: Map<GraphTensor, number> | undefined;
    const tensors = graph.tensors;
    const indexOf = (tensor: GraphTensor): number => {
      if (tensors[tensor.id] === tensor && tensorList[tensor.id] === tensor) return tensor.id;
      others ??= new Map();
      let index = others.get(tensor);
      if (index === undefined) {
        index = tensorList.length;
        others.set(tensor, index);
        tensorList.push(tensor);
        this.#writeTensor(index, tensor, this.#bufferSlot(tensor, bufferIndex, addressOf));
      }
      return index;
    };
    for (let i = 0; i < tensors.length; i++) {
      const tensor = tensors[i];
      if (tensor.id !== i || tensorList.length !== i) {
        indexOf(tensor);
        continue;
      }
      tensorList.push(tensor);
      this.#writeTensor(i, tensor, this.#bufferSlot(tensor, bufferIndex, addressOf));
    }
    const nodes = graph.nodes;
    this.#reserveNodes(nodes.length);
    const words = this.#nodeWords;
    for (let i = 0; i < nodes.length; i++) {
      const node = nodes[i];
      const at = i * NODE_WORDS;
      words[at] = node.op;
      words[at + 1] = indexOf(node.dst);
      const src = node.src;
      for (let s = 0; s < MAX_SRC; s++) {
        words[at + NODE_SRC_WORD + s] = s < src.length ? indexOf(src[s]) : -1;
      }
    }
    this.#writeParams(nodes);
    return {
      buffers: this.#buffers,
      nBuffers: bufferIndex.size,
      tensors: this.#tensorWords,
      nTensors: tensorList.length,
      nodes: words,
      nNodes: nodes.length,
      tensorList,
    };
  }

  /** The integer and float parameters of every node. */
  #writeParams(nodes: readonly GraphNode[]): void {
    const words = this.#nodeWords;
    const floats = this.#nodeFloats;
    for (let i = 0; i < nodes.length; i++) {
      const node = nodes[i];
      const at = i * NODE_WORDS;
      const ip = node.iparams;
      const fp = node.fparams;
      _checkParams(ip.length, fp.length, OP_NAMES[node.op], node.dst.name);
      for (let p = 0; p < MAX_IPARAMS; p++) {
        const value = p < ip.length ? ip[p] : 0;
        if ((value | 0) !== value) {
          throw new TypeError(
            `Cannot encode node ${i} ("${node.dst.name}"): integer parameter ${p} is ${value}`,
          );
        }
        words[at + NODE_IP_WORD + p] = value;
      }
      for (let p = 0; p < MAX_FPARAMS; p++) {
        floats[at + NODE_FP_WORD + p] = p < fp.length ? fp[p] : 0;
      }
    }
  }

  #bufferSlot(
    tensor: GraphTensor,
    bufferIndex: Map<BackendBuffer, number>,
    addressOf: AddressOf,
  ): number {
    // Runs of tensors share a buffer (the arena, one layer's weights): skip the map for them.
    if (tensor.buffer === this.#lastBuffer && bufferIndex === this.#lastIndex) {
      return this.#lastSlot;
    }
    let slot = bufferIndex.get(tensor.buffer);
    if (slot !== undefined) {
      this.#remember(tensor.buffer, bufferIndex, slot);
      return slot;
    }
    const location = addressOf(tensor.buffer);
    if (location === undefined) {
      throw new TypeError(
        `Cannot encode tensor "${tensor.name}": its buffer "${tensor.buffer.label}" does not ` +
          `belong to this backend`,
      );
    }
    slot = bufferIndex.size;
    bufferIndex.set(tensor.buffer, slot);
    if (BUFFER_WORDS * (slot + 1) > this.#buffers.length) {
      const grown = new BigUint64Array(this.#buffers.length * 2);
      grown.set(this.#buffers);
      this.#buffers = grown;
    }
    const at = BUFFER_WORDS * slot;
    this.#buffers[at] = location.address;
    this.#buffers[at + 1] = BigInt(tensor.buffer.byteLength);
    this.#buffers[at + 2] = location.readOnly ? BUFFER_READ_ONLY : 0n;
    this.#remember(tensor.buffer, bufferIndex, slot);
    return slot;
  }

  #remember(buffer: BackendBuffer, bufferIndex: Map<BackendBuffer, number>, slot: number): void {
    this.#lastBuffer = buffer;
    this.#lastIndex = bufferIndex;
    this.#lastSlot = slot;
  }

  #writeTensor(index: number, tensor: GraphTensor, bufferSlot: number): void {
    if (tensor.shape.length < 1 || tensor.shape.length > MAX_DIMS) {
      throw new TypeError(
        `Cannot encode tensor "${tensor.name}" of shape [${tensor.shape}]: 1 to 4 dimensions`,
      );
    }
    const needed = (index + 1) * TENSOR_WORDS;
    if (needed > this.#tensorWords.length) {
      const grown = new Uint32Array(Math.max(needed, this.#tensorWords.length * 2));
      grown.set(this.#tensorWords);
      this.#tensorWords = grown;
    }
    const words = this.#tensorWords;
    const at = index * TENSOR_WORDS;
    words[at] = bufferSlot;
    // Bits 16..24: the row layout of repacked weights (graph_exec.zig's TensorEntry).
    words[at + 1] = tensor.type | (tensor.layout ?? 0) << 16;
    words[at + 2] = tensor.offset % 2 ** 32;
    words[at + 3] = Math.floor(tensor.offset / 2 ** 32);
    const shape = tensor.shape;
    // Reading past an array's end is slow in V8: test the length instead.
    for (let d = 0; d < MAX_DIMS; d++) words[at + 4 + d] = d < shape.length ? shape[d] : 1;
  }

  #reserveNodes(count: number): void {
    if (count * NODE_WORDS <= this.#nodeWords.length) return;
    this.#nodeWords = new Int32Array(Math.max(count * NODE_WORDS, this.#nodeWords.length * 2));
    this.#nodeFloats = new Float32Array(this.#nodeWords.buffer);
  }
}

function _checkParams(ints: number, floats: number, op: string, name: string): void {
  if (ints > MAX_IPARAMS || floats > MAX_FPARAMS) {
    throw new TypeError(
      `Cannot encode node ${op} "${name}": ${ints} integer and ${floats} float parameters ` +
        `(at most ${MAX_IPARAMS} and ${MAX_FPARAMS})`,
    );
  }
}
