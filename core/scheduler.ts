/**
 * Continuous batching over one engine: many requests share the model, and every tick evaluates
 * ONE batch holding the next token of each decoding request plus prefill chunks of new ones.
 * Each request owns a KV sequence id while it runs; requests beyond `parallel` wait in a FIFO
 * queue. A request that finishes, fails or is aborted frees its sequence (`kv.clear(seq)`) at
 * once (after the tick in flight, when it was part of it).
 *
 * One tick, for three running requests (A decoding, B decoding, C prefilling a 5-token prompt):
 *
 * ```
 * row        0     1     2  3  4  5  6
 * token      a7    b3    c0 c1 c2 c3 c4
 * position   12    40    0  1  2  3  4
 * seq mask   1<<0  1<<1  1<<2 … (C's bit on each of its rows)
 * outputs    0, 1, 6      (the rows whose logits are sampled)
 * ```
 *
 * Each sequence gets `contextSize` cells of its own (`engine.contextSize / parallel` by
 * default), as llama.cpp's server splits its context over slots, so a running request never
 * runs out of cache because of the others.
 *
 * @module
 */

import type { Engine } from "./engine.ts";
import { Generation, type GenerationResult } from "./generation.ts";
import type { FinishReason } from "./generation.ts";
import { MAX_SEQUENCES, seqBit } from "./kv_cache.ts";
import { createSampler } from "./sampling/mod.ts";
import { type DecodingConstraint, parseConstrainedOutput, withConstraint } from "./plugin.ts";
import type { Sampler, SamplerOptions } from "./sampling/types.ts";
import { StopStringMatcher } from "./stop_strings.ts";
import type { StreamDecoder, Tokenizer } from "./tokenizer/types.ts";

/** One generation request for the scheduler. */
export interface ScheduleRequest {
  /** Prompt token ids, BOS included when wanted; at least one. */
  readonly prompt: readonly number[];
  /** Options of the request's own sampler (`createSampler`). */
  readonly sampler?: SamplerOptions;
  /** Most tokens to generate; default: until the sequence's context is full. */
  readonly maxTokens?: number;
  /** Strings that end the generation (left out of the text). */
  readonly stop?: readonly string[];
  /** Aborts the request, queued or running; the result's reason is "abort". */
  readonly signal?: AbortSignal;
  /** Stop at end-of-generation tokens; default true. */
  readonly stopAtEog?: boolean;
  /** Restricts the output (a schema's grammar); the result carries the parsed value. */
  readonly constraint?: DecodingConstraint;
}

/** Options of a `Scheduler`. */
export interface SchedulerOptions {
  /** Sequences decoded together; default 4, at most 31 and the engine's `maxOutputs`. */
  parallel?: number;
  /** Cells one sequence may hold (prompt + generated); default `engine.contextSize / parallel`. */
  contextSize?: number;
}

/** Counters and gauges of a scheduler, for `/metrics`. */
export interface SchedulerStats {
  /** Requests waiting for a sequence. */
  readonly queueDepth: number;
  /** Requests holding a sequence. */
  readonly activeSequences: number;
  /** Sequences decoded together. */
  readonly parallel: number;
  /** Prompt tokens evaluated since the start. */
  readonly promptTokens: number;
  /** Tokens generated since the start. */
  readonly generatedTokens: number;
  /** Requests finished since the start (any reason, errors included). */
  readonly requestsFinished: number;
  /** Batches evaluated since the start. */
  readonly ticks: number;
  /** Generated tokens per second over the last `RATE_WINDOW_MS` (0 when idle). */
  readonly generatedTokensPerSecond: number;
  /** KV cells holding tokens now. */
  readonly kvCellsUsed: number;
  /** KV cells in the engine. */
  readonly kvCellsTotal: number;
}

/** Span over which `generatedTokensPerSecond` is measured. */
export const RATE_WINDOW_MS = 10_000;

/** Per-request state: queued (seq -1) or running. */
interface _Job {
  readonly request: ScheduleRequest;
  readonly prompt: readonly number[];
  readonly maxTokens: number;
  readonly sampler: Sampler;
  readonly stops: StopStringMatcher;
  readonly detok: StreamDecoder;
  seq: number;
  /** Prompt tokens already in the cache. */
  prefilled: number;
  /** Tokens of the sequence in the cache (its next position). */
  nPast: number;
  /** The last sampled token, to evaluate in the next tick; -1 when none. */
  pending: number;
  readonly generated: number[];
  text: string;
  /** Text not yet read by the consumer. */
  readonly chunks: string[];
  wake?: () => void;
  result?: GenerationResult;
  error?: unknown;
  /** Aborted while its batch was being evaluated: finished right after. */
  cancelled: boolean;
  onAbort?: () => void;
}

/** Continuous batching of many requests over one engine (which it owns). */
export class Scheduler {
  /** Sequences decoded together. */
  readonly parallel: number;
  /** Cells one sequence may hold: a prompt may have at most `contextSize - 1` tokens. */
  readonly contextSize: number;
  readonly #engine: Engine;
  readonly #tokenizer: Tokenizer;
  readonly #queue: _Job[] = [];
  readonly #running: _Job[] = [];
  readonly #freeSeqs: number[];
  readonly #inFlight = new Set<_Job>();
  readonly #rate: { atMs: number; tokens: number }[] = [];
  #loop?: Promise<void>;
  #closed = false;
  #promptTokens = 0;
  #generatedTokens = 0;
  #requestsFinished = 0;
  #ticks = 0;

  /**
   * Creates a scheduler; it owns the engine's KV cache.
   *
   * @param engine the engine to batch over; the scheduler owns its KV cache
   * @param tokenizer turns sampled ids into text
   * @param options parallel sequences and per-sequence context
   */
  constructor(engine: Engine, tokenizer: Tokenizer, options: SchedulerOptions = {}) {
    const parallel = options.parallel ?? 4;
    const most = Math.min(MAX_SEQUENCES, engine.maxOutputs);
    if (!Number.isInteger(parallel) || parallel < 1 || parallel > most) {
      throw new RangeError(
        `Cannot schedule ${parallel} parallel sequences: between 1 and ${most} are allowed`,
      );
    }
    const contextSize = options.contextSize ?? Math.floor(engine.contextSize / parallel);
    if (
      !Number.isInteger(contextSize) || contextSize < 2 ||
      contextSize * parallel > engine.contextSize
    ) {
      throw new RangeError(
        `Cannot give ${parallel} sequences ${contextSize} cells each: the engine's KV cache holds ${engine.contextSize}`,
      );
    }
    this.#engine = engine;
    this.#tokenizer = tokenizer;
    this.parallel = parallel;
    this.contextSize = contextSize;
    this.#freeSeqs = Array.from({ length: parallel }, (_, i) => i);
    engine.kv.clear();
  }

  /**
   * Queues a request.
   * @returns its text chunks as they are decoded; `await` it (or `.result()`) for the whole
   * @throws RangeError when the prompt is empty, too long for a sequence, or has a bad id;
   *   TypeError/RangeError from `createSampler` for bad sampler options
   */
  submit(request: ScheduleRequest): Generation {
    if (this.#closed) throw new TypeError("Cannot submit a request: the scheduler is closed");
    const job = this.#createJob(request);
    const signal = request.signal;
    if (signal !== undefined) {
      job.onAbort = () => this.#abort(job);
      signal.addEventListener("abort", job.onAbort, { once: true });
    }
    this.#queue.push(job);
    if (signal?.aborted) this.#abort(job);
    this.#kick();
    return new Generation(this.#stream(job));
  }

  /** Current counters and gauges. */
  stats(): SchedulerStats {
    const kv = this.#engine.kv;
    return {
      queueDepth: this.#queue.length,
      activeSequences: this.#running.length,
      parallel: this.parallel,
      promptTokens: this.#promptTokens,
      generatedTokens: this.#generatedTokens,
      requestsFinished: this.#requestsFinished,
      ticks: this.#ticks,
      generatedTokensPerSecond: this.#tokensPerSecond(),
      kvCellsUsed: kv.usedCells(),
      kvCellsTotal: kv.nCells,
    };
  }

  /** Aborts every request and refuses new ones; resolves when the last tick has ended. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const job of [...this.#queue, ...this.#running]) this.#abort(job);
    await this.#loop;
  }

  #createJob(request: ScheduleRequest): _Job {
    const prompt = Array.from(request.prompt);
    this.#checkPrompt(prompt);
    const room = this.contextSize - prompt.length;
    const maxTokens = request.maxTokens ?? room;
    if (!Number.isInteger(maxTokens) || maxTokens < 1) {
      throw new RangeError(`Cannot generate ${maxTokens} tokens: expected an integer >= 1`);
    }
    return {
      request,
      prompt,
      maxTokens,
      sampler: createSampler(withConstraint(request.sampler ?? {}, request.constraint)),
      stops: new StopStringMatcher(request.stop ?? []),
      detok: this.#tokenizer.createStreamDecoder(),
      seq: -1,
      prefilled: 0,
      nPast: 0,
      pending: -1,
      generated: [],
      text: "",
      chunks: [],
      cancelled: false,
    };
  }

  #checkPrompt(prompt: number[]): void {
    if (prompt.length === 0) throw new RangeError("Cannot schedule an empty prompt");
    if (prompt.length + 1 > this.contextSize) {
      throw new RangeError(
        `Cannot evaluate a prompt of ${prompt.length} tokens: the context holds ${this.contextSize}`,
      );
    }
    const vocab = this.#engine.hp.nVocab;
    for (const id of prompt) {
      if (!Number.isInteger(id) || id < 0 || id >= vocab) {
        throw new RangeError(`Cannot evaluate token ${id}: the vocabulary has ${vocab} tokens`);
      }
    }
  }

  /** The consumer's side of a job: chunks as they come, then the result. */
  async *#stream(job: _Job): AsyncGenerator<string, GenerationResult> {
    try {
      while (true) {
        if (job.chunks.length > 0) {
          yield job.chunks.splice(0).join("");
          continue;
        }
        if (job.error !== undefined) throw job.error;
        if (job.result !== undefined) return job.result;
        await new Promise<void>((resolve) => (job.wake = resolve));
      }
    } finally {
      // A consumer that stops reading (a closed HTTP stream) ends the request.
      if (job.result === undefined && job.error === undefined) this.#abort(job);
    }
  }

  #abort(job: _Job): void {
    if (job.result !== undefined || job.error !== undefined) return;
    if (this.#inFlight.has(job)) {
      job.cancelled = true;
      return;
    }
    this.#finish(job, "abort");
  }

  #kick(): void {
    if (this.#loop !== undefined) return;
    this.#loop = this.#run().finally(() => (this.#loop = undefined));
  }

  async #run(): Promise<void> {
    const yielder = _createYielder();
    try {
      // Start after the caller's turn: requests submitted together share the first batch.
      await yielder.yield();
      while (this.#admit() > 0) {
        await this.#tick();
        // Let I/O run between ticks even when the backend computed on this thread.
        await yielder.yield();
      }
    } finally {
      yielder.close();
    }
  }

  /** Moves queued jobs onto free sequences; returns how many jobs are running. */
  #admit(): number {
    while (this.#queue.length > 0 && this.#freeSeqs.length > 0) {
      const job = this.#queue.shift()!;
      job.seq = this.#freeSeqs.shift()!;
      this.#engine.kv.clear(job.seq);
      this.#running.push(job);
    }
    return this.#running.length;
  }

  /** Builds one batch, evaluates it, samples every row that has logits. */
  async #tick(): Promise<void> {
    const plan = this.#planBatch();
    if (plan.tokens.length === 0) return;
    for (const job of plan.jobs) this.#inFlight.add(job);
    let logits: Float32Array;
    try {
      logits = await this.#engine.eval(plan);
    } catch (error) {
      for (const job of plan.jobs) this.#fail(job, error);
      return;
    } finally {
      this.#inFlight.clear();
    }
    this.#ticks++;
    this.#promptTokens += plan.promptTokens;
    const vocab = this.#engine.hp.nVocab;
    plan.sampled.forEach((job, row) => {
      if (job.cancelled) return;
      this.#step(job, logits.subarray(row * vocab, (row + 1) * vocab));
    });
    for (const job of plan.jobs) if (job.cancelled) this.#finish(job, "abort");
  }

  /** Decode tokens first (one per job), then prefill chunks in arrival order, within `batchSize`. */
  #planBatch(): _Plan {
    const plan: _Plan = {
      tokens: [],
      positions: [],
      seqMasks: [],
      outputs: [],
      jobs: [],
      sampled: [],
      promptTokens: 0,
    };
    for (const job of this.#running) {
      if (job.pending < 0) continue;
      plan.outputs.push(plan.tokens.length);
      plan.sampled.push(job);
      this.#append(plan, job, [job.pending]);
      job.pending = -1;
    }
    for (const job of this.#running) {
      const room = this.#engine.batchSize - plan.tokens.length;
      if (job.prefilled === job.prompt.length || room === 0) continue;
      const chunk = job.prompt.slice(job.prefilled, job.prefilled + room);
      job.prefilled += chunk.length;
      plan.promptTokens += chunk.length;
      if (job.prefilled === job.prompt.length) {
        plan.outputs.push(plan.tokens.length + chunk.length - 1);
        plan.sampled.push(job);
      }
      this.#append(plan, job, chunk);
    }
    return plan;
  }

  #append(plan: _Plan, job: _Job, tokens: readonly number[]): void {
    const bit = seqBit(job.seq);
    for (const token of tokens) {
      plan.tokens.push(token);
      plan.positions.push(job.nPast++);
      plan.seqMasks.push(bit);
    }
    plan.jobs.push(job);
  }

  /** Samples one token for `job` and streams its text; finishes the job when it ends. */
  #step(job: _Job, logits: Float32Array): void {
    const { sampler } = job;
    let id: number;
    try {
      id = sampler.sample(logits);
    } catch (error) {
      return this.#fail(job, error);
    }
    sampler.accept(id);
    if ((job.request.stopAtEog ?? true) && this.#tokenizer.isEog(id)) {
      return this.#finish(job, "eog");
    }
    job.request.constraint?.accept(id);
    job.generated.push(id);
    this.#generatedTokens++;
    this.#countRate(1);
    const scan = job.stops.push(job.detok.push(id));
    this.#emit(job, scan.emit);
    if (scan.stopped) return this.#finish(job, "stop");
    if (job.request.constraint?.isDone()) return this.#finish(job, "stop", true);
    if (job.generated.length === job.maxTokens || job.nPast + 1 > this.contextSize) {
      return this.#finish(job, "length");
    }
    job.pending = id;
  }

  #emit(job: _Job, text: string): void {
    if (text === "") return;
    job.text += text;
    job.chunks.push(text);
    job.wake?.();
  }

  #finish(job: _Job, reason: FinishReason, flush = reason !== "stop"): void {
    if (flush) {
      this.#emit(job, job.stops.push(job.detok.flush()).emit + job.stops.flush());
    }
    let value: unknown;
    const constraint = job.request.constraint;
    if (constraint !== undefined) {
      try {
        value = parseConstrainedOutput(constraint, job.text, reason);
      } catch (error) {
        return this.#fail(job, error);
      }
    }
    job.result = {
      text: job.text,
      tokens: job.generated,
      finishReason: reason,
      promptTokens: job.prompt.length,
      promptTokensEvaluated: job.prefilled,
      ...(constraint === undefined ? {} : { value }),
    };
    this.#release(job);
  }

  #fail(job: _Job, error: unknown): void {
    job.error = error;
    this.#release(job);
  }

  /** Frees the job's sequence (its KV cells) and wakes its consumer. */
  #release(job: _Job): void {
    this.#requestsFinished++;
    if (job.onAbort !== undefined) job.request.signal?.removeEventListener("abort", job.onAbort);
    const queued = this.#queue.indexOf(job);
    if (queued !== -1) this.#queue.splice(queued, 1);
    const running = this.#running.indexOf(job);
    if (running !== -1) {
      this.#running.splice(running, 1);
      this.#engine.kv.clear(job.seq);
      this.#freeSeqs.push(job.seq);
      this.#freeSeqs.sort((a, b) => a - b);
    }
    job.pending = -1;
    job.wake?.();
  }

  #countRate(tokens: number): void {
    const nowMs = performance.now();
    const last = this.#rate.at(-1);
    // One entry per 100 ms keeps the window small under heavy load.
    if (last !== undefined && nowMs - last.atMs < 100) last.tokens += tokens;
    else this.#rate.push({ atMs: nowMs, tokens });
    while (this.#rate.length > 0 && nowMs - this.#rate[0].atMs > RATE_WINDOW_MS) this.#rate.shift();
  }

  #tokensPerSecond(): number {
    const nowMs = performance.now();
    while (this.#rate.length > 0 && nowMs - this.#rate[0].atMs > RATE_WINDOW_MS) this.#rate.shift();
    if (this.#rate.length === 0) return 0;
    const spanMs = Math.max(nowMs - this.#rate[0].atMs, 1000);
    return this.#rate.reduce((sum, e) => sum + e.tokens, 0) / (spanMs / 1000);
  }
}

/** One tick's batch and who owns which row. */
interface _Plan {
  tokens: number[];
  positions: number[];
  seqMasks: number[];
  /** Batch rows whose logits are sampled, in order. */
  outputs: number[];
  /** Jobs with rows in the batch. */
  jobs: _Job[];
  /** The job of each output row. */
  sampled: _Job[];
  promptTokens: number;
}

/** Longest stretch of ticks between two timer-based yields. */
const _TIMER_YIELD_MS = 50;

/**
 * A macrotask boundary between ticks, so the HTTP server gets to accept and read sockets even
 * when the backend computed on this thread. A MessageChannel round trip costs ~0.15 ms where
 * `setTimeout(0)` costs ~2 ms here, but message yields alone starve timers (and with them the
 * delivery of a client's disconnect), so every `_TIMER_YIELD_MS` one yield goes through a timer.
 */
function _createYielder(): { yield(): Promise<void>; close(): void } {
  const channel = new MessageChannel();
  let resolveNext: (() => void) | undefined;
  let lastTimerMs = performance.now();
  channel.port1.onmessage = () => resolveNext?.();
  return {
    yield() {
      return new Promise<void>((resolve) => {
        if (performance.now() - lastTimerMs >= _TIMER_YIELD_MS) {
          lastTimerMs = performance.now();
          setTimeout(resolve, 0);
          return;
        }
        resolveNext = resolve;
        channel.port2.postMessage(0);
      });
    },
    close() {
      channel.port1.close();
      channel.port2.close();
    },
  };
}
