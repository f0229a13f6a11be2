/**
 * Shapes of the synthetic models: real architectures' hyper-parameters (from their
 * `config.json`), so kernels, memory traffic and the KV cache are those of the real model,
 * with random weights. `tiny` is a two-layer llama small enough for tests, with rows that are
 * whole K-quant super-blocks (256) so every quantization type applies to it; `tiny-qwen2` is
 * the same as a qwen2 (biases, NeoX RoPE), `tiny-llama3` the same with Llama 3's RoPE
 * frequency factors.
 *
 * @module
 */

/** Which tokenizer vocabulary a synthetic model carries. */
export type SynthVocab = "llama3" | "qwen2" | "llama3-tiny";

/**
 * Llama 3's "llama3" RoPE scaling (`rope_scaling` in its config.json), which the converter
 * turns into `rope_freqs.weight`: one divisor per rotated pair.
 */
export interface Llama3RopeScaling {
  /** Divisor of the lowest frequencies (32 for Llama 3.2, 8 for 3.1). */
  readonly factor: number;
  readonly lowFreqFactor: number;
  readonly highFreqFactor: number;
  /** Context the model was first trained on (`original_max_position_embeddings`). */
  readonly originalContextLength: number;
}

/** Hyper-parameters of a synthetic model. */
export interface SynthSpec {
  /** `--like` name, also `general.name`. */
  readonly name: string;
  readonly arch: "llama" | "qwen2";
  /** Residual width (dim). */
  readonly nEmbd: number;
  readonly nLayer: number;
  readonly nHead: number;
  readonly nKvHead: number;
  /** Feed-forward width. */
  readonly nFf: number;
  /** Rows of the embedding (the vocabulary is padded with unused tokens up to it). */
  readonly nVocab: number;
  readonly contextLength: number;
  readonly ropeFreqBase: number;
  /** Writes `rope_freqs.weight` from these (Llama 3.1/3.2). */
  readonly ropeScaling?: Llama3RopeScaling;
  readonly normEps: number;
  /** Q/K/V projections have biases (Qwen2). */
  readonly qkvBias: boolean;
  /** No `output.weight`: the head reuses `token_embd.weight`. */
  readonly tiedEmbeddings: boolean;
  readonly vocab: SynthVocab;
}

/** Llama 3.2's RoPE scaling (its config.json). */
const LLAMA_3_2_ROPE_SCALING: Llama3RopeScaling = {
  factor: 32,
  lowFreqFactor: 1,
  highFreqFactor: 4,
  originalContextLength: 8192,
};

/** A two-layer llama for tests (rows of 256: every quantization type applies). */
const TINY: SynthSpec = {
  name: "tiny",
  arch: "llama",
  nEmbd: 256,
  nLayer: 2,
  nHead: 4,
  nKvHead: 2,
  nFf: 512,
  nVocab: 1280,
  contextLength: 2048,
  ropeFreqBase: 10000,
  normEps: 1e-5,
  qkvBias: false,
  tiedEmbeddings: true,
  vocab: "llama3-tiny",
};

/** The models `zeno synth --like` can make, by name. */
export const SYNTH_SPECS: ReadonlyMap<string, SynthSpec> = new Map(
  [
    {
      name: "llama-3.2-1b",
      arch: "llama",
      nEmbd: 2048,
      nLayer: 16,
      nHead: 32,
      nKvHead: 8,
      nFf: 8192,
      nVocab: 128256,
      contextLength: 131072,
      ropeFreqBase: 500000,
      ropeScaling: LLAMA_3_2_ROPE_SCALING,
      normEps: 1e-5,
      qkvBias: false,
      tiedEmbeddings: true,
      vocab: "llama3",
    },
    {
      name: "qwen2.5-0.5b",
      arch: "qwen2",
      nEmbd: 896,
      nLayer: 24,
      nHead: 14,
      nKvHead: 2,
      nFf: 4864,
      nVocab: 151936,
      contextLength: 32768,
      ropeFreqBase: 1000000,
      normEps: 1e-6,
      qkvBias: true,
      tiedEmbeddings: true,
      vocab: "qwen2",
    },
    TINY,
    {
      // `tiny` with Llama 3.2's RoPE scaling, so `rope_freqs.weight` (tests). With head_dim 64
      // and base 10000 its 32 pairs span every case: factor 1, 32 and the smooth range.
      ...TINY,
      name: "tiny-llama3",
      ropeScaling: LLAMA_3_2_ROPE_SCALING,
    },
    {
      // `tiny` as a qwen2: q/k/v biases, NeoX RoPE, Qwen's base and eps (tests).
      ...TINY,
      name: "tiny-qwen2",
      arch: "qwen2",
      ropeFreqBase: 1000000,
      normEps: 1e-6,
      qkvBias: true,
    },
  ].map((spec) => [spec.name, Object.freeze(spec as SynthSpec)]),
);

/**
 * Looks a synthetic model up by name.
 *
 * @param name `llama-3.2-1b`, `qwen2.5-0.5b`, `tiny`, `tiny-llama3` or `tiny-qwen2`
 * @returns its spec
 * @throws RangeError naming the known models
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { synthSpec } from "./synth_specs.ts";
 * strictEqual(synthSpec("llama-3.2-1b").nKvHead, 8);
 * ```
 */
export function synthSpec(name: string): SynthSpec {
  const spec = SYNTH_SPECS.get(name.toLowerCase());
  if (spec === undefined) {
    throw new RangeError(
      `Cannot make a synthetic model like "${name}": it is not known (known: ${
        [...SYNTH_SPECS.keys()].join(", ")
      })`,
    );
  }
  return spec;
}
