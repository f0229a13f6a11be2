/**
 * Little-endian field readers for ggml blocks held in a `Uint8Array` at any byte offset.
 *
 * @module
 */

import { f16ToF32 } from "./half.ts";

/**
 * Reads a little-endian F16 at `bytes[at]`.
 *
 * @param bytes the buffer
 * @param at byte offset
 * @returns the value
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert";
 * strictEqual(readF16(new Uint8Array([0x00, 0x3c]), 0), 1);
 * ```
 */
export function readF16(bytes: Uint8Array, at: number): number {
  return f16ToF32(bytes[at] | (bytes[at + 1] << 8));
}

const _f32 = new Float32Array(1);
const _f32Bytes = new Uint8Array(_f32.buffer);

/**
 * Reads a little-endian F32 at `bytes[at]` (any alignment).
 *
 * @param bytes the buffer
 * @param at byte offset
 * @returns the value
 */
export function readF32(bytes: Uint8Array, at: number): number {
  _f32Bytes[0] = bytes[at];
  _f32Bytes[1] = bytes[at + 1];
  _f32Bytes[2] = bytes[at + 2];
  _f32Bytes[3] = bytes[at + 3];
  return _f32[0];
}

/**
 * Reads a signed byte.
 *
 * @param bytes the buffer
 * @param at byte offset
 * @returns -128..127
 */
export function readI8(bytes: Uint8Array, at: number): number {
  return (bytes[at] << 24) >> 24;
}

/**
 * Reads a little-endian signed 16-bit integer.
 *
 * @param bytes the buffer
 * @param at byte offset
 * @returns -32768..32767
 */
export function readI16(bytes: Uint8Array, at: number): number {
  return ((bytes[at] | (bytes[at + 1] << 8)) << 16) >> 16;
}

/**
 * Reads a little-endian unsigned 32-bit integer.
 *
 * @param bytes the buffer
 * @param at byte offset
 * @returns 0..2^32-1
 */
export function readU32(bytes: Uint8Array, at: number): number {
  return (bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24)) >>> 0;
}

/**
 * A row of F32 values stored in `bytes`: a view when the offset is 4-byte aligned, a copy
 * otherwise.
 *
 * @param bytes the row's bytes (at least `4 * length`)
 * @param length number of values
 * @returns the values
 */
export function f32View(bytes: Uint8Array, length: number): Float32Array {
  if (bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, length);
  const copy = new Float32Array(length);
  new Uint8Array(copy.buffer).set(bytes.subarray(0, 4 * length));
  return copy;
}
