/**
 * What one engine's measurement of one model gives (zeno's in zeno_bench.ts, llama.cpp's in
 * tests/oracle/bench.mjs): one value per repetition, and the process's peak RSS.
 *
 * @module
 */

/** Speeds of one engine on one model. Field names are the JSON names. */
export interface EngineSpeed {
  /** Prefill tokens/s per repetition. */
  pp_tps: number[];
  /** Decode tokens/s per repetition. */
  tg_tps: number[];
  /** Time to first token of the short prompt, ms per repetition. */
  ttft_ms: number[];
  /** Peak resident memory of the process, bytes. */
  rss_bytes: number;
  /** Model load (map, parse, bind) and context set-up, ms. */
  load_ms: number;
  /**
   * llama.cpp only: the ggml CPU build node-llama-cpp loaded for this CPU (`zen4`,
   * `sapphirerapids`: AMX tiles for quantized products, ...), null when unknown.
   */
  cpu_build?: string | null;
}

/** What to measure. */
export interface SpeedRequest {
  /** Prefill prompt (pp). */
  readonly prompt: readonly number[];
  /** Short prompt for the time to first token. */
  readonly ttftPrompt: readonly number[];
  /** Tokens decoded one by one (tg). */
  readonly tg: number;
  /** Repetitions. */
  readonly reps: number;
  readonly threads: number;
}

/**
 * The median of values (the mean of the middle two for an even count).
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { median } from "./engine_speed.ts";
 * strictEqual(median([3, 1, 2]), 2);
 * strictEqual(median([4, 1, 2, 3]), 2.5);
 * ```
 */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * Deterministic prompt token ids: the model's BOS (when it has one) then ids spread over the
 * vocabulary, the same for every engine so both process identical work.
 *
 * @param length tokens
 * @param nVocab vocabulary size
 * @param bos the BOS id, or undefined
 */
export function benchPrompt(length: number, nVocab: number, bos: number | undefined): number[] {
  const ids: number[] = [];
  let state = 12345;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    ids.push(i === 0 && bos !== undefined ? bos : (state >>> 8) % nVocab);
  }
  return ids;
}
