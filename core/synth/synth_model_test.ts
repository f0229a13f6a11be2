import { deepStrictEqual, ok, strictEqual } from "node:assert";
import { join } from "node:path";
import { ggmlTypeName } from "../gguf/ggml_types.ts";
import { getStringArray, getU32 } from "../gguf/accessors.ts";
import { readGgufFile } from "../gguf/reader.ts";
import { readHParams } from "../models/hparams.ts";
import { quantTarget } from "../quantize/quant_targets.ts";
import { fillUniform } from "./random_weights.ts";
import {
  llama3RopeFactors,
  synthFingerprint,
  synthMetadata,
  synthTensors,
  writeSynthModel,
} from "./synth_model.ts";
import { synthSpec } from "./synth_specs.ts";
import { testdataPath } from "../../tests/testdata.ts";

Deno.test("synthTensors() lays out Llama-3.2-1B's tensors with their shapes", () => {
  const tensors = synthTensors(synthSpec("llama-3.2-1b"));
  strictEqual(tensors.length, 1 + 16 * 9 + 1); // tied: no output.weight
  const dims = new Map(tensors.map((t) => [t.name, t.dims]));
  deepStrictEqual(
    [
      "token_embd",
      "blk.15.attn_q",
      "blk.15.attn_k",
      "blk.15.attn_v",
      "blk.15.attn_output",
      "blk.15.ffn_gate",
      "blk.15.ffn_down",
      "output_norm",
    ]
      .map((n) => dims.get(`${n}.weight`)),
    [[2048, 128256], [2048, 2048], [2048, 512], [2048, 512], [2048, 2048], [2048, 8192], [
      8192,
      2048,
    ], [2048]],
  );
  const params = tensors.reduce((sum, t) => sum + t.dims.reduce((a, b) => a * b, 1), 0);
  strictEqual(params, 1_235_814_400); // Llama 3.2 1B's parameter count
});

Deno.test("synthTensors() gives Qwen2.5-0.5B its Q/K/V biases", () => {
  const tensors = synthTensors(synthSpec("qwen2.5-0.5b"));
  const dims = new Map(tensors.map((t) => [t.name, t.dims]));
  deepStrictEqual(
    ["attn_q.bias", "attn_k.bias", "attn_v.bias", "attn_k.weight", "ffn_down.weight"].map((n) =>
      dims.get(`blk.23.${n}`)
    ),
    [[896], [128], [128], [896, 128], [4864, 896]],
  );
  const params = tensors.reduce((sum, t) => sum + t.dims.reduce((a, b) => a * b, 1), 0);
  strictEqual(params, 494_032_768); // Qwen2.5-0.5B's parameter count
});

Deno.test("synthMetadata() reads back as the spec's hyper-parameters", () => {
  const kvs = synthMetadata(synthSpec("llama-3.2-1b"), 3);
  const metadata = new Map(kvs.map((kv) => [kv.key, kv.value]));
  const hp = readHParams(metadata, "synthetic");
  deepStrictEqual(
    [
      hp.arch,
      hp.nEmbd,
      hp.nLayer,
      hp.nHead,
      hp.nKvHead,
      hp.headDim,
      hp.nFf,
      hp.nVocab,
      hp.ropeFreqBase,
      hp.nCtxTrain,
    ],
    ["llama", 2048, 16, 32, 8, 64, 8192, 128256, 500000, 131072],
  );
  const qwen = readHParams(
    new Map(synthMetadata(synthSpec("qwen2.5-0.5b"), 3).map((kv) => [kv.key, kv.value])),
    "q",
  );
  deepStrictEqual([qwen.arch, qwen.nHead, qwen.nKvHead, qwen.headDim, qwen.normEps], [
    "qwen2",
    14,
    2,
    64,
    1e-6,
  ]);
});

Deno.test("fillUniform() is seeded: same state, same values; std matches the half width", () => {
  const a = new Float32Array(100_000);
  const b = new Float32Array(100_000);
  strictEqual(fillUniform(a, 99, 1, 0), fillUniform(b, 99, 1, 0));
  deepStrictEqual(a, b);
  const variance = a.reduce((s, v) => s + v * v, 0) / a.length;
  strictEqual(Math.abs(variance - 1 / 3) < 0.005, true, `variance ${variance}`);
});

Deno.test("writeSynthModel() writes tiny with a 1280-token Llama 3 vocabulary in Q8_0", async () => {
  testdataPath("tokenizers/llama3.2/encoder.json");
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "tiny.gguf");
    await writeSynthModel(path, synthSpec("tiny"), { target: quantTarget("Q8_0"), seed: 5 });
    const gguf = await readGgufFile(path);
    const tokens = getStringArray(gguf, "tokenizer.ggml.tokens");
    deepStrictEqual([tokens.length, tokens[0], tokens[256], tokens[1024], tokens[1033]], [
      1280,
      "!",
      "ĠĠ",
      "<|begin_of_text|>",
      "<|eot_id|>",
    ]);
    deepStrictEqual([
      getU32(gguf, "general.file_type"),
      getU32(gguf, "tokenizer.ggml.bos_token_id"),
    ], [7, 1024]);
    deepStrictEqual(
      gguf.tensors.slice(0, 3).map((t) => `${t.name} ${ggmlTypeName(t.type)} [${t.dims}]`),
      [
        "token_embd.weight Q8_0 [256,1280]",
        "blk.0.attn_norm.weight F32 [256]",
        "blk.0.ffn_down.weight Q8_0 [512,256]",
      ],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("llama3RopeFactors() keeps high frequencies, divides low ones by the factor, blends between", () => {
  const scaling = synthSpec("llama-3.2-1b").ropeScaling!;
  // tiny's shape (base 10000, head_dim 64): pair i's wavelength is 2π·10000^(i/32).
  const factors = [...llama3RopeFactors(scaling, 10000, 64)];
  strictEqual(factors.length, 32);
  // Wavelength below 8192/4 = 2048 (pairs 0..20): 1; above 8192 (pairs 25..31): 32.
  deepStrictEqual(factors.slice(0, 21), new Array(21).fill(1));
  deepStrictEqual(factors.slice(25), new Array(7).fill(32));
  // Pair 21: wavelength 2π·10000^(21/32) = 2649.7, smooth (8192/2649.7 − 1)/3 = 0.69724,
  // factor 1/((1 − smooth)/32 + smooth) = 1.41503.
  ok(Math.abs(factors[21] - 1.41503) < 1e-4, `pair 21: ${factors[21]}`);
  ok(factors[21] < factors[22] && factors[22] < factors[23] && factors[23] < factors[24]);
  ok(factors[24] < 32);
});

Deno.test("writeSynthModel() writes Llama 3's rope_freqs first, in F32, for tiny-llama3", async () => {
  testdataPath("tokenizers/llama3.2/encoder.json");
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "tiny-llama3.gguf");
    await writeSynthModel(path, synthSpec("tiny-llama3"), { target: quantTarget("Q8_0"), seed: 5 });
    const gguf = await readGgufFile(path);
    const first = gguf.tensors[0];
    strictEqual(
      `${first.name} ${ggmlTypeName(first.type)} [${first.dims}]`,
      "rope_freqs.weight F32 [32]",
    );
    ok(!gguf.tensors.slice(1).some((t) => t.name === "rope_freqs.weight"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("synthFingerprint() changes with the spec, the type and the seed, and only with them", async () => {
  const llama = synthSpec("llama-3.2-1b");
  const base = await synthFingerprint(llama, "Q4_0", 1);
  ok(/^[0-9a-f]{8}$/.test(base), base);
  strictEqual(await synthFingerprint(synthSpec("llama-3.2-1b"), "Q4_0", 1), base);
  const others = [
    await synthFingerprint(llama, "Q8_0", 1),
    await synthFingerprint(llama, "Q4_0", 2),
    await synthFingerprint(synthSpec("qwen2.5-0.5b"), "Q4_0", 1),
    await synthFingerprint({ ...llama, ropeScaling: undefined }, "Q4_0", 1),
  ];
  strictEqual(new Set([base, ...others]).size, 5);
});
