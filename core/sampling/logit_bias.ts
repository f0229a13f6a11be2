/**
 * Logit bias: a fixed additive offset per token id (-Infinity bans the token), checked once at
 * sampler creation and kept as two parallel arrays.
 *
 * @module
 */

/** Biased token ids and their offsets, `[count]` each. */
export interface LogitBiasTable {
  readonly ids: Int32Array;
  readonly biases: Float32Array;
}

/**
 * Checks a token id → bias record and turns it into a table.
 *
 * @param record keys are token ids (non-negative integers), values finite numbers or -Infinity
 * @returns the table, ids in ascending order
 */
export function createLogitBias(record: Readonly<Record<number, number>>): LogitBiasTable {
  const entries = Object.entries(record).map(([key, bias]) => [_parseTokenId(key), bias] as const);
  entries.sort((a, b) => a[0] - b[0]);
  for (const [id, bias] of entries) {
    if (typeof bias !== "number" || Number.isNaN(bias) || bias === Infinity) {
      throw new RangeError(
        `Cannot use logit bias ${bias} for token ${id}: expected a finite number or -Infinity`,
      );
    }
  }
  return {
    ids: Int32Array.from(entries, ([id]) => id),
    biases: Float32Array.from(entries, ([, bias]) => bias),
  };
}

/**
 * Adds each bias to its token's logit, in place.
 *
 * @param logits `[vocabSize]`, edited in place
 * @param table from `createLogitBias`
 * @example Banning a token
 * ```ts
 * import { applyLogitBias, createLogitBias } from "./logit_bias.ts";
 * const logits = new Float32Array([1, 2]);
 * applyLogitBias(logits, createLogitBias({ 1: -Infinity }));
 * if (logits[1] !== -Infinity) throw new Error("token 1 should be banned");
 * ```
 */
export function applyLogitBias(logits: Float32Array, table: LogitBiasTable): void {
  const { ids, biases } = table;
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] >= logits.length) {
      throw new RangeError(
        `Cannot apply logit bias: token ${
          ids[i]
        } is outside the vocabulary of ${logits.length} tokens`,
      );
    }
    logits[ids[i]] += biases[i];
  }
}

function _parseTokenId(key: string): number {
  if (!/^(0|[1-9][0-9]*)$/.test(key) || Number(key) > 0x7fffffff) {
    throw new RangeError(`Cannot use logit bias key "${key}": expected a token id`);
  }
  return Number(key);
}
