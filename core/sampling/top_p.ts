/**
 * Top-p (nucleus): keep the smallest most-likely prefix whose probability mass reaches p (at
 * least one token), with probabilities from a softmax over all current candidates at
 * temperature 1, as llama.cpp does.
 *
 * Two forms: `truncateTopP` over a short sorted candidate list (after top-k), and
 * `collectTopP` over a whole vocabulary without sorting it. The latter makes one pass that sums
 * the softmax mass into 512 buckets of logit distance from the maximum (1/16 wide), finds the
 * bucket where the cumulative mass reaches p, keeps every token of the buckets before it
 * unsorted, and sorts only the boundary bucket to find the exact cut. Tokens more than 32 below
 * the maximum are left out of the mass: together they weigh under n·e^-32 (< 3e-9 of the mass
 * for n = 262144), below float32 resolution.
 *
 * @module
 */

import { expNonPositive } from "./fast_exp.ts";
import { sortCandidates } from "./sort_candidates.ts";

/** Logit distance below the maximum beyond which tokens are ignored (see the module doc). */
export const TOP_P_SPAN = 32;
const BUCKET_COUNT = 512;
const BUCKETS_PER_LOGIT = BUCKET_COUNT / TOP_P_SPAN;

/**
 * Truncates sorted candidates to the top-p prefix.
 *
 * @param ids candidate ids sorted by logit descending, `[>= count]`
 * @param count how many candidates, >= 1
 * @param logits `[vocabSize]`
 * @param p in (0, 1]; 1 keeps everything
 * @returns the new count
 * @example Probabilities 0.5, 0.3, 0.2 with p = 0.75 keep two tokens
 * ```ts
 * import { truncateTopP } from "./top_p.ts";
 * const logits = new Float32Array([0.5, 0.3, 0.2].map(Math.log));
 * if (truncateTopP(Int32Array.from([0, 1, 2]), 3, logits, 0.75) !== 2) throw new Error();
 * ```
 */
export function truncateTopP(
  ids: Int32Array,
  count: number,
  logits: Float32Array,
  p: number,
): number {
  if (p >= 1 || count <= 1) return count;
  const maxLogit = logits[ids[0]];
  let mass = 0;
  for (let i = 0; i < count; i++) mass += expNonPositive(logits[ids[i]] - maxLogit);
  const target = p * mass;
  let cumulative = 0;
  for (let i = 0; i < count; i++) {
    cumulative += expNonPositive(logits[ids[i]] - maxLogit);
    if (cumulative >= target) return i + 1;
  }
  return count;
}

/** Scratch buffers of `collectTopP`, reused across steps. */
export interface TopPScratch {
  /** `[BUCKET_COUNT]`: softmax mass per bucket. */
  readonly bucketMass: Float64Array;
  /** `[vocabSize]`: ids of the boundary bucket. */
  readonly boundary: Int32Array;
  /** `[vocabSize]`: sort keys. */
  readonly keys: Float64Array;
}

/** Allocates the scratch buffers of `collectTopP` for a vocabulary size. */
export function createTopPScratch(vocabSize: number): TopPScratch {
  return {
    bucketMass: new Float64Array(BUCKET_COUNT),
    boundary: new Int32Array(vocabSize),
    keys: new Float64Array(vocabSize),
  };
}

/**
 * Writes the ids of the top-p set of a whole vocabulary into `out`, leaving out tokens below
 * `floor` (the min-p bound, which applies after top-p and so only shortens the set).
 *
 * @param logits `[vocabSize]`
 * @param maxLogit the largest logit, finite
 * @param p in (0, 1)
 * @param floor smallest logit to keep; -Infinity for none
 * @param out `[vocabSize]`, receives the ids: the inner buckets in id order, then the boundary
 *   bucket's kept tokens by descending logit
 * @param scratch from `createTopPScratch`
 * @returns how many ids were written, >= 1
 */
export function collectTopP(
  logits: Float32Array,
  maxLogit: number,
  p: number,
  floor: number,
  out: Int32Array,
  scratch: TopPScratch,
): number {
  const { bucketMass, boundary, keys } = scratch;
  const total = _fillBuckets(logits, maxLogit, bucketMass);
  const target = p * total;
  let massBefore = 0;
  let edge = 0;
  while (edge < BUCKET_COUNT - 1 && massBefore + bucketMass[edge] < target) {
    massBefore += bucketMass[edge++];
  }
  let count = 0;
  let boundaryCount = 0;
  // One comparison rejects most tokens: everything past the boundary bucket, with a margin for
  // rounding, then the exact bucket test below decides.
  const cut = Math.max(floor, maxLogit - (edge + 1) / BUCKETS_PER_LOGIT - 1e-3);
  const length = logits.length;
  for (let id = 0; id < length; id++) {
    const logit = logits[id];
    if (!(logit >= cut)) continue; // also skips NaN
    const distance = maxLogit - logit;
    if (!(distance < TOP_P_SPAN)) continue;
    const bucket = (distance * BUCKETS_PER_LOGIT) | 0;
    if (bucket < edge) out[count++] = id;
    else if (bucket === edge) boundary[boundaryCount++] = id;
  }
  sortCandidates(boundary, boundaryCount, logits, keys);
  // At least one token: with p = 0 (or rounding) the target may already be met.
  for (let i = 0; i < boundaryCount && (massBefore < target || count === 0); i++) {
    out[count++] = boundary[i];
    massBefore += expNonPositive(logits[boundary[i]] - maxLogit);
  }
  return count;
}

/**
 * Sums exp(logit - max) per bucket of distance from the maximum; returns the total. Within a
 * bucket starting at distance b, exp(-d) = exp(-b) · exp(-δ) with δ = d - b < 1/16, and
 * exp(-δ) is a degree-4 polynomial (error < δ^5/120 < 1e-8): the pass needs no exp per token.
 */
function _fillBuckets(logits: Float32Array, maxLogit: number, bucketMass: Float64Array): number {
  bucketMass.fill(0);
  const length = logits.length;
  for (let id = 0; id < length; id++) {
    const distance = maxLogit - logits[id];
    if (!(distance < TOP_P_SPAN)) continue; // also skips NaN and -Infinity
    const scaled = distance * BUCKETS_PER_LOGIT;
    const bucket = scaled | 0;
    const delta = (scaled - bucket) / BUCKETS_PER_LOGIT;
    bucketMass[bucket] += 1 - delta * (1 - delta * (1 / 2 - delta * (1 / 6 - delta / 24)));
  }
  let total = 0;
  for (let bucket = 0; bucket < BUCKET_COUNT; bucket++) {
    bucketMass[bucket] *= _BUCKET_START_WEIGHTS[bucket];
    total += bucketMass[bucket];
  }
  return total;
}

/** `[BUCKET_COUNT]`: exp(-b) at the start distance b of each bucket. */
const _BUCKET_START_WEIGHTS = Float64Array.from(
  { length: BUCKET_COUNT },
  (_, bucket) => Math.exp(-bucket / BUCKETS_PER_LOGIT),
);
