// llama.cpp's speed on one model, measured as zeno's bench measures zeno (bench/zeno_bench.ts):
//
//   echo '{"prompt": [...512 ids], "ttftPrompt": [...32 ids], "tg": 128, "reps": 3}' \
//     | node bench.mjs --model m.gguf --threads 2
//
// - pp: the prompt evaluated as one batch into an empty context (tokens/s);
// - tg: tg tokens decoded one at a time from an empty context, each the greedy pick of the
//   last (tokens/s), as llama-bench's tg does;
// - ttft: the short prompt evaluated and its first token picked (ms).
// Prints {"pp_tps": [...], "tg_tps": [...], "ttft_ms": [...], "rss_bytes": n, "load_ms": n,
// "cpu_build": name}, one value per repetition; rss_bytes is the process's peak resident set
// (VmHWM), cpu_build the ggml CPU build it ran (null where /proc/self/maps does not say).
import { readFileSync } from "node:fs";
import { argValue, loadLlama, readStdin } from "./llama.mjs";

const request = JSON.parse(await readStdin());
const threads = Number(argValue("--threads", "2"));
const llama = await loadLlama({ cpuBuild: "best" });
const loadStarted = performance.now();
const model = await llama.loadModel({ modelPath: argValue("--model") });
const batchSize = Math.max(request.prompt.length, request.ttftPrompt.length);
const context = await model.createContext({
  contextSize: Math.max(batchSize, request.tg) + 16,
  batchSize,
  threads,
  flashAttention: false,
});
const loadMs = performance.now() - loadStarted;
const sequence = context.getSequence();
const greedy = { token: true, options: { temperature: 0 } };

async function prefill() {
  await sequence.clearHistory();
  const started = performance.now();
  await sequence.evaluateWithoutGeneratingNewTokens(request.prompt);
  return request.prompt.length / ((performance.now() - started) / 1000);
}

async function decode() {
  await sequence.clearHistory();
  let token = request.prompt[0];
  const started = performance.now();
  for (let i = 0; i < request.tg; i++) {
    const [out] = await sequence.controlledEvaluate([[token, { generateNext: greedy }]]);
    token = out.next.token;
  }
  return request.tg / ((performance.now() - started) / 1000);
}

async function timeToFirstToken() {
  await sequence.clearHistory();
  const items = request.ttftPrompt.map((t, i) =>
    i === request.ttftPrompt.length - 1 ? [t, { generateNext: greedy }] : t
  );
  const started = performance.now();
  await sequence.controlledEvaluate(items);
  return performance.now() - started;
}

// The CPU build of ggml this process loaded (ggml picks one of node-llama-cpp's by the CPU's
// features; "sapphirerapids" multiplies quantized matrices on AMX tiles).
const build = /libggml-cpu-([\w-]+)\.so/.exec(readFileSync("/proc/self/maps", "utf8"));
const result = {
  pp_tps: [],
  tg_tps: [],
  ttft_ms: [],
  rss_bytes: 0,
  load_ms: loadMs,
  cpu_build: build ? build[1] : null,
};
await prefill(); // warm-up: first touch of the weights, thread start-up
for (let rep = 0; rep < request.reps; rep++) {
  result.pp_tps.push(await prefill());
  result.tg_tps.push(await decode());
  result.ttft_ms.push(await timeToFirstToken());
}
const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
result.rss_bytes = hwm ? Number(hwm[1]) * 1024 : process.resourceUsage().maxRSS * 1024;
await context.dispose();
await model.dispose();
process.stdout.write(JSON.stringify(result) + "\n");
