/**
 * Writes a synthetic model: a real architecture's shapes (synth_specs.ts), a real tokenizer
 * vocabulary (synth_vocab.ts) and seeded random weights, quantized on the fly by the
 * quantizer's streaming writer — the same mixture rules and kernels as `zeno quantize`.
 *
 * Weight scales (uniform, std given): the block inputs are RMS-normalised, so projections
 * reading them (`attn_q/k/v`, `ffn_gate/up`) use 1/√dim and give unit-scale outputs; the
 * projections writing the residual (`attn_output`, `ffn_down`) use gain/√fan-in with
 * gain = 3·√dim / √(2·layers), so the blocks' sum outweighs the embedding about threefold.
 * That keeps activations finite and greedy decoding varied: with tied embeddings and a
 * residual dominated by the embedding, the current token out-scores every other and repeats
 * forever (gain √dim/√(2·layers) still gave runs of 8+ repeats on `tiny`; 3× gives 15–20
 * distinct tokens in 32 greedy steps).
 *
 * @module
 */

import { GgmlType, type GgufKv, GgufValueType } from "../gguf/types.ts";
import type { QuantTarget } from "../quantize/quant_targets.ts";
import {
  type QuantizeProgress,
  type QuantizeResult,
  type TensorSource,
  writeQuantizedGguf,
} from "../quantize/write_quantized.ts";
import { randomTensorSource } from "./random_weights.ts";
import type { Llama3RopeScaling, SynthSpec } from "./synth_specs.ts";
import { synthVocabKvs } from "./synth_vocab.ts";

/**
 * Version of what {@linkcode writeSynthModel} writes for a given spec, type and seed: bump it
 * whenever the bytes change (a tensor added, a metadata key, the weights' distribution), so
 * cached synthetic files written before are replaced ({@linkcode synthFingerprint}).
 * 2: Llama 3 RoPE frequency factors.
 */
export const SYNTH_WRITER_VERSION = 2;

/**
 * A short hex digest of everything a synthetic file's bytes depend on: the spec, the target
 * type, the seed and {@linkcode SYNTH_WRITER_VERSION}. Cache names carry it.
 */
export async function synthFingerprint(
  spec: SynthSpec,
  type: string,
  seed: number,
): Promise<string> {
  const text = JSON.stringify({ version: SYNTH_WRITER_VERSION, spec, type, seed });
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest, 0, 4)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Options of {@linkcode writeSynthModel}. */
export interface SynthModelOptions {
  readonly target: QuantTarget;
  /** Seed of the weights; default 1. */
  readonly seed?: number;
  /** Folder holding the tokenizer files (default `../shared/testdata/tokenizers`). */
  readonly tokenizerDir?: string;
  readonly onProgress?: (progress: QuantizeProgress) => void;
}

/** One tensor of a synthetic model, before weights: name, dims and standard deviation. */
export interface SynthTensor {
  readonly name: string;
  /** ggml order. */
  readonly dims: readonly number[];
  readonly std: number;
  readonly mean?: number;
}

/**
 * Writes a synthetic model file.
 *
 * @param path the file to write
 * @param spec the shapes
 * @param options target type, seed, progress
 * @returns the tensor types written and the file size
 */
export async function writeSynthModel(
  path: string,
  spec: SynthSpec,
  options: SynthModelOptions,
): Promise<QuantizeResult> {
  const seed = options.seed ?? 1;
  const kvs = [
    ...synthMetadata(spec, seed),
    ...await synthVocabKvs(spec.vocab, spec.nVocab, options.tokenizerDir),
  ];
  const random = synthTensors(spec).map((t) => randomTensorSource(t.name, t.dims, t, seed));
  const headDim = spec.nEmbd / spec.nHead;
  const factors = spec.ropeScaling === undefined
    ? []
    : [ropeFactorsSource(llama3RopeFactors(spec.ropeScaling, spec.ropeFreqBase, headDim))];
  // The converter yields rope_freqs before the checkpoint's tensors.
  const sources: TensorSource[] = [...factors, ...random];
  return await writeQuantizedGguf(path, kvs, sources, {
    target: options.target,
    nLayer: spec.nLayer,
    onProgress: options.onProgress,
  });
}

/**
 * The `general.*` and `<arch>.*` metadata of a synthetic model (before the tokenizer's).
 *
 * @param spec the shapes
 * @param seed recorded in `general.description`
 */
export function synthMetadata(spec: SynthSpec, seed: number): GgufKv[] {
  const a = spec.arch;
  const u32 = (key: string, value: number): GgufKv => ({ key, type: GgufValueType.UINT32, value });
  const f32 = (key: string, value: number): GgufKv => ({ key, type: GgufValueType.FLOAT32, value });
  const str = (key: string, value: string): GgufKv => ({ key, type: GgufValueType.STRING, value });
  return [
    str("general.architecture", a),
    str("general.type", "model"),
    str("general.name", `synthetic ${spec.name}`),
    str(
      "general.description",
      `zeno synth --like ${spec.name} --seed ${seed}: random weights, real shapes`,
    ),
    u32(`${a}.block_count`, spec.nLayer),
    u32(`${a}.context_length`, spec.contextLength),
    u32(`${a}.embedding_length`, spec.nEmbd),
    u32(`${a}.feed_forward_length`, spec.nFf),
    u32(`${a}.attention.head_count`, spec.nHead),
    u32(`${a}.attention.head_count_kv`, spec.nKvHead),
    f32(`${a}.rope.freq_base`, spec.ropeFreqBase),
    f32(`${a}.attention.layer_norm_rms_epsilon`, spec.normEps),
    u32(`${a}.vocab_size`, spec.nVocab),
    u32(`${a}.rope.dimension_count`, spec.nEmbd / spec.nHead),
  ];
}

/**
 * The tensors of a synthetic model in convert_hf_to_gguf's order, with their scales.
 *
 * @param spec the shapes
 * @returns names, dims (ggml order) and standard deviations
 */
export function synthTensors(spec: SynthSpec): SynthTensor[] {
  const dim = spec.nEmbd;
  const headDim = dim / spec.nHead;
  const kvDim = spec.nKvHead * headDim;
  const gain = (3 * Math.sqrt(dim)) / Math.sqrt(2 * spec.nLayer);
  const inStd = 1 / Math.sqrt(dim);
  const tensors: SynthTensor[] = [{ name: "token_embd.weight", dims: [dim, spec.nVocab], std: 1 }];
  for (let i = 0; i < spec.nLayer; i++) {
    const p = `blk.${i}`;
    tensors.push(
      { name: `${p}.attn_norm.weight`, dims: [dim], std: 0, mean: 1 },
      { name: `${p}.ffn_down.weight`, dims: [spec.nFf, dim], std: gain / Math.sqrt(spec.nFf) },
      { name: `${p}.ffn_gate.weight`, dims: [dim, spec.nFf], std: inStd },
      { name: `${p}.ffn_up.weight`, dims: [dim, spec.nFf], std: inStd },
      { name: `${p}.ffn_norm.weight`, dims: [dim], std: 0, mean: 1 },
      { name: `${p}.attn_k.weight`, dims: [dim, kvDim], std: inStd },
      ...(spec.qkvBias ? [{ name: `${p}.attn_k.bias`, dims: [kvDim], std: 0.1 }] : []),
      { name: `${p}.attn_output.weight`, dims: [dim, dim], std: gain / Math.sqrt(dim) },
      { name: `${p}.attn_q.weight`, dims: [dim, dim], std: inStd },
      ...(spec.qkvBias ? [{ name: `${p}.attn_q.bias`, dims: [dim], std: 0.1 }] : []),
      { name: `${p}.attn_v.weight`, dims: [dim, kvDim], std: inStd },
      ...(spec.qkvBias ? [{ name: `${p}.attn_v.bias`, dims: [kvDim], std: 0.1 }] : []),
    );
  }
  tensors.push({ name: "output_norm.weight", dims: [dim], std: 0, mean: 1 });
  if (!spec.tiedEmbeddings) {
    tensors.push({ name: "output.weight", dims: [dim, spec.nVocab], std: 1 / Math.sqrt(dim) });
  }
  return tensors;
}

/**
 * Llama 3's RoPE divisors, one per rotated pair, by the converter's rule: pairs whose
 * wavelength (2π / base^(-2i/headDim)) is below originalContext/highFreqFactor keep 1, those
 * above originalContext/lowFreqFactor take `factor`, and those between blend smoothly.
 *
 * @param scaling the config's `rope_scaling`
 * @param freqBase `rope_theta`
 * @param headDim rotated dims per head
 * @returns headDim/2 divisors
 */
export function llama3RopeFactors(
  scaling: Llama3RopeScaling,
  freqBase: number,
  headDim: number,
): Float32Array {
  const { factor, lowFreqFactor, highFreqFactor, originalContextLength } = scaling;
  const longestKept = originalContextLength / highFreqFactor;
  const shortestScaled = originalContextLength / lowFreqFactor;
  return Float32Array.from({ length: headDim / 2 }, (_, i) => {
    const wavelength = 2 * Math.PI * freqBase ** (2 * i / headDim);
    if (wavelength < longestKept) return 1;
    if (wavelength > shortestScaled) return factor;
    const smooth = (originalContextLength / wavelength - lowFreqFactor) /
      (highFreqFactor - lowFreqFactor);
    return 1 / ((1 - smooth) / factor + smooth);
  });
}

/** `rope_freqs.weight`: the divisors as one F32 row, kept F32 by the quantizer. */
function ropeFactorsSource(factors: Float32Array): TensorSource {
  return {
    name: "rope_freqs.weight",
    dims: [factors.length],
    type: GgmlType.F32,
    readRows(firstRow, out) {
      if (firstRow !== 0 || out.length !== factors.length) {
        throw new RangeError(
          `Cannot read rows of "rope_freqs.weight" from ${firstRow}: it is one row`,
        );
      }
      out.set(factors);
    },
  };
}
