/**
 * Element-wise ops, RMS norm and softmax on F32 activations laid out row-major in ggml order:
 * a tensor `[n_tokens][dim]` is `n_tokens` rows of `dim` contiguous values. Every op writes its
 * output first (`op(out, inputs...)`); `out` may alias an input. Intermediate arithmetic is
 * float64 and each stored value is rounded to F32 once, so results are at least as exact as
 * ggml's F32 kernels.
 *
 * @module
 */

/**
 * `out[i] = a[i] + b[i % b.length]`: adds `b`, one row, to every row of `a` (or a same-size
 * tensor elementwise).
 *
 * @param out receives `a.length` values
 * @param a the tensor `[rows][rowLength]`
 * @param b `[rowLength]` (broadcast) or the same size as `a`
 * @throws TypeError when `b`'s length does not divide `a`'s, or `out` has another length
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * const out = new Float32Array(4);
 * add(out, new Float32Array([1, 2, 3, 4]), new Float32Array([10, 20]));
 * deepStrictEqual([...out], [11, 22, 13, 24]);
 * ```
 */
export function add(out: Float32Array, a: Float32Array, b: Float32Array): void {
  _assertBroadcast("add", out, a, b);
  for (let i = 0; i < a.length; i++) out[i] = a[i] + b[i % b.length];
}

/**
 * `out[i] = a[i] · b[i % b.length]`: multiplies every row of `a` by the row `b` (norm weights),
 * or a same-size tensor elementwise.
 *
 * @param out receives `a.length` values
 * @param a the tensor `[rows][rowLength]`
 * @param b `[rowLength]` (broadcast) or the same size as `a`
 * @throws TypeError when `b`'s length does not divide `a`'s, or `out` has another length
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * const out = new Float32Array(4);
 * mul(out, new Float32Array([1, 2, 3, 4]), new Float32Array([10, -1]));
 * deepStrictEqual([...out], [10, -2, 30, -4]);
 * ```
 */
export function mul(out: Float32Array, a: Float32Array, b: Float32Array): void {
  _assertBroadcast("mul", out, a, b);
  for (let i = 0; i < a.length; i++) out[i] = a[i] * b[i % b.length];
}

/**
 * `out[i] = x[i] · factor`.
 *
 * @param out receives `x.length` values
 * @param x the input
 * @param factor the multiplier
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * const out = new Float32Array(2);
 * scale(out, new Float32Array([1, -3]), 0.5);
 * deepStrictEqual([...out], [0.5, -1.5]);
 * ```
 */
export function scale(out: Float32Array, x: Float32Array, factor: number): void {
  _assertSameLength("scale", out, x);
  for (let i = 0; i < x.length; i++) out[i] = x[i] * factor;
}

/**
 * SiLU (swish): `out[i] = x / (1 + e^-x)`.
 *
 * @param out receives `x.length` values
 * @param x the input
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * const out = new Float32Array(2);
 * silu(out, new Float32Array([0, 1]));
 * deepStrictEqual([...out], [0, Math.fround(1 / (1 + Math.exp(-1)))]);
 * ```
 */
export function silu(out: Float32Array, x: Float32Array): void {
  _assertSameLength("silu", out, x);
  for (let i = 0; i < x.length; i++) out[i] = _silu(x[i]);
}

/**
 * GELU, tanh approximation (the one ggml uses):
 * `0.5·x·(1 + tanh(√(2/π)·x·(1 + 0.044715·x²)))`.
 *
 * @param out receives `x.length` values
 * @param x the input
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * const out = new Float32Array(2);
 * gelu(out, new Float32Array([0, 10]));
 * deepStrictEqual([...out], [0, 10]);
 * ```
 */
export function gelu(out: Float32Array, x: Float32Array): void {
  _assertSameLength("gelu", out, x);
  for (let i = 0; i < x.length; i++) out[i] = _gelu(x[i]);
}

/**
 * SwiGLU feed-forward gate: `out[i] = silu(gate[i]) · up[i]`.
 *
 * @param out receives `gate.length` values
 * @param gate `[n_tokens][n_ff]`
 * @param up `[n_tokens][n_ff]`
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * const out = new Float32Array(1);
 * swiglu(out, new Float32Array([0]), new Float32Array([5]));
 * deepStrictEqual([...out], [0]);
 * ```
 */
export function swiglu(out: Float32Array, gate: Float32Array, up: Float32Array): void {
  _assertSameLength("swiglu", out, gate);
  _assertSameLength("swiglu", up, gate);
  for (let i = 0; i < gate.length; i++) out[i] = Math.fround(_silu(gate[i])) * up[i];
}

/**
 * GeGLU feed-forward gate: `out[i] = gelu(gate[i]) · up[i]` (tanh-approximated GELU).
 *
 * @param out receives `gate.length` values
 * @param gate `[n_tokens][n_ff]`
 * @param up `[n_tokens][n_ff]`
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * const out = new Float32Array(1);
 * geglu(out, new Float32Array([10]), new Float32Array([3]));
 * deepStrictEqual([...out], [30]);
 * ```
 */
export function geglu(out: Float32Array, gate: Float32Array, up: Float32Array): void {
  _assertSameLength("geglu", out, gate);
  _assertSameLength("geglu", up, gate);
  for (let i = 0; i < gate.length; i++) out[i] = Math.fround(_gelu(gate[i])) * up[i];
}

/**
 * Softmax of each row, subtracting the row's maximum first so `exp` cannot overflow.
 *
 * @param out receives `x.length` values
 * @param x `[rows][rowLength]`
 * @param rowLength values per row
 * @throws TypeError when `rowLength` does not divide `x.length`
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * const out = new Float32Array(2);
 * softmax(out, new Float32Array([1000, 1000]), 2);
 * deepStrictEqual([...out], [0.5, 0.5]);
 * ```
 */
export function softmax(out: Float32Array, x: Float32Array, rowLength: number): void {
  _assertSameLength("softmax", out, x);
  _assertRows("softmax", x.length, rowLength);
  for (let row = 0; row < x.length; row += rowLength) {
    let max = -Infinity;
    for (let i = row; i < row + rowLength; i++) max = Math.max(max, x[i]);
    let sum = 0;
    const exps = new Float64Array(rowLength);
    for (let i = 0; i < rowLength; i++) sum += exps[i] = Math.exp(x[row + i] - max);
    for (let i = 0; i < rowLength; i++) out[row + i] = exps[i] / sum;
  }
}

/**
 * Soft capping (Gemma 2 logits): `out[i] = cap · tanh(x[i] / cap)`, which keeps values inside
 * (-cap, cap) and leaves small ones almost unchanged.
 *
 * @param out receives `x.length` values
 * @param x the input
 * @param cap the bound, > 0
 * @throws RangeError when `cap` is not positive
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * const out = new Float32Array(2);
 * tanhSoftcap(out, new Float32Array([0, 1e9]), 30);
 * deepStrictEqual([...out], [0, 30]);
 * ```
 */
export function tanhSoftcap(out: Float32Array, x: Float32Array, cap: number): void {
  _assertSameLength("tanhSoftcap", out, x);
  if (!(cap > 0)) throw new RangeError(`Cannot soft-cap with cap ${cap}: it must be positive`);
  for (let i = 0; i < x.length; i++) out[i] = cap * Math.tanh(x[i] / cap);
}

/**
 * RMS norm of each row, times an optional weight row:
 * `out = x / √(mean(x²) + eps) · weight` (ggml's `rms_norm` followed by `mul`).
 *
 * @param out receives `x.length` values
 * @param x `[n_tokens][rowLength]`
 * @param weight `[rowLength]`, or `null` for none
 * @param rowLength values per row (the model dimension)
 * @param eps added to the mean square (`*.attention.layer_norm_rms_epsilon`)
 * @throws TypeError when the lengths do not fit
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * const out = new Float32Array(2);
 * rmsNorm(out, new Float32Array([3, -3]), new Float32Array([1, 2]), 2, 0);
 * deepStrictEqual([...out], [1, -2]);
 * ```
 */
export function rmsNorm(
  out: Float32Array,
  x: Float32Array,
  weight: Float32Array | null,
  rowLength: number,
  eps: number,
): void {
  _assertSameLength("rmsNorm", out, x);
  _assertRows("rmsNorm", x.length, rowLength);
  if (weight !== null && weight.length !== rowLength) {
    throw new TypeError(
      `Cannot apply rmsNorm: the weight has ${weight.length} values for rows of ${rowLength}`,
    );
  }
  for (let row = 0; row < x.length; row += rowLength) {
    let sumOfSquares = 0;
    for (let i = row; i < row + rowLength; i++) sumOfSquares += x[i] * x[i];
    const factor = Math.fround(1 / Math.sqrt(Math.fround(sumOfSquares / rowLength) + eps));
    for (let i = 0; i < rowLength; i++) {
      const normed = Math.fround(x[row + i] * factor);
      out[row + i] = weight === null ? normed : normed * weight[i];
    }
  }
}

const _SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

function _silu(x: number): number {
  return x / (1 + Math.exp(-x));
}

function _gelu(x: number): number {
  return 0.5 * x * (1 + Math.tanh(_SQRT_2_OVER_PI * x * (1 + 0.044715 * x * x)));
}

function _assertSameLength(op: string, out: ArrayLike<number>, x: ArrayLike<number>): void {
  if (out.length !== x.length) {
    throw new TypeError(
      `Cannot apply ${op}: the output has ${out.length} values, the input ${x.length}`,
    );
  }
}

function _assertRows(op: string, length: number, rowLength: number): void {
  if (!(rowLength > 0) || length % rowLength !== 0) {
    throw new TypeError(`Cannot apply ${op}: ${length} values are not whole rows of ${rowLength}`);
  }
}

function _assertBroadcast(op: string, out: Float32Array, a: Float32Array, b: Float32Array): void {
  _assertSameLength(op, out, a);
  if (b.length === 0 || a.length % b.length !== 0) {
    throw new TypeError(`Cannot apply ${op}: ${b.length} values do not broadcast over ${a.length}`);
  }
}
