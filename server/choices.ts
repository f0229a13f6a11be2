/**
 * The `n` choices of one request as scheduler requests, and their chunks merged in the order
 * they are decoded (choices interleave in a stream, as in OpenAI's API).
 *
 * @module
 */

import type { FinishReason, Generation, GenerationResult } from "../core/generation.ts";
import type { Scheduler } from "../core/scheduler.ts";
import { choiceSampler, type GenerationParams } from "./sampling_fields.ts";

/** One event of a choice: a text delta, or its end. */
export type ChoiceEvent =
  | { readonly index: number; readonly text: string }
  | { readonly index: number; readonly result: GenerationResult };

/**
 * Submits the `n` choices of a request.
 * @param scheduler where they run
 * @param prompt prompt token ids
 * @param params sampling, seed, n, limits
 * @param signal aborts every choice
 */
export function submitChoices(
  scheduler: Scheduler,
  prompt: readonly number[],
  params: GenerationParams,
  signal: AbortSignal,
): Generation[] {
  return Array.from({ length: params.n }, (_, index) =>
    scheduler.submit({
      prompt,
      sampler: choiceSampler(params, index),
      maxTokens: params.maxTokens,
      stop: params.stop,
      signal,
      constraint: params.constraint?.(),
    }));
}

/** Text deltas and ends of every choice, in the order they happen. */
export async function* mergeChoices(
  generations: readonly Generation[],
): AsyncGenerator<ChoiceEvent> {
  const iterators = generations.map((g) => g[Symbol.asyncIterator]());
  // Settled, never rejected: a choice that fails after the consumer left must not go unhandled.
  const next = (index: number) =>
    iterators[index].next().then(
      (step) => ({ index, step, error: undefined }),
      (error) => ({ index, step: undefined, error }),
    );
  const pending = new Map(iterators.map((_, index) => [index, next(index)]));
  try {
    while (pending.size > 0) {
      const { index, step, error } = await Promise.race(pending.values());
      if (step === undefined) {
        pending.delete(index);
        throw error;
      }
      if (step.done) {
        pending.delete(index);
        yield { index, result: await generations[index].result() };
      } else {
        pending.set(index, next(index));
        yield { index, text: step.value };
      }
    }
  } finally {
    // Ends the choices still running when the consumer leaves early.
    for (const index of pending.keys()) void iterators[index].return?.();
  }
}

/** OpenAI's finish reason: our "eog" and "stop" are both "stop". */
export function openAIFinishReason(reason: FinishReason): "stop" | "length" {
  return reason === "length" ? "length" : "stop";
}
