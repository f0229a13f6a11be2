/**
 * Dequantizers: one ggml block layout per tensor type, turned into F32 values exactly as
 * ggml's scalar code computes them (each product and sum rounded to F32, in ggml's order).
 *
 * Block layouts (facts of the GGUF/ggml format; all little-endian, "f16" is an IEEE half):
 * ```
 * Q4_0  32 values, 18 B: d f16 | qs[16]            x = (nibble - 8) * d
 * Q4_1  32 values, 20 B: d f16 | m f16 | qs[16]    x = nibble * d + m
 * Q5_0  32 values, 22 B: d f16 | qh u32 | qs[16]   x = (nibble | high bit << 4) - 16) * d
 * Q5_1  32 values, 24 B: d f16 | m f16 | qh u32 | qs[16]
 * Q8_0  32 values, 34 B: d f16 | qs[32] i8
 * Q8_1  32 values, 36 B: d f16 | s f16 (= d * sum(qs)) | qs[32] i8
 * Q2_K 256 values, 84 B: scales[16] (lo nibble scale, hi nibble min) | qs[64] | d | dmin
 * Q3_K 256 values, 110 B: hmask[32] | qs[64] | scales[12] (16 × 6 bits) | d
 * Q4_K 256 values, 144 B: d | dmin | scales[12] (8 scales + 8 mins, 6 bits) | qs[128]
 * Q5_K 256 values, 176 B: d | dmin | scales[12] | qh[32] | qs[128]
 * Q6_K 256 values, 210 B: ql[128] | qh[64] | scales[16] i8 | d
 * Q8_K 256 values, 292 B: d f32 | qs[256] i8 | bsums[16] i16 (sums of 16 qs)
 * ```
 * In the 4-bit types a block's first half sits in the low nibbles and its second half in the
 * high nibbles of the same bytes.
 *
 * @module
 */

import { GgmlType } from "../../core/gguf/types.ts";
import { bf16ToF32, f16ToF32 } from "./half.ts";

/** Values per block and bytes per block of one tensor type. */
interface _BlockShape {
  readonly blockSize: number;
  readonly bytesPerBlock: number;
}

// TODO(ggml_types): replace with core/gguf/ggml_types.ts once it lands.
const _BLOCK_SHAPES: Partial<Record<GgmlType, _BlockShape>> = {
  [GgmlType.F32]: { blockSize: 1, bytesPerBlock: 4 },
  [GgmlType.F16]: { blockSize: 1, bytesPerBlock: 2 },
  [GgmlType.BF16]: { blockSize: 1, bytesPerBlock: 2 },
  [GgmlType.Q4_0]: { blockSize: 32, bytesPerBlock: 18 },
  [GgmlType.Q4_1]: { blockSize: 32, bytesPerBlock: 20 },
  [GgmlType.Q5_0]: { blockSize: 32, bytesPerBlock: 22 },
  [GgmlType.Q5_1]: { blockSize: 32, bytesPerBlock: 24 },
  [GgmlType.Q8_0]: { blockSize: 32, bytesPerBlock: 34 },
  [GgmlType.Q8_1]: { blockSize: 32, bytesPerBlock: 36 },
  [GgmlType.Q2_K]: { blockSize: 256, bytesPerBlock: 84 },
  [GgmlType.Q3_K]: { blockSize: 256, bytesPerBlock: 110 },
  [GgmlType.Q4_K]: { blockSize: 256, bytesPerBlock: 144 },
  [GgmlType.Q5_K]: { blockSize: 256, bytesPerBlock: 176 },
  [GgmlType.Q6_K]: { blockSize: 256, bytesPerBlock: 210 },
  [GgmlType.Q8_K]: { blockSize: 256, bytesPerBlock: 292 },
};

/**
 * Values per block and bytes per block of a type the reference backend can dequantize.
 *
 * @param type the ggml tensor type
 * @returns its block shape
 * @throws RangeError when the reference backend does not support the type
 */
export function blockShape(type: GgmlType): _BlockShape {
  const shape = _BLOCK_SHAPES[type];
  if (shape === undefined) {
    throw new RangeError(
      `Cannot use tensor type ${type} (${
        GgmlType[type] ?? "unknown"
      }): the reference backend does not support it`,
    );
  }
  return shape;
}

/**
 * Bytes taken by `length` consecutive values of a type.
 *
 * @param type the ggml tensor type
 * @param length number of values, a multiple of the type's block size
 * @returns the byte length
 * @throws RangeError when `length` is not a whole number of blocks
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { GgmlType } from "../../core/gguf/types.ts";
 * strictEqual(rowByteLength(GgmlType.Q4_0, 64), 36);
 * ```
 */
export function rowByteLength(type: GgmlType, length: number): number {
  const { blockSize, bytesPerBlock } = blockShape(type);
  if (!Number.isInteger(length) || length < 0 || length % blockSize !== 0) {
    throw new RangeError(
      `Cannot size a row of ${length} values of type ${
        GgmlType[type]
      }: the length must be a multiple of ${blockSize}`,
    );
  }
  return (length / blockSize) * bytesPerBlock;
}

/** Dequantizes one block at `src[at]` into `dst[out .. out + blockSize)`. */
type _BlockDequantizer = (src: Uint8Array, at: number, dst: Float32Array, out: number) => void;

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
        GgmlType[type]
      } values: it needs ${byteLength} bytes, got ${src.length}`,
    );
  }
  const { blockSize, bytesPerBlock } = blockShape(type);
  const dequantizeBlock = _DEQUANTIZERS[type as keyof typeof _DEQUANTIZERS];
  for (let block = 0; block * blockSize < dst.length; block++) {
    dequantizeBlock(src, block * bytesPerBlock, dst, block * blockSize);
  }
}

const _fround = Math.fround;

/** Reads a little-endian F16 at `src[at]` as a number. */
export function readF16(src: Uint8Array, at: number): number {
  return f16ToF32(src[at] | (src[at + 1] << 8));
}

/** Reads a little-endian F32 at `src[at]`. */
export function readF32(src: Uint8Array, at: number): number {
  return new DataView(src.buffer, src.byteOffset + at, 4).getFloat32(0, true);
}

/** Reads a signed byte. */
export function readI8(src: Uint8Array, at: number): number {
  return (src[at] << 24) >> 24;
}

/** Reads a little-endian signed 16-bit integer. */
export function readI16(src: Uint8Array, at: number): number {
  return ((src[at] | (src[at + 1] << 8)) << 16) >> 16;
}

/** Reads a little-endian unsigned 32-bit integer. */
function _readU32(src: Uint8Array, at: number): number {
  return (src[at] | (src[at + 1] << 8) | (src[at + 2] << 16) | (src[at + 3] << 24)) >>> 0;
}

function _dequantizeF32(src: Uint8Array, at: number, dst: Float32Array, out: number): void {
  dst[out] = readF32(src, at);
}

function _dequantizeF16(src: Uint8Array, at: number, dst: Float32Array, out: number): void {
  dst[out] = readF16(src, at);
}

function _dequantizeBf16(src: Uint8Array, at: number, dst: Float32Array, out: number): void {
  dst[out] = bf16ToF32(src[at] | (src[at + 1] << 8));
}

function _dequantizeQ4_0(src: Uint8Array, at: number, dst: Float32Array, out: number): void {
  const d = readF16(src, at);
  for (let j = 0; j < 16; j++) {
    const byte = src[at + 2 + j];
    dst[out + j] = ((byte & 0x0f) - 8) * d;
    dst[out + j + 16] = ((byte >> 4) - 8) * d;
  }
}

function _dequantizeQ4_1(src: Uint8Array, at: number, dst: Float32Array, out: number): void {
  const d = readF16(src, at);
  const m = readF16(src, at + 2);
  for (let j = 0; j < 16; j++) {
    const byte = src[at + 4 + j];
    dst[out + j] = _fround((byte & 0x0f) * d) + m;
    dst[out + j + 16] = _fround((byte >> 4) * d) + m;
  }
}

/** The 5-bit quants of a Q5_0/Q5_1 block: low nibbles from `qs`, bit 4 from `qh`. */
function _fiveBitQuants(src: Uint8Array, qhAt: number, qsAt: number): Int32Array {
  const qh = _readU32(src, qhAt);
  const quants = new Int32Array(32);
  for (let j = 0; j < 16; j++) {
    const byte = src[qsAt + j];
    quants[j] = (byte & 0x0f) | (((qh >>> j) & 1) << 4);
    quants[j + 16] = (byte >> 4) | (((qh >>> (j + 16)) & 1) << 4);
  }
  return quants;
}

function _dequantizeQ5_0(src: Uint8Array, at: number, dst: Float32Array, out: number): void {
  const d = readF16(src, at);
  const quants = _fiveBitQuants(src, at + 2, at + 6);
  for (let j = 0; j < 32; j++) dst[out + j] = (quants[j] - 16) * d;
}

function _dequantizeQ5_1(src: Uint8Array, at: number, dst: Float32Array, out: number): void {
  const d = readF16(src, at);
  const m = readF16(src, at + 2);
  const quants = _fiveBitQuants(src, at + 4, at + 8);
  for (let j = 0; j < 32; j++) dst[out + j] = _fround(quants[j] * d) + m;
}

function _dequantizeQ8_0(src: Uint8Array, at: number, dst: Float32Array, out: number): void {
  const d = readF16(src, at);
  for (let j = 0; j < 32; j++) dst[out + j] = readI8(src, at + 2 + j) * d;
}

function _dequantizeQ8_1(src: Uint8Array, at: number, dst: Float32Array, out: number): void {
  const d = readF16(src, at);
  for (let j = 0; j < 32; j++) dst[out + j] = readI8(src, at + 4 + j) * d;
}

function _dequantizeQ2_K(src: Uint8Array, at: number, dst: Float32Array, out: number): void {
  const d = readF16(src, at + 80);
  const dmin = readF16(src, at + 82);
  // 16 groups of 16 values. Group g: bytes qs[32·(g>>3) + 16·(g&1) + l], bit pair (g>>1)&3.
  for (let group = 0; group < 16; group++) {
    const scaleByte = src[at + group];
    const scale = _fround(d * (scaleByte & 0x0f));
    const min = _fround(dmin * (scaleByte >> 4));
    const qsAt = at + 16 + 32 * (group >> 3) + 16 * (group & 1);
    const shift = 2 * ((group >> 1) & 3);
    for (let l = 0; l < 16; l++) {
      const quant = (src[qsAt + l] >> shift) & 3;
      dst[out + 16 * group + l] = _fround(scale * quant) - min;
    }
  }
}

/** The 16 six-bit scales of a Q3_K block (before subtracting 32). */
function _q3KScales(src: Uint8Array, scalesAt: number): Int32Array {
  const scales = new Int32Array(16);
  for (let j = 0; j < 16; j++) {
    const low = j < 8 ? src[scalesAt + j] & 0x0f : src[scalesAt + j - 8] >> 4;
    const high = (src[scalesAt + 8 + (j % 4)] >> (2 * (j >> 2))) & 3;
    scales[j] = low | (high << 4);
  }
  return scales;
}

/** The 256 signed 3-bit quants (-4..3) of a Q3_K block, in value order. */
function _q3KQuants(src: Uint8Array, at: number): Int32Array {
  const quants = new Int32Array(256);
  // Value i = 128·half + 32·pair + l: low bits at qs[32·half + l] >> 2·pair, high bit in
  // hmask[l] bit (4·half + pair); a clear high bit means "subtract 4".
  for (let i = 0; i < 256; i++) {
    const half = i >> 7;
    const pair = (i >> 5) & 3;
    const l = i & 31;
    const low = (src[at + 32 + 32 * half + l] >> (2 * pair)) & 3;
    const highSet = (src[at + l] >> (4 * half + pair)) & 1;
    quants[i] = low - (highSet ? 0 : 4);
  }
  return quants;
}

function _dequantizeQ3_K(src: Uint8Array, at: number, dst: Float32Array, out: number): void {
  const d = readF16(src, at + 108);
  const scales = _q3KScales(src, at + 96);
  const quants = _q3KQuants(src, at);
  for (let i = 0; i < 256; i++) {
    dst[out + i] = _fround(d * (scales[i >> 4] - 32)) * quants[i];
  }
}

/**
 * Scale and min number `j` (0..7) of a Q4_K/Q5_K block, 6 bits each, packed in 12 bytes:
 * j < 4: low 6 bits of bytes j and j+4; j >= 4: a nibble of byte j+4 plus the top 2 bits of
 * bytes j-4 and j.
 */
export function kScaleMin(src: Uint8Array, scalesAt: number, j: number): [number, number] {
  const q = (k: number) => src[scalesAt + k];
  if (j < 4) return [q(j) & 63, q(j + 4) & 63];
  return [(q(j + 4) & 0x0f) | ((q(j - 4) >> 6) << 4), (q(j + 4) >> 4) | ((q(j) >> 6) << 4)];
}

function _dequantizeQ4_K(src: Uint8Array, at: number, dst: Float32Array, out: number): void {
  const d = readF16(src, at);
  const dmin = readF16(src, at + 2);
  // 8 groups of 32 values; groups 2c and 2c+1 share bytes qs[32c ..]: low then high nibbles.
  for (let group = 0; group < 8; group++) {
    const [scaleQ, minQ] = kScaleMin(src, at + 4, group);
    const scale = _fround(d * scaleQ);
    const min = _fround(dmin * minQ);
    const qsAt = at + 16 + 32 * (group >> 1);
    const shift = 4 * (group & 1);
    for (let l = 0; l < 32; l++) {
      dst[out + 32 * group + l] = _fround(scale * ((src[qsAt + l] >> shift) & 0x0f)) - min;
    }
  }
}

function _dequantizeQ5_K(src: Uint8Array, at: number, dst: Float32Array, out: number): void {
  const d = readF16(src, at);
  const dmin = readF16(src, at + 2);
  // As Q4_K, plus bit `group` of qh[l] as the fifth bit.
  for (let group = 0; group < 8; group++) {
    const [scaleQ, minQ] = kScaleMin(src, at + 4, group);
    const scale = _fround(d * scaleQ);
    const min = _fround(dmin * minQ);
    const qsAt = at + 48 + 32 * (group >> 1);
    const shift = 4 * (group & 1);
    for (let l = 0; l < 32; l++) {
      const high = ((src[at + 16 + l] >> group) & 1) << 4;
      const quant = ((src[qsAt + l] >> shift) & 0x0f) | high;
      dst[out + 32 * group + l] = _fround(scale * quant) - min;
    }
  }
}

/** The 256 signed 6-bit quants (-32..31) of a Q6_K block, in value order. */
export function q6KQuants(src: Uint8Array, at: number): Int32Array {
  const quants = new Int32Array(256);
  // Value i = 128·half + 32·quarter + l: low nibble of ql[64·half + 32·(quarter&1) + l]
  // (high nibble when quarter >= 2), top 2 bits of qh[32·half + l] >> 2·quarter.
  for (let i = 0; i < 256; i++) {
    const half = i >> 7;
    const quarter = (i >> 5) & 3;
    const l = i & 31;
    const lowByte = src[at + 64 * half + 32 * (quarter & 1) + l];
    const low = quarter < 2 ? lowByte & 0x0f : lowByte >> 4;
    const high = (src[at + 128 + 32 * half + l] >> (2 * quarter)) & 3;
    quants[i] = (low | (high << 4)) - 32;
  }
  return quants;
}

function _dequantizeQ6_K(src: Uint8Array, at: number, dst: Float32Array, out: number): void {
  const d = readF16(src, at + 208);
  const quants = q6KQuants(src, at);
  for (let i = 0; i < 256; i++) {
    dst[out + i] = _fround(d * readI8(src, at + 192 + (i >> 4))) * quants[i];
  }
}

function _dequantizeQ8_K(src: Uint8Array, at: number, dst: Float32Array, out: number): void {
  const d = readF32(src, at);
  for (let i = 0; i < 256; i++) dst[out + i] = d * readI8(src, at + 4 + i);
}

const _DEQUANTIZERS = {
  [GgmlType.F32]: _dequantizeF32,
  [GgmlType.F16]: _dequantizeF16,
  [GgmlType.BF16]: _dequantizeBf16,
  [GgmlType.Q4_0]: _dequantizeQ4_0,
  [GgmlType.Q4_1]: _dequantizeQ4_1,
  [GgmlType.Q5_0]: _dequantizeQ5_0,
  [GgmlType.Q5_1]: _dequantizeQ5_1,
  [GgmlType.Q8_0]: _dequantizeQ8_0,
  [GgmlType.Q8_1]: _dequantizeQ8_1,
  [GgmlType.Q2_K]: _dequantizeQ2_K,
  [GgmlType.Q3_K]: _dequantizeQ3_K,
  [GgmlType.Q4_K]: _dequantizeQ4_K,
  [GgmlType.Q5_K]: _dequantizeQ5_K,
  [GgmlType.Q6_K]: _dequantizeQ6_K,
  [GgmlType.Q8_K]: _dequantizeQ8_K,
} satisfies Record<number, _BlockDequantizer>;
