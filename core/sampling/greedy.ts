/**
 * Greedy choice: the index of the largest logit, ties broken by the lowest id.
 *
 * @module
 */

/**
 * Index of the largest logit; the first one wins ties. NaN and -Infinity are never chosen.
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
