/**
 * Which type each tensor gets, by llama.cpp's rules (`llama-quant.cpp` of the llama.cpp that
 * node-llama-cpp 3.22.1 ships), for the targets of quant_targets.ts:
 *
 * 1. Only matrices are quantized: tensors of 2+ dims whose name ends in `weight`, except norms
 *    (`*_norm.weight`), expert gates (`ffn_gate_inp`) and a few tiny families. The others keep
 *    their source type (1-D tensors and norms stay F32).
 * 2. The output head (`output.weight`, or `token_embd.weight` when embeddings are tied) gets
 *    Q6_K unless the target is Q8_0 (kept) — or Q8_0 when its rows do not fill whole blocks.
 * 3. `_M` mixes give more bits to some layers: `attn_v` and `ffn_down` of layers
 *    i < n/8, i ≥ 7n/8, and every third layer between ((i − n/8) mod 3 = 2) get Q6_K;
 *    `Q4_K_S` gives Q5_K to `attn_v` of the first 4 layers and `ffn_down` of the first n/8.
 *    Layers are counted in file order, per tensor family, as llama.cpp counts them.
 * 4. A type whose block does not divide the row length falls back: Q4_K → Q5_0,
 *    Q5_K → Q5_1, Q6_K → Q8_0, and to F16 when even that does not fit (Qwen2.5-0.5B's 896-wide
 *    rows take this path).
 *
 * `pure` skips steps 2–3, as `llama-quantize --pure` does.
 *
 * @module
 */

import { ggmlTypeTraits } from "../gguf/ggml_types.ts";
import { GgmlType } from "../gguf/types.ts";
import type { QuantTarget } from "./quant_targets.ts";

/** What the planner needs of a source tensor. */
export interface PlanTensor {
  readonly name: string;
  /** ggml order: dims[0] is the row length. */
  readonly dims: readonly number[];
  readonly type: GgmlType;
}

/** Options of {@linkcode planTensorTypes}. */
export interface PlanOptions {
  /** Layers of the model (`<arch>.block_count`): llama.cpp's `n_ffn_down`. */
  readonly nLayer: number;
  /** One type for every quantizable matrix, no mixture and no output bump. */
  readonly pure?: boolean;
}

type Category =
  | "output"
  | "token_embd"
  | "attn_v"
  | "attn_k"
  | "attn_q"
  | "attn_output"
  | "ffn_up"
  | "ffn_gate"
  | "ffn_down"
  | "other";

/** Name fragments llama.cpp never quantizes (besides norms), whatever the target. */
const NEVER_QUANTIZED = [
  "_norm.weight",
  "ffn_gate_inp.weight",
  "ffn_gate_tid2eid.weight",
  "altup",
  "laurel",
  "per_layer_model_proj",
  "ssm_conv1d",
  "shortconv.conv.weight",
  "attn_rel_b.weight",
  ".position_embd",
  ".patch_embd",
  ".rel_pos",
  "time_mix_",
];

/**
 * Whether llama.cpp would quantize a tensor at all (rule 1).
 *
 * @param name the GGUF tensor name
 * @param dims ggml order
 * @returns false for vectors, norms and the families llama.cpp keeps as they are
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { tensorAllowsQuantization } from "./mixture.ts";
 * strictEqual(tensorAllowsQuantization("blk.0.attn_q.weight", [2048, 2048]), true);
 * strictEqual(tensorAllowsQuantization("blk.0.attn_norm.weight", [2048]), false);
 * strictEqual(tensorAllowsQuantization("blk.0.attn_q.bias", [2048]), false);
 * ```
 */
export function tensorAllowsQuantization(name: string, dims: readonly number[]): boolean {
  const nDims = _trimmedDims(dims);
  if (nDims < 2 || !name.endsWith("weight")) return false;
  if (name === "position_embd.weight" || name === "token_types.weight") return false;
  return !NEVER_QUANTIZED.some((fragment) => name.includes(fragment));
}

/**
 * Plans the type of every tensor for a target, in file order.
 *
 * @param tensors the source tensors, in file order (the layer counters follow it)
 * @param target what to make
 * @param options the layer count, and `pure`
 * @returns one type per tensor
 *
 * @example Q4_K_M on a one-layer model with tied embeddings
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { planTensorTypes } from "./mixture.ts";
 * import { quantTarget } from "./quant_targets.ts";
 * const types = planTensorTypes([
 *   { name: "token_embd.weight", dims: [256, 1000], type: 0 },
 *   { name: "blk.0.attn_v.weight", dims: [256, 256], type: 0 },
 *   { name: "blk.0.attn_q.weight", dims: [256, 256], type: 0 },
 *   { name: "output_norm.weight", dims: [256], type: 0 },
 * ], quantTarget("Q4_K_M"), { nLayer: 1 });
 * deepStrictEqual(types, [14, 14, 12, 0]); // Q6_K, Q6_K, Q4_K, F32
 * ```
 */
export function planTensorTypes(
  tensors: readonly PlanTensor[],
  target: QuantTarget,
  options: PlanOptions,
): GgmlType[] {
  const state = _newState(tensors, options.nLayer);
  return tensors.map((tensor) => {
    if (!tensorAllowsQuantization(tensor.name, tensor.dims)) return tensor.type;
    if (!_isQuantized(target.defaultType)) return target.defaultType;
    const category = _category(tensor.name);
    const mixed = options.pure ? target.defaultType : _mixtureType(state, tensor, category, target);
    return _fallback(mixed, tensor.dims[0]);
  });
}

interface _State {
  tiedEmbeddings: boolean;
  nAttnV: number;
  nFfnDown: number;
  iAttnV: number;
  iFfnDown: number;
}

function _newState(tensors: readonly PlanTensor[], nLayer: number): _State {
  const categories = tensors.map((t) => _category(t.name));
  return {
    tiedEmbeddings: !categories.includes("output"),
    nAttnV: categories.filter((c) => c === "attn_v").length,
    nFfnDown: nLayer,
    iAttnV: 0,
    iFfnDown: 0,
  };
}

function _category(name: string): Category {
  if (name === "output.weight") return "output";
  if (name === "token_embd.weight" || name === "per_layer_token_embd.weight") return "token_embd";
  // attn_qkv and attn_kv_b count as attn_v in llama.cpp.
  if (name.includes("attn_qkv.weight") || name.includes("attn_kv_b.weight")) return "attn_v";
  for (const family of ["attn_v", "attn_k", "attn_q", "attn_output"] as const) {
    if (name.includes(`${family}.weight`)) return family;
  }
  for (const family of ["ffn_up", "ffn_gate", "ffn_down"] as const) {
    if (name.includes(family)) return family;
  }
  return "other";
}

/** llama.cpp's `use_more_bits`: the first and last eighth, and every third layer between. */
export function useMoreBits(layer: number, layerCount: number): boolean {
  const eighth = Math.trunc(layerCount / 8);
  return layer < eighth || layer >= Math.trunc((7 * layerCount) / 8) || (layer - eighth) % 3 === 2;
}

function _mixtureType(
  state: _State,
  tensor: PlanTensor,
  category: Category,
  target: QuantTarget,
): GgmlType {
  const type = target.defaultType;
  if (category === "output" || (state.tiedEmbeddings && category === "token_embd")) {
    return _outputType(type, tensor.dims[0]);
  }
  if (category === "attn_v") return _attnVType(state, target.name, type);
  if (category === "ffn_down") return _ffnDownType(state, target.name, type);
  return type;
}

function _outputType(type: GgmlType, rowLength: number): GgmlType {
  if (rowLength % ggmlTypeTraits(type)!.blockSize !== 0) return GgmlType.Q8_0;
  return type === GgmlType.Q8_0 ? type : GgmlType.Q6_K;
}

function _attnVType(state: _State, target: string, type: GgmlType): GgmlType {
  const layer = state.iAttnV++;
  if ((target === "Q4_K_M" || target === "Q5_K_M") && useMoreBits(layer, state.nAttnV)) {
    return GgmlType.Q6_K;
  }
  if (target === "Q4_K_S" && layer < 4) return GgmlType.Q5_K;
  return type;
}

function _ffnDownType(state: _State, target: string, type: GgmlType): GgmlType {
  const layer = state.iFfnDown++;
  const n = state.nFfnDown;
  if ((target === "Q4_K_M" || target === "Q5_K_M") && useMoreBits(layer, n)) return GgmlType.Q6_K;
  if (target === "Q4_K_S" && layer < Math.trunc(n / 8)) return GgmlType.Q5_K;
  return type;
}

const _FALLBACKS: ReadonlyMap<GgmlType, GgmlType> = new Map([
  [GgmlType.Q2_K, GgmlType.Q4_0],
  [GgmlType.Q3_K, GgmlType.Q4_0],
  [GgmlType.Q4_K, GgmlType.Q5_0],
  [GgmlType.Q5_K, GgmlType.Q5_1],
  [GgmlType.Q6_K, GgmlType.Q8_0],
]);

function _fallback(type: GgmlType, rowLength: number): GgmlType {
  const fits = (t: GgmlType) => rowLength % ggmlTypeTraits(t)!.blockSize === 0;
  if (fits(type)) return type;
  const smaller = _FALLBACKS.get(type) ?? type;
  return fits(smaller) ? smaller : GgmlType.F16;
}

function _isQuantized(type: GgmlType): boolean {
  return type !== GgmlType.F32 && type !== GgmlType.F16 && type !== GgmlType.BF16;
}

function _trimmedDims(dims: readonly number[]): number {
  let n = dims.length;
  while (n > 1 && dims[n - 1] === 1) n--;
  return n;
}
