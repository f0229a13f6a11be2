import { deepStrictEqual, strictEqual, throws } from "node:assert";
import { ggmlTypeName } from "../gguf/ggml_types.ts";
import { GgmlType } from "../gguf/types.ts";
import {
  type PlanTensor,
  planTensorTypes,
  tensorAllowsQuantization,
  useMoreBits,
} from "./mixture.ts";
import { quantTarget } from "./quant_targets.ts";

/** A llama-family tensor list in convert_hf_to_gguf's order, all F32. */
function llamaTensors(
  opts: {
    dim: number;
    ff: number;
    kv: number;
    layers: number;
    vocab: number;
    tied: boolean;
    bias?: boolean;
  },
): PlanTensor[] {
  const t = (name: string, dims: number[]): PlanTensor => ({ name, dims, type: GgmlType.F32 });
  const list = [t("token_embd.weight", [opts.dim, opts.vocab])];
  for (let i = 0; i < opts.layers; i++) {
    const p = `blk.${i}`;
    list.push(t(`${p}.attn_norm.weight`, [opts.dim]));
    list.push(t(`${p}.ffn_down.weight`, [opts.ff, opts.dim]));
    list.push(t(`${p}.ffn_gate.weight`, [opts.dim, opts.ff]));
    list.push(t(`${p}.ffn_up.weight`, [opts.dim, opts.ff]));
    list.push(t(`${p}.ffn_norm.weight`, [opts.dim]));
    list.push(t(`${p}.attn_k.weight`, [opts.dim, opts.kv]));
    if (opts.bias) list.push(t(`${p}.attn_k.bias`, [opts.kv]));
    list.push(t(`${p}.attn_output.weight`, [opts.dim, opts.dim]));
    list.push(t(`${p}.attn_q.weight`, [opts.dim, opts.dim]));
    if (opts.bias) list.push(t(`${p}.attn_q.bias`, [opts.dim]));
    list.push(t(`${p}.attn_v.weight`, [opts.dim, opts.kv]));
    if (opts.bias) list.push(t(`${p}.attn_v.bias`, [opts.kv]));
  }
  list.push(t("output_norm.weight", [opts.dim]));
  if (!opts.tied) list.push(t("output.weight", [opts.dim, opts.vocab]));
  return list;
}

function planByName(
  tensors: PlanTensor[],
  target: string,
  nLayer: number,
  pure = false,
): Map<string, string> {
  const types = planTensorTypes(tensors, quantTarget(target), { nLayer, pure });
  return new Map(tensors.map((t, i) => [t.name, ggmlTypeName(types[i])]));
}

const LLAMA_1B = { dim: 2048, ff: 8192, kv: 512, layers: 16, vocab: 128256, tied: true };
const QWEN_05B = { dim: 896, ff: 4864, kv: 128, layers: 24, vocab: 151936, tied: true, bias: true };

Deno.test("useMoreBits() picks llama.cpp's layers for 16 and 24 layers", () => {
  const picked = (n: number) =>
    Array.from({ length: n }, (_, i) => i).filter((i) => useMoreBits(i, n));
  deepStrictEqual(picked(16), [0, 1, 4, 7, 10, 13, 14, 15]);
  deepStrictEqual(picked(24), [0, 1, 2, 5, 8, 11, 14, 17, 20, 21, 22, 23]);
  deepStrictEqual(picked(2), [1]);
});

Deno.test("planTensorTypes() gives Llama-3.2-1B shapes llama.cpp's Q4_K_M mixture", () => {
  const plan = planByName(llamaTensors(LLAMA_1B), "Q4_K_M", 16);
  strictEqual(plan.get("token_embd.weight"), "Q6_K"); // tied: the output head's rule
  strictEqual(plan.get("output_norm.weight"), "F32");
  const bumped = [0, 1, 4, 7, 10, 13, 14, 15];
  for (let i = 0; i < 16; i++) {
    const wide = bumped.includes(i) ? "Q6_K" : "Q4_K";
    deepStrictEqual(
      [
        "attn_q",
        "attn_k",
        "attn_v",
        "attn_output",
        "ffn_gate",
        "ffn_up",
        "ffn_down",
        "attn_norm",
        "ffn_norm",
      ]
        .map((n) => plan.get(`blk.${i}.${n}.weight`)),
      ["Q4_K", "Q4_K", wide, "Q4_K", "Q4_K", "Q4_K", wide, "F32", "F32"],
      `layer ${i}`,
    );
  }
});

Deno.test("planTensorTypes() falls back for Qwen2.5-0.5B's 896-wide rows in Q4_K_M", () => {
  const plan = planByName(llamaTensors(QWEN_05B), "Q4_K_M", 24);
  strictEqual(plan.get("token_embd.weight"), "Q8_0"); // 896 % 256 != 0
  strictEqual(plan.get("blk.0.attn_q.bias"), "F32");
  deepStrictEqual(
    ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"].map((n) =>
      plan.get(`blk.0.${n}.weight`)
    ),
    ["Q5_0", "Q5_0", "Q8_0", "Q5_0", "Q5_0", "Q5_0", "Q6_K"], // ffn_down rows are 4864 = 19·256
  );
  deepStrictEqual(
    ["attn_v", "ffn_down"].map((n) => plan.get(`blk.3.${n}.weight`)),
    ["Q5_0", "Q4_K"],
  );
});

Deno.test("planTensorTypes() bumps an untied output head and keeps token_embd at the default", () => {
  const tensors = llamaTensors({ ...LLAMA_1B, layers: 2, tied: false });
  deepStrictEqual(
    ["Q4_0", "Q4_1", "Q8_0", "Q4_K_M", "Q4_K_S", "Q5_K_M", "Q6_K", "F16"].map((target) => {
      const plan = planByName(tensors, target, 2);
      return [
        plan.get("token_embd.weight"),
        plan.get("output.weight"),
        plan.get("blk.0.attn_v.weight"),
        plan.get("blk.1.ffn_down.weight"),
      ];
    }),
    [
      ["Q4_0", "Q6_K", "Q4_0", "Q4_0"],
      ["Q4_1", "Q6_K", "Q4_1", "Q4_1"],
      ["Q8_0", "Q8_0", "Q8_0", "Q8_0"],
      ["Q4_K", "Q6_K", "Q4_K", "Q6_K"],
      ["Q4_K", "Q6_K", "Q5_K", "Q4_K"],
      ["Q5_K", "Q6_K", "Q5_K", "Q6_K"],
      ["Q6_K", "Q6_K", "Q6_K", "Q6_K"],
      ["F16", "F16", "F16", "F16"],
    ],
  );
});

Deno.test("planTensorTypes() with pure puts every matrix in the default type", () => {
  const plan = planByName(llamaTensors({ ...LLAMA_1B, layers: 2 }), "Q4_K_M", 2, true);
  strictEqual(plan.get("token_embd.weight"), "Q4_K");
  strictEqual(plan.get("blk.1.attn_v.weight"), "Q4_K");
  strictEqual(plan.get("blk.1.ffn_norm.weight"), "F32");
});

Deno.test("planTensorTypes() falls back to F16 when no block fits the row", () => {
  const types = planTensorTypes(
    [{ name: "blk.0.attn_q.weight", dims: [96, 96], type: GgmlType.F32 }],
    quantTarget("Q4_K_M"),
    { nLayer: 1 },
  );
  deepStrictEqual(types, [GgmlType.Q5_0]);
  const odd = planTensorTypes(
    [{ name: "blk.0.attn_q.weight", dims: [40, 40], type: GgmlType.F32 }],
    quantTarget("Q4_0"),
    { nLayer: 1 },
  );
  deepStrictEqual(odd, [GgmlType.F16]);
});

Deno.test("tensorAllowsQuantization() keeps vectors, norms and expert gates", () => {
  deepStrictEqual(
    [
      ["blk.0.ffn_gate_inp.weight", [2048, 8]],
      ["blk.0.attn_q_norm.weight", [64]],
      ["blk.0.attn_k.weight", [2048, 512, 1]],
      ["blk.0.attn_k.weight", [2048, 1]],
      ["rope_freqs.weight", [32]],
    ].map(([name, dims]) => tensorAllowsQuantization(name as string, dims as number[])),
    [false, false, true, false, false],
  );
});

Deno.test("quantTarget() resolves aliases and rejects unknown names", () => {
  deepStrictEqual([quantTarget("Q5_K").name, quantTarget("Q5_K").fileType], ["Q5_K_M", 17]);
  throws(() => quantTarget("Q3_K_M"), /Cannot quantize to "Q3_K_M": the type is not supported/);
});
