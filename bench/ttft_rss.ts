/**
 * Time to first token and peak memory of a fresh process that loads one model and answers one
 * short prompt, the issue's target for SmolLM2-135M-Instruct Q4_1: TTFT of a ~32-token prompt
 * ≤ 100 ms at ≤ 150 MB peak RSS.
 *
 *   deno run -A bench/ttft_rss.ts [-m model.gguf] [--runs 3] [--ctx N] [--threads N] [--json]
 *
 * Each run is its own `deno run` subprocess with the flags of the `zeno` task in deno.json
 * (its V8 heap flags), so VmHWM is that process's own peak and nothing
 * of the parent (or of an earlier run) is counted. A run loads the model as `zeno run` does
 * (map, parse, tokenizer, chat template, backend, engine with the default or given context),
 * tokenizes the prompt, evaluates it and picks the first token. It records, after each phase,
 * VmRSS / VmHWM / RssAnon / RssFile from /proc/self/status and V8's heap and external bytes.
 * The phase runs force a GC before each sample (`--expose-gc`), so their heap figures are live
 * bytes; the user runs do not, so their peak is what a user's process reaches.
 *
 * Two kinds of run alternate: `user` calls `loadModel` and `createEngine` (the headline
 * peak), `phases` calls the same steps `loadModel` takes one at a time (the split; its peak
 * should match the user run's). Large matrices are repacked inside `createEngine` (the graph
 * is built there). TTFT is tokenize + eval + pick: `cold` is the process's first eval (graph
 * build, thread start), `warm` the median of later evals of the same prompt into an empty
 * cache. Both depend on other load on the machine: compare runs made side by side.
 *
 * @module
 */

// The only static import: what a user's script imports. The bench's own helpers are loaded
// in the parent process alone, so a run's memory is the user's.
import {
  acquireNativeLibrary,
  createChatTemplate,
  createTokenizer,
  Engine,
  listBackends,
  loadModel,
  mapFile,
  parseGguf,
  type Tokenizer,
} from "../mod.ts";
import { ModelWeights, readHParams } from "../core/models/mod.ts";

/** A prompt of 32 tokens with SmolLM2's vocabulary. */
export const TTFT_PROMPT =
  "Explain in two short sentences why the sky looks blue during the day and red at sunset, " +
  "and what a rainbow tells us about the many colors hidden in sunlight.";

/** Memory of the process at one point, in bytes. */
export interface MemorySample {
  readonly phase: string;
  readonly rssBytes: number;
  readonly hwmBytes: number;
  readonly anonBytes: number;
  readonly fileBytes: number;
  readonly heapTotalBytes: number;
  readonly heapUsedBytes: number;
  readonly externalBytes: number;
}

/** What one subprocess measured. */
export interface TtftRssRun {
  readonly mode: "phases" | "user";
  readonly promptTokens: number;
  readonly firstToken: number;
  readonly ttftColdMs: number;
  readonly ttftWarmMs: number;
  readonly repackedBytes: number;
  readonly samples: readonly MemorySample[];
}

const _STATUS_FIELDS = ["VmRSS", "VmHWM", "RssAnon", "RssFile"] as const;

/** Reads this process's memory figures (Linux /proc/self/status; zeros elsewhere). */
export function sampleMemory(phase: string): MemorySample {
  (globalThis as { gc?: () => void }).gc?.();
  const kib: Record<string, number> = {};
  try {
    const status = Deno.readTextFileSync("/proc/self/status");
    for (const field of _STATUS_FIELDS) {
      const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(status);
      kib[field] = match === null ? 0 : Number(match[1]);
    }
  } catch {
    // Not Linux: the V8 figures below still say something.
  }
  const usage = Deno.memoryUsage();
  return {
    phase,
    rssBytes: (kib.VmRSS ?? 0) * 1024,
    hwmBytes: (kib.VmHWM ?? 0) * 1024,
    anonBytes: (kib.RssAnon ?? 0) * 1024,
    fileBytes: (kib.RssFile ?? 0) * 1024,
    heapTotalBytes: usage.heapTotal,
    heapUsedBytes: usage.heapUsed,
    externalBytes: usage.external,
  };
}

interface ChildOptions {
  readonly path: string;
  readonly contextSize?: number;
  readonly threads?: number;
}

/** Tokenize, evaluate into an empty cache, pick the greedy token; returns [ms, token]. */
function _firstToken(tokenizer: Tokenizer, engine: Engine): [number, number, number] {
  engine.kv.clear();
  const started = performance.now();
  const tokens = tokenizer.encode(TTFT_PROMPT);
  const logits = engine.evalSync({ tokens, positions: tokens.map((_, i) => i) });
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return [performance.now() - started, best, tokens.length];
}

function _median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function _warmTtftMs(tokenizer: Tokenizer, engine: Engine, reps: number): number {
  const times: number[] = [];
  for (let rep = 0; rep < reps; rep++) times.push(_firstToken(tokenizer, engine)[0]);
  return _median(times);
}

/** The steps of `loadModel`, one at a time, with a memory sample after each. */
async function _runPhases(options: ChildOptions): Promise<TtftRssRun> {
  const samples = [sampleMemory("runtime start")];
  await acquireNativeLibrary();
  const bytes = mapFile(options.path);
  samples.push(sampleMemory("native library + map"));
  const gguf = parseGguf(bytes.bytes, { name: options.path });
  const hparams = readHParams(gguf.metadata, options.path);
  samples.push(sampleMemory("GGUF parse"));
  const tokenizer = createTokenizer(gguf.metadata);
  samples.push(sampleMemory("tokenizer build"));
  createChatTemplate(gguf.metadata);
  samples.push(sampleMemory("chat template"));
  const entry = listBackends().find((e) => e.available() === true)!;
  const backend = entry.create({ threads: options.threads });
  const weights = new ModelWeights(gguf, backend.wrapModel(bytes), options.path, {
    backend,
    bytes,
  });
  samples.push(sampleMemory("backend"));
  const engine = new Engine(backend, hparams, weights, { contextSize: options.contextSize });
  samples.push(sampleMemory("engine create (repacks weights)"));
  const [ttftColdMs, firstToken, promptTokens] = _firstToken(tokenizer, engine);
  samples.push(sampleMemory("first eval"));
  const ttftWarmMs = _warmTtftMs(tokenizer, engine, 5);
  samples.push(sampleMemory("warm evals"));
  const repackedBytes = weights.repackedBytes;
  engine.dispose();
  backend.dispose();
  bytes.close();
  return {
    mode: "phases",
    promptTokens,
    firstToken,
    ttftColdMs,
    ttftWarmMs,
    repackedBytes,
    samples,
  };
}

/** What a user does: `loadModel`, `createEngine`, one prompt. */
async function _runUser(options: ChildOptions): Promise<TtftRssRun> {
  const samples = [sampleMemory("runtime start")];
  const model = await loadModel(options.path, { threads: options.threads });
  samples.push(sampleMemory("loadModel"));
  const engine = model.createEngine({ contextSize: options.contextSize });
  samples.push(sampleMemory("createEngine"));
  const [ttftColdMs, firstToken, promptTokens] = _firstToken(model.tokenizer, engine);
  samples.push(sampleMemory("first eval"));
  const ttftWarmMs = _warmTtftMs(model.tokenizer, engine, 5);
  samples.push(sampleMemory("warm evals"));
  const repackedBytes = model.weights.repackedBytes;
  model.dispose();
  return {
    mode: "user",
    promptTokens,
    firstToken,
    ttftColdMs,
    ttftWarmMs,
    repackedBytes,
    samples,
  };
}

async function _spawnRun(mode: string, forwarded: string[]): Promise<TtftRssRun> {
  // Loaded here, in the parent: a run's static imports are what a user's script imports.
  const { zenoTaskRunFlags } = await import("./zeno_task_flags.ts");
  // Only the phase split forces GCs (live bytes per phase); the user run keeps V8's own pace.
  const gcFlags = mode === "phases" ? ["--v8-flags=--expose-gc"] : [];
  const flags = [...(await zenoTaskRunFlags()), ...gcFlags];
  const args = ["run", ...flags, import.meta.filename!, "--child", mode];
  const output = await new Deno.Command(Deno.execPath(), {
    args: [...args, ...forwarded],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!output.success) throw new Error(`ttft_rss: the ${mode} run exited with ${output.code}`);
  return JSON.parse(new TextDecoder().decode(output.stdout).trim().split("\n").at(-1)!);
}

function _mb(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}

/** A markdown table of one run's samples. */
export function formatSamples(run: TtftRssRun): string {
  const lines = [
    "| phase | VmRSS MB | VmHWM MB | anon MB | file MB | heapTotal MB | heapUsed MB | external MB |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const s of run.samples) {
    const cells = [s.rssBytes, s.hwmBytes, s.anonBytes, s.fileBytes, s.heapTotalBytes];
    cells.push(s.heapUsedBytes);
    lines.push(`| ${s.phase} | ${[...cells, s.externalBytes].map(_mb).join(" | ")} |`);
  }
  return lines.join("\n");
}

function _summary(runs: readonly TtftRssRun[]): string {
  const hwm = runs.map((r) => r.samples.at(-1)!.hwmBytes);
  const cold = runs.map((r) => r.ttftColdMs);
  const warm = runs.map((r) => r.ttftWarmMs);
  const first = runs[0];
  return `${first.mode}: ${first.promptTokens} prompt tokens, first token ${first.firstToken}, ` +
    `repacked ${_mb(first.repackedBytes)} MB; peak RSS (VmHWM) median ${_mb(_median(hwm))} MB ` +
    `[${hwm.map(_mb).join(", ")}]; TTFT cold median ${_median(cold).toFixed(1)} ms ` +
    `[${cold.map((v) => v.toFixed(1)).join(", ")}], warm ${_median(warm).toFixed(1)} ms`;
}

async function _main(): Promise<void> {
  const { parseArgs } = await import("node:util");
  const { testModelPath } = await import("../tests/testdata.ts");
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      model: { type: "string", short: "m" },
      runs: { type: "string", default: "3" },
      ctx: { type: "string" },
      threads: { type: "string", short: "t" },
      json: { type: "boolean", default: false },
    },
  });
  const forwarded = ["-m", values.model ?? testModelPath("smollm2-135m-instruct")];
  if (values.ctx !== undefined) forwarded.push("--ctx", values.ctx);
  if (values.threads !== undefined) forwarded.push("--threads", values.threads);
  const results: Record<string, TtftRssRun[]> = { user: [], phases: [] };
  for (let i = 0; i < Number(values.runs); i++) {
    for (const mode of ["user", "phases"]) results[mode].push(await _spawnRun(mode, forwarded));
  }
  if (values.json) {
    console.log(JSON.stringify(results));
    return;
  }
  for (const mode of ["user", "phases"]) {
    console.log(`${_summary(results[mode])}\n\n${formatSamples(results[mode][0])}\n`);
  }
}

/** A child run: `--child user|phases -m path [--ctx N] [--threads N]`, one JSON line out. */
async function _child(args: readonly string[]): Promise<void> {
  const value = (flag: string) => {
    const index = args.indexOf(flag);
    return index < 0 ? undefined : args[index + 1];
  };
  const number = (flag: string) => value(flag) === undefined ? undefined : Number(value(flag));
  const options = {
    path: value("-m")!,
    contextSize: number("--ctx"),
    threads: number("--threads"),
  };
  const run = value("--child") === "user" ? await _runUser(options) : await _runPhases(options);
  console.log(JSON.stringify(run));
}

if (import.meta.main) {
  if (Deno.args.includes("--child")) await _child(Deno.args);
  else await _main();
}
