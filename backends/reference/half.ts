/**
 * IEEE half (F16) and bfloat16 (BF16) conversions, bit for bit as ggml does them.
 *
 * F16 is 1 sign, 5 exponent (bias 15), 10 mantissa bits; BF16 is the top 16 bits of an F32.
 * Both directions round to nearest, ties to even, as x86 F16C and ggml's scalar code do;
 * NaN becomes a quiet NaN keeping its sign.
 *
 * @module
 */

const _f32 = new Float32Array(1);
const _u32 = new Uint32Array(_f32.buffer);

/**
 * The value of an F16 bit pattern.
 *
 * @param bits the 16 bits, as stored little-endian in a GGUF block
 * @returns the exact value (every F16 value is an F32 value)
 *
 * @example Decode one and the largest finite half
 * ```ts
 * import { strictEqual } from "node:assert";
 * strictEqual(f16ToF32(0x3c00), 1);
 * strictEqual(f16ToF32(0x7bff), 65504);
 * ```
 */
export function f16ToF32(bits: number): number {
  _f16Values ??= Float32Array.from({ length: 0x10000 }, (_, bits) => _decodeF16(bits));
  return _f16Values[bits & 0xffff];
}

/**
 * Every half's value, by bit pattern (256 KiB): decoding F16 weights is a table lookup. Made
 * on first use, not at import: filling it then cost every program that imports zeno (this
 * backend is registered by mod.ts) ~4.5 MB of peak RSS, mostly V8 compiler code paged in.
 */
let _f16Values: Float32Array | undefined;

function _decodeF16(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1024 + mantissa) * 2 ** (exponent - 25);
}

/**
 * The nearest F16 bit pattern of a number, after rounding the number to F32 first (ggml
 * always converts from an F32 value).
 *
 * @param value any number; beyond ±65519.99 it becomes ±infinity
 * @returns the 16 bits
 *
 * @example Ties go to the even neighbour
 * ```ts
 * import { strictEqual } from "node:assert";
 * strictEqual(f32ToF16(1 + 2 ** -11), 0x3c00);
 * strictEqual(f32ToF16(1 + 3 * 2 ** -11), 0x3c02);
 * ```
 */
export function f32ToF16(value: number): number {
  _f32[0] = value;
  const bits = _u32[0];
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  if (exponent === 0xff) return sign | 0x7c00 | ((bits & 0x7fffff) !== 0 ? 0x200 : 0);
  const magnitude = Math.abs(_f32[0]);
  if (magnitude >= 65520) return sign | 0x7c00;
  if (magnitude < 2 ** -14) return sign | _roundHalfEven(magnitude * 2 ** 24);
  const unbiased = exponent - 127;
  const mantissa = _roundHalfEven((magnitude * 2 ** -unbiased - 1) * 1024);
  // A mantissa that rounds up to 1024 carries into the exponent: the bit layout does it.
  return sign | (((unbiased + 15) << 10) + mantissa);
}

/**
 * The value of a BF16 bit pattern.
 *
 * @param bits the 16 bits
 * @returns the exact value
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert";
 * strictEqual(bf16ToF32(0x3f80), 1);
 * ```
 */
export function bf16ToF32(bits: number): number {
  _u32[0] = (bits & 0xffff) << 16;
  return _f32[0];
}

/**
 * The nearest BF16 bit pattern of a number (rounded to F32 first), ties to even.
 *
 * @param value any number
 * @returns the 16 bits
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert";
 * strictEqual(f32ToBf16(1), 0x3f80);
 * ```
 */
export function f32ToBf16(value: number): number {
  _f32[0] = value;
  const bits = _u32[0];
  if ((bits & 0x7fffffff) > 0x7f800000) return (bits >>> 16) | 0x40;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Rounds a non-negative number to the nearest integer, ties to even. */
function _roundHalfEven(value: number): number {
  const rounded = Math.round(value);
  return rounded - value === 0.5 && rounded % 2 !== 0 ? rounded - 1 : rounded;
}
