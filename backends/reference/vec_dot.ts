/**
 * Dot products of a weight row with an activation row, in the activation type ggml pairs with
 * each weight type: Q4_0, Q5_0 and Q8_0 with Q8_0; Q4_1 and Q5_1 with Q8_1; K-quants with
 * Q8_K; F32, F16 and BF16 with F32 values. Quantized pairs multiply integer quants and sum them
 * per block (per group for K-quants), then apply the float scales once per block, as ggml's
 * scalar kernels do; float pairs accumulate in float64.
 *
 * ggml itself converts activations to F16 (BF16) for F16 (BF16) weights; we keep them F32, which
 * is more exact and what the conformance tests compare against with a tolerance.
 *
 * @module
 */

import { ggmlTypeName } from "../../core/gguf/ggml_types.ts";
import { GgmlType } from "../../core/gguf/types.ts";
import { bf16ToF32 } from "./half.ts";
import { f32View, readF16 } from "./bytes.ts";
import { type DecodedRow, decodeRow, K_TYPES, LEGACY_TYPES, MIN_TYPES } from "./blocks.ts";
import { rowByteLength } from "./quant.ts";

const _ACTIVATION_TYPE: Partial<Record<GgmlType, GgmlType>> = {
  [GgmlType.F32]: GgmlType.F32,
  [GgmlType.F16]: GgmlType.F32,
  [GgmlType.BF16]: GgmlType.F32,
  [GgmlType.Q4_0]: GgmlType.Q8_0,
  [GgmlType.Q5_0]: GgmlType.Q8_0,
  [GgmlType.Q8_0]: GgmlType.Q8_0,
  [GgmlType.Q4_1]: GgmlType.Q8_1,
  [GgmlType.Q5_1]: GgmlType.Q8_1,
  [GgmlType.Q2_K]: GgmlType.Q8_K,
  [GgmlType.Q3_K]: GgmlType.Q8_K,
  [GgmlType.Q4_K]: GgmlType.Q8_K,
  [GgmlType.Q5_K]: GgmlType.Q8_K,
  [GgmlType.Q6_K]: GgmlType.Q8_K,
  [GgmlType.Q8_K]: GgmlType.Q8_K,
};

/**
 * The type activations are converted to before a dot product with weights of `weightType`.
 *
 * @param weightType the weight row's type
 * @returns F32, Q8_0, Q8_1 or Q8_K
 * @throws RangeError when the reference backend has no dot product for the type
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { GgmlType } from "../../core/gguf/types.ts";
 * strictEqual(activationType(GgmlType.Q4_K), GgmlType.Q8_K);
 * ```
 */
export function activationType(weightType: GgmlType): GgmlType {
  const type = _ACTIVATION_TYPE[weightType];
  if (type === undefined) {
    throw new RangeError(
      `Cannot multiply tensor type ${weightType} (${
        ggmlTypeName(weightType)
      }): the reference backend has no dot product for it`,
    );
  }
  return type;
}

/**
 * The dot product of `n` weights with `n` activations.
 *
 * @param type the weight row's type
 * @param n number of values, a whole number of the weight type's blocks
 * @param weightRow the weight row's bytes
 * @param activationRow F32 values for float weight types, otherwise bytes of type
 *   `activationType(type)` (made by `quantizeRow`)
 * @returns the dot product, rounded to F32
 * @throws RangeError for an unsupported type or a partial block
 * @throws TypeError when a row is too short or of the wrong kind
 *
 * @example An F32 row
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { GgmlType } from "../../core/gguf/types.ts";
 * const weights = new Uint8Array(new Float32Array([1, 2, 3]).buffer);
 * strictEqual(vecDot(GgmlType.F32, 3, weights, new Float32Array([4, 5, 6])), 32);
 * ```
 */
export function vecDot(
  type: GgmlType,
  n: number,
  weightRow: Uint8Array,
  activationRow: Uint8Array | Float32Array,
): number {
  const pairType = activationType(type);
  _assertRowLength("weight", type, n, weightRow.length);
  if (pairType === GgmlType.F32) {
    if (!(activationRow instanceof Float32Array) || activationRow.length < n) {
      throw new TypeError(
        `Cannot multiply a row of type ${ggmlTypeName(type)}: ` +
          `the activations must be a Float32Array of at least ${n} values`,
      );
    }
    return _floatDot(type, n, weightRow, activationRow);
  }
  if (!(activationRow instanceof Uint8Array)) {
    throw new TypeError(
      `Cannot multiply a row of type ${ggmlTypeName(type)}: the activations must be ${
        ggmlTypeName(pairType)
      } bytes`,
    );
  }
  _assertRowLength("activation", pairType, n, activationRow.length);
  return dotUnpacked(unpackRow(type, n, weightRow), unpackRow(pairType, n, activationRow));
}

function _assertRowLength(role: string, type: GgmlType, n: number, byteLength: number): void {
  const needed = rowByteLength(type, n);
  if (byteLength < needed) {
    throw new TypeError(
      `Cannot multiply ${n} values: the ${role} row of type ${
        ggmlTypeName(type)
      } needs ${needed} bytes, got ${byteLength}`,
    );
  }
}

function _floatDot(type: GgmlType, n: number, weightRow: Uint8Array, x: Float32Array): number {
  let sum = 0;
  if (type === GgmlType.F32) {
    const w = f32View(weightRow, n);
    for (let i = 0; i < n; i++) sum += w[i] * x[i];
  } else if (type === GgmlType.F16) {
    for (let i = 0; i < n; i++) sum += readF16(weightRow, 2 * i) * x[i];
  } else {
    for (let i = 0; i < n; i++) {
      sum += bf16ToF32(weightRow[2 * i] | (weightRow[2 * i + 1] << 8)) * x[i];
    }
  }
  return Math.fround(sum);
}

/** A quantized row unpacked once for many dot products (see `blocks.ts`). */
export type UnpackedRow = DecodedRow;

/**
 * Unpacks a quantized weight or activation row so `dotUnpacked` can reuse it: `matmul` unpacks
 * each weight row and each activation row once instead of once per product.
 *
 * @param type a quantized type (not F32, F16 or BF16)
 * @param length values in the row, whole blocks
 * @param bytes the packed row
 * @returns the unpacked row
 * @throws RangeError for a float or unsupported type
 * @throws TypeError when `bytes` is too short
 */
export function unpackRow(type: GgmlType, length: number, bytes: Uint8Array): UnpackedRow {
  if (!LEGACY_TYPES.has(type) && !K_TYPES.has(type)) {
    throw new RangeError(`Cannot unpack a row of type ${ggmlTypeName(type)}: it is not quantized`);
  }
  _assertRowLength("unpacked", type, length, bytes.length);
  return decodeRow(type, bytes, length);
}

/**
 * `vecDot` of two unpacked rows: a weight row and a row of its activation type.
 *
 * @param weight an unpacked weight row
 * @param activation an unpacked row of `activationType(weight.type)`, same length
 * @returns the dot product, rounded to F32
 * @throws TypeError when the rows do not pair
 */
export function dotUnpacked(weight: UnpackedRow, activation: UnpackedRow): number {
  if (activation.type !== activationType(weight.type) || activation.length !== weight.length) {
    throw new TypeError(
      `Cannot multiply a ${weight.length}-value ${ggmlTypeName(weight.type)} row with a ` +
        `${activation.length}-value ${ggmlTypeName(activation.type)} row`,
    );
  }
  return K_TYPES.has(weight.type) ? _kDot(weight, activation) : _legacyDot(weight, activation);
}

const _fround = Math.fround;

/**
 * 32-value blocks. Per block: sumi = Σ qx·qy (integer); then
 * Q4_0/Q5_0/Q8_0: sumi·(dx·dy); Q4_1/Q5_1: (dx·dy)·sumi + mx·sy (sy = Q8_1's stored s),
 * summed over blocks in F32.
 */
function _legacyDot(weight: UnpackedRow, activation: UnpackedRow): number {
  const hasMin = MIN_TYPES.has(weight.type);
  const wq = weight.quants;
  const aq = activation.quants;
  let sum = 0;
  for (let block = 0; block < weight.d.length; block++) {
    let sumi = 0;
    for (let i = 32 * block; i < 32 * block + 32; i++) sumi += wq[i] * aq[i];
    const scale = _fround(weight.d[block] * activation.d[block]);
    const term = hasMin
      ? _fround(_fround(scale * sumi) + _fround(weight.m[block] * activation.s[block]))
      : _fround(sumi * scale);
    sum = _fround(sum + term);
  }
  return sum;
}

/**
 * 256-value super-blocks against Q8_K. Per super-block: sumi = Σ_groups scale_g · Σ qx·qy,
 * summin = Σ_groups min_g · Σ qy (Σ qy from the Q8_K block's 16-value bsums); then
 * (dx·dy)·sumi - (dminx·dy)·summin, summed over super-blocks in F32.
 */
function _kDot(weight: UnpackedRow, activation: UnpackedRow): number {
  const { groupSize } = weight;
  const wq = weight.quants;
  const aq = activation.quants;
  let sum = 0;
  for (let block = 0; block < weight.d.length; block++) {
    let sumi = 0;
    let summin = 0;
    for (let group = (block * 256) / groupSize; group < ((block + 1) * 256) / groupSize; group++) {
      let groupSum = 0;
      for (let i = group * groupSize; i < (group + 1) * groupSize; i++) groupSum += wq[i] * aq[i];
      sumi += weight.scales[group] * groupSum;
      let bsum = 0;
      for (let k = (group * groupSize) / 16; k < ((group + 1) * groupSize) / 16; k++) {
        bsum += activation.bsums[k];
      }
      summin += weight.mins[group] * bsum;
    }
    const dy = activation.d[block];
    const term = _fround(_fround(weight.d[block] * dy) * sumi) -
      _fround(_fround(weight.m[block] * dy) * summin);
    sum = _fround(sum + _fround(term));
  }
  return sum;
}
