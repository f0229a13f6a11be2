/**
 * Storage traits of every ggml tensor type a GGUF file may hold: how many elements one block
 * packs and how many bytes that block takes. Tensor sizes, row strides and backend kernels are
 * derived from this one table.
 *
 * A row of `n` elements of type `t` takes `n / blockSize * bytesPerBlock` bytes, and `n` must
 * be a multiple of `blockSize`. Block sizes are 1 (plain numbers), 32 (legacy quants, IQ4_NL,
 * MXFP4) or 256 (K-quant super-blocks, IQ*, TQ*). The byte counts follow ggml's block structs.
 *
 * @module
 */

import { GgmlType } from "./types.ts";

/** How one ggml tensor type is stored. */
export interface GgmlTypeTraits {
  /** The type id, as stored in a GGUF tensor table. */
  readonly type: GgmlType;
  /** The name ggml and llama.cpp use, e.g. `"Q4_K"`. */
  readonly name: string;
  /** Elements per block. */
  readonly blockSize: number;
  /** Bytes per block. */
  readonly bytesPerBlock: number;
}

// [type, elements per block, bytes per block]; comments give the block layout in bytes.
const TRAITS_ROWS: readonly (readonly [GgmlType, number, number])[] = [
  [GgmlType.F32, 1, 4],
  [GgmlType.F16, 1, 2],
  [GgmlType.Q4_0, 32, 18], // f16 scale + 16 nibble bytes
  [GgmlType.Q4_1, 32, 20], // f16 scale, f16 min + 16
  [GgmlType.Q5_0, 32, 22], // f16 scale + 4 high bits + 16
  [GgmlType.Q5_1, 32, 24], // f16 scale, f16 min + 4 + 16
  [GgmlType.Q8_0, 32, 34], // f16 scale + 32 int8
  [GgmlType.Q8_1, 32, 36], // f16 scale, f16 sum + 32 int8
  [GgmlType.Q2_K, 256, 84], // 16 scales + 64 quants + 2 f16
  [GgmlType.Q3_K, 256, 110], // 32 hmask + 64 quants + 12 scales + f16
  [GgmlType.Q4_K, 256, 144], // 2 f16 + 12 scales + 128 quants
  [GgmlType.Q5_K, 256, 176], // 2 f16 + 12 scales + 32 high bits + 128 quants
  [GgmlType.Q6_K, 256, 210], // 128 low + 64 high + 16 scales + f16
  [GgmlType.Q8_K, 256, 292], // f32 scale + 256 int8 + 16 int16 sums
  [GgmlType.IQ2_XXS, 256, 66], // f16 + 64
  [GgmlType.IQ2_XS, 256, 74], // f16 + 64 + 8 scales
  [GgmlType.IQ3_XXS, 256, 98], // f16 + 64 + 32
  [GgmlType.IQ1_S, 256, 50], // f16 + 32 + 16
  [GgmlType.IQ4_NL, 32, 18], // f16 + 16
  [GgmlType.IQ3_S, 256, 110], // f16 + 64 + 8 + 32 signs + 4 scales
  [GgmlType.IQ2_S, 256, 82], // f16 + 64 + 16
  [GgmlType.IQ4_XS, 256, 136], // f16 + 2 high scales + 4 low scales + 128
  [GgmlType.I8, 1, 1],
  [GgmlType.I16, 1, 2],
  [GgmlType.I32, 1, 4],
  [GgmlType.I64, 1, 8],
  [GgmlType.F64, 1, 8],
  [GgmlType.IQ1_M, 256, 56], // 32 + 16 + 8 scales (no separate f16)
  [GgmlType.BF16, 1, 2],
  [GgmlType.TQ1_0, 256, 54], // 48 base-3 bytes + 4 + f16
  [GgmlType.TQ2_0, 256, 66], // 64 2-bit bytes + f16
  [GgmlType.MXFP4, 32, 17], // e8m0 scale + 16 fp4 nibble bytes
];

/** Every known ggml type's traits, by type id. */
export const GGML_TYPE_TRAITS: ReadonlyMap<GgmlType, GgmlTypeTraits> = new Map(
  TRAITS_ROWS.map(([type, blockSize, bytesPerBlock]) => [
    type,
    Object.freeze({ type, name: GgmlType[type], blockSize, bytesPerBlock }),
  ]),
);

/**
 * Looks up the traits of a ggml type id.
 *
 * @param type a type id as stored in a GGUF file (any number)
 * @returns the traits, or `undefined` when the id is unknown or retired (4, 5, 31–33, 36–38)
 *
 * @example Block traits of Q4_K
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { ggmlTypeTraits } from "./ggml_types.ts";
 * const q4k = ggmlTypeTraits(12)!;
 * deepStrictEqual([q4k.name, q4k.blockSize, q4k.bytesPerBlock], ["Q4_K", 256, 144]);
 * ```
 */
export function ggmlTypeTraits(type: number): GgmlTypeTraits | undefined {
  return GGML_TYPE_TRAITS.get(type as GgmlType);
}

/**
 * The name of a ggml type id, or `"type N"` for an unknown id (for messages and tables).
 *
 * @param type a type id
 * @returns e.g. `"Q8_0"`
 */
export function ggmlTypeName(type: number): string {
  return ggmlTypeTraits(type)?.name ?? `type ${type}`;
}

/**
 * Bytes taken by `elementCount` elements of a ggml type stored contiguously.
 *
 * @param type a known ggml type
 * @param elementCount number of elements; must be a multiple of the type's block size
 * @returns the byte count
 * @throws {RangeError} when the type is unknown or `elementCount` is not a whole number of blocks
 */
export function ggmlByteLength(type: GgmlType, elementCount: number): number {
  const traits = ggmlTypeTraits(type);
  if (traits === undefined) {
    throw new RangeError(`Cannot size tensor data: ggml type ${type} is not supported`);
  }
  if (!Number.isSafeInteger(elementCount) || elementCount < 0) {
    throw new RangeError(`Cannot size tensor data: element count ${elementCount} is invalid`);
  }
  if (elementCount % traits.blockSize !== 0) {
    throw new RangeError(
      `Cannot size ${traits.name} data: ${elementCount} elements are not a whole number of ` +
        `${traits.blockSize}-element blocks`,
    );
  }
  return (elementCount / traits.blockSize) * traits.bytesPerBlock;
}
