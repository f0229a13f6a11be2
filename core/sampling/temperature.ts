/**
 * Temperature and the final softmax: the kept candidates' logits are divided by the temperature
 * and turned into probabilities, computed in float64 relative to the largest logit.
 *
 * @module
 */

import { expNonPositive } from "./fast_exp.ts";

/**
 * Writes `softmax(logit / temperature)` over the candidates into `probabilities`.
 *
 * @param ids kept candidate ids, `[>= count]`, any order
 * @param count how many candidates, >= 1
 * @param logits `[vocabSize]`, finite for every candidate
 * @param temperature > 0
 * @param probabilities `[>= count]`, receives probabilities summing to 1
 * @example Temperature 0.5 squares the odds
 * ```ts
 * import { softmaxWithTemperature } from "./temperature.ts";
 * const probabilities = new Float64Array(2);
 * softmaxWithTemperature(Int32Array.from([0, 1]), 2, new Float32Array([Math.log(2), 0]), 0.5,
 *   probabilities);
 * if (Math.abs(probabilities[0] - 0.8) > 1e-7) throw new Error(`got ${probabilities}`);
 * ```
 */
export function softmaxWithTemperature(
  ids: Int32Array,
  count: number,
  logits: Float32Array,
  temperature: number,
  probabilities: Float64Array,
): void {
  let maxLogit = -Infinity;
  for (let i = 0; i < count; i++) maxLogit = Math.max(maxLogit, logits[ids[i]]);
  let sum = 0;
  for (let i = 0; i < count; i++) {
    const weight = expNonPositive((logits[ids[i]] - maxLogit) / temperature);
    probabilities[i] = weight;
    sum += weight;
  }
  for (let i = 0; i < count; i++) probabilities[i] /= sum;
}

/**
 * Inverse-CDF draw: the first index whose cumulative probability exceeds `u`.
 *
 * @param probabilities `[>= count]`, summing to 1
 * @param count how many entries, >= 1
 * @param u uniform in [0, 1)
 * @returns an index in [0, count); a zero-probability entry is never returned
 */
export function drawIndex(probabilities: Float64Array, count: number, u: number): number {
  let cumulative = 0;
  for (let i = 0; i < count; i++) {
    cumulative += probabilities[i];
    if (u < cumulative) return i;
  }
  // Rounding left the total a hair below u: take the last entry with any mass.
  let last = count - 1;
  while (last > 0 && probabilities[last] === 0) last--;
  return last;
}
