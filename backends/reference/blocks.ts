/**
 * Unpacks one quantized ggml block into integer quants and its scales, so dequantization and
 * dot products share one reading of each layout.
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

import { GgmlType } from "../../core/gguf/types.ts";
import { readF16, readF32, readI8, readU32 } from "./bytes.ts";

/** A 32-value block: value j = q[j]·d (+ m when the type has a min). */
export interface LegacyBlock {
  readonly d: number;
  /** The min added to every value, or `null` for types without one (Q4_0, Q5_0, Q8_*). */
  readonly m: number | null;
  /** 32 integer quants, already offset (Q4_0: -8..7; Q5_0: -16..15). */
  readonly quants: Int32Array;
}

/**
 * A 256-value super-block: value i = (d·scales[g])·quants[i] - (dmin·mins[g]) where
 * g = i / groupSize.
 */
export interface KBlock {
  readonly d: number;
  /** 0 for types without mins (Q3_K, Q6_K, Q8_K). */
  readonly dmin: number;
  /** 16 or 32 values share one scale. */
  readonly groupSize: number;
  /** Signed integer scale per group (Q3_K: already minus 32). */
  readonly scales: Int32Array;
  /** Integer min per group (all 0 for types without mins). */
  readonly mins: Int32Array;
  /** 256 integer quants in value order (Q3_K: -4..3, Q6_K: -32..31, others unsigned). */
  readonly quants: Int32Array;
}

/** Types decoded by `decodeLegacyBlock`. */
export const LEGACY_TYPES: ReadonlySet<GgmlType> = new Set([
  GgmlType.Q4_0,
  GgmlType.Q4_1,
  GgmlType.Q5_0,
  GgmlType.Q5_1,
  GgmlType.Q8_0,
  GgmlType.Q8_1,
]);

/** Types decoded by `decodeKBlock`. */
export const K_TYPES: ReadonlySet<GgmlType> = new Set([
  GgmlType.Q2_K,
  GgmlType.Q3_K,
  GgmlType.Q4_K,
  GgmlType.Q5_K,
  GgmlType.Q6_K,
  GgmlType.Q8_K,
]);

/**
 * Unpacks a Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 or Q8_1 block.
 *
 * @param type one of `LEGACY_TYPES`
 * @param src the bytes holding the block
 * @param at the block's byte offset
 * @returns scale, min and the 32 quants
 *
 * @example A Q4_0 block with d = 1 and all nibbles 9
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { GgmlType } from "../../core/gguf/types.ts";
 * const bytes = new Uint8Array(18).fill(0x99);
 * bytes[0] = 0x00;
 * bytes[1] = 0x3c;
 * const block = decodeLegacyBlock(GgmlType.Q4_0, bytes, 0);
 * strictEqual(block.d, 1);
 * strictEqual(block.quants[31], 1);
 * ```
 */
export function decodeLegacyBlock(type: GgmlType, src: Uint8Array, at: number): LegacyBlock {
  const d = readF16(src, at);
  switch (type) {
    case GgmlType.Q4_0:
      return { d, m: null, quants: _nibbleQuants(src, at + 2, -8) };
    case GgmlType.Q4_1:
      return { d, m: readF16(src, at + 2), quants: _nibbleQuants(src, at + 4, 0) };
    case GgmlType.Q5_0:
      return { d, m: null, quants: _fiveBitQuants(src, at + 2, at + 6, -16) };
    case GgmlType.Q5_1:
      return { d, m: readF16(src, at + 2), quants: _fiveBitQuants(src, at + 4, at + 8, 0) };
    case GgmlType.Q8_0:
      return { d, m: null, quants: _int8Quants(src, at + 2, 32) };
    case GgmlType.Q8_1:
      return { d, m: null, quants: _int8Quants(src, at + 4, 32) };
  }
  throw new RangeError(`Cannot decode a ${GgmlType[type]} block as a 32-value block`);
}

/**
 * Unpacks a Q2_K, Q3_K, Q4_K, Q5_K, Q6_K or Q8_K super-block.
 *
 * @param type one of `K_TYPES`
 * @param src the bytes holding the block
 * @param at the block's byte offset
 * @returns scales, mins and the 256 quants
 */
export function decodeKBlock(type: GgmlType, src: Uint8Array, at: number): KBlock {
  switch (type) {
    case GgmlType.Q2_K:
      return _decodeQ2K(src, at);
    case GgmlType.Q3_K:
      return _decodeQ3K(src, at);
    case GgmlType.Q4_K:
      return _decodeQ4K(src, at);
    case GgmlType.Q5_K:
      return _decodeQ5K(src, at);
    case GgmlType.Q6_K:
      return _decodeQ6K(src, at);
    case GgmlType.Q8_K:
      return {
        d: readF32(src, at),
        dmin: 0,
        groupSize: 256,
        scales: Int32Array.of(1),
        mins: Int32Array.of(0),
        quants: _int8Quants(src, at + 4, 256),
      };
  }
  throw new RangeError(`Cannot decode a ${GgmlType[type]} block as a K-quant super-block`);
}

function _nibbleQuants(src: Uint8Array, qsAt: number, offset: number): Int32Array {
  const quants = new Int32Array(32);
  for (let j = 0; j < 16; j++) {
    quants[j] = (src[qsAt + j] & 0x0f) + offset;
    quants[j + 16] = (src[qsAt + j] >> 4) + offset;
  }
  return quants;
}

function _fiveBitQuants(src: Uint8Array, qhAt: number, qsAt: number, offset: number): Int32Array {
  const qh = readU32(src, qhAt);
  const quants = new Int32Array(32);
  for (let j = 0; j < 16; j++) {
    quants[j] = ((src[qsAt + j] & 0x0f) | (((qh >>> j) & 1) << 4)) + offset;
    quants[j + 16] = ((src[qsAt + j] >> 4) | (((qh >>> (j + 16)) & 1) << 4)) + offset;
  }
  return quants;
}

function _int8Quants(src: Uint8Array, qsAt: number, count: number): Int32Array {
  const quants = new Int32Array(count);
  for (let j = 0; j < count; j++) quants[j] = readI8(src, qsAt + j);
  return quants;
}

function _decodeQ2K(src: Uint8Array, at: number): KBlock {
  const scales = new Int32Array(16);
  const mins = new Int32Array(16);
  for (let group = 0; group < 16; group++) {
    scales[group] = src[at + group] & 0x0f;
    mins[group] = src[at + group] >> 4;
  }
  // Value i = 128·half + 32·pair + l (l < 32): bits 2·pair of qs[32·half + l].
  const quants = new Int32Array(256);
  for (let i = 0; i < 256; i++) {
    quants[i] = (src[at + 16 + 32 * (i >> 7) + (i & 31)] >> (2 * ((i >> 5) & 3))) & 3;
  }
  return {
    d: readF16(src, at + 80),
    dmin: readF16(src, at + 82),
    groupSize: 16,
    scales,
    mins,
    quants,
  };
}

function _decodeQ3K(src: Uint8Array, at: number): KBlock {
  // Scale j: low nibble in byte j (j < 8) or high nibble of byte j - 8; top 2 bits in byte
  // 8 + j % 4 at bit 2·(j / 4).
  const scales = new Int32Array(16);
  for (let j = 0; j < 16; j++) {
    const low = j < 8 ? src[at + 96 + j] & 0x0f : src[at + 96 + j - 8] >> 4;
    const high = (src[at + 96 + 8 + (j % 4)] >> (2 * (j >> 2))) & 3;
    scales[j] = (low | (high << 4)) - 32;
  }
  // Value i = 128·half + 32·pair + l: low bits at qs[32·half + l] >> 2·pair, high bit in
  // hmask[l] bit (4·half + pair); a clear high bit means "subtract 4".
  const quants = new Int32Array(256);
  for (let i = 0; i < 256; i++) {
    const half = i >> 7;
    const pair = (i >> 5) & 3;
    const l = i & 31;
    const low = (src[at + 32 + 32 * half + l] >> (2 * pair)) & 3;
    const highSet = (src[at + l] >> (4 * half + pair)) & 1;
    quants[i] = low - (highSet ? 0 : 4);
  }
  return {
    d: readF16(src, at + 108),
    dmin: 0,
    groupSize: 16,
    scales,
    mins: new Int32Array(16),
    quants,
  };
}

/**
 * The 8 six-bit scales and mins of a Q4_K/Q5_K block, packed in 12 bytes q[0..11]:
 * j < 4: scale = q[j] & 63, min = q[j+4] & 63; j >= 4: scale = low nibble of q[j+4] with the
 * top 2 bits of q[j-4] above it, min = high nibble of q[j+4] with the top 2 bits of q[j].
 */
function _kScalesMins(src: Uint8Array, scalesAt: number): [Int32Array, Int32Array] {
  const q = (k: number) => src[scalesAt + k];
  const scales = new Int32Array(8);
  const mins = new Int32Array(8);
  for (let j = 0; j < 8; j++) {
    if (j < 4) {
      scales[j] = q(j) & 63;
      mins[j] = q(j + 4) & 63;
    } else {
      scales[j] = (q(j + 4) & 0x0f) | ((q(j - 4) >> 6) << 4);
      mins[j] = (q(j + 4) >> 4) | ((q(j) >> 6) << 4);
    }
  }
  return [scales, mins];
}

function _decodeQ4K(src: Uint8Array, at: number): KBlock {
  const [scales, mins] = _kScalesMins(src, at + 4);
  // Groups 2c and 2c+1 share qs[32c ..]: low nibbles, then high nibbles.
  const quants = new Int32Array(256);
  for (let i = 0; i < 256; i++) {
    const group = i >> 5;
    quants[i] = (src[at + 16 + 32 * (group >> 1) + (i & 31)] >> (4 * (group & 1))) & 0x0f;
  }
  return { d: readF16(src, at), dmin: readF16(src, at + 2), groupSize: 32, scales, mins, quants };
}

function _decodeQ5K(src: Uint8Array, at: number): KBlock {
  const [scales, mins] = _kScalesMins(src, at + 4);
  // As Q4_K, plus bit `group` of qh[l] as the fifth bit.
  const quants = new Int32Array(256);
  for (let i = 0; i < 256; i++) {
    const group = i >> 5;
    const l = i & 31;
    const low = (src[at + 48 + 32 * (group >> 1) + l] >> (4 * (group & 1))) & 0x0f;
    quants[i] = low | (((src[at + 16 + l] >> group) & 1) << 4);
  }
  return { d: readF16(src, at), dmin: readF16(src, at + 2), groupSize: 32, scales, mins, quants };
}

function _decodeQ6K(src: Uint8Array, at: number): KBlock {
  const scales = new Int32Array(16);
  for (let group = 0; group < 16; group++) scales[group] = readI8(src, at + 192 + group);
  // Value i = 128·half + 32·quarter + l: low nibble of ql[64·half + 32·(quarter & 1) + l]
  // (high nibble when quarter >= 2), top 2 bits from qh[32·half + l] >> 2·quarter.
  const quants = new Int32Array(256);
  for (let i = 0; i < 256; i++) {
    const half = i >> 7;
    const quarter = (i >> 5) & 3;
    const l = i & 31;
    const lowByte = src[at + 64 * half + 32 * (quarter & 1) + l];
    const low = quarter < 2 ? lowByte & 0x0f : lowByte >> 4;
    const high = (src[at + 128 + 32 * half + l] >> (2 * quarter)) & 3;
    quants[i] = (low | (high << 4)) - 32;
  }
  return {
    d: readF16(src, at + 208),
    dmin: 0,
    groupSize: 16,
    scales,
    mins: new Int32Array(16),
    quants,
  };
}
