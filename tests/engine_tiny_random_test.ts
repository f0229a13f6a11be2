/**
 * The engine on llama-2-tiny-random (F16 matrices, 1 layer, dim 8, Llama-2 vocab) against its
 * float64 goldens, on every registered backend: the top-20 first-step logits and the logits' L2
 * norm (relative). Its logits are near-tied (random weights), so argmax is not compared.
 * Measured: 2.1e-6 native, 1.7e-6 reference; the goldens carry 6 decimals (±5e-7), so 1e-5.
 */

import { ok } from "node:assert";
import "../backends/mod.ts";
import { listBackends } from "../core/backend.ts";
import { loadModel } from "../core/model.ts";
import { testdataPath } from "./testdata.ts";

interface TinyCase {
  readonly prompt_ids: number[];
  readonly first_step_logits_top20: [number, number][];
  readonly first_step_logits_l2: number;
}

const GOLDENS: { cases: TinyCase[] } = JSON.parse(
  await Deno.readTextFile(testdataPath("models/llama-2-tiny-random.goldens.json")),
);
const TOLERANCE = 1e-5;

for (const entry of listBackends()) {
  if (entry.available() !== true) continue;
  Deno.test(`engine on ${entry.name}: llama-2-tiny-random logits match the float64 goldens`, async () => {
    const model = await loadModel(testdataPath("models/llama-2-tiny-random.gguf"), {
      backend: entry.name,
      openBytes: async (path) => ({ path, bytes: await Deno.readFile(path) }),
    });
    try {
      let worst = 0;
      for (const golden of GOLDENS.cases) {
        const engine = model.createEngine({ contextSize: 16 });
        const prompt = golden.prompt_ids;
        const logits = engine.evalSync({ tokens: prompt, positions: prompt.map((_, i) => i) });
        for (const [id, value] of golden.first_step_logits_top20) worst = Math.max(worst, Math.abs(logits[id] - value));
        const l2 = Math.sqrt(logits.reduce((sum, v) => sum + v * v, 0));
        worst = Math.max(worst, Math.abs(l2 - golden.first_step_logits_l2) / golden.first_step_logits_l2);
        engine.dispose();
      }
      console.log(`largest difference from the goldens: ${worst.toExponential(3)}`);
      ok(worst < TOLERANCE, `logits differ by ${worst}`);
    } finally {
      model.dispose();
    }
  });
}
