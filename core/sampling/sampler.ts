/**
 * `createSampler`: the sampler chain with its history and seeded generator.
 *
 * penalties → logit bias → logits processors → top-k → top-p → min-p → temperature → draw
 *
 * The chain runs on a private copy of the logits (one 1 MiB memcpy for a 262144-token
 * vocabulary), so the caller's array is never changed and can be sampled again, e.g. by a
 * speculative verifier. Nothing sorts the whole vocabulary: top-k is a heap selection; without
 * top-k, top-p sorts only one bucket of logits (see `top_p.ts`) and min-p is a bound.
 *
 * @module
 */

import { argmax } from "./greedy.ts";
import { applyLogitBias, createLogitBias, type LogitBiasTable } from "./logit_bias.ts";
import { minPFloor, truncateMinP } from "./min_p.ts";
import { applyPenalties, penaltiesEnabled } from "./penalties.ts";
import { sortCandidates } from "./sort_candidates.ts";
import { drawIndex, softmaxWithTemperature } from "./temperature.ts";
import { TokenHistory } from "./token_history.ts";
import { selectTopK } from "./top_k.ts";
import { collectTopP, createTopPScratch, type TopPScratch, truncateTopP } from "./top_p.ts";
import type {
  LogitsProcessor,
  ResolvedSamplerOptions,
  Sampler,
  SamplerOptions,
  SamplerState,
  TokenDistribution,
} from "./types.ts";
import { Xoshiro128 } from "./xoshiro128.ts";

/** The defaults of `createSampler`, llama.cpp's common sampling defaults. */
export const DEFAULT_SAMPLER_OPTIONS: ResolvedSamplerOptions = Object.freeze({
  temperature: 0.8,
  greedy: false,
  topK: 40,
  topP: 0.95,
  minP: 0.05,
  repeatPenalty: 1.0,
  presencePenalty: 0,
  frequencyPenalty: 0,
  penaltyLastN: 64,
  logitBias: Object.freeze({}),
  processors: Object.freeze([]),
});

/**
 * Creates a sampler. Options are checked once here; unknown names are rejected.
 *
 * @param options see `SamplerOptions`; defaults in `DEFAULT_SAMPLER_OPTIONS`
 * @returns a sampler; call `sample(logits)` each step and `accept(id)` for each kept token
 * @example Greedy decoding with a banned token
 * ```ts
 * import { createSampler } from "./sampler.ts";
 * const sampler = createSampler({ temperature: 0, logitBias: { 2: -Infinity } });
 * const id = sampler.sample(new Float32Array([0.1, 1.5, 9, 1.2]));
 * if (id !== 1) throw new Error(`expected token 1, got ${id}`);
 * sampler.accept(id);
 * ```
 */
export function createSampler(options: SamplerOptions = {}): Sampler {
  const resolved = _resolveOptions(options);
  const seed = options.seed ?? crypto.getRandomValues(new Uint32Array(1))[0];
  const generator = new Xoshiro128(seed);
  return new ChainSampler(resolved, seed, new TokenHistory(resolved.penaltyLastN), generator);
}

/** The sampler `createSampler` returns; `clone()` builds one from copied state. */
class ChainSampler implements Sampler {
  readonly seed: number;
  readonly options: ResolvedSamplerOptions;
  readonly #history: TokenHistory;
  readonly #state: SamplerState;
  readonly #logitBias: LogitBiasTable;
  #generator: Xoshiro128;
  #scratch?: _Scratch;

  constructor(
    options: ResolvedSamplerOptions,
    seed: number,
    history: TokenHistory,
    generator: Xoshiro128,
  ) {
    this.options = options;
    this.seed = seed;
    this.#history = history;
    this.#state = Object.freeze({ history: history.tokens });
    this.#logitBias = createLogitBias(options.logitBias);
    this.#generator = generator;
  }

  get history(): readonly number[] {
    return this.#history.tokens;
  }

  sample(logits: Float32Array): number {
    const count = this.#runChain(logits);
    const { ids, probabilities } = this.#scratch!;
    if (this.#isGreedy()) return ids[0];
    return ids[drawIndex(probabilities, count, this.#generator.nextFloat())];
  }

  distribution(logits: Float32Array): TokenDistribution {
    const count = this.#runChain(logits);
    const { ids, probabilities } = this.#scratch!;
    return { ids: ids.slice(0, count), probabilities: probabilities.slice(0, count) };
  }

  accept(id: number): void {
    if (!Number.isInteger(id) || id < 0) {
      throw new RangeError(`Cannot accept token ${id}: expected a non-negative integer id`);
    }
    this.#history.push(id);
  }

  reset(): void {
    this.#history.clear();
    this.#generator = new Xoshiro128(this.seed);
  }

  clone(): Sampler {
    const history = this.#history.clone();
    return new ChainSampler(this.options, this.seed, history, this.#generator.clone());
  }

  #isGreedy(): boolean {
    return this.options.greedy || this.options.temperature === 0;
  }

  /** Runs the chain; the kept ids and probabilities are left in the scratch buffers. */
  #runChain(logits: Float32Array): number {
    const work = this.#prepare(logits);
    const { ids, probabilities } = this.#scratch!;
    if (this.#isGreedy()) {
      ids[0] = argmax(work);
      if (ids[0] < 0) throw _allBannedError(work.length);
      probabilities[0] = 1;
      return 1;
    }
    const { topK, temperature } = this.options;
    const count = topK > 0 && topK < work.length
      ? this.#truncateTopK(work)
      : this.#truncateAll(work);
    softmaxWithTemperature(ids, count, work, temperature, probabilities);
    return count;
  }

  /** Copies the logits, then applies penalties, logit bias and processors to the copy. */
  #prepare(logits: Float32Array): Float32Array {
    if (!(logits instanceof Float32Array) || logits.length === 0) {
      throw new TypeError("Cannot sample a token: expected a non-empty Float32Array of logits");
    }
    const scratch = this.#scratchFor(logits.length);
    const work = scratch.work;
    work.set(logits);
    if (penaltiesEnabled(this.options)) applyPenalties(work, this.#history.counts, this.options);
    applyLogitBias(work, this.#logitBias);
    for (const processor of this.options.processors) processor(work, this.#state);
    return work;
  }

  /** top-k by heap selection, then top-p and min-p over the sorted k. */
  #truncateTopK(work: Float32Array): number {
    const { ids, topP: topPScratch } = this.#scratch!;
    let count = selectTopK(work, this.options.topK, ids);
    if (count === 0) throw _allBannedError(work.length);
    sortCandidates(ids, count, work, topPScratch.keys);
    _assertFiniteMax(work, ids[0]);
    count = truncateTopP(ids, count, work, this.options.topP);
    return truncateMinP(ids, count, work, minPFloor(work[ids[0]], this.options.minP));
  }

  /** No top-k: top-p by buckets and min-p as a bound over the whole vocabulary. */
  #truncateAll(work: Float32Array): number {
    const { ids, topP: topPScratch } = this.#scratch!;
    const best = argmax(work);
    if (best < 0) throw _allBannedError(work.length);
    _assertFiniteMax(work, best);
    const floor = minPFloor(work[best], this.options.minP);
    if (this.options.topP < 1) {
      return collectTopP(work, work[best], this.options.topP, floor, ids, topPScratch);
    }
    return _collectAtLeast(work, Math.max(floor, -Number.MAX_VALUE), ids);
  }

  #scratchFor(vocabSize: number): _Scratch {
    if (this.#scratch === undefined || this.#scratch.work.length !== vocabSize) {
      this.#scratch = {
        work: new Float32Array(vocabSize),
        ids: new Int32Array(vocabSize),
        probabilities: new Float64Array(vocabSize),
        topP: createTopPScratch(vocabSize),
      };
    }
    return this.#scratch;
  }
}

/** Per-vocabulary-size buffers, allocated on the first `sample()`. */
interface _Scratch {
  /** `[vocabSize]`: the logits being edited. */
  readonly work: Float32Array;
  /** `[vocabSize]`: kept candidate ids. */
  readonly ids: Int32Array;
  /** `[vocabSize]`: their probabilities. */
  readonly probabilities: Float64Array;
  readonly topP: TopPScratch;
}

/** Ids, in ascending order, of the logits >= floor (floor finite, so -Infinity is skipped). */
function _collectAtLeast(logits: Float32Array, floor: number, out: Int32Array): number {
  let count = 0;
  const length = logits.length;
  for (let id = 0; id < length; id++) {
    if (logits[id] >= floor) out[count++] = id;
  }
  return count;
}

function _assertFiniteMax(logits: Float32Array, id: number): void {
  if (logits[id] === Infinity) {
    throw new RangeError(`Cannot sample a token: token ${id} has logit Infinity`);
  }
}

function _allBannedError(vocabSize: number): RangeError {
  return new RangeError(
    `Cannot sample a token: all ${vocabSize} logits are -Infinity or NaN after penalties, logit bias and processors`,
  );
}

const _OPTION_NAMES = new Set([...Object.keys(DEFAULT_SAMPLER_OPTIONS), "seed"]);

function _resolveOptions(options: SamplerOptions): ResolvedSamplerOptions {
  for (const name of Object.keys(options)) {
    if (!_OPTION_NAMES.has(name)) {
      throw new TypeError(`Cannot create a sampler: unknown option "${name}"`);
    }
  }
  const defined = Object.fromEntries(
    Object.entries(options).filter(([name, value]) => value !== undefined && name !== "seed"),
  );
  const resolved = { ...DEFAULT_SAMPLER_OPTIONS, ...defined };
  _checkRange("temperature", resolved.temperature, 0, Infinity);
  _checkRange("topP", resolved.topP, 0, 1);
  _checkRange("minP", resolved.minP, 0, 1);
  _checkRange("presencePenalty", resolved.presencePenalty, -Infinity, Infinity);
  _checkRange("frequencyPenalty", resolved.frequencyPenalty, -Infinity, Infinity);
  _checkInteger("topK", resolved.topK, 0);
  _checkInteger("penaltyLastN", resolved.penaltyLastN, -1);
  if (!(resolved.repeatPenalty > 0 && Number.isFinite(resolved.repeatPenalty))) {
    throw new RangeError(
      `Cannot create a sampler: repeatPenalty ${resolved.repeatPenalty} is not a finite number > 0`,
    );
  }
  if (typeof resolved.greedy !== "boolean") {
    throw new TypeError(`Cannot create a sampler: greedy ${resolved.greedy} is not a boolean`);
  }
  return Object.freeze({
    ...resolved,
    logitBias: Object.freeze({ ...resolved.logitBias }),
    processors: Object.freeze(_checkProcessors(resolved.processors)),
  });
}

function _checkRange(name: string, value: number, min: number, max: number): void {
  if (typeof value !== "number" || !(value >= min && value <= max) || !Number.isFinite(value)) {
    throw new RangeError(`Cannot create a sampler: ${name} ${value} is outside [${min}, ${max}]`);
  }
}

function _checkInteger(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(`Cannot create a sampler: ${name} ${value} is not an integer >= ${min}`);
  }
}

function _checkProcessors(processors: readonly LogitsProcessor[]): LogitsProcessor[] {
  if (!Array.isArray(processors) || processors.some((p) => typeof p !== "function")) {
    throw new TypeError("Cannot create a sampler: processors must be an array of functions");
  }
  return [...processors];
}
