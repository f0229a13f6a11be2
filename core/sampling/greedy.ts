/**
 * Greedy choice: the index of the largest logit, ties broken by the lowest id. A scan of
 * 128k logits in JS costs ~0.15 ms a token (half a percent of a 1B model's decode); a backend
 * whose library has a vectorized kernel registers it here (the native backend does when it
 * starts, as it does its logits mask), and `argmax` uses it when present.
 *
 * @module
 */

/** The index {@linkcode argmaxJs} returns, computed elsewhere. */
export type ArgmaxKernel = (logits: Float32Array) => number;

let _kernel: ArgmaxKernel | null = null;

/**
 * Installs the kernel `argmax` uses (null: the JS loop).
 *
 * @param kernel a kernel equal to {@linkcode argmaxJs} in effect, or null
 * @returns the kernel it replaces (tests put it back)
 */
export function setArgmaxKernel(kernel: ArgmaxKernel | null): ArgmaxKernel | null {
  const previous = _kernel;
  _kernel = kernel;
  return previous;
}

/**
 * Index of the largest logit; the first one wins ties. NaN and -Infinity are never chosen.
 * Uses the registered kernel when there is one.
 *
 * @param logits `[vocabSize]`
 * @returns the token id, or -1 when every logit is -Infinity or NaN
 * @example Ties go to the lowest id
 * ```ts
 * import { argmax } from "./greedy.ts";
 * if (argmax(new Float32Array([1, 3, 3])) !== 1) throw new Error("expected token 1");
 * ```
 */
export function argmax(logits: Float32Array): number {
  return _kernel === null ? argmaxJs(logits) : _kernel(logits);
}

/**
 * {@linkcode argmax} in JavaScript, value by value.
 *
 * @param logits `[vocabSize]`
 * @returns the token id, or -1 when every logit is -Infinity or NaN
 */
export function argmaxJs(logits: Float32Array): number {
  let best = -1;
  let bestLogit = -Infinity;
  const length = logits.length;
  for (let i = 0; i < length; i++) {
    const logit = logits[i];
    if (logit > bestLogit) {
      bestLogit = logit;
      best = i;
    }
  }
  return best;
}
