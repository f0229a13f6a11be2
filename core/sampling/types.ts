/**
 * Contracts of the sampler chain. A sampler turns one step's logits into a token id in this
 * order (as llama.cpp's common sampler does, with logit bias moved after the penalties):
 *
 * penalties → logit bias → logits processors → top-k → top-p → min-p → temperature → draw
 *
 * @module
 */

/** What a logits processor may read about the sequence being decoded. */
export interface SamplerState {
  /** Every token passed to `accept()` since creation or the last `reset()`, oldest first. */
  readonly history: readonly number[];
}

/**
 * A plugin hook that edits one step's logits in place, e.g. a schema mask that sets disallowed
 * tokens to -Infinity. It runs on the sampler's own copy of the logits (`[vocabSize]`), after
 * penalties and logit bias, before truncation. A processor that keeps state of its own is
 * shared by reference between a sampler and its clones.
 */
export type LogitsProcessor = (logits: Float32Array, state: SamplerState) => void;

/** Options of `createSampler`; every field is optional. Defaults follow llama.cpp's common ones. */
export interface SamplerOptions {
  /**
   * Divides the logits of the kept candidates before the draw. 0 means greedy. Default 0.8.
   * Truncation (top-k, top-p, min-p) sees the logits before this division, as in llama.cpp.
   */
  temperature?: number;
  /** Always take the most likely token (ties → lowest id), as `temperature: 0`. Default false. */
  greedy?: boolean;
  /** Keep the k most likely tokens; 0 turns it off. Default 40. */
  topK?: number;
  /** Keep the smallest most-likely prefix whose probability mass reaches p; 1 is off. Default 0.95. */
  topP?: number;
  /** Drop tokens whose probability is below minP × the top probability; 0 is off. Default 0.05. */
  minP?: number;
  /**
   * Repeated tokens in the window: positive logits are divided by it, negative ones multiplied.
   * 1 is off. Default 1.
   */
  repeatPenalty?: number;
  /** Subtracted once from the logit of every token seen in the window. Default 0. */
  presencePenalty?: number;
  /** Subtracted count times from the logit of a token seen count times in the window. Default 0. */
  frequencyPenalty?: number;
  /** How many of the last accepted tokens the penalties look at; 0 off, -1 all. Default 64. */
  penaltyLastN?: number;
  /** Token id → additive bias on its logit; -Infinity bans the token. Default {}. */
  logitBias?: Readonly<Record<number, number>>;
  /** Seed of the generator, an integer in [0, 2^32); random when absent. */
  seed?: number;
  /** Logits processors run in order after the logit bias. Default []. */
  processors?: readonly LogitsProcessor[];
}

/** The options a sampler runs with, defaults filled in (`seed` is on the sampler). */
export type ResolvedSamplerOptions = Readonly<Required<Omit<SamplerOptions, "seed">>>;

/**
 * The distribution a draw is made from: kept candidates and their probabilities. With top-k on
 * (or greedy) the candidates are by descending probability, ties by lowest id; without top-k
 * their order is unspecified (see `collectTopP`).
 */
export interface TokenDistribution {
  /** Token ids of the kept candidates, `[count]`. */
  readonly ids: Int32Array;
  /** Their probabilities after temperature, `[count]`, summing to 1. */
  readonly probabilities: Float64Array;
}

/** A stateful sampler: the chain plus the accepted-token history and the generator. */
export interface Sampler {
  /** The seed the generator started from (and restarts from on `reset()`). */
  readonly seed: number;
  /** The options in effect, defaults filled in. */
  readonly options: ResolvedSamplerOptions;
  /** Tokens accepted since creation or the last `reset()`, oldest first. */
  readonly history: readonly number[];
  /** Runs the chain on `logits` (`[vocabSize]`, left unchanged) and draws one token id. */
  sample(logits: Float32Array): number;
  /** Runs the chain on `logits` without drawing; the generator does not advance. */
  distribution(logits: Float32Array): TokenDistribution;
  /** Records a token that became part of the sequence (for penalties and processors). */
  accept(id: number): void;
  /** Forgets the history and restarts the generator from `seed`. */
  reset(): void;
  /** An independent sampler with the same options, history and generator state. */
  clone(): Sampler;
}
