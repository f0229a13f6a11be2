/**
 * zeno's speed on one model, measured on the calling thread with `Engine.evalSync` (no event
 * loop hop per token), the same work as tests/oracle/bench.mjs gives llama.cpp:
 * - pp: the whole prompt as one batch into an empty KV cache;
 * - tg: tokens decoded one at a time from an empty cache, each the greedy pick of the last;
 * - ttft: the short prompt evaluated and its first token picked.
 * One warm-up prefill first (first touch of the mapped weights, thread pool start).
 *
 * @module
 */

import "../backends/mod.ts";
import { loadModel, type Model } from "../core/model.ts";
import type { Engine } from "../core/engine.ts";
import { argmax } from "../core/sampling/greedy.ts";
import type { EngineSpeed, SpeedRequest } from "./engine_speed.ts";
import { peakRssBytes, resetPeakRss } from "./peak_rss.ts";

/** Options of {@linkcode benchZeno}. */
export interface ZenoBenchOptions {
  /** Backend name (default: the best registered). */
  readonly backend?: string;
  /** Called with the loaded model before measuring (e.g. to print its backend). */
  readonly onLoad?: (model: Model) => void;
  /**
   * Measures the machine's read bandwidth (GB/s); called right before each decode repetition,
   * so each decode speed has the bandwidth of its own moment beside it (the host drifts).
   */
  readonly measureStream?: () => number;
}

/**
 * Measures zeno on a model.
 *
 * @param path the GGUF file
 * @param request prompts, decode length, repetitions, threads
 * @param options backend
 * @returns speeds per repetition and the process's peak RSS
 */
export async function benchZeno(
  path: string,
  request: SpeedRequest,
  options: ZenoBenchOptions = {},
): Promise<EngineSpeed & { backend: string; stream_gbps: number[] }> {
  const loadStarted = performance.now();
  const model = await loadModel(path, { threads: request.threads, backend: options.backend });
  try {
    const contextSize = Math.max(request.prompt.length, request.ttftPrompt.length, request.tg) + 16;
    const engine = model.createEngine({
      contextSize,
      batchSize: Math.max(request.prompt.length, request.ttftPrompt.length),
      maxOutputs: 1,
    });
    const loadMs = performance.now() - loadStarted;
    options.onLoad?.(model);
    _prefill(engine, request.prompt);
    const result: EngineSpeed = {
      pp_tps: [],
      tg_tps: [],
      ttft_ms: [],
      rss_bytes: 0,
      load_ms: loadMs,
    };
    const streamGbps: number[] = [];
    let peakBytes = 0;
    for (let rep = 0; rep < request.reps; rep++) {
      result.pp_tps.push(request.prompt.length / (_prefill(engine, request.prompt) / 1000));
      if (options.measureStream !== undefined) {
        peakBytes = Math.max(peakBytes, peakRssBytes());
        streamGbps.push(options.measureStream());
        // The bandwidth test's buffer is gone again: it must not count as zeno's memory. (Where
        // the peak is not a high-water mark, i.e. not on Linux, there is nothing to reset.)
        if (!resetPeakRss() && Deno.build.os === "linux") {
          throw new Error("cannot reset the peak RSS: /proc/self/clear_refs is not writable");
        }
      }
      result.tg_tps.push(request.tg / (_decode(engine, request.prompt[0], request.tg) / 1000));
      result.ttft_ms.push(_prefill(engine, request.ttftPrompt, true));
    }
    result.rss_bytes = Math.max(peakBytes, peakRssBytes());
    engine.dispose();
    return { ...result, backend: model.backend.device.name, stream_gbps: streamGbps };
  } finally {
    model.dispose();
  }
}

/** Evaluates `tokens` into an empty cache (and picks the next token); returns ms. */
function _prefill(engine: Engine, tokens: readonly number[], pick = false): number {
  engine.kv.clear();
  const started = performance.now();
  const logits = engine.evalSync({ tokens, positions: tokens.map((_, i) => i) });
  if (pick) argmax(logits);
  return performance.now() - started;
}

/** Decodes `count` tokens one by one from an empty cache; returns ms. */
function _decode(engine: Engine, first: number, count: number): number {
  engine.kv.clear();
  let token = first;
  const logits = new Float32Array(engine.hp.nVocab);
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    token = argmax(engine.evalSync({ tokens: [token], positions: [i] }, logits));
  }
  return performance.now() - started;
}
