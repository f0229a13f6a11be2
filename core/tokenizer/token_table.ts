/**
 * Token text → id over a {@linkcode GgufStringArray}: open addressing with linear probing in
 * one Int32Array (at most half full), hashing UTF-16 code units. A `Map<string, number>` of
 * the same vocabulary needs one JS string per token plus the map's own entries (~6 MB for 49k
 * tokens); this needs the units the vocabulary already has and 4 bytes a slot (0.5 MB), and
 * looks a substring up without making it.
 *
 * @module
 */

import type { GgufStringArray } from "../gguf/string_array.ts";

/** Token ids by text, for one vocabulary. */
export class TokenTable {
  /** Token text by id. */
  readonly texts: GgufStringArray;
  /** The first repeated text's ids `[first, second]`, or undefined when texts are unique. */
  readonly duplicate: readonly [number, number] | undefined;
  /** id of each slot's text, or -1 for an empty slot */
  readonly #slots: Int32Array;
  readonly #mask: number;

  /**
   * Indexes every text (a repeated text keeps its first id and is reported in `duplicate`).
   *
   * @param texts token text by id
   *
   * @example
   * ```ts
   * import { strictEqual } from "node:assert";
   * import { GgufStringArray } from "../gguf/string_array.ts";
   * import { TokenTable } from "./token_table.ts";
   * const table = new TokenTable(GgufStringArray.fromStrings(["a", "ab", "b"]));
   * strictEqual(table.idOf("ab"), 1);
   * strictEqual(table.idOfRange("xaby", 1, 3), 1);
   * strictEqual(table.idOf("ba"), undefined);
   * ```
   */
  constructor(texts: GgufStringArray) {
    this.texts = texts;
    const capacity = _capacityFor(texts.length);
    this.#slots = new Int32Array(capacity).fill(-1);
    this.#mask = capacity - 1;
    this.duplicate = this.#insertAll();
  }

  /** Number of tokens. */
  get size(): number {
    return this.texts.length;
  }

  /**
   * The text of a token.
   *
   * @param id a token id
   * @returns its text (made now: callers on hot paths keep what they need)
   */
  text(id: number): string {
    return this.texts.at(id);
  }

  /**
   * The id of a text.
   *
   * @param text a token text
   * @returns its id, or undefined when no token has it
   */
  idOf(text: string): number | undefined {
    const id = this.idOfRange(text, 0, text.length);
    return id < 0 ? undefined : id;
  }

  /**
   * The id of `text.substring(start, end)`, without making the substring.
   *
   * @param text a string
   * @param start first code unit
   * @param end one past the last code unit
   * @returns the id, or -1 when no token has that text
   */
  idOfRange(text: string, start: number, end: number): number {
    let hash = _HASH_SEED;
    for (let i = start; i < end; i++) hash = Math.imul(hash ^ text.charCodeAt(i), _HASH_PRIME);
    const { units, offsets } = this.texts;
    const length = end - start;
    for (let slot = _finish(hash) & this.#mask;; slot = (slot + 1) & this.#mask) {
      const id = this.#slots[slot];
      if (id < 0) return -1;
      const at = offsets[id];
      if (offsets[id + 1] - at !== length) continue;
      let k = 0;
      while (k < length && units[at + k] === text.charCodeAt(start + k)) k++;
      if (k === length) return id;
    }
  }

  /**
   * The id of the text in `units[start .. end]` (a range of another string array).
   *
   * @param units code units
   * @param start first unit
   * @param end one past the last unit
   * @returns the id, or -1 when no token has that text
   */
  idOfUnits(units: Uint16Array, start: number, end: number): number {
    return this.#find(units, start, end, _hashUnits(units, start, end));
  }

  #find(query: Uint16Array, start: number, end: number, hash: number): number {
    const { units, offsets } = this.texts;
    const length = end - start;
    for (let slot = hash & this.#mask;; slot = (slot + 1) & this.#mask) {
      const id = this.#slots[slot];
      if (id < 0) return -1;
      const at = offsets[id];
      if (offsets[id + 1] - at !== length) continue;
      let k = 0;
      while (k < length && units[at + k] === query[start + k]) k++;
      if (k === length) return id;
    }
  }

  #insertAll(): [number, number] | undefined {
    const { units, offsets } = this.texts;
    let duplicate: [number, number] | undefined;
    for (let id = 0; id < this.texts.length; id++) {
      const hash = _hashUnits(units, offsets[id], offsets[id + 1]);
      const previous = this.#find(units, offsets[id], offsets[id + 1], hash);
      if (previous >= 0) {
        duplicate ??= [previous, id];
        continue;
      }
      let slot = hash & this.#mask;
      while (this.#slots[slot] >= 0) slot = (slot + 1) & this.#mask;
      this.#slots[slot] = id;
    }
    return duplicate;
  }
}

// FNV-1a over code units, then a final mix so that the low bits (the slot) depend on all.
const _HASH_SEED = 0x811c9dc5 | 0;
const _HASH_PRIME = 0x01000193;

function _hashUnits(units: Uint16Array, start: number, end: number): number {
  let hash = _HASH_SEED;
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ units[i], _HASH_PRIME);
  return _finish(hash);
}

function _finish(hash: number): number {
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  return hash ^ (hash >>> 13);
}

/** A power of two at least twice the count (linear probing stays short below half full). */
function _capacityFor(count: number): number {
  let capacity = 16;
  while (capacity < count * 2) capacity *= 2;
  return capacity;
}
