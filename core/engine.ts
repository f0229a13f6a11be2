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
import type { Graph, GraphTensor } from "./graph.ts";
import { GraphBuilder, I32, OP_NAMES } from "./graph.ts";
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
    this.#checkSupported();
    this.arena = backend.allocate(this.#measureArena(), "arena");
  }

  /**
   * Evaluates a batch (split into chunks of `batchSize`) and returns the logits of the rows in
   * `batch.outputs`, [outputs][nVocab] row-major.
   */
  async eval(batch: Batch): Promise<Float32Array> {
    const { chunks, logits } = this.#plan(batch);
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
  evalSync(batch: Batch): Float32Array {
    const { chunks, logits } = this.#plan(batch);
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

  #plan(batch: Batch): { chunks: Chunk[]; logits: Float32Array } {
    if (this.#disposed) throw new ModelError("Cannot evaluate a batch: the engine was disposed");
    const n = batch.tokens.length;
    if (n === 0) throw new RangeError("Cannot evaluate an empty batch");
    if (batch.positions.length !== n) {
      throw new TypeError(`Cannot evaluate a batch of ${n} tokens with ${batch.positions.length} positions`);
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
        throw new RangeError(`Cannot return ${rows.length} rows of logits in one batch: the engine allows ${this.maxOutputs}`);
      }
      outputIndex += rows.length;
      chunks.push({ batch, start, end, rows, targets });
    }
    if (outputIndex !== outputs.length) {
      throw new RangeError(`Cannot return logits of rows [${Array.from(outputs)}]: the batch has ${n} rows`);
    }
    return { chunks, logits: new Float32Array(outputs.length * this.hp.nVocab) };
  }

  #prepare(chunk: Chunk): { graph: Graph; logitsTensor: GraphTensor; slots: Int32Array } {
    const n = chunk.end - chunk.start;
    const tokens = Int32Array.from({ length: n }, (_, i) => chunk.batch.tokens[chunk.start + i]);
    const positions = Int32Array.from({ length: n }, (_, i) => chunk.batch.positions[chunk.start + i]);
    const masks = chunk.batch.seqMasks;
    const seqMasks = Int32Array.from({ length: n }, (_, i) => masks === undefined ? seqBit(0) : masks[chunk.start + i]);
    this.#checkTokens(tokens);
    const slots = this.kv.findSlots(n);
    this.kv.commit(slots, positions, seqMasks);
    const outputRows = Int32Array.from(chunk.rows.length > 0 ? chunk.rows : [n - 1]);
    this.#upload([tokens, positions, seqMasks, slots, outputRows]);
    const g = new GraphBuilder(this.arena, rowBytes);
    const inp = this.#inputs(g, n, outputRows.length, this.kv.usedEnd);
    const logitsTensor = buildForward(g, this.hp, this.weights, inp);
    return { graph: g.build(), logitsTensor, slots };
  }

  #checkTokens(tokens: Int32Array): void {
    for (const token of tokens) {
      if (!Number.isInteger(token) || token < 0 || token >= this.hp.nVocab) {
        throw new RangeError(`Cannot evaluate token ${token}: the vocabulary has ${this.hp.nVocab} tokens`);
      }
    }
  }

  #upload(arrays: Int32Array[]): void {
    const write = (offset: number, data: Int32Array) =>
      this.backend.write(this.inputs, offset * 4, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    arrays.forEach((data, i) => write(i * this.batchSize, data));
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
      g.external(name, I32, [this.contextSize], this.inputs, cellBase + index * this.contextSize * 4);
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
      kCache: this.kv.k.map((b, i) => g.external(`cache_k_l${i}`, this.kv.type, [kWidth, this.contextSize], b, 0)),
      vCache: this.kv.v.map((b, i) => g.external(`cache_v_l${i}`, this.kv.type, [vWidth, this.contextSize], b, 0)),
    };
  }

  #collect(logitsTensor: GraphTensor, chunk: Chunk, into: Float32Array): void {
    if (chunk.rows.length === 0) return;
    const vocab = this.hp.nVocab;
    const bytes = this.backend.read(logitsTensor.buffer, logitsTensor.offset, chunk.rows.length * vocab * 4);
    const rows = new Float32Array(bytes.buffer, bytes.byteOffset, chunk.rows.length * vocab);
    chunk.targets.forEach((target, i) => into.set(rows.subarray(i * vocab, (i + 1) * vocab), target * vocab));
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
    buildForward(g, this.hp, this.weights, this.#inputs(g, this.batchSize, this.maxOutputs, this.contextSize));
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
        }, which backend "${this.backend.device.name}" cannot run in ${OP_NAMES[node.op]} (${verdict})`,
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
