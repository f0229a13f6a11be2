/**
 * The KV cache: per layer, keys and values of every cached token, shared by all sequences.
 * Each cell holds one token's K and V rows; its bookkeeping is the token's position and a
 * bit mask of the sequences that contain it. A shared prompt is stored once and seen by every
 * sequence whose bit is set (`copy`), which is how `n` candidates and speculative drafts fork
 * without copying K/V; `truncate` rolls a sequence back (rejected draft tokens).
 *
 * Layout per layer: k [nCells][nKvHead * headDim], v [nCells][nKvHead * headDimV], F16 by
 * default like llama.cpp (half the memory of F32; the attention kernel reads F16).
 *
 * @module
 */

import type { Backend, BackendBuffer } from "./backend.ts";
import { GgmlType } from "./gguf/types.ts";

/** Sequence ids are bits of an I32 mask. */
export const MAX_SEQUENCES = 31;

/** Sizes of the cache. */
export interface KvCacheOptions {
  /** Cells, shared by every sequence. */
  readonly nCells: number;
  /** Layers, one K and one V buffer each. */
  readonly nLayer: number;
  /** nKvHead * headDim. */
  readonly kWidth: number;
  /** nKvHead * headDimV. */
  readonly vWidth: number;
  /** F16 (default) or F32. */
  readonly type?: GgmlType.F16 | GgmlType.F32;
}

/** The cache and its cell bookkeeping; K/V memory lives in backend buffers. */
export class KvCache {
  /** Element type of K and V. */
  readonly type: GgmlType.F16 | GgmlType.F32;
  /** Cells, shared by every sequence. */
  readonly nCells: number;
  /** Position of the token in each cell; -1 = empty. */
  readonly cellPositions: Int32Array;
  /** Bit mask of the sequences that contain each cell. */
  readonly cellSeqMasks: Int32Array;
  /** K per layer: `[nCells][kWidth]`. */
  readonly k: BackendBuffer[];
  /** V per layer: `[nCells][vWidth]`. */
  readonly v: BackendBuffer[];
  #usedEnd = 0;

  /** Allocates K and V for every layer on `backend`. */
  constructor(readonly backend: Backend, readonly options: KvCacheOptions) {
    this.type = options.type ?? GgmlType.F16;
    this.nCells = options.nCells;
    this.cellPositions = new Int32Array(options.nCells).fill(-1);
    this.cellSeqMasks = new Int32Array(options.nCells);
    const elementBytes = this.type === GgmlType.F16 ? 2 : 4;
    this.k = [];
    this.v = [];
    for (let layer = 0; layer < options.nLayer; layer++) {
      this.k.push(backend.allocate(options.nCells * options.kWidth * elementBytes, `kv.k.${layer}`));
      this.v.push(backend.allocate(options.nCells * options.vWidth * elementBytes, `kv.v.${layer}`));
    }
  }

  /** Cells an attention kernel has to scan: one past the last non-empty cell. */
  get usedEnd(): number {
    return this.#usedEnd;
  }

  /** Bytes of K and V memory over all layers. */
  get byteLength(): number {
    let total = 0;
    for (let i = 0; i < this.k.length; i++) total += this.k[i].byteLength + this.v[i].byteLength;
    return total;
  }

  /** Number of cells in use. */
  usedCells(): number {
    let count = 0;
    for (let i = 0; i < this.#usedEnd; i++) if (this.cellSeqMasks[i] !== 0) count++;
    return count;
  }

  /**
   * Finds `count` empty cells (lowest first) without taking them.
   * @throws RangeError naming the size when the cache is full
   */
  findSlots(count: number): Int32Array {
    const slots = new Int32Array(count);
    let found = 0;
    for (let cell = 0; cell < this.nCells && found < count; cell++) {
      if (this.cellSeqMasks[cell] === 0) slots[found++] = cell;
    }
    if (found < count) {
      throw new RangeError(
        `Cannot place ${count} tokens in the KV cache: ${this.nCells - this.usedCells()} of ${this.nCells} cells are free (the context is full)`,
      );
    }
    return slots;
  }

  /** Marks cells as holding tokens at `positions` of the sequences in `seqMasks`. */
  commit(slots: Int32Array, positions: Int32Array, seqMasks: Int32Array): void {
    for (let i = 0; i < slots.length; i++) {
      const cell = slots[i];
      this.cellPositions[cell] = positions[i];
      this.cellSeqMasks[cell] = seqMasks[i];
      if (cell + 1 > this.#usedEnd) this.#usedEnd = cell + 1;
    }
  }

  /** Removes positions >= `length` from sequence `seq` (a cell no sequence holds is freed). */
  truncate(seq: number, length: number): void {
    const bit = seqBit(seq);
    for (let cell = 0; cell < this.#usedEnd; cell++) {
      if ((this.cellSeqMasks[cell] & bit) !== 0 && this.cellPositions[cell] >= length) {
        this.#dropBit(cell, bit);
      }
    }
    this.#shrink();
  }

  /** Makes sequence `to` hold every cell of `from` (shared, not copied); `to` is cleared first. */
  copy(from: number, to: number): void {
    if (from === to) return;
    this.clear(to);
    const fromBit = seqBit(from);
    const toBit = seqBit(to);
    for (let cell = 0; cell < this.#usedEnd; cell++) {
      if ((this.cellSeqMasks[cell] & fromBit) !== 0) this.cellSeqMasks[cell] |= toBit;
    }
  }

  /** Forgets sequence `seq`, or every sequence when `seq` is undefined. */
  clear(seq?: number): void {
    if (seq === undefined) {
      this.cellPositions.fill(-1);
      this.cellSeqMasks.fill(0);
      this.#usedEnd = 0;
      return;
    }
    const bit = seqBit(seq);
    for (let cell = 0; cell < this.#usedEnd; cell++) {
      if ((this.cellSeqMasks[cell] & bit) !== 0) this.#dropBit(cell, bit);
    }
    this.#shrink();
  }

  /** Tokens cached for `seq`: one past its highest position (0 when empty). */
  seqLength(seq: number): number {
    const bit = seqBit(seq);
    let length = 0;
    for (let cell = 0; cell < this.#usedEnd; cell++) {
      if ((this.cellSeqMasks[cell] & bit) !== 0) length = Math.max(length, this.cellPositions[cell] + 1);
    }
    return length;
  }

  #dropBit(cell: number, bit: number): void {
    this.cellSeqMasks[cell] &= ~bit;
    if (this.cellSeqMasks[cell] === 0) this.cellPositions[cell] = -1;
  }

  #shrink(): void {
    while (this.#usedEnd > 0 && this.cellSeqMasks[this.#usedEnd - 1] === 0) this.#usedEnd--;
  }
}

/** The mask bit of sequence `seq`. */
export function seqBit(seq: number): number {
  if (!Number.isInteger(seq) || seq < 0 || seq >= MAX_SEQUENCES) {
    throw new RangeError(`Cannot use sequence id ${seq}: ids run from 0 to ${MAX_SEQUENCES - 1}`);
  }
  return 1 << seq;
}
