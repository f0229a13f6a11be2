/**
 * Greedy decoding by llama.cpp (node-llama-cpp 3.22.1 in Node, tests/oracle/greedy.mjs) and by
 * zeno the same way (prefill the prompt in one batch, then one token per step), for the tests
 * that compare the two token for token.
 *
 * @module
 */

import { strictEqual } from "node:assert";
import { cpuFeatures } from "../backends/native/mod.ts";
import type { Model } from "../core/model.ts";
import { argmax } from "../core/sampling/greedy.ts";

/** llama.cpp's continuation of one prompt and its first step's top logits. */
export interface OracleResult {
  tokens: number[];
  top: [number, number][];
}

/** llama.cpp's greedy continuations of `prompts` (token ids) on the model at `modelPath`. */
export async function llamaCppGreedy(
  modelPath: string,
  prompts: number[][],
  steps: number,
  top: number,
): Promise<OracleResult[]> {
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
  await writer.write(new TextEncoder().encode(JSON.stringify({ prompts, steps, top })));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  const err = new TextDecoder().decode(stderr);
  strictEqual(code, 0, `llama.cpp oracle failed (run npm ci in tests/oracle): ${err}`);
  return JSON.parse(new TextDecoder().decode(stdout)).results;
}

/**
 * llama.cpp's top logits (id, logit; best first) after each batch of one sequence
 * (tests/oracle/logits.mjs: one thread, no flash attention).
 */
export async function llamaCppTopLogits(
  modelPath: string,
  batches: number[][],
  top: number,
): Promise<[number, number][][]> {
  const oracle = new URL("./oracle/logits.mjs", import.meta.url).pathname;
  const args = [oracle, "--model", modelPath, "--batches", JSON.stringify(batches)];
  const { code, stdout, stderr } = await new Deno.Command("node", {
    args: [...args, "--top", String(top)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(stderr);
  strictEqual(code, 0, `llama.cpp oracle failed (run npm ci in tests/oracle): ${err}`);
  return new TextDecoder().decode(stdout).trim().split("\n").map((line) => JSON.parse(line));
}

/** zeno's greedy continuation of `prompt` and its first step's logits. */
export function zenoGreedy(
  model: Model,
  prompt: number[],
  steps: number,
): { tokens: number[]; first: Float32Array } {
  const engine = model.createEngine({ contextSize: prompt.length + steps + 8 });
  let logits = engine.evalSync({ tokens: prompt, positions: prompt.map((_, i) => i) });
  const first = logits.slice();
  const tokens: number[] = [];
  while (tokens.length < steps) {
    tokens.push(argmax(logits));
    if (tokens.length < steps) {
      const position = prompt.length + tokens.length - 1;
      logits = engine.evalSync({ tokens: [tokens.at(-1)!], positions: [position] });
    }
  }
  engine.dispose();
  return { tokens, first };
}

/**
 * Whether node-llama-cpp runs its AVX-512 build here (it picks it on CPUs with AVX-512
 * F/BW/VL/VNNI/BF16), the build whose rounding zeno's native kernels follow step for step.
 */
export function llamaCppRoundsLikeZeno(): boolean {
  const features = cpuFeatures();
  return (["avx512f", "avx512bw", "avx512vl", "avx512vnni", "avx512bf16"] as const)
    .every((f) => features.includes(f));
}

/** Per prompt, how many greedy tokens agree before the first difference. */
export function agreedPrefix(ours: number[][], theirs: OracleResult[]): number[] {
  return ours.map((tokens, i) => {
    const at = tokens.findIndex((t, step) => t !== theirs[i].tokens[step]);
    return at === -1 ? tokens.length : at;
  });
}
