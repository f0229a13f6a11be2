/**
 * Engine speed on the real test models, for before/after comparisons of engine work: decode
 * ms/token and prefill tokens/s through `Engine.evalSync`, medians of several repetitions, on
 * each thread count. Libraries named with `--lib` are measured in the same run, alternating
 * repetition by repetition, so the machine's load drifts over all of them alike.
 *
 * ```sh
 * deno run -A bench/engine_bench.ts                      # both models, 1 and 2 threads
 * deno run -A bench/engine_bench.ts --reps 7 --threads 2 --models gemma3-270m
 * deno run -A bench/engine_bench.ts --decode-after 1024 --prompt 512  # decode at 1k context
 * deno run -A bench/engine_bench.ts --lib before=/tmp/old/zig-out/lib --lib after=zig/zig-out/lib
 * ```
 *
 * Columns: `decode ms/tok` (median over repetitions of one repetition's mean), `js ms/tok` (the
 * part of a decode step spent outside `Backend.compute`: graph building, uploads, logits
 * copy; the fastest step, which a loaded machine disturbs least), `prefill tok/s` (the
 * prompt as one batch into an empty cache).
 *
 * @module
 */

import { parseArgs } from "node:util";
import "../backends/mod.ts";
import { createNativeBackend } from "../backends/native/backend.ts";
import type { Backend } from "../core/backend.ts";
import type { Engine } from "../core/engine.ts";
import { loadModel, type Model } from "../core/model.ts";
import { argmax } from "../core/sampling/greedy.ts";
import { TEST_MODEL_FILES, testModelPath } from "../tests/testdata.ts";
import { benchPrompt, median } from "./engine_speed.ts";

/** What one run measures. */
export interface EngineBenchOptions {
  readonly models: readonly (keyof typeof TEST_MODEL_FILES)[];
  readonly threads: readonly number[];
  readonly reps: number;
  /** Prefill prompt tokens. */
  readonly promptTokens: number;
  /** Tokens decoded per repetition. */
  readonly decodeTokens: number;
  /** Tokens in the cache before decoding starts (a prefill not timed); 0: an empty cache. */
  readonly decodeAfter: number;
  /** Native library directories by label; empty: the default library. */
  readonly libraries: ReadonlyMap<string, string | undefined>;
}

/** One row of the result table. */
export interface EngineBenchRow {
  model: string;
  library: string;
  threads: number;
  decodeMsPerToken: number;
  jsMsPerToken: number;
  prefillTokensPerSecond: number;
  /** Per repetition, for the JSON output. */
  decodeRunsMs: number[];
  prefillRunsTps: number[];
}

/** A model on one backend with the time spent inside `compute` counted. */
interface Subject {
  readonly model: Model;
  readonly engine: Engine;
  readonly row: EngineBenchRow;
  /** ms spent in `Backend.compute` since the last reset. */
  computeMs: number;
  /** Fastest decode step's time outside `compute`, ms. */
  jsMinMs: number;
}

/**
 * Measures every model × thread count × library.
 *
 * @param options what to measure
 * @returns one row per model, thread count and library
 */
export async function benchEngines(options: EngineBenchOptions): Promise<EngineBenchRow[]> {
  const rows: EngineBenchRow[] = [];
  for (const alias of options.models) {
    for (const threads of options.threads) {
      const subjects: Subject[] = [];
      for (const [label, libDir] of options.libraries) {
        subjects.push(await _open(alias, label, libDir, threads, options));
      }
      try {
        _measure(subjects, options);
      } finally {
        for (const subject of subjects) subject.model.dispose();
      }
      rows.push(...subjects.map((s) => s.row));
    }
  }
  return rows;
}

async function _open(
  alias: keyof typeof TEST_MODEL_FILES,
  label: string,
  libDir: string | undefined,
  threads: number,
  options: EngineBenchOptions,
): Promise<Subject> {
  const backend = createNativeBackend({ threads, library: libDir ? { libDir } : undefined });
  const model = await loadModel(testModelPath(alias), { backend });
  const contextSize = Math.max(options.promptTokens, options.decodeAfter) +
    options.decodeTokens + 16;
  const engine = model.createEngine({
    contextSize,
    batchSize: options.promptTokens,
    maxOutputs: 1,
  });
  const row: EngineBenchRow = {
    model: alias,
    library: label,
    threads,
    decodeMsPerToken: NaN,
    jsMsPerToken: NaN,
    prefillTokensPerSecond: NaN,
    decodeRunsMs: [],
    prefillRunsTps: [],
  };
  const subject: Subject = { model, engine, row, computeMs: 0, jsMinMs: Infinity };
  _countCompute(backend, subject);
  return subject;
}

/** Wraps the instance's `compute` to add its duration to `subject.computeMs`. */
function _countCompute(backend: Backend, subject: Subject): void {
  const compute = backend.compute.bind(backend);
  backend.compute = (graph) => {
    const started = performance.now();
    try {
      compute(graph);
    } finally {
      subject.computeMs += performance.now() - started;
    }
  };
}

function _measure(subjects: Subject[], options: EngineBenchOptions): void {
  const prompt = (s: Subject) => benchPrompt(options.promptTokens, s.model.hparams.nVocab, 1);
  // Warm-up: first touch of the mapped weights, pool start, JIT.
  for (const s of subjects) {
    _prefill(s.engine, prompt(s));
    _decode(s, options.decodeTokens, options.decodeAfter);
  }
  for (let rep = 0; rep < options.reps; rep++) {
    for (const s of subjects) {
      const ms = _prefill(s.engine, prompt(s));
      s.row.prefillRunsTps.push(options.promptTokens / (ms / 1000));
      const decodeMs = _decode(s, options.decodeTokens, options.decodeAfter);
      s.row.decodeRunsMs.push(decodeMs / options.decodeTokens);
    }
  }
  for (const s of subjects) {
    s.row.decodeMsPerToken = median(s.row.decodeRunsMs);
    s.row.jsMsPerToken = s.jsMinMs;
    s.row.prefillTokensPerSecond = median(s.row.prefillRunsTps);
  }
}

/** The prompt as one batch into an empty cache; returns ms. */
function _prefill(engine: Engine, tokens: readonly number[]): number {
  engine.kv.clear();
  const started = performance.now();
  engine.evalSync({ tokens, positions: tokens.map((_, i) => i) });
  return performance.now() - started;
}

/** `count` greedy tokens one by one after `after` cached tokens; returns ms. */
function _decode(subject: Subject, count: number, after: number): number {
  const engine = subject.engine;
  engine.kv.clear();
  if (after > 0) {
    const context = benchPrompt(after, engine.hp.nVocab, 1);
    engine.evalSync({ tokens: context, positions: context.map((_, i) => i) });
  }
  let token = 1;
  const started = performance.now();
  for (let i = after; i < after + count; i++) {
    subject.computeMs = 0;
    const stepStarted = performance.now();
    const logits = engine.evalSync({ tokens: [token], positions: [i] });
    const jsMs = performance.now() - stepStarted - subject.computeMs;
    subject.jsMinMs = Math.min(subject.jsMinMs, jsMs);
    token = argmax(logits);
  }
  return performance.now() - started;
}

/**
 * The rows as a markdown table.
 *
 * @param rows measured rows
 * @param promptTokens the prefill prompt length, for the header
 */
export function formatEngineBench(rows: readonly EngineBenchRow[], promptTokens: number): string {
  const lines = [
    `| model | library | threads | decode ms/tok | js ms/tok | prefill${promptTokens} tok/s |`,
    "|---|---|---|---|---|---|",
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.model} | ${r.library} | ${r.threads} | ${r.decodeMsPerToken.toFixed(2)} | ` +
        `${r.jsMsPerToken.toFixed(3)} | ${r.prefillTokensPerSecond.toFixed(0)} |`,
    );
  }
  return lines.join("\n");
}

function _parseLibraries(values: string[]): Map<string, string | undefined> {
  const libraries = new Map<string, string | undefined>();
  for (const value of values) {
    const at = value.indexOf("=");
    if (at <= 0) throw new TypeError(`Cannot use --lib "${value}": write <label>=<directory>`);
    libraries.set(value.slice(0, at), value.slice(at + 1));
  }
  if (libraries.size === 0) libraries.set("default", undefined);
  return libraries;
}

async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      models: { type: "string", default: Object.keys(TEST_MODEL_FILES).join(",") },
      threads: { type: "string", default: "1,2" },
      reps: { type: "string", default: "5" },
      prompt: { type: "string", default: "128" },
      decode: { type: "string", default: "32" },
      "decode-after": { type: "string", default: "0" },
      lib: { type: "string", multiple: true, default: [] },
      json: { type: "boolean", default: false },
    },
  });
  const models = values.models.split(",") as (keyof typeof TEST_MODEL_FILES)[];
  for (const model of models) {
    if (!(model in TEST_MODEL_FILES)) {
      throw new RangeError(
        `Cannot bench model "${model}": use ${Object.keys(TEST_MODEL_FILES).join(" or ")}`,
      );
    }
  }
  const options: EngineBenchOptions = {
    models,
    threads: values.threads.split(",").map(Number),
    reps: Number(values.reps),
    promptTokens: Number(values.prompt),
    decodeTokens: Number(values.decode),
    decodeAfter: Number(values["decode-after"]),
    libraries: _parseLibraries(values.lib),
  };
  const rows = await benchEngines(options);
  console.log(values.json ? JSON.stringify(rows) : formatEngineBench(rows, options.promptTokens));
}

if (import.meta.main) await main(Deno.args);
