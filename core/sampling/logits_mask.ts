/**
 * Token masks on logits: `-Infinity` for every token whose bit in a mask is clear. A mask
 * over a large vocabulary is applied every step of constrained decoding; in JS it costs a pass
 * over the allowed or the forbidden ids (~2.5 ns each with their gathers and scatters: 150 µs
 * for 54k of Gemma 3's 262k tokens). A backend whose library has a vectorized kernel
 * registers it here (the native backend does when its library opens: one 16-lane select pass
 * over the row, about the cost of filling it); `maskLogitsByBits` uses it when present and
 * the plain loop otherwise.
 *
 * Bit i of a mask is bit `i % 32` of word `i >>> 5`.
 *
 * @module
 */

/** Writes `-Infinity` into `logits[i]` for every `i < count` whose bit in `bits` is clear. */
export type LogitsMaskKernel = (logits: Float32Array, bits: Uint32Array, count: number) => void;

let _kernel: LogitsMaskKernel | null = null;

/**
 * Installs the kernel `maskLogitsByBits` uses (null: the JS loop).
 *
 * @param kernel a kernel equal to {@linkcode maskLogitsByBitsJs} in effect, or null
 * @returns the kernel it replaces (tests put it back)
 */
export function setLogitsMaskKernel(kernel: LogitsMaskKernel | null): LogitsMaskKernel | null {
  const previous = _kernel;
  _kernel = kernel;
  return previous;
}

/** Whether a backend registered a kernel (else masks are applied in JS). */
export function hasLogitsMaskKernel(): boolean {
  return _kernel !== null;
}

/**
 * `-Infinity` into `logits[i]` for every `i < count` whose bit in `bits` is clear, through the
 * registered kernel when there is one.
 *
 * @param logits at least `count` values
 * @param bits `ceil(count / 32)` words or more
 * @param count tokens the mask covers
 * @throws RangeError when `logits` or `bits` is shorter than `count` needs
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { maskLogitsByBits } from "./logits_mask.ts";
 * const logits = new Float32Array([1, 2, 3, 4]);
 * maskLogitsByBits(logits, new Uint32Array([0b0110]), 4);
 * deepStrictEqual([...logits], [-Infinity, 2, 3, -Infinity]);
 * ```
 */
export function maskLogitsByBits(logits: Float32Array, bits: Uint32Array, count: number): void {
  if (logits.length < count || bits.length * 32 < count) {
    throw new RangeError(
      `Cannot mask ${count} logits: ${logits.length} logits and ${bits.length * 32} mask bits`,
    );
  }
  if (_kernel !== null) _kernel(logits, bits, count);
  else maskLogitsByBitsJs(logits, bits, count);
}

/**
 * The plain loop of {@linkcode maskLogitsByBits} (the fallback, and the oracle kernels are
 * tested against).
 *
 * @param logits at least `count` values
 * @param bits `ceil(count / 32)` words or more
 * @param count tokens the mask covers
 */
export function maskLogitsByBitsJs(logits: Float32Array, bits: Uint32Array, count: number): void {
  for (let i = 0; i < count; i++) {
    if ((bits[i >>> 5] & (1 << (i & 31))) === 0) logits[i] = -Infinity;
  }
}
