/**
 * The engine end to end on stories260K (real trained weights, llama arch, GQA) against the
 * goldens in ../shared/testdata/models/stories260K.goldens.json: greedy tokens exactly and
 * first-step logits within 1e-2 of the stored float64 values, on every registered backend.
 */

import { deepStrictEqual, ok, strictEqual, throws } from "node:assert";
import "../backends/mod.ts";
import { listBackends } from "../core/backend.ts";
import { loadModel, type Model } from "../core/model.ts";
import { testdataPath } from "./testdata.ts";

interface GoldenCase {
  readonly desc: string;
  readonly prompt_ids: number[];
  readonly generated_ids: number[];
  readonly first_step_logits: number[];
}

const MODEL_PATH = testdataPath("models/stories260K.gguf");
const GOLDENS: { cases: GoldenCase[] } = JSON.parse(
  await Deno.readTextFile(testdataPath("models/stories260K.goldens.json")),
);
const LOGIT_TOLERANCE = 1e-2;

function greedy(logits: Float32Array): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

/** Greedy decoding with the engine directly: prompt ids in, generated ids and first logits out. */
function decode(model: Model, prompt: number[], steps: number): { ids: number[]; first: Float32Array } {
  const engine = model.createEngine({ contextSize: 256 });
  let logits = engine.evalSync({ tokens: prompt, positions: prompt.map((_, i) => i) });
  const first = logits.slice();
  const ids: number[] = [];
  for (let step = 0; step < steps; step++) {
    const id = greedy(logits);
    ids.push(id);
    if (step + 1 < steps) logits = engine.evalSync({ tokens: [id], positions: [prompt.length + step] });
  }
  return { ids, first };
}

for (const entry of listBackends()) {
  if (entry.available() !== true) continue;
  for (const golden of GOLDENS.cases) {
    Deno.test(`engine on ${entry.name}: stories260K ${golden.desc}`, async () => {
      const model = await loadModel(MODEL_PATH, {
        backend: entry.name,
        openBytes: async (path) => ({ path, bytes: await Deno.readFile(path) }),
      });
      try {
        const { ids, first } = decode(model, golden.prompt_ids, golden.generated_ids.length);
        deepStrictEqual(ids, golden.generated_ids);
        let maxDiff = 0;
        golden.first_step_logits.forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - first[i]))));
        console.log(`largest first-step logit difference: ${maxDiff.toExponential(3)}`);
        ok(maxDiff < LOGIT_TOLERANCE, `first-step logits differ by ${maxDiff}`);
      } finally {
        model.dispose();
      }
    });
  }
}

for (const entry of listBackends()) {
  if (entry.available() !== true) continue;
  Deno.test(`engine on ${entry.name}: eval into the caller's array writes the logits eval returns`, async () => {
    const model = await loadModel(MODEL_PATH, {
      backend: entry.name,
      openBytes: async (path) => ({ path, bytes: await Deno.readFile(path) }),
    });
    try {
      const golden = GOLDENS.cases[0];
      const prompt = golden.prompt_ids;
      const fresh = model.createEngine({ contextSize: 256 });
      const reused = model.createEngine({ contextSize: 256 });
      const vocab = model.hparams.nVocab;
      // One spare value: the result is a view of the array's first nVocab values.
      const out = new Float32Array(vocab + 1).fill(7);
      let token = -1;
      for (let step = 0; step < golden.generated_ids.length; step++) {
        const batch = step === 0
          ? { tokens: prompt, positions: prompt.map((_, i) => i) }
          : { tokens: [token], positions: [prompt.length + step - 1] };
        const expected = fresh.evalSync(batch);
        const got = step % 2 === 0 ? reused.evalSync(batch, out) : await reused.eval(batch, out);
        strictEqual(got.buffer, out.buffer);
        strictEqual(got.length, vocab);
        deepStrictEqual(got, expected);
        strictEqual(out[vocab], 7);
        token = greedy(got);
        strictEqual(token, golden.generated_ids[step]);
      }
      throws(
        () =>
          reused.evalSync(
            { tokens: [token], positions: [prompt.length + 1] },
            new Float32Array(vocab - 1),
          ),
        (error: Error) =>
          error instanceof RangeError &&
          error.message.includes(`Cannot write ${vocab} logits into an array of ${vocab - 1}`),
      );
    } finally {
      model.dispose();
    }
  });
}
