/**
 * llama.cpp loads what `zeno quantize` writes and decodes it as zeno does. A tiny synthetic
 * llama (2 layers, dim 256, a 1280-token Llama 3 BPE vocabulary, seeded random weights) is
 * written in F32 and quantized to each type; llama.cpp (node-llama-cpp 3.22.1, CPU, in Node:
 * tests/oracle/greedy_models.mjs) greedy-decodes three prompts on every file, and zeno, fed
 * llama.cpp's tokens (teacher forcing, one batch), must pick the same token at every step.
 *
 * Where llama.cpp runs its AVX-512 build (the one zeno's kernels follow rounding for
 * rounding), every type is held to identity: the same token at every step and the first
 * step's top-3 logits equal to the bit (Q4_0 through llama.cpp's repacked order, which it uses
 * for matrices with rows a multiple of 8). On other CPUs llama.cpp rounds otherwise: there,
 * random weights have no confident predictions, and a step whose two best logits lie closer
 * than the two engines' arithmetic differ (~0.3 on logits of ~55 here) may go either way.
 * Such a step passes when llama.cpp's token is within TIE_TOLERANCE of zeno's best, and at
 * most MAX_TIES of all steps may be such ties.
 */

import { deepStrictEqual, ok, strictEqual } from "node:assert";
import { join } from "node:path";
import "../backends/mod.ts";
import { ggmlTypeName } from "../core/gguf/ggml_types.ts";
import { readGgufFile } from "../core/gguf/reader.ts";
import { loadModel } from "../core/model.ts";
import { argmax } from "../core/sampling/greedy.ts";
import { quantTarget } from "../core/quantize/quant_targets.ts";
import { quantizeModel } from "../core/quantize/quantize_model.ts";
import { writeSynthModel } from "../core/synth/synth_model.ts";
import { synthSpec } from "../core/synth/synth_specs.ts";
import { llamaCppRoundsLikeZeno } from "./llama_cpp_greedy.ts";
import { testdataPath } from "./testdata.ts";

const STEPS = 24;
const PROMPTS = [[1024, 791, 864, 315, 522, 374], [1024, 12, 13, 14, 15, 16, 17], [
  1024,
  400,
  401,
  402,
]];
/** Largest gap between zeno's best logit and llama.cpp's token's logit that counts as a tie. */
const TIE_TOLERANCE = 0.75;
/** Most steps (of PROMPTS.length × STEPS) per file that may be ties. */
const MAX_TIES = 3;
/** Largest |zeno − llama.cpp| on the first step's top-3 logits (whose scale is ~55). */
const LOGIT_TOLERANCE = 0.75;

// type, general.file_type, types of [token_embd, blk.0.attn_v, blk.1.attn_v, blk.1.ffn_down]
const CASES: [string, number, string[]][] = [
  ["Q4_0", 2, ["Q6_K", "Q4_0", "Q4_0", "Q4_0"]],
  ["Q4_1", 3, ["Q6_K", "Q4_1", "Q4_1", "Q4_1"]],
  ["Q8_0", 7, ["Q8_0", "Q8_0", "Q8_0", "Q8_0"]],
  ["Q4_K_M", 15, ["Q6_K", "Q4_K", "Q6_K", "Q6_K"]],
  ["Q5_K_M", 17, ["Q6_K", "Q5_K", "Q6_K", "Q6_K"]],
  ["Q6_K", 18, ["Q6_K", "Q6_K", "Q6_K", "Q6_K"]],
];

interface OracleResult {
  tokens: number[];
  top: [number, number][];
}

const dir = Deno.makeTempDirSync({ prefix: "zeno-quantize-" });
const pathOf = (type: string) => join(dir, `tiny-${type}.gguf`);
let prepared: Promise<OracleResult[][]> | undefined;

/** Writes the F32 source and every quantized file, then runs llama.cpp on all of them once. */
function prepare(): Promise<OracleResult[][]> {
  prepared ??= (async () => {
    testdataPath("tokenizers/llama3.2/encoder.json");
    const source = join(dir, "tiny-F32.gguf");
    await writeSynthModel(source, synthSpec("tiny"), { target: quantTarget("F32"), seed: 7 });
    for (const [type] of CASES) {
      await quantizeModel(source, pathOf(type), { target: quantTarget(type) });
    }
    return await llamaCpp(CASES.map(([type]) => pathOf(type)));
  })();
  return prepared;
}

async function llamaCpp(paths: string[]): Promise<OracleResult[][]> {
  const oracle = new URL("./oracle/greedy_models.mjs", import.meta.url).pathname;
  const child = new Deno.Command("node", {
    // One thread: llama.cpp's spinning barriers crawl when the machine is oversubscribed.
    args: [oracle, "--threads", "1"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  })
    .spawn();
  const writer = child.stdin.getWriter();
  const request = {
    models: paths.map((path) => ({ path, prompts: PROMPTS })),
    steps: STEPS,
    top: 3,
  };
  await writer.write(new TextEncoder().encode(JSON.stringify(request)));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  strictEqual(
    code,
    0,
    `llama.cpp oracle failed (run npm ci in tests/oracle): ${new TextDecoder().decode(stderr)}`,
  );
  return JSON.parse(new TextDecoder().decode(stdout)).models.map((m: { results: OracleResult[] }) =>
    m.results
  );
}

/** zeno's logits after the prompt and after each of llama.cpp's tokens but the last: [STEPS][vocab]. */
async function zenoTeacherForced(
  path: string,
  prompt: number[],
  tokens: number[],
): Promise<Float32Array[]> {
  const model = await loadModel(path, { threads: 1 });
  try {
    const input = [...prompt, ...tokens.slice(0, -1)];
    const engine = model.createEngine({ contextSize: input.length + 8, maxOutputs: STEPS });
    const outputs = Array.from({ length: STEPS }, (_, i) => prompt.length - 1 + i);
    const logits = engine.evalSync({ tokens: input, positions: input.map((_, i) => i), outputs });
    const nVocab = model.hparams.nVocab;
    return outputs.map((_, i) => logits.subarray(i * nVocab, (i + 1) * nVocab));
  } finally {
    model.dispose();
  }
}

CASES.forEach(([type, fileType, expectedTypes], c) => {
  Deno.test(`quantizeModel() ${type}: llama.cpp decodes zeno's file to zeno's greedy tokens`, async () => {
    const oracle = (await prepare())[c];
    const gguf = await readGgufFile(pathOf(type));
    strictEqual(gguf.metadata.get("general.file_type"), fileType);
    strictEqual(gguf.metadata.get("general.quantization_version"), 2);
    const typeOf = (name: string) => ggmlTypeName(gguf.tensors.find((t) => t.name === name)!.type);
    const names = [
      "token_embd.weight",
      "blk.0.attn_v.weight",
      "blk.1.attn_v.weight",
      "blk.1.ffn_down.weight",
    ];
    deepStrictEqual(names.map(typeOf), expectedTypes);
    const exact = llamaCppRoundsLikeZeno();
    const ties: string[] = [];
    for (let p = 0; p < PROMPTS.length; p++) {
      const { tokens, top } = oracle[p];
      ok(new Set(tokens).size >= 6, `prompt ${p}: greedy decoding is degenerate: ${tokens}`);
      const steps = await zenoTeacherForced(pathOf(type), PROMPTS[p], tokens);
      for (const [id, logit] of top) {
        ok(
          Math.abs(steps[0][id] - logit) <= (exact ? 0 : LOGIT_TOLERANCE),
          `prompt ${p} token ${id}: zeno ${steps[0][id]}, llama.cpp ${logit}`,
        );
      }
      steps.forEach((logits, i) => {
        const best = argmax(logits);
        if (best === tokens[i]) return;
        const gap = logits[best] - logits[tokens[i]];
        ok(
          !exact && gap <= TIE_TOLERANCE,
          `prompt ${p} step ${i}: zeno picks ${best}, llama.cpp ${tokens[i]}, ${
            gap.toFixed(3)
          } apart`,
        );
        ties.push(`prompt ${p} step ${i} (${gap.toFixed(3)})`);
      });
    }
    ok(ties.length <= MAX_TIES, `${ties.length} ties: ${ties.join(", ")}`);
  });
});

Deno.test("quantize test files are removed", () => Deno.removeSync(dir, { recursive: true }));
