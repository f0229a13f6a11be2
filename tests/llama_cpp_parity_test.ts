/**
 * Agreement with llama.cpp (node-llama-cpp 3.22.1, CPU, same GGUF, same prompt tokens): for each
 * real model and 5 prompts (plain and chat), the first greedy token is identical and the first
 * step's top-5 logits agree within LOGIT_TOLERANCE. The test also prints, per prompt, how many
 * of 64 greedy tokens agree before the first divergence: today zeno's logits sit ~0.2–0.5 from
 * llama.cpp's on these quantized models (closer to a float64 forward pass than llama.cpp's
 * own), so near-ties flip after a few to a few dozen tokens. Full 64-token identity is the goal
 * (see the issue notes); the assertions below are what holds now.
 * llama.cpp runs in Node (tests/oracle/greedy.mjs); zeno runs on the best native backend.
 */

import { deepStrictEqual, ok, strictEqual } from "node:assert";
import "../backends/mod.ts";
import { loadModel, type Model } from "../core/model.ts";
import { TEST_MODEL_FILES, testModelPath } from "./testdata.ts";

const STEPS = 64;
const TOP = 5;
/** Largest |zeno − llama.cpp| allowed on the first step's top-5 logits (measured: 0.49). */
const LOGIT_TOLERANCE = 1.0;

const PLAIN_PROMPTS = [
  "The capital of France is",
  "Once upon a time, in a small village by the sea,",
  "def fibonacci(n):",
];
const CHAT_PROMPTS = [
  "What is the boiling point of water at sea level?",
  "Write a haiku about autumn leaves.",
];

interface OracleResult {
  tokens: number[];
  top: [number, number][];
}

async function llamaCpp(modelPath: string, prompts: number[][]): Promise<OracleResult[]> {
  const oracle = new URL("./oracle/greedy.mjs", import.meta.url).pathname;
  const child = new Deno.Command("node", {
    // One llama.cpp thread: its spinning pool collapses when the cores are shared (CI runs other
    // processes); results do not depend on the thread count.
    args: [oracle, "--model", modelPath, "--threads", "1"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify({ prompts, steps: STEPS, top: TOP })));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  const err = new TextDecoder().decode(stderr);
  strictEqual(code, 0, `llama.cpp oracle failed (run npm ci in tests/oracle): ${err}`);
  return JSON.parse(new TextDecoder().decode(stdout)).results;
}

function promptTokens(model: Model): number[][] {
  const session = model.createSession({ contextSize: 64 });
  const plain = PLAIN_PROMPTS.map((p) => model.tokenizer.encode(p, { addSpecial: true }));
  const chat = CHAT_PROMPTS.map((p) => session.promptTokens([{ role: "user", content: p }]));
  return [...plain, ...chat];
}

function argmax(logits: Float32Array): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

function zenoGreedy(model: Model, prompt: number[]): { tokens: number[]; first: Float32Array } {
  const engine = model.createEngine({ contextSize: prompt.length + STEPS + 8 });
  let logits = engine.evalSync({ tokens: prompt, positions: prompt.map((_, i) => i) });
  const first = logits.slice();
  const tokens: number[] = [];
  while (tokens.length < STEPS) {
    tokens.push(argmax(logits));
    if (tokens.length < STEPS) {
      logits = engine.evalSync({ tokens: [tokens.at(-1)!], positions: [prompt.length + tokens.length - 1] });
    }
  }
  engine.dispose();
  return { tokens, first };
}

for (const alias of Object.keys(TEST_MODEL_FILES) as (keyof typeof TEST_MODEL_FILES)[]) {
  Deno.test(`zeno agrees with llama.cpp on the first greedy token and top-${TOP} logits on ${alias}`, async () => {
    const path = testModelPath(alias);
    const model = await loadModel(path);
    try {
      ok(model.backend.device.name !== "reference", "parity needs a native backend: run `deno task build`");
      const prompts = promptTokens(model);
      const expected = await llamaCpp(path, prompts);
      let worst = 0;
      const agreed: number[] = [];
      prompts.forEach((prompt, i) => {
        const ours = zenoGreedy(model, prompt);
        const at = ours.tokens.findIndex((t, step) => t !== expected[i].tokens[step]);
        agreed.push(at === -1 ? STEPS : at);
        for (const [id, logit] of expected[i].top) worst = Math.max(worst, Math.abs(ours.first[id] - logit));
      });
      console.log(
        `${alias}: greedy tokens identical before the first divergence, per prompt: ${
          agreed.join(", ")
        } (of ${STEPS}); largest top-${TOP} logit difference ${worst.toFixed(4)}`,
      );
      deepStrictEqual(agreed.map((n) => n > 0), prompts.map(() => true), "first greedy token differs");
      ok(worst < LOGIT_TOLERANCE, `top-${TOP} logits differ by ${worst}`);
    } finally {
      model.dispose();
    }
  });
}
