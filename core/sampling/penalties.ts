/**
 * Repetition penalties as llama.cpp applies them, for each token seen `count` > 0 times in the
 * window: `logit <= 0 ? logit * repeat : logit / repeat`, then
 * `logit -= count * frequency + presence`.
 *
 * @module
 */

/** The three penalty strengths. */
export interface PenaltyStrengths {
  /** > 0; 1 is off. */
  readonly repeatPenalty: number;
  /** Subtracted once per seen token; 0 is off. */
  readonly presencePenalty: number;
  /** Subtracted per occurrence; 0 is off. */
  readonly frequencyPenalty: number;
}

/** True when applying the penalties would change some logit. */
export function penaltiesEnabled(strengths: PenaltyStrengths): boolean {
  return strengths.repeatPenalty !== 1 || strengths.presencePenalty !== 0 ||
    strengths.frequencyPenalty !== 0;
}

/**
 * Penalizes, in place, the logits of the tokens in `counts`.
 *
 * @param logits `[vocabSize]`, edited in place
 * @param counts token id → occurrences in the penalty window
 * @param strengths repeat, presence and frequency penalties
 * @example A seen token with a positive logit is divided by the repeat penalty
 * ```ts
 * import { applyPenalties } from "./penalties.ts";
 * const logits = new Float32Array([2, -2]);
 * applyPenalties(logits, new Map([[0, 1], [1, 1]]), {
 *   repeatPenalty: 2, presencePenalty: 0, frequencyPenalty: 0,
 * });
 * if (logits[0] !== 1 || logits[1] !== -4) throw new Error(`got ${logits}`);
 * ```
 */
export function applyPenalties(
  logits: Float32Array,
  counts: ReadonlyMap<number, number>,
  strengths: PenaltyStrengths,
): void {
  const { repeatPenalty, presencePenalty, frequencyPenalty } = strengths;
  for (const [id, count] of counts) {
    if (id >= logits.length) {
      throw new RangeError(
        `Cannot apply penalties: token ${id} is outside the vocabulary of ${logits.length} tokens`,
      );
    }
    const logit = logits[id];
    const repeated = logit <= 0 ? logit * repeatPenalty : logit / repeatPenalty;
    logits[id] = repeated - (count * frequencyPenalty + presencePenalty);
  }
}
