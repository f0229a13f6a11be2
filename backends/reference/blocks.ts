/**
 * Unpacks a row of quantized ggml blocks into integer quants and their scales, so
 * dequantization and dot products share one reading of each layout.
 *
 * Block layouts (facts of the GGUF/ggml format; little-endian, "f16" is an IEEE half):
 * ```
 * Q4_0  32 values, 18 B: d f16 | qs[16]            q = nibble - 8
 * Q4_1  32 values, 20 B: d f16 | m f16 | qs[16]    q = nibble, x = q·d + m
 * Q5_0  32 values, 22 B: d f16 | qh u32 | qs[16]   q = (nibble | qh bit << 4) - 16
 * Q5_1  32 values, 24 B: d f16 | m f16 | qh u32 | qs[16]
 * Q8_0  32 values, 34 B: d f16 | qs[32] i8
 * Q8_1  32 values, 36 B: d f16 | s f16 (= d·Σqs) | qs[32] i8
 * Q2_K 256 values, 84 B: scales[16] (low nibble scale, high nibble min) | qs[64] | d | dmin
 * Q3_K 256 values, 110 B: hmask[32] | qs[64] | scales[12] (16 × 6 bits, minus 32) | d
 * Q4_K 256 values, 144 B: d | dmin | scales[12] (8 scales + 8 mins, 6 bits) | qs[128]
 * Q5_K 256 values, 176 B: d | dmin | scales[12] | qh[32] | qs[128]
 * Q6_K 256 values, 210 B: ql[128] | qh[64] | scales[16] i8 | d
 * Q8_K 256 values, 292 B: d f32 | qs[256] i8 | bsums[16] i16 (sums of 16 qs)
 * ```
 * In 32-value blocks value j < 16 sits in the low nibble and value j + 16 in the high nibble of
 * byte j. K-quant super-blocks hold 16 groups of 16 (Q2_K, Q3_K, Q6_K) or 8 groups of 32
 * (Q4_K, Q5_K) values, each group with its own integer scale (and min).
 *
 * @module
 */

import { ggmlTypeName, ggmlTypeTraits } from "../../core/gguf/ggml_types.ts";
import { GgmlType } from "../../core/gguf/types.ts";
import { readF16, readF32, readI16, readI8, readU32 } from "./bytes.ts";

/**
 * A quantized row, unpacked. Value i of a 32-value type is `quants[i]·d[b] (+ m[b])` with
 * b = i / 32; of a K-quant `(d[b]·scales[g])·quants[i] - (m[b]·mins[g])` with b = i / 256 and
 * g = i / groupSize.
 */
export interface DecodedRow {
  readonly type: GgmlType;
  /** Values in the row. */
  readonly length: number;
  /** Values sharing one integer scale: 32 (32-value types), 16 or 32 (K-quants), 256 (Q8_K). */
  readonly groupSize: number;
  /** The integer quant of every value (Q4_0: -8..7, Q5_0: -16..15, Q3_K: -4..3, Q6_K: -32..31). */
  readonly quants: Int32Array;
  /** Per block: the scale d. */
  readonly d: Float64Array;
  /** Per block: the min m (Q4_1, Q5_1) or the min scale dmin (Q2_K, Q4_K, Q5_K); else 0. */
  readonly m: Float64Array;
  /** Per block: Q8_1's stored s = d·Σquants (an F16); else 0. */
  readonly s: Float64Array;
  /** Per group: the integer scale (Q3_K: already minus 32; 1 for 32-value types and Q8_K). */
  readonly scales: Int32Array;
  /** Per group: the integer min (0 when the type has none). */
  readonly mins: Int32Array;
  /** Q8_K: the stored sum of each 16 quants; empty for other types. */
  readonly bsums: Int32Array;
}

/** 32-value types. */
export const LEGACY_TYPES: ReadonlySet<GgmlType> = new Set([
  GgmlType.Q4_0,
  GgmlType.Q4_1,
  GgmlType.Q5_0,
  GgmlType.Q5_1,
  GgmlType.Q8_0,
  GgmlType.Q8_1,
]);

/** 256-value super-block types. */
export const K_TYPES: ReadonlySet<GgmlType> = new Set([
  GgmlType.Q2_K,
  GgmlType.Q3_K,
  GgmlType.Q4_K,
  GgmlType.Q5_K,
  GgmlType.Q6_K,
  GgmlType.Q8_K,
]);

/** Types with a min added to every value: x = q·d + m. */
export const MIN_TYPES: ReadonlySet<GgmlType> = new Set([GgmlType.Q4_1, GgmlType.Q5_1]);

/** Reads block `block` at `src[at]` into `row`. */
type _BlockDecoder = (src: Uint8Array, at: number, row: DecodedRow, block: number) => void;

/**
 * Unpacks the first `length` values of a quantized row.
 *
 * @param type one of `LEGACY_TYPES` or `K_TYPES`
 * @param src the packed row (at least its byte length)
 * @param length values, a whole number of blocks
 * @returns quants and scales
 * @throws RangeError for another type
 *
 * @example A Q4_0 block with d = 1 and all nibbles 9
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { GgmlType } from "../../core/gguf/types.ts";
 * const bytes = new Uint8Array(18).fill(0x99);
 * bytes[0] = 0x00;
 * bytes[1] = 0x3c;
 * const row = decodeRow(GgmlType.Q4_0, bytes, 32);
 * strictEqual(row.d[0], 1);
 * strictEqual(row.quants[31], 1);
 * ```
 */
export function decodeRow(type: GgmlType, src: Uint8Array, length: number): DecodedRow {
  const decodeBlock = _DECODERS[type as keyof typeof _DECODERS];
  if (decodeBlock === undefined) {
    throw new RangeError(
      `Cannot unpack a row of type ${ggmlTypeName(type)}: it is not a quantized type`,
    );
  }
  const { blockSize, bytesPerBlock } = ggmlTypeTraits(type)!;
  const blockCount = length / blockSize;
  const groupSize = _GROUP_SIZE[type as keyof typeof _GROUP_SIZE];
  const row: DecodedRow = {
    type,
    length,
    groupSize,
    quants: new Int32Array(length),
    d: new Float64Array(blockCount),
    m: new Float64Array(blockCount),
    s: new Float64Array(blockCount),
    scales: new Int32Array(length / groupSize).fill(1),
    mins: new Int32Array(length / groupSize),
    bsums: new Int32Array(type === GgmlType.Q8_K ? length / 16 : 0),
  };
  for (let block = 0; block < blockCount; block++) {
    decodeBlock(src, block * bytesPerBlock, row, block);
  }
  return row;
}

const _GROUP_SIZE = {
  [GgmlType.Q4_0]: 32,
  [GgmlType.Q4_1]: 32,
  [GgmlType.Q5_0]: 32,
  [GgmlType.Q5_1]: 32,
  [GgmlType.Q8_0]: 32,
  [GgmlType.Q8_1]: 32,
  [GgmlType.Q2_K]: 16,
  [GgmlType.Q3_K]: 16,
  [GgmlType.Q4_K]: 32,
  [GgmlType.Q5_K]: 32,
  [GgmlType.Q6_K]: 16,
  [GgmlType.Q8_K]: 256,
};

/** Nibbles of `qs[16]`: value j < 16 in the low nibble of byte j, value j + 16 in the high. */
function _nibbles(
  src: Uint8Array,
  qsAt: number,
  row: DecodedRow,
  block: number,
  offset: number,
): void {
  const out = 32 * block;
  for (let j = 0; j < 16; j++) {
    row.quants[out + j] = (src[qsAt + j] & 0x0f) + offset;
    row.quants[out + j + 16] = (src[qsAt + j] >> 4) + offset;
  }
}

/** As `_nibbles`, plus bit j of the u32 `qh` as bit 4 of value j. */
function _fiveBits(
  src: Uint8Array,
  qhAt: number,
  qsAt: number,
  row: DecodedRow,
  block: number,
  offset: number,
): void {
  const qh = readU32(src, qhAt);
  const out = 32 * block;
  for (let j = 0; j < 16; j++) {
    row.quants[out + j] = ((src[qsAt + j] & 0x0f) | (((qh >>> j) & 1) << 4)) + offset;
    row.quants[out + j + 16] = ((src[qsAt + j] >> 4) | (((qh >>> (j + 16)) & 1) << 4)) + offset;
  }
}

function _int8s(src: Uint8Array, qsAt: number, row: DecodedRow, out: number, count: number): void {
  for (let j = 0; j < count; j++) row.quants[out + j] = readI8(src, qsAt + j);
}

function _decodeQ4_0(src: Uint8Array, at: number, row: DecodedRow, block: number): void {
  row.d[block] = readF16(src, at);
  _nibbles(src, at + 2, row, block, -8);
}

function _decodeQ4_1(src: Uint8Array, at: number, row: DecodedRow, block: number): void {
  row.d[block] = readF16(src, at);
  row.m[block] = readF16(src, at + 2);
  _nibbles(src, at + 4, row, block, 0);
}

function _decodeQ5_0(src: Uint8Array, at: number, row: DecodedRow, block: number): void {
  row.d[block] = readF16(src, at);
  _fiveBits(src, at + 2, at + 6, row, block, -16);
}

function _decodeQ5_1(src: Uint8Array, at: number, row: DecodedRow, block: number): void {
  row.d[block] = readF16(src, at);
  row.m[block] = readF16(src, at + 2);
  _fiveBits(src, at + 4, at + 8, row, block, 0);
}

function _decodeQ8_0(src: Uint8Array, at: number, row: DecodedRow, block: number): void {
  row.d[block] = readF16(src, at);
  _int8s(src, at + 2, row, 32 * block, 32);
}

function _decodeQ8_1(src: Uint8Array, at: number, row: DecodedRow, block: number): void {
  row.d[block] = readF16(src, at);
  row.s[block] = readF16(src, at + 2);
  _int8s(src, at + 4, row, 32 * block, 32);
}

function _decodeQ2K(src: Uint8Array, at: number, row: DecodedRow, block: number): void {
  row.d[block] = readF16(src, at + 80);
  row.m[block] = readF16(src, at + 82);
  for (let group = 0; group < 16; group++) {
    row.scales[16 * block + group] = src[at + group] & 0x0f;
    row.mins[16 * block + group] = src[at + group] >> 4;
  }
  // Value i = 128·half + 32·pair + l (l < 32): bits 2·pair of qs[32·half + l].
  for (let i = 0; i < 256; i++) {
    row.quants[256 * block + i] =
      (src[at + 16 + 32 * (i >> 7) + (i & 31)] >> (2 * ((i >> 5) & 3))) & 3;
  }
}

function _decodeQ3K(src: Uint8Array, at: number, row: DecodedRow, block: number): void {
  row.d[block] = readF16(src, at + 108);
  // Scale j: low nibble in byte j (j < 8) or high nibble of byte j - 8; top 2 bits in byte
  // 8 + j % 4 at bit 2·(j / 4).
  for (let j = 0; j < 16; j++) {
    const low = j < 8 ? src[at + 96 + j] & 0x0f : src[at + 96 + j - 8] >> 4;
    const high = (src[at + 96 + 8 + (j % 4)] >> (2 * (j >> 2))) & 3;
    row.scales[16 * block + j] = (low | (high << 4)) - 32;
  }
  // Value i = 128·half + 32·pair + l: low bits at qs[32·half + l] >> 2·pair, high bit in
  // hmask[l] bit (4·half + pair); a clear high bit means "subtract 4".
  for (let i = 0; i < 256; i++) {
    const half = i >> 7;
    const pair = (i >> 5) & 3;
    const l = i & 31;
    const low = (src[at + 32 + 32 * half + l] >> (2 * pair)) & 3;
    const highSet = (src[at + l] >> (4 * half + pair)) & 1;
    row.quants[256 * block + i] = low - (highSet ? 0 : 4);
  }
}

/**
 * The 8 six-bit scales and mins of a Q4_K/Q5_K block, packed in 12 bytes q[0..11]:
 * j < 4: scale = q[j] & 63, min = q[j+4] & 63; j >= 4: scale = low nibble of q[j+4] with the
 * top 2 bits of q[j-4] above it, min = high nibble of q[j+4] with the top 2 bits of q[j].
 */
function _kScalesMins(src: Uint8Array, scalesAt: number, row: DecodedRow, block: number): void {
  const q = (k: number) => src[scalesAt + k];
  for (let j = 0; j < 8; j++) {
    const scale = j < 4 ? q(j) & 63 : (q(j + 4) & 0x0f) | ((q(j - 4) >> 6) << 4);
    const min = j < 4 ? q(j + 4) & 63 : (q(j + 4) >> 4) | ((q(j) >> 6) << 4);
    row.scales[8 * block + j] = scale;
    row.mins[8 * block + j] = min;
  }
}

function _decodeQ4K(src: Uint8Array, at: number, row: DecodedRow, block: number): void {
  row.d[block] = readF16(src, at);
  row.m[block] = readF16(src, at + 2);
  _kScalesMins(src, at + 4, row, block);
  // Groups 2c and 2c+1 share qs[32c ..]: low nibbles, then high nibbles.
  for (let i = 0; i < 256; i++) {
    const group = i >> 5;
    row.quants[256 * block + i] =
      (src[at + 16 + 32 * (group >> 1) + (i & 31)] >> (4 * (group & 1))) & 0x0f;
  }
}

function _decodeQ5K(src: Uint8Array, at: number, row: DecodedRow, block: number): void {
  row.d[block] = readF16(src, at);
  row.m[block] = readF16(src, at + 2);
  _kScalesMins(src, at + 4, row, block);
  // As Q4_K, plus bit `group` of qh[l] as the fifth bit.
  for (let i = 0; i < 256; i++) {
    const group = i >> 5;
    const l = i & 31;
    const low = (src[at + 48 + 32 * (group >> 1) + l] >> (4 * (group & 1))) & 0x0f;
    row.quants[256 * block + i] = low | (((src[at + 16 + l] >> group) & 1) << 4);
  }
}

function _decodeQ6K(src: Uint8Array, at: number, row: DecodedRow, block: number): void {
  row.d[block] = readF16(src, at + 208);
  for (let group = 0; group < 16; group++) {
    row.scales[16 * block + group] = readI8(src, at + 192 + group);
  }
  // Value i = 128·half + 32·quarter + l: low nibble of ql[64·half + 32·(quarter & 1) + l]
  // (high nibble when quarter >= 2), top 2 bits from qh[32·half + l] >> 2·quarter.
  for (let i = 0; i < 256; i++) {
    const half = i >> 7;
    const quarter = (i >> 5) & 3;
    const l = i & 31;
    const lowByte = src[at + 64 * half + 32 * (quarter & 1) + l];
    const low = quarter < 2 ? lowByte & 0x0f : lowByte >> 4;
    const high = (src[at + 128 + 32 * half + l] >> (2 * quarter)) & 3;
    row.quants[256 * block + i] = (low | (high << 4)) - 32;
  }
}

function _decodeQ8K(src: Uint8Array, at: number, row: DecodedRow, block: number): void {
  row.d[block] = readF32(src, at);
  _int8s(src, at + 4, row, 256 * block, 256);
  for (let k = 0; k < 16; k++) row.bsums[16 * block + k] = readI16(src, at + 260 + 2 * k);
}

const _DECODERS = {
  [GgmlType.Q4_0]: _decodeQ4_0,
  [GgmlType.Q4_1]: _decodeQ4_1,
  [GgmlType.Q5_0]: _decodeQ5_0,
  [GgmlType.Q5_1]: _decodeQ5_1,
  [GgmlType.Q8_0]: _decodeQ8_0,
  [GgmlType.Q8_1]: _decodeQ8_1,
  [GgmlType.Q2_K]: _decodeQ2K,
  [GgmlType.Q3_K]: _decodeQ3K,
  [GgmlType.Q4_K]: _decodeQ4K,
  [GgmlType.Q5_K]: _decodeQ5K,
  [GgmlType.Q6_K]: _decodeQ6K,
  [GgmlType.Q8_K]: _decodeQ8K,
} satisfies Record<number, _BlockDecoder>;
