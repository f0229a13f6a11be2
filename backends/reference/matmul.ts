/**
 * Ops that read weights in their stored type: embedding lookup (`getRows`) and the matrix
 * product `x · Wᵀ` (`matmul`, via ggml's quantize-activations-then-dot scheme, and
 * `matmulF64`, via dequantized weights and float64 sums, for golden checks).
 *
 * Shapes, row-major in ggml order: a weight tensor with GGUF dims `[k, rows]` is `rows`
 * contiguous rows of `k` values; activations `x` are `[n_tokens][k]`; outputs `[n_tokens][rows]`.
 *
 * @module
 */

import { ggmlTypeName } from "../../core/gguf/ggml_types.ts";
import { GgmlType } from "../../core/gguf/types.ts";
import { f32View } from "./bytes.ts";
import { dequantizeRow, rowByteLength } from "./quant.ts";
import { type QuantizeOptions, quantizeRow } from "./quantize.ts";
import { activationType, dotUnpacked, type UnpackedRow, unpackRow } from "./vec_dot.ts";

/**
 * Embedding lookup: copies row `ids[i]` of `table`, dequantized, into row `i` of `out`.
 *
 * @param out `[ids.length][rowLength]`
 * @param table the table's bytes, `[n_rows][rowLength]` of `type`
 * @param type the table's ggml type
 * @param rowLength values per row
 * @param ids row numbers (token ids)
 * @throws RangeError for an id outside the table
 * @throws TypeError when `out` has another length
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { GgmlType } from "../../core/gguf/types.ts";
 * const table = new Uint8Array(new Float32Array([1, 2, 3, 4, 5, 6]).buffer);
 * const out = new Float32Array(4);
 * getRows(out, table, GgmlType.F32, 2, [2, 0]);
 * deepStrictEqual([...out], [5, 6, 1, 2]);
 * ```
 */
export function getRows(
  out: Float32Array,
  table: Uint8Array,
  type: GgmlType,
  rowLength: number,
  ids: ArrayLike<number>,
): void {
  const rowBytes = rowByteLength(type, rowLength);
  const rowCount = Math.floor(table.length / rowBytes);
  if (out.length !== ids.length * rowLength) {
    throw new TypeError(
      `Cannot look up ${ids.length} rows of ${rowLength}: the output has ${out.length} values`,
    );
  }
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!Number.isInteger(id) || id < 0 || id >= rowCount) {
      throw new RangeError(`Cannot look up row ${id}: the table has ${rowCount} rows`);
    }
    const row = table.subarray(id * rowBytes, (id + 1) * rowBytes);
    dequantizeRow(type, row, out.subarray(i * rowLength, (i + 1) * rowLength));
  }
}

/**
 * `out = x · Wᵀ` as ggml's CPU backend computes it: each row of `x` is converted once to the
 * activation type paired with `type` (F32 for float weights, else Q8_0/Q8_1/Q8_K), then every
 * output is one `vecDot`.
 *
 * @param out `[nTokens][rows]`
 * @param weight the weight bytes, `[rows][k]` of `type`
 * @param type the weight's ggml type
 * @param rows output features (weight rows)
 * @param k input features (values per weight row)
 * @param x `[nTokens][k]`
 * @param nTokens rows of `x`
 * @param options how activations are rounded when quantized
 * @throws TypeError when a length does not fit the shapes
 *
 * @example A 2×2 F32 weight
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { GgmlType } from "../../core/gguf/types.ts";
 * const weight = new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer);
 * const out = new Float32Array(2);
 * matmul(out, weight, GgmlType.F32, 2, 2, new Float32Array([1, 1]), 1);
 * deepStrictEqual([...out], [3, 7]);
 * ```
 */
export function matmul(
  out: Float32Array,
  weight: Uint8Array,
  type: GgmlType,
  rows: number,
  k: number,
  x: Float32Array,
  nTokens: number,
  options: QuantizeOptions = {},
): void {
  const rowBytes = _assertShapes("matmul", out, weight, type, rows, k, x, nTokens);
  const actType = activationType(type);
  if (actType === GgmlType.F32) return _floatMatmul(out, weight, type, rows, k, x, nTokens);
  const activations: UnpackedRow[] = [];
  for (let t = 0; t < nTokens; t++) {
    const quantized = new Uint8Array(rowByteLength(actType, k));
    quantizeRow(actType, x.subarray(t * k, (t + 1) * k), quantized, options);
    activations.push(unpackRow(actType, k, quantized));
  }
  for (let r = 0; r < rows; r++) {
    const weightRow = unpackRow(type, k, weight.subarray(r * rowBytes, (r + 1) * rowBytes));
    for (let t = 0; t < nTokens; t++) out[t * rows + r] = dotUnpacked(weightRow, activations[t]);
  }
}

/**
 * `out = x · Wᵀ` with the weights dequantized to F32 and every sum in float64: the exact
 * product of what the file stores, for comparing engines with float64 goldens.
 *
 * @param out `[nTokens][rows]`, F32 or F64
 * @param weight the weight bytes, `[rows][k]` of `type`
 * @param type the weight's ggml type
 * @param rows output features
 * @param k input features
 * @param x `[nTokens][k]`, F32 or F64
 * @param nTokens rows of `x`
 * @throws TypeError when a length does not fit the shapes
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { GgmlType } from "../../core/gguf/types.ts";
 * const weight = new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer);
 * const out = new Float64Array(2);
 * matmulF64(out, weight, GgmlType.F32, 2, 2, new Float64Array([0.1, 1]), 1);
 * deepStrictEqual([...out], [2.1, 4.3]);
 * ```
 */
export function matmulF64(
  out: Float32Array | Float64Array,
  weight: Uint8Array,
  type: GgmlType,
  rows: number,
  k: number,
  x: Float32Array | Float64Array,
  nTokens: number,
): void {
  const rowBytes = _assertShapes("matmulF64", out, weight, type, rows, k, x, nTokens);
  const weightRow = new Float32Array(k);
  for (let r = 0; r < rows; r++) {
    dequantizeRow(type, weight.subarray(r * rowBytes, (r + 1) * rowBytes), weightRow);
    for (let t = 0; t < nTokens; t++) {
      let sum = 0;
      for (let i = 0; i < k; i++) sum += weightRow[i] * x[t * k + i];
      out[t * rows + r] = sum;
    }
  }
}

/**
 * Float weights: the same sums as `vecDot` (float64, rounded to F32 once), with each weight row
 * decoded once instead of once per token.
 */
function _floatMatmul(
  out: Float32Array,
  weight: Uint8Array,
  type: GgmlType,
  rows: number,
  k: number,
  x: Float32Array,
  nTokens: number,
): void {
  const weights = type === GgmlType.F32 ? f32View(weight, rows * k) : null;
  const decoded = new Float32Array(k);
  for (let r = 0; r < rows; r++) {
    let w: Float32Array = decoded;
    if (weights !== null) w = weights.subarray(r * k, (r + 1) * k);
    else dequantizeRow(type, weight.subarray(r * 2 * k, (r + 1) * 2 * k), decoded);
    for (let t = 0; t < nTokens; t++) {
      let sum = 0;
      for (let i = 0; i < k; i++) sum += w[i] * x[t * k + i];
      out[t * rows + r] = sum;
    }
  }
}

/** Checks the shapes of a matmul and returns the weight's bytes per row. */
function _assertShapes(
  op: string,
  out: ArrayLike<number>,
  weight: Uint8Array,
  type: GgmlType,
  rows: number,
  k: number,
  x: ArrayLike<number>,
  nTokens: number,
): number {
  const rowBytes = rowByteLength(type, k);
  if (weight.length < rows * rowBytes) {
    throw new TypeError(
      `Cannot apply ${op}: a [${rows}][${k}] ${ggmlTypeName(type)} weight needs ${
        rows * rowBytes
      } bytes, got ${weight.length}`,
    );
  }
  if (x.length !== nTokens * k || out.length !== nTokens * rows) {
    throw new TypeError(
      `Cannot apply ${op}: x has ${x.length} values and out ${out.length}, expected [${nTokens}][${k}] and [${nTokens}][${rows}]`,
    );
  }
  return rowBytes;
}
