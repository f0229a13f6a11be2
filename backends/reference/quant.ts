/**
 * Dequantizers: a row of any type the reference backend supports, turned into F32 values
 * exactly as ggml's scalar code computes them (each product and difference rounded to F32, in
 * ggml's order). Block layouts are described in `blocks.ts`.
 *
 * @module
 */

import { ggmlByteLength, ggmlTypeName } from "../../core/gguf/ggml_types.ts";
import { GgmlType } from "../../core/gguf/types.ts";
import { bf16ToF32 } from "./half.ts";
import { f32View, readF16 } from "./bytes.ts";
import { type DecodedRow, decodeRow, K_TYPES, LEGACY_TYPES, MIN_TYPES } from "./blocks.ts";

/** Types the reference backend can dequantize. */
export const REFERENCE_TYPES: ReadonlySet<GgmlType> = new Set([
  GgmlType.F32,
  GgmlType.F16,
  GgmlType.BF16,
  ...LEGACY_TYPES,
  ...K_TYPES,
]);

/**
 * Bytes taken by `length` consecutive values of a type the reference backend supports.
 *
 * @param type the ggml tensor type
 * @param length number of values, a multiple of the type's block size
 * @returns the byte length
 * @throws RangeError for an unsupported type or a length that is not whole blocks
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { GgmlType } from "../../core/gguf/types.ts";
 * strictEqual(rowByteLength(GgmlType.Q4_0, 64), 36);
 * ```
 */
export function rowByteLength(type: GgmlType, length: number): number {
  assertReferenceType(type);
  return ggmlByteLength(type, length);
}

/**
 * Throws unless the reference backend supports a type.
 *
 * @param type the ggml tensor type
 * @throws RangeError naming the type
 */
export function assertReferenceType(type: GgmlType): void {
  if (!REFERENCE_TYPES.has(type)) {
    throw new RangeError(
      `Cannot use tensor type ${type} (${
        ggmlTypeName(type)
      }): the reference backend does not support it`,
    );
  }
}

/**
 * Dequantizes one row: `dst.length` values read from the start of `src`.
 *
 * @param type the ggml tensor type of `src`
 * @param src the row's bytes (at least `rowByteLength(type, dst.length)`)
 * @param dst receives the values; its length is the row length
 * @throws RangeError for an unsupported type or a length that is not whole blocks
 * @throws TypeError when `src` is too short
 *
 * @example A Q8_0 block with scale 0.5
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { GgmlType } from "../../core/gguf/types.ts";
 * const block = new Uint8Array(34);
 * block[1] = 0x38; // d = f16 0x3800 = 0.5
 * block[2] = 4;
 * block[3] = 0xfe; // -2
 * const row = new Float32Array(32);
 * dequantizeRow(GgmlType.Q8_0, block, row);
 * deepStrictEqual([row[0], row[1], row[2]], [2, -1, 0]);
 * ```
 */
export function dequantizeRow(type: GgmlType, src: Uint8Array, dst: Float32Array): void {
  const byteLength = rowByteLength(type, dst.length);
  if (src.length < byteLength) {
    throw new TypeError(
      `Cannot dequantize a row of ${dst.length} ${
        ggmlTypeName(type)
      } values: it needs ${byteLength} bytes, got ${src.length}`,
    );
  }
  if (type === GgmlType.F32) return dst.set(f32View(src, dst.length));
  if (type === GgmlType.F16) {
    for (let i = 0; i < dst.length; i++) dst[i] = readF16(src, 2 * i);
    return;
  }
  if (type === GgmlType.BF16) {
    for (let i = 0; i < dst.length; i++) dst[i] = bf16ToF32(src[2 * i] | (src[2 * i + 1] << 8));
    return;
  }
  const row = decodeRow(type, src, dst.length);
  if (LEGACY_TYPES.has(type)) _dequantizeLegacy(row, dst);
  else _dequantizeK(row, dst);
}

const _fround = Math.fround;

/** value i = q·d, or fround(q·d) + m for types with a min (the F32 store rounds the sum). */
function _dequantizeLegacy(row: DecodedRow, dst: Float32Array): void {
  const hasMin = MIN_TYPES.has(row.type);
  for (let i = 0; i < row.length; i++) {
    const block = i >> 5;
    const value = row.quants[i] * row.d[block];
    dst[i] = hasMin ? _fround(value) + row.m[block] : value;
  }
}

/** value i = fround(fround(d·scale)·q) - fround(dmin·min), as ggml's K-quant dequantizers. */
function _dequantizeK(row: DecodedRow, dst: Float32Array): void {
  const { groupSize } = row;
  for (let group = 0; group < row.length / groupSize; group++) {
    const block = Math.floor((group * groupSize) / 256);
    const scale = _fround(row.d[block] * row.scales[group]);
    const min = _fround(row.m[block] * row.mins[group]);
    for (let i = group * groupSize; i < (group + 1) * groupSize; i++) {
      dst[i] = _fround(scale * row.quants[i]) - min;
    }
  }
}
