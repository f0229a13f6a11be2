/**
 * LanguageModelSession: one conversation or completion context over a model's engine. It keeps
 * the tokens in its KV cache (sequence 0) and reuses the longest common prefix on the next
 * request, so a chat turn only evaluates what is new.
 *
 * @module
 */

import type { ChatMessage, ChatTemplate, RenderOptions } from "./chat/types.ts";
import type { Engine } from "./engine.ts";
import { Generation, type GenerationResult } from "./generation.ts";
import type { FinishReason } from "./generation.ts";
import { seqBit } from "./kv_cache.ts";
import { constraintFactory, type DecodingConstraint, parseConstrainedOutput, withConstraint } from "./plugin.ts";
import { chatPromptTokens } from "./prompt_tokens.ts";
import { createSampler, DEFAULT_SAMPLER_OPTIONS } from "./sampling/mod.ts";
import type { Sampler, SamplerOptions } from "./sampling/types.ts";
import { StopStringMatcher } from "./stop_strings.ts";
import type { Tokenizer } from "./tokenizer/types.ts";

/** Options of one generation; sampling options follow `createSampler`. */
export interface GenerateOptions extends SamplerOptions {
  /** Most tokens to generate; default 256. */
  maxTokens?: number;
  /** Strings that end the generation (not included in the text). */
  stop?: readonly string[];
  /** Aborts the generation; the text so far is kept and the reason is "abort". */
  signal?: AbortSignal;
  /** Stop at end-of-generation tokens (EOS, <|im_end|> …); default true. */
  stopAtEog?: boolean;
  /**
   * A JSON Schema or zod schema the output must match (the schema plugin registers it:
   * import `plugins/schema/mod.ts`); awaiting the generation gives the parsed value.
   */
  schema?: unknown;
  /** A GBNF grammar the output must match (schema plugin). */
  grammar?: string;
  /** A ready-made decoding constraint. */
  constraint?: DecodingConstraint;
}

/** The type a schema describes: zod schemas carry it; plain JSON Schemas give `unknown`. */
export type SchemaOutput<S> = S extends { readonly _zod: { readonly output: infer O } } ? O : unknown;

/** Options of `candidates`. */
export interface CandidatesOptions extends GenerateOptions {
  /** How many independent continuations; default 3. */
  n?: number;
}

/** What a session needs from its model. */
export interface SessionModel {
  /** Turns text into ids and back. */
  readonly tokenizer: Tokenizer;
  /** Renders conversations into prompts. */
  readonly chatTemplate: ChatTemplate;
  /** The engine this session owns (its KV cache). */
  readonly engine: Engine;
}

/** A conversation or completion context with its own KV cache. */
export class LanguageModelSession {
  /** Tokens currently in the cache for sequence 0, in order. */
  #cached: number[] = [];
  #busy = false;

  /**
   * Creates a session over a model's tokenizer, chat template and engine.
   * @param model tokenizer, chat template and an engine this session owns
   */
  constructor(readonly model: SessionModel) {}

  /**
   * Continues `prompt` (plain text, no chat template).
   * @returns chunks as they are decoded; `await` it for the whole text
   */
  generate<S>(prompt: string, options: GenerateOptions & { schema: S }): Generation<SchemaOutput<S>>;
  /** Continues `prompt` (plain text, no chat template); `await` it for the whole text. */
  generate(prompt: string, options?: GenerateOptions): Generation;
  generate(prompt: string, options: GenerateOptions = {}): Generation<unknown> {
    const tokens = this.model.tokenizer.encode(prompt, { addSpecial: true, parseSpecial: false });
    return this.#generation(tokens, options);
  }

  /**
   * Replies to a conversation rendered with the model's chat template.
   * @param messages the whole conversation so far (the session's cache makes repeats cheap)
   */
  respond<S>(
    messages: readonly ChatMessage[],
    options: GenerateOptions & RenderOptions & { schema: S },
  ): Generation<SchemaOutput<S>>;
  /** Replies to a conversation rendered with the model's chat template. */
  respond(messages: readonly ChatMessage[], options?: GenerateOptions & RenderOptions): Generation;
  respond(messages: readonly ChatMessage[], options: GenerateOptions & RenderOptions = {}): Generation<unknown> {
    const tokens = this.promptTokens(messages, options);
    return this.#generation(tokens, options);
  }

  #generation(tokens: number[], options: GenerateOptions): Generation<unknown> {
    const constraint = this.#constraint(options);
    const run = this.#run(tokens, options, constraint);
    if (constraint === undefined) return new Generation(run);
    return new Generation(run, (result) => result.value);
  }

  #constraint(options: GenerateOptions): DecodingConstraint | undefined {
    if (options.constraint !== undefined) return options.constraint;
    for (const option of ["schema", "grammar"] as const) {
      if (options[option] === undefined) continue;
      const factory = constraintFactory(option);
      if (factory === undefined) {
        throw new TypeError(`Cannot use option "${option}": import the schema plugin (plugins/schema/mod.ts) first`);
      }
      return factory(options[option], this.model.tokenizer);
    }
    return undefined;
  }

  /** The token ids `respond` evaluates for a conversation. */
  promptTokens(messages: readonly ChatMessage[], options: RenderOptions = {}): number[] {
    return chatPromptTokens(this.model, messages, options);
  }

  /**
   * `n` short continuations of one prompt, decoded together: the prompt is evaluated once and
   * its KV cells are shared by every candidate's sequence.
   */
  async candidates(prompt: string, options: CandidatesOptions = {}): Promise<string[]> {
    const n = options.n ?? 3;
    const engine = this.model.engine;
    if (!Number.isInteger(n) || n < 1 || n > engine.maxOutputs) {
      throw new RangeError(`Cannot make ${n} candidates: between 1 and ${engine.maxOutputs} are allowed`);
    }
    this.#claim();
    try {
      return await this.#candidates(prompt, n, options);
    } finally {
      this.#busy = false;
      this.#cached = [];
    }
  }

  /** Forgets the cache (the next request evaluates its whole prompt). */
  reset(): void {
    this.model.engine.kv.clear(0);
    this.#cached = [];
  }

  async *#run(
    tokens: number[],
    options: GenerateOptions,
    constraint?: DecodingConstraint,
  ): AsyncGenerator<string, GenerationResult> {
    this.#claim();
    try {
      return yield* this.#decode(tokens, options, constraint);
    } finally {
      this.#busy = false;
    }
  }

  async *#decode(
    prompt: number[],
    options: GenerateOptions,
    constraint?: DecodingConstraint,
  ): AsyncGenerator<string, GenerationResult> {
    const { engine, tokenizer } = this.model;
    const maxTokens = options.maxTokens ?? 256;
    if (prompt.length + 1 > engine.contextSize) {
      throw new RangeError(`Cannot evaluate a prompt of ${prompt.length} tokens: the context holds ${engine.contextSize}`);
    }
    const sampler = createSampler(withConstraint(samplerOptions(options), constraint));
    const evaluated = await this.#prefill(prompt);
    let logits = evaluated.logits;
    // One array for every step's logits: each is sampled before the next eval writes it.
    const stepLogits = new Float32Array(engine.hp.nVocab);
    const stops = new StopStringMatcher(options.stop ?? []);
    const detok = tokenizer.createStreamDecoder();
    const generated: number[] = [];
    let text = "";
    let reason: FinishReason = "length";
    let hitStopString = false;
    while (generated.length < maxTokens) {
      if (options.signal?.aborted) {
        reason = "abort";
        break;
      }
      const id = sampler.sample(logits);
      sampler.accept(id);
      if ((options.stopAtEog ?? true) && tokenizer.isEog(id)) {
        reason = "eog";
        break;
      }
      constraint?.accept(id);
      generated.push(id);
      const scan = stops.push(detok.push(id));
      text += scan.emit;
      if (scan.emit !== "") yield scan.emit;
      hitStopString = scan.stopped;
      if (scan.stopped || constraint?.isDone()) {
        reason = "stop";
        break;
      }
      if (generated.length === maxTokens || this.#cached.length + 1 > engine.contextSize) break;
      logits = await engine.eval({ tokens: [id], positions: [this.#cached.length] }, stepLogits);
      this.#cached.push(id);
    }
    if (!hitStopString) {
      const rest = stops.push(detok.flush());
      const tail = rest.emit + stops.flush();
      text += tail;
      if (tail !== "") yield tail;
    }
    return {
      text,
      tokens: generated,
      finishReason: reason,
      promptTokens: prompt.length,
      promptTokensEvaluated: evaluated.count,
      ...(constraint === undefined ? {} : { value: parseConstrainedOutput(constraint, text, reason) }),
    };
  }

  /** Evaluates what the cache lacks of `prompt`; returns the last row's logits. */
  async #prefill(prompt: number[]): Promise<{ logits: Float32Array; count: number }> {
    const engine = this.model.engine;
    let common = 0;
    while (common < this.#cached.length && common < prompt.length && this.#cached[common] === prompt[common]) {
      common++;
    }
    // The last prompt token is always evaluated: its logits start the generation.
    if (common === prompt.length) common--;
    engine.kv.truncate(0, common);
    this.#cached = prompt.slice(0, common);
    const rest = prompt.slice(common);
    const logits = await engine.eval({ tokens: rest, positions: rest.map((_, i) => common + i) });
    this.#cached = prompt.slice();
    return { logits, count: rest.length };
  }

  async #candidates(prompt: string, n: number, options: CandidatesOptions): Promise<string[]> {
    const { engine, tokenizer } = this.model;
    const tokens = tokenizer.encode(prompt, { addSpecial: true, parseSpecial: false });
    for (let seq = 0; seq < n; seq++) engine.kv.clear(seq);
    const allSeqs = (1 << n) - 1;
    let logits = await engine.eval({
      tokens,
      positions: tokens.map((_, i) => i),
      seqMasks: tokens.map(() => allSeqs),
    });
    const baseSeed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
    const samplers: Sampler[] = Array.from({ length: n }, (_, i) => createSampler({ ...samplerOptions(options), seed: (baseSeed + i) >>> 0 }));
    const state = samplers.map(() => ({ ids: [] as number[], done: false }));
    const vocab = engine.hp.nVocab;
    // Every candidate starts from the same prompt logits.
    let rows = Array.from({ length: n }, () => logits.subarray(0, vocab));
    for (let step = 0; step < (options.maxTokens ?? 16); step++) {
      const active: number[] = [];
      for (let i = 0; i < n; i++) {
        if (state[i].done) continue;
        const id = samplers[i].sample(rows[i]);
        samplers[i].accept(id);
        if (tokenizer.isEog(id) || options.signal?.aborted) state[i].done = true;
        else {
          state[i].ids.push(id);
          active.push(i);
        }
      }
      if (active.length === 0 || step + 1 === (options.maxTokens ?? 16)) break;
      logits = await engine.eval({
        tokens: active.map((i) => state[i].ids.at(-1)!),
        positions: active.map((i) => tokens.length + state[i].ids.length - 1),
        seqMasks: active.map((i) => seqBit(i)),
        outputs: active.map((_, row) => row),
      });
      rows = [];
      active.forEach((i, row) => (rows[i] = logits.subarray(row * vocab, (row + 1) * vocab)));
    }
    for (let seq = 0; seq < n; seq++) engine.kv.clear(seq);
    return state.map((s) => tokenizer.decode(s.ids));
  }

  #claim(): void {
    if (this.#busy) throw new TypeError("Cannot start a request: this session is already generating");
    this.#busy = true;
  }
}

const SAMPLER_KEYS = new Set([...Object.keys(DEFAULT_SAMPLER_OPTIONS), "seed"]);

/** The sampler's options out of a request's options (which also hold maxTokens, stop …). */
function samplerOptions(options: GenerateOptions): SamplerOptions {
  return Object.fromEntries(
    Object.entries(options).filter(([key, value]) => SAMPLER_KEYS.has(key) && value !== undefined),
  ) as SamplerOptions;
}

