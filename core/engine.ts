/**
 * The engine evaluates batches: tokens + positions + sequence masks → logits of the rows asked
 * for. It owns the KV cache and the activation arena, builds the model's graph for every batch
 * and hands it to the backend in one call. Batches longer than `batchSize` are split (prefill in
 * chunks); plugins use `eval` with several sequences and `kv.truncate`/`kv.copy` to fork and roll
 * back.
 *
 * @module
 */

import type { Backend, BackendBuffer } from "./backend.ts";
import { ModelError } from "./errors.ts";
import { ggmlByteLength, ggmlTypeName } from "./gguf/ggml_types.ts";
import type { GgmlType } from "./gguf/types.ts";
import type { Graph, GraphNode, GraphTensor } from "./graph.ts";
import { GraphBuilder, I32, Op, OP_NAMES } from "./graph.ts";
import { KvCache, seqBit } from "./kv_cache.ts";
import type { ForwardInputs, HParams, ModelWeights } from "./models/mod.ts";
import { buildForward } from "./models/mod.ts";

/** Sizes of an engine. */
export interface EngineOptions {
  /** KV cache cells (context size over all sequences); default min(4096, trained context). */
  contextSize?: number;
  /** Tokens per graph (prefill chunk); default 512. */
  batchSize?: number;
  /** Most rows with logits per batch; default 32. */
  maxOutputs?: number;
  /** KV cache element type; default F16. */
  kvType?: GgmlType.F16 | GgmlType.F32;
}

/** One batch: token i sits at `positions[i]` in the sequences of `seqMasks[i]`. */
export interface Batch {
  /** Token ids to evaluate, one per row. */
  readonly tokens: ArrayLike<number>;
  /** Each token's position in its sequence. */
  readonly positions: ArrayLike<number>;
  /** Bit masks of sequence ids per token; default: sequence 0 for every token. */
  readonly seqMasks?: ArrayLike<number>;
  /** Batch rows whose logits are returned, in order; default: the last row. */
  readonly outputs?: ArrayLike<number>;
}

const INPUT_ARRAYS = 5; // tokens, positions, seq masks, slots, output rows

/** Graphs kept per batch shape: decode, prefill chunks, a verify batch or two. */
const GRAPH_CACHE_SIZE = 8;
/** ATTENTION's iparam holding the cells to scan, the one part of a graph that changes. */
const SCAN_PARAM = 4;

/**
 * A forward graph for one batch shape (tokens, output rows). Everything in it depends only
 * on that shape (arena offsets, input views, weights) except the attention nodes' scan count,
 * which is rewritten in place before each use.
 */
interface ShapedGraph {
  readonly graph: Graph;
  readonly logitsTensor: GraphTensor;
  /** The ATTENTION nodes' own iparams arrays. */
  readonly scanParams: number[][];
}

/** Evaluates batches of one model on one backend. */
export class Engine {
  /** The KV cache of this engine's sequences. */
  readonly kv: KvCache;
  /** KV cells, shared by every sequence. */
  readonly contextSize: number;
  /** Most tokens one `eval` call takes. */
  readonly batchSize: number;
  /** Most logits rows one `eval` call returns (and most sequences). */
  readonly maxOutputs: number;
  /** Backend memory for the KV cache and activations. */
  readonly arena: BackendBuffer;
  /** Backend memory for a batch's token ids, positions and masks. */
  readonly inputs: BackendBuffer;
  #disposed = false;
  /** Built graphs by `_shapeKey`, oldest first. */
  readonly #graphs = new Map<number, ShapedGraph>();
  /** Input arrays staged before one upload: tokens, positions, masks, then output rows. */
  readonly #staging: Int32Array;
  /** The arena's host view; null when the backend's memory is not host memory. */
  #hostArena: Uint8Array | null | undefined;

  /**
   * Creates an engine (own KV cache) over a model's weights.
   *
   * @param backend where the graph runs
   * @param hp the model's hyper-parameters
   * @param weights the model's tensors (bound to a buffer of `backend`)
   * @param options sizes
   */
  constructor(
    readonly backend: Backend,
    readonly hp: HParams,
    readonly weights: ModelWeights,
    options: EngineOptions = {},
  ) {
    this.contextSize = options.contextSize ?? Math.min(4096, hp.nCtxTrain);
    this.batchSize = Math.min(options.batchSize ?? 512, this.contextSize);
    this.maxOutputs = Math.min(options.maxOutputs ?? 32, this.batchSize);
    this.kv = new KvCache(backend, {
      nCells: this.contextSize,
      nLayer: hp.nLayer,
      kWidth: hp.nKvHead * hp.headDim,
      vWidth: hp.nKvHead * hp.headDimV,
      type: options.kvType,
    });
    const inputBytes = (INPUT_ARRAYS * this.batchSize + 2 * this.contextSize) * 4;
    this.inputs = backend.allocate(inputBytes, "inputs");
    this.#staging = new Int32Array(INPUT_ARRAYS * this.batchSize);
    this.#checkSupported();
    this.arena = backend.allocate(this.#measureArena(), "arena");
  }

  /**
   * Evaluates a batch (split into chunks of `batchSize`) and returns the logits of the rows in
   * `batch.outputs`, [outputs][nVocab] row-major.
   *
   * @param batch the tokens, their positions (and sequences, and which rows' logits to return)
   * @param out where to write the logits (its first outputs × nVocab values, returned as a view):
   * a decode loop that passes one array every step allocates nothing per token
   */
  async eval(batch: Batch, out?: Float32Array): Promise<Float32Array> {
    const { chunks, logits } = this.#plan(batch, out);
    for (const chunk of chunks) {
      const { graph, logitsTensor, slots } = this.#prepare(chunk);
      try {
        await this.backend.computeAsync(graph);
      } catch (error) {
        this.#rollback(slots);
        throw error;
      }
      this.#collect(logitsTensor, chunk, logits);
    }
    return logits;
  }

  /** `eval` on the calling thread (blocks the event loop while the backend computes). */
  evalSync(batch: Batch, out?: Float32Array): Float32Array {
    const { chunks, logits } = this.#plan(batch, out);
    for (const chunk of chunks) {
      const { graph, logitsTensor, slots } = this.#prepare(chunk);
      try {
        this.backend.compute(graph);
      } catch (error) {
        this.#rollback(slots);
        throw error;
      }
      this.#collect(logitsTensor, chunk, logits);
    }
    return logits;
  }

  /** Marks the engine unusable; its buffers are freed with the backend. */
  dispose(): void {
    this.#disposed = true;
  }

  #plan(batch: Batch, out: Float32Array | undefined): { chunks: Chunk[]; logits: Float32Array } {
    if (this.#disposed) throw new ModelError("Cannot evaluate a batch: the engine was disposed");
    const n = batch.tokens.length;
    if (n === 0) throw new RangeError("Cannot evaluate an empty batch");
    if (batch.positions.length !== n) {
      throw new TypeError(
        `Cannot evaluate a batch of ${n} tokens with ${batch.positions.length} positions`,
      );
    }
    const outputs = batch.outputs ?? [n - 1];
    const chunks: Chunk[] = [];
    let outputIndex = 0;
    for (let start = 0; start < n; start += this.batchSize) {
      const end = Math.min(n, start + this.batchSize);
      const rows: number[] = [];
      const targets: number[] = [];
      for (let i = 0; i < outputs.length; i++) {
        if (outputs[i] >= start && outputs[i] < end) {
          rows.push(outputs[i] - start);
          targets.push(i);
        }
      }
      if (rows.length > this.maxOutputs) {
        throw new RangeError(
          `Cannot return ${rows.length} rows of logits in one batch: the engine allows ${this.maxOutputs}`,
        );
      }
      outputIndex += rows.length;
      chunks.push({ batch, start, end, rows, targets });
    }
    if (outputIndex !== outputs.length) {
      throw new RangeError(
        `Cannot return logits of rows [${Array.from(outputs)}]: the batch has ${n} rows`,
      );
    }
    return { chunks, logits: this.#logitsArray(outputs.length * this.hp.nVocab, out) };
  }

  #logitsArray(length: number, out: Float32Array | undefined): Float32Array {
    if (out === undefined) return new Float32Array(length);
    if (out.length < length) {
      throw new RangeError(
        `Cannot write ${length} logits into an array of ${out.length}: pass one of at least outputs × nVocab values`,
      );
    }
    return out.length === length ? out : out.subarray(0, length);
  }

  #prepare(chunk: Chunk): { graph: Graph; logitsTensor: GraphTensor; slots: Int32Array } {
    const n = chunk.end - chunk.start;
    const size = this.batchSize;
    const tokens = this.#staging.subarray(0, n);
    const positions = this.#staging.subarray(size, size + n);
    const seqMasks = this.#staging.subarray(2 * size, 2 * size + n);
    const { batch, start } = chunk;
    for (let i = 0; i < n; i++) {
      tokens[i] = batch.tokens[start + i];
      positions[i] = batch.positions[start + i];
      seqMasks[i] = batch.seqMasks === undefined ? seqBit(0) : batch.seqMasks[start + i];
    }
    this.#checkTokens(batch.tokens, start, n);
    const slots = this.kv.findSlots(n);
    this.kv.commit(slots, positions, seqMasks);
    const nOutputs = Math.max(1, chunk.rows.length);
    const outputRows = this.#staging.subarray(3 * size, 3 * size + nOutputs);
    if (chunk.rows.length > 0) outputRows.set(chunk.rows);
    else outputRows[0] = n - 1;
    this.#upload([tokens, positions, seqMasks, slots, outputRows]);
    const shaped = this.#graphFor(n, nOutputs);
    for (const params of shaped.scanParams) params[SCAN_PARAM] = this.kv.usedEnd;
    return { graph: shaped.graph, logitsTensor: shaped.logitsTensor, slots };
  }

  /** The graph of a batch shape, built on first use (its scan count is set by the caller). */
  #graphFor(n: number, nOutputs: number): ShapedGraph {
    const key = n * (this.maxOutputs + 1) + nOutputs;
    const cached = this.#graphs.get(key);
    if (cached !== undefined) return cached;
    const g = new GraphBuilder(this.arena, rowBytes);
    const logitsTensor = buildForward(
      g,
      this.hp,
      this.weights,
      this.#inputs(g, n, nOutputs, this.kv.usedEnd),
    );
    const scanParams: number[][] = [];
    // Attention nodes get iparams arrays of their own, so rewriting one touches nothing else.
    const nodes = g.nodes.map((node): GraphNode => {
      if (node.op !== Op.ATTENTION) return node;
      const iparams = [...node.iparams];
      scanParams.push(iparams);
      return { ...node, iparams };
    });
    const shaped = { graph: { tensors: g.tensors, nodes }, logitsTensor, scanParams };
    if (this.#graphs.size >= GRAPH_CACHE_SIZE) {
      this.#graphs.delete(this.#graphs.keys().next().value!);
    }
    this.#graphs.set(key, shaped);
    return shaped;
  }

  #checkTokens(tokens: ArrayLike<number>, start: number, n: number): void {
    for (let i = start; i < start + n; i++) {
      const token = tokens[i];
      if (!Number.isInteger(token) || token < 0 || token >= this.hp.nVocab) {
        throw new RangeError(
          `Cannot evaluate token ${token}: the vocabulary has ${this.hp.nVocab} tokens`,
        );
      }
    }
  }

  #upload(arrays: Int32Array[]): void {
    const write = (offset: number, data: Int32Array) =>
      this.backend.write(
        this.inputs,
        offset * 4,
        new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      );
    for (let i = 0; i < arrays.length; i++) write(i * this.batchSize, arrays[i]);
    const cellBase = INPUT_ARRAYS * this.batchSize;
    const used = this.kv.usedEnd;
    write(cellBase, this.kv.cellPositions.subarray(0, used));
    write(cellBase + this.contextSize, this.kv.cellSeqMasks.subarray(0, used));
  }

  #inputs(g: GraphBuilder, n: number, nOutputs: number, nCellsScan: number): ForwardInputs {
    const arrayAt = (name: string, index: number, length: number) =>
      g.external(name, I32, [length], this.inputs, index * this.batchSize * 4);
    const cellBase = INPUT_ARRAYS * this.batchSize * 4;
    const cellsAt = (name: string, index: number) =>
      g.external(
        name,
        I32,
        [this.contextSize],
        this.inputs,
        cellBase + index * this.contextSize * 4,
      );
    const kWidth = this.hp.nKvHead * this.hp.headDim;
    const vWidth = this.hp.nKvHead * this.hp.headDimV;
    return {
      nTokens: n,
      nOutputs,
      tokens: arrayAt("inp_tokens", 0, n),
      positions: arrayAt("inp_pos", 1, n),
      seqMasks: arrayAt("inp_seq", 2, n),
      slots: arrayAt("inp_slots", 3, n),
      outputRows: arrayAt("inp_out_rows", 4, nOutputs),
      cellPositions: cellsAt("kv_cell_pos", 0),
      cellSeqMasks: cellsAt("kv_cell_seq", 1),
      nCellsScan,
      kCache: this.kv.k.map((b, i) =>
        g.external(`cache_k_l${i}`, this.kv.type, [kWidth, this.contextSize], b, 0)
      ),
      vCache: this.kv.v.map((b, i) =>
        g.external(`cache_v_l${i}`, this.kv.type, [vWidth, this.contextSize], b, 0)
      ),
    };
  }

  #collect(logitsTensor: GraphTensor, chunk: Chunk, into: Float32Array): void {
    if (chunk.rows.length === 0) return;
    const vocab = this.hp.nVocab;
    const rows = this.#logitsRows(logitsTensor, chunk.rows.length * vocab);
    chunk.targets.forEach((target, i) =>
      into.set(rows.subarray(i * vocab, (i + 1) * vocab), target * vocab)
    );
  }

  /**
   * The first `count` logits: a view of the arena when the backend's memory is host memory
   * (one copy, into the result, instead of two), else a copy read from the device.
   */
  #logitsRows(logitsTensor: GraphTensor, count: number): Float32Array {
    if (this.#hostArena === undefined) {
      try {
        this.#hostArena = this.arena.host();
      } catch {
        this.#hostArena = null;
      }
    }
    const host = this.#hostArena;
    if (host !== null && logitsTensor.buffer === this.arena && logitsTensor.offset % 4 === 0) {
      return new Float32Array(host.buffer, host.byteOffset + logitsTensor.offset, count);
    }
    const bytes = this.backend.read(logitsTensor.buffer, logitsTensor.offset, count * 4);
    return new Float32Array(bytes.buffer, bytes.byteOffset, count);
  }

  #rollback(slots: Int32Array): void {
    for (const cell of slots) {
      this.kv.cellSeqMasks[cell] = 0;
      this.kv.cellPositions[cell] = -1;
    }
  }

  /** Builds the largest graph without an arena to learn how many bytes it needs. */
  #measureArena(): number {
    const g = new GraphBuilder(this.inputs, rowBytes, { measure: true });
    buildForward(
      g,
      this.hp,
      this.weights,
      this.#inputs(g, this.batchSize, this.maxOutputs, this.contextSize),
    );
    return g.highWaterBytes;
  }

  /** Refuses a model whose graph has an op/type pair the backend cannot run, naming the tensor. */
  #checkSupported(): void {
    const g = new GraphBuilder(this.inputs, rowBytes, { measure: true });
    const graph = (buildForward(g, this.hp, this.weights, this.#inputs(g, 1, 1, 1)), g.build());
    for (const node of graph.nodes) {
      const verdict = this.backend.supportsOp(node.op, node.src.map((t) => t.type));
      if (verdict === true) continue;
      const tensor = node.src.find((t) => t.buffer === this.weights.buffer) ?? node.src[0];
      throw new ModelError(
        `Cannot load model "${this.weights.fileName}": tensor "${tensor.name}" has type ${
          ggmlTypeName(tensor.type)
        }, which backend "${this.backend.device.name}" cannot run in ${
          OP_NAMES[node.op]
        } (${verdict})`,
      );
    }
  }
}

interface Chunk {
  readonly batch: Batch;
  readonly start: number;
  readonly end: number;
  /** Rows of this chunk (relative) that need logits. */
  readonly rows: number[];
  /** Where each of those rows goes in the result. */
  readonly targets: number[];
}

function rowBytes(type: GgmlType, rowLength: number): number {
  return ggmlByteLength(type, rowLength);
}
