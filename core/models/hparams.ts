/**
 * Hyper-parameters of a decoder, read from GGUF metadata (`<arch>.*` keys) with llama.cpp's
 * defaults where a key is absent (stories260K has no `rope.freq_base`: 10000).
 *
 * @module
 */

import { ModelError } from "../errors.ts";
import { GgufStringArray } from "../gguf/string_array.ts";
import type { GgufValue } from "../gguf/types.ts";
import { ROPE_MODE_NEOX, ROPE_MODE_NORMAL } from "../graph.ts";

/** Architectures zeno can build a graph for. */
export const SUPPORTED_ARCHITECTURES = ["llama", "qwen2", "gemma3"] as const;
/** One of `SUPPORTED_ARCHITECTURES`. */
export type Architecture = typeof SUPPORTED_ARCHITECTURES[number];

/** Everything a graph builder needs to know about the model's shapes and numerics. */
export interface HParams {
  /** The architecture (`general.architecture`). */
  readonly arch: Architecture;
  /** Tokens in the vocabulary. */
  readonly nVocab: number;
  /** Residual width (dim). */
  readonly nEmbd: number;
  /** Transformer blocks. */
  readonly nLayer: number;
  /** Query heads. */
  readonly nHead: number;
  /** Key/value heads (fewer than `nHead` with grouped-query attention). */
  readonly nKvHead: number;
  /** Per-head width of queries and keys. */
  readonly headDim: number;
  /** Per-head width of values. */
  readonly headDimV: number;
  /** Hidden width of the feed-forward block. */
  readonly nFf: number;
  /** Context length the model was trained with. */
  readonly nCtxTrain: number;
  /** Epsilon of the RMS norms. */
  readonly normEps: number;
  /** RoPE mode: 0 normal (adjacent pairs), 2 NeoX (halves). */
  readonly ropeMode: number;
  /** Rotated dims per head. */
  readonly ropeDims: number;
  /** RoPE frequency base. */
  readonly ropeFreqBase: number;
  /** RoPE position scale (1 = none). */
  readonly ropeFreqScale: number;
  /** RoPE base of sliding-window layers (Gemma 3: 10000, global layers use `ropeFreqBase`). */
  readonly ropeFreqBaseSwa: number;
  /**
   * RoPE frequency scale of sliding-window layers (Gemma 3: 1; a file's linear scaling is for
   * its global layers, as llama.cpp applies it).
   */
  readonly ropeFreqScaleSwa: number;
  /** Sliding-window size in tokens; 0 when every layer is global. */
  readonly slidingWindow: number;
  /** Every `slidingPattern`-th layer is global (Gemma 3: 6); 0 = no sliding layers. */
  readonly slidingPattern: number;
  /** Multiplier of the token embeddings (Gemma: √nEmbd). */
  readonly embeddingScale: number;
  /** Multiplier of queries before attention (1/√headDim unless the family says otherwise). */
  readonly attentionScale: number;
  /** tanh soft-cap of attention scores and of final logits; 0 = none. */
  readonly attnSoftcap: number;
  /** tanh soft-cap of the final logits; 0 = none. */
  readonly finalSoftcap: number;
}

type Metadata = ReadonlyMap<string, GgufValue>;

/** RoPE scalings computed here: none, or positions divided by `rope.scaling.factor`. */
const SUPPORTED_ROPE_SCALINGS = ["none", "linear"];

/**
 * Refuses a RoPE scaling this engine does not compute (YaRN's extrapolation mix and
 * attention factor, LongRoPE's per-pair factors): the file would load and answer, wrongly.
 */
function checkRopeScaling(metadata: Metadata, arch: string, fileName: string): void {
  const key = `${arch}.rope.scaling.type`;
  const type = metadata.get(key);
  if (type === undefined || SUPPORTED_ROPE_SCALINGS.includes(type as string)) return;
  throw new ModelError(
    `Cannot load model "${fileName}": RoPE scaling ${JSON.stringify(type)} (${key}) is not supported (supported: ${
      SUPPORTED_ROPE_SCALINGS.join(", ")
    }; Llama 3's scaling is its rope_freqs tensor, which is)`,
  );
}

/** Reads hyper-parameters for the file's `general.architecture`. */
export function readHParams(metadata: Metadata, fileName: string): HParams {
  const arch = metadata.get("general.architecture");
  if (typeof arch !== "string") {
    throw new ModelError(`Cannot load model "${fileName}": metadata has no "general.architecture"`);
  }
  if (!(SUPPORTED_ARCHITECTURES as readonly string[]).includes(arch)) {
    throw new ModelError(
      `Cannot load model "${fileName}": architecture "${arch}" is not supported (supported: ${
        SUPPORTED_ARCHITECTURES.join(", ")
      })`,
    );
  }
  const get = (key: string, fallback?: number) =>
    readNumber(metadata, `${arch}.${key}`, fileName, fallback);
  checkRopeScaling(metadata, arch, fileName);
  const nEmbd = get("embedding_length");
  const nHead = get("attention.head_count");
  const headDim = get("attention.key_length", nEmbd / nHead);
  const common = {
    arch: arch as Architecture,
    nVocab: vocabSize(metadata, arch, fileName),
    nEmbd,
    nLayer: get("block_count"),
    nHead,
    nKvHead: get("attention.head_count_kv", nHead),
    headDim,
    headDimV: get("attention.value_length", headDim),
    nFf: get("feed_forward_length"),
    nCtxTrain: get("context_length", 2048),
    normEps: get("attention.layer_norm_rms_epsilon", 1e-5),
    ropeDims: get("rope.dimension_count", headDim),
    ropeFreqBase: get("rope.freq_base", 10000),
    ropeFreqScale: 1 / get("rope.scaling.factor", 1),
    attnSoftcap: get("attn_logit_softcapping", 0),
    finalSoftcap: get("final_logit_softcapping", 0),
  };
  if (arch === "gemma3") {
    return {
      ...common,
      ropeMode: ROPE_MODE_NEOX,
      ropeFreqBaseSwa: 10000,
      ropeFreqScaleSwa: 1,
      slidingWindow: get("attention.sliding_window", 0),
      slidingPattern: 6,
      embeddingScale: Math.sqrt(nEmbd),
      attentionScale: 1 / Math.sqrt(headDim),
    };
  }
  return {
    ...common,
    ropeMode: arch === "qwen2" ? ROPE_MODE_NEOX : ROPE_MODE_NORMAL,
    ropeFreqBaseSwa: common.ropeFreqBase,
    ropeFreqScaleSwa: common.ropeFreqScale,
    slidingWindow: 0,
    slidingPattern: 0,
    embeddingScale: 1,
    attentionScale: 1 / Math.sqrt(headDim),
  };
}

/** True when layer `layer` uses sliding-window attention. */
export function isSlidingLayer(hp: HParams, layer: number): boolean {
  return hp.slidingPattern > 0 && hp.slidingWindow > 0 && (layer + 1) % hp.slidingPattern !== 0;
}

function vocabSize(metadata: Metadata, arch: string, fileName: string): number {
  const stored = metadata.get(`${arch}.vocab_size`);
  if (typeof stored === "number") return stored;
  const tokens = metadata.get("tokenizer.ggml.tokens");
  // The reader's string array knows its length without making its strings.
  if (tokens instanceof GgufStringArray) return tokens.length;
  if (tokens !== undefined && typeof tokens === "object" && "values" in tokens) {
    return tokens.values.length;
  }
  throw new ModelError(
    `Cannot load model "${fileName}": no "${arch}.vocab_size" and no tokenizer tokens`,
  );
}

function readNumber(metadata: Metadata, key: string, fileName: string, fallback?: number): number {
  const value = metadata.get(key);
  if (value === undefined) {
    if (fallback !== undefined) return fallback;
    throw new ModelError(`Cannot load model "${fileName}": metadata key "${key}" is missing`);
  }
  if (typeof value === "bigint") return Number(value);
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new ModelError(`Cannot load model "${fileName}": metadata key "${key}" is not a number`);
  }
  return value;
}
