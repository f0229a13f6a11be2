/**
 * A GGUF array of strings kept as UTF-16 code units in one typed array, not one JS string per
 * element: a vocabulary of 49k tokens and 49k merges costs ~2 MB this way instead of ~12 MB
 * of V8 heap (100k strings, each with its header), and the strings a program never reads are
 * never made. `values` makes them all on first access; `at(i)` makes one.
 *
 * Units rather than UTF-8 bytes, because every lookup into a vocabulary starts from a JS
 * string (a word, a substring): its `charCodeAt` values are hashed and compared as they are.
 * Long strings are made with a little-endian UTF-16 TextDecoder over the units, which
 * assumes a little-endian host (every platform the native library is built for).
 *
 * @module
 */

import { type GgufArray, GgufValueType } from "./types.ts";

/** Strings longer than this are made with a TextDecoder rather than `String.fromCharCode`. */
const _SHORT_UNITS = 256;
const _UTF16 = new TextDecoder("utf-16le");

/** An array of strings stored as UTF-16 code units; a {@linkcode GgufArray} of type STRING. */
export class GgufStringArray implements GgufArray {
  /** Always STRING. */
  readonly type: GgufValueType.STRING = GgufValueType.STRING;
  /** Code units of every string, one after the other. */
  readonly units: Uint16Array;
  /** String `i` is `units[offsets[i] .. offsets[i + 1]]`: `length + 1` entries. */
  readonly offsets: Uint32Array;
  #values: string[] | undefined;

  /**
   * Wraps units and offsets (not copied).
   *
   * @param units the strings' code units, concatenated
   * @param offsets where each string starts, then where the last one ends
   */
  constructor(units: Uint16Array, offsets: Uint32Array) {
    if (offsets.length === 0 || offsets[offsets.length - 1] > units.length) {
      throw new RangeError(
        `Cannot make a string array: ${offsets.length} offsets over ${units.length} units`,
      );
    }
    this.units = units;
    this.offsets = offsets;
  }

  /**
   * The array of some strings.
   *
   * @param strings the elements
   * @returns the same strings as units and offsets
   *
   * @example
   * ```ts
   * import { strictEqual } from "node:assert";
   * import { GgufStringArray } from "./string_array.ts";
   * const array = GgufStringArray.fromStrings(["ab", "", "Ġx"]);
   * strictEqual(array.length, 3);
   * strictEqual(array.at(2), "Ġx");
   * strictEqual(array.offsets.join(), "0,2,2,4");
   * ```
   */
  static fromStrings(strings: readonly string[]): GgufStringArray {
    const offsets = new Uint32Array(strings.length + 1);
    for (let i = 0; i < strings.length; i++) offsets[i + 1] = offsets[i] + strings[i].length;
    const units = new Uint16Array(offsets[strings.length]);
    for (let i = 0; i < strings.length; i++) {
      const text = strings[i];
      const start = offsets[i];
      for (let k = 0; k < text.length; k++) units[start + k] = text.charCodeAt(k);
    }
    return new GgufStringArray(units, offsets);
  }

  /** Number of strings. */
  get length(): number {
    return this.offsets.length - 1;
  }

  /** Every string, made on first access and kept. */
  get values(): readonly string[] {
    if (this.#values === undefined) {
      const values: string[] = new Array(this.length);
      for (let i = 0; i < this.length; i++) values[i] = this.at(i);
      this.#values = values;
    }
    return this.#values;
  }

  /**
   * String `index`, made now (or taken from `values` when those were made).
   *
   * @param index 0 ≤ index < length
   * @returns the string
   */
  at(index: number): string {
    if (this.#values !== undefined) return this.#values[index];
    if (!(index >= 0 && index < this.length)) {
      throw new RangeError(`Cannot read string ${index} of an array of ${this.length}`);
    }
    const units = this.units.subarray(this.offsets[index], this.offsets[index + 1]);
    if (units.length > _SHORT_UNITS) return _UTF16.decode(units);
    return String.fromCharCode.apply(null, units as unknown as number[]);
  }

  /**
   * The index of the first string equal to `text`, comparing units (no string is made).
   *
   * @param text the string to look for
   * @returns its index, or -1
   */
  indexOf(text: string): number {
    const { units, offsets } = this;
    for (let index = 0; index < this.length; index++) {
      const at = offsets[index];
      if (offsets[index + 1] - at !== text.length) continue;
      let k = 0;
      while (k < text.length && units[at + k] === text.charCodeAt(k)) k++;
      if (k === text.length) return index;
    }
    return -1;
  }

  /**
   * Length of string `index` in code units, without making it.
   *
   * @param index 0 ≤ index < length
   * @returns its `.length`
   */
  unitLength(index: number): number {
    return this.offsets[index + 1] - this.offsets[index];
  }
}
