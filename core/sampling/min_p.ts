/**
 * Min-p: keep tokens whose probability is at least p times the top probability. In logits that
 * is `logit >= maxLogit + ln(p)`, so no softmax is needed and the bound doubles as a cheap
 * pre-filter over the whole vocabulary.
 *
 * @module
 */

/**
 * The smallest logit min-p keeps.
 *
 * @param maxLogit the largest logit among the candidates
 * @param p in [0, 1]; 0 turns min-p off
 * @returns `maxLogit + ln(p)`, or -Infinity when p is 0
 */
export function minPFloor(maxLogit: number, p: number): number {
  return p > 0 ? maxLogit + Math.log(p) : -Infinity;
}

/**
 * Truncates sorted candidates to those at or above `floor`.
 *
 * @param ids candidate ids sorted by logit descending, `[>= count]`
 * @param count how many candidates
 * @param logits `[vocabSize]`
 * @param floor from `minPFloor`
 * @returns the new count (at least 1 when the first candidate is at the maximum)
 * @example
 * ```ts
 * import { minPFloor, truncateMinP } from "./min_p.ts";
 * const logits = new Float32Array([0, Math.log(0.5), Math.log(0.04)]);
 * const count = truncateMinP(Int32Array.from([0, 1, 2]), 3, logits, minPFloor(0, 0.05));
 * if (count !== 2) throw new Error(`got ${count}`);
 * ```
 */
export function truncateMinP(
  ids: Int32Array,
  count: number,
  logits: Float32Array,
  floor: number,
): number {
  let kept = 0;
  while (kept < count && logits[ids[kept]] >= floor) kept++;
  return kept;
}
