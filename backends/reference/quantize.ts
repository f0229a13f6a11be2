/**
 * Quantizers for the activation types ggml pairs with weight types in dot products: Q8_0
 * (for Q4_0, Q5_0, Q8_0), Q8_1 (for Q4_1, Q5_1) and Q8_K (for the K-quants).
 *
 * `rounding: "reference"` (the default) reproduces ggml's `quantize_row_*_ref` bit for bit:
 * Q8_0/Q8_1 scale by `1 / (amax / 127)` and round halves away from zero (C `roundf`); Q8_K
 * scales by `-127 / max` (max = the value of largest magnitude, sign kept) and rounds halves to
 * even (ggml's `nearest_int`). `rounding: "x86"` reproduces the AVX/AVX2 Q8_0/Q8_1
 * quantizers llama.cpp's CPU backend runs on x86-64: they scale by `127 / amax` and round
 * halves to even, which may move a code by one when `x · scale` lands near .5. Q8_K has one
 * implementation on x86 (the reference), so the option does not change it.
 *
 * @module
 */

import { ggmlTypeName } from "../../core/gguf/ggml_types.ts";
import { GgmlType } from "../../core/gguf/types.ts";
import { f32ToF16 } from "./half.ts";
import { rowByteLength } from "./quant.ts";

/** Options of `quantizeRow`. */
export interface QuantizeOptions {
  /** Which ggml implementation to reproduce (default `"reference"`). */
  readonly rounding?: "reference" | "x86";
}

/** Activation types `quantizeRow` can produce. */
export const ACTIVATION_TYPES: ReadonlySet<GgmlType> = new Set([
  GgmlType.Q8_0,
  GgmlType.Q8_1,
  GgmlType.Q8_K,
]);

/**
 * Quantizes one row of F32 values into Q8_0, Q8_1 or Q8_K blocks.
 *
 * @param type the block type to write
 * @param src the values; the length is a whole number of blocks (32 or 256)
 * @param dst receives `rowByteLength(type, src.length)` bytes from its start
 * @param options which ggml rounding to reproduce
 * @throws RangeError for another type or a partial block
 * @throws TypeError when `dst` is too short
 *
 * @example Q8_0: amax 127 gives d = 1 and the values themselves
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { GgmlType } from "../../core/gguf/types.ts";
 * const values = new Float32Array(32);
 * values[0] = 127;
 * values[1] = -2.5;
 * const block = new Uint8Array(34);
 * quantizeRow(GgmlType.Q8_0, values, block);
 * deepStrictEqual([...block.subarray(0, 4)], [0x00, 0x3c, 127, 0xfd]); // -2.5 → -3
 * ```
 */
export function quantizeRow(
  type: GgmlType,
  src: Float32Array,
  dst: Uint8Array,
  options: QuantizeOptions = {},
): void {
  if (!ACTIVATION_TYPES.has(type)) {
    throw new RangeError(
      `Cannot quantize to ${ggmlTypeName(type)}: only Q8_0, Q8_1 and Q8_K are activation types`,
    );
  }
  const byteLength = rowByteLength(type, src.length);
  if (dst.length < byteLength) {
    throw new TypeError(
      `Cannot quantize ${src.length} values to ${
        ggmlTypeName(type)
      }: the output needs ${byteLength} bytes, got ${dst.length}`,
    );
  }
  const x86 = options.rounding === "x86";
  if (type === GgmlType.Q8_K) {
    for (let block = 0; block * 256 < src.length; block++) {
      _quantizeQ8K(src.subarray(block * 256, block * 256 + 256), dst, block * 292);
    }
    return;
  }
  const withSum = type === GgmlType.Q8_1;
  const bytesPerBlock = withSum ? 36 : 34;
  for (let block = 0; block * 32 < src.length; block++) {
    const values = src.subarray(block * 32, block * 32 + 32);
    _quantizeQ8Block(values, dst, block * bytesPerBlock, withSum, x86);
  }
}

const _fround = Math.fround;

/** One Q8_0 (or Q8_1 when `withSum`) block at `dst[at]`. */
function _quantizeQ8Block(
  values: Float32Array,
  dst: Uint8Array,
  at: number,
  withSum: boolean,
  x86: boolean,
): void {
  let amax = 0;
  for (const value of values) amax = Math.max(amax, Math.abs(value));
  const d = _fround(amax / 127);
  const inverse = x86 ? (amax !== 0 ? _fround(127 / amax) : 0) : (d !== 0 ? _fround(1 / d) : 0);
  const round = x86 ? roundHalfEven : roundHalfAway;
  _writeU16(dst, at, f32ToF16(d));
  const qsAt = at + (withSum ? 4 : 2);
  let sum = 0;
  for (let j = 0; j < 32; j++) {
    const quant = round(_fround(values[j] * inverse));
    dst[qsAt + j] = quant & 0xff;
    sum += quant;
  }
  if (withSum) _writeU16(dst, at + 2, f32ToF16(_fround(sum * d)));
}

/** One Q8_K block at `dst[at]`: d f32 | qs[256] | bsums[16] i16. */
function _quantizeQ8K(values: Float32Array, dst: Uint8Array, at: number): void {
  let max = 0;
  let amax = 0;
  for (const value of values) {
    if (Math.abs(value) > amax) {
      amax = Math.abs(value);
      max = value;
    }
  }
  const view = new DataView(dst.buffer, dst.byteOffset + at, 292);
  if (amax === 0) {
    // ggml leaves bsums untouched here; we write zeros, which is what they sum to.
    dst.fill(0, at, at + 292);
    return;
  }
  const scale = _fround(-127 / max);
  for (let j = 0; j < 256; j++) {
    view.setInt8(4 + j, Math.min(127, roundHalfEven(_fround(scale * values[j]))));
  }
  for (let group = 0; group < 16; group++) {
    let sum = 0;
    for (let l = 0; l < 16; l++) sum += view.getInt8(4 + 16 * group + l);
    view.setInt16(260 + 2 * group, sum, true);
  }
  view.setFloat32(0, _fround(1 / scale), true);
}

/**
 * Rounds to the nearest integer, halves away from zero (C `roundf`).
 *
 * @param value any finite number
 * @returns the integer
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * deepStrictEqual([roundHalfAway(2.5), roundHalfAway(-2.5), roundHalfAway(0.49999997)], [3, -3, 0]);
 * ```
 */
export function roundHalfAway(value: number): number {
  const magnitude = Math.floor(Math.abs(value) + 0.5);
  return value < 0 ? -magnitude : magnitude;
}

/**
 * Rounds to the nearest integer, halves to even (x86 `_MM_ROUND_NEAREST`, ggml's
 * `nearest_int`).
 *
 * @param value any finite number
 * @returns the integer
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * deepStrictEqual([roundHalfEven(2.5), roundHalfEven(-2.5), roundHalfEven(3.5)], [2, -2, 4]);
 * ```
 */
export function roundHalfEven(value: number): number {
  const rounded = Math.round(value); // halves go up
  return rounded - value === 0.5 && rounded % 2 !== 0 ? rounded - 1 : rounded;
}

function _writeU16(dst: Uint8Array, at: number, bits: number): void {
  dst[at] = bits & 0xff;
  dst[at + 1] = bits >> 8;
}
