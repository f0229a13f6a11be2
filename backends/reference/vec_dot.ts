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

import { ggmlTypeName, ggmlTypeTraits } from "../../core/gguf/ggml_types.ts";
import { GgmlType } from "../../core/gguf/types.ts";
import { bf16ToF32 } from "./half.ts";
import { f32View, readF16, readI16 } from "./bytes.ts";
import {
  decodeKBlock,
  decodeLegacyBlock,
  K_TYPES,
  type KBlock,
  LEGACY_TYPES,
  type LegacyBlock,
} from "./blocks.ts";
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

/** A quantized row with its blocks unpacked once, for many dot products. */
export interface UnpackedRow {
  readonly type: GgmlType;
  /** Values in the row. */
  readonly length: number;
  /** The packed row (Q8_1 block sums and Q8_K bsums are read from it). */
  readonly bytes: Uint8Array;
  /** One entry per block: `LegacyBlock`s for 32-value types, `KBlock`s for K-quants. */
  readonly blocks: readonly (LegacyBlock | KBlock)[];
}

/**
 * Unpacks a quantized weight or activation row so `dotUnpacked` can reuse it: `matmul` unpacks
 * each weight row and each activation row once instead of once per product.
 *
 * @param type a quantized type (not F32, F16 or BF16)
 * @param length values in the row, whole blocks
 * @param bytes the packed row
 * @returns the unpacked row
 * @throws RangeError for a float or unsupported type
 */
export function unpackRow(type: GgmlType, length: number, bytes: Uint8Array): UnpackedRow {
  const traits = ggmlTypeTraits(type);
  const isK = K_TYPES.has(type);
  if (traits === undefined || !(isK || LEGACY_TYPES.has(type))) {
    throw new RangeError(`Cannot unpack a row of type ${ggmlTypeName(type)}: it is not quantized`);
  }
  _assertRowLength("unpacked", type, length, bytes.length);
  const blocks: (LegacyBlock | KBlock)[] = [];
  for (let at = 0; at < rowByteLength(type, length); at += traits.bytesPerBlock) {
    blocks.push(isK ? decodeKBlock(type, bytes, at) : decodeLegacyBlock(type, bytes, at));
  }
  return { type, length, bytes, blocks };
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
 * Q4_0/Q5_0/Q8_0: sumi·dx·dy; Q4_1/Q5_1: (dx·dy)·sumi + mx·sy (sy = dy·Σqy from the Q8_1
 * block), summed over blocks in F32.
 */
function _legacyDot(weight: UnpackedRow, activation: UnpackedRow): number {
  const actBytes = ggmlTypeTraits(activation.type)!.bytesPerBlock;
  let sum = 0;
  for (let block = 0; block < weight.blocks.length; block++) {
    const x = weight.blocks[block] as LegacyBlock;
    const y = activation.blocks[block] as LegacyBlock;
    let sumi = 0;
    for (let j = 0; j < 32; j++) sumi += x.quants[j] * y.quants[j];
    const scale = _fround(x.d * y.d);
    const term = x.m === null ? _fround(sumi * scale) : _fround(
      _fround(scale * sumi) + _fround(x.m * readF16(activation.bytes, block * actBytes + 2)),
    );
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
  let sum = 0;
  for (let block = 0; block < weight.blocks.length; block++) {
    const x = weight.blocks[block] as KBlock;
    const y = activation.blocks[block] as KBlock;
    let sumi = 0;
    let summin = 0;
    for (let group = 0; group < 256 / x.groupSize; group++) {
      let groupSum = 0;
      for (let l = 0; l < x.groupSize; l++) {
        const i = group * x.groupSize + l;
        groupSum += x.quants[i] * y.quants[i];
      }
      sumi += x.scales[group] * groupSum;
      summin += x.mins[group] *
        _bsum(activation.bytes, block * 292, group * x.groupSize, x.groupSize);
    }
    const term = _fround(_fround(x.d * y.d) * sumi) - _fround(_fround(x.dmin * y.d) * summin);
    sum = _fround(sum + _fround(term));
  }
  return sum;
}

/** Σ of `length` (16 or 32) Q8_K quants from `start`, read from the block's int16 bsums. */
function _bsum(actRow: Uint8Array, at: number, start: number, length: number): number {
  let total = 0;
  for (let k = start / 16; k < (start + length) / 16; k++) {
    total += readI16(actRow, at + 260 + 2 * k);
  }
  return total;
}
