/**
 * Rotary position embedding (RoPE), in place on `[n_tokens][n_heads][head_dim]`.
 *
 * Dimension pair i (0 <= i < nRot/2) of a token at position p turns by the angle
 * `θ = p · freqScale · freqBase^(-2i/nRot) / factor_i` (factor 1 without `freqFactors`);
 * dimensions from `nRot` on are left alone.
 * - `"normal"` (llama.cpp's LLAMA_ROPE_TYPE_NORM) rotates adjacent values (2i, 2i+1). Llama
 *   GGUFs need it: llama.cpp's converter permutes the Q/K rows of Hugging Face Llama
 *   checkpoints into this interleaved order, and llama2.c exports (stories260K) use it natively.
 * - `"neox"` (LLAMA_ROPE_TYPE_NEOX) rotates values (i, i + nRot/2): the order Qwen2 and Gemma 3
 *   GGUFs keep, since their Q/K rows are stored unpermuted.
 * llama.cpp picks the mode per architecture (`llama_model_rope_type`: llama → NORM; qwen2,
 * gemma, gemma2, gemma3 → NEOX). tests/reference_stories_test.ts checks that stories260K
 * reproduces its goldens with "normal" and moves its logits by ~11 with "neox".
 *
 * Angles, sines and cosines are computed in float64; each rotated value is rounded to F32 once.
 *
 * @module
 */

/** Options of `rope`. */
export interface RopeOptions {
  /** Which values form a rotating pair (see the module doc). */
  readonly mode: "normal" | "neox";
  /** Base of the frequencies (`*.rope.freq_base`, 10000 when absent). */
  readonly freqBase: number;
  /** Position multiplier (1 / linear scaling factor; 1 for none). */
  readonly freqScale: number;
  /** Rotated dimensions per head, even, at most `headDim` (`*.rope.dimension_count`). */
  readonly nRot: number;
  /**
   * Per-pair divisors of the angle, `nRot / 2` of them (Llama 3's `rope_freqs.weight`: 1 for
   * high frequencies, up to its scaling factor for low ones); none divides by 1.
   */
  readonly freqFactors?: Float32Array;
}

/**
 * Rotates queries or keys in place by their token positions.
 *
 * @param x `[nTokens][nHeads][headDim]`, rotated in place
 * @param nTokens tokens in `x`
 * @param nHeads heads per token
 * @param headDim values per head
 * @param positions one position per token
 * @param options mode, frequencies and rotated dimensions
 * @throws TypeError when the lengths or `nRot` do not fit
 *
 * @example Position 1 turns the pair (1, 0) by one radian
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * const x = new Float32Array([1, 0]);
 * rope(x, 1, 1, 2, [1], { mode: "normal", freqBase: 10000, freqScale: 1, nRot: 2 });
 * deepStrictEqual([...x], [Math.fround(Math.cos(1)), Math.fround(Math.sin(1))]);
 * ```
 */
export function rope(
  x: Float32Array,
  nTokens: number,
  nHeads: number,
  headDim: number,
  positions: ArrayLike<number>,
  options: RopeOptions,
): void {
  const { mode, freqBase, freqScale, nRot, freqFactors } = options;
  if (x.length !== nTokens * nHeads * headDim || positions.length !== nTokens) {
    throw new TypeError(
      `Cannot apply rope: x has ${x.length} values and ${positions.length} positions, expected [${nTokens}][${nHeads}][${headDim}]`,
    );
  }
  if (nRot % 2 !== 0 || nRot <= 0 || nRot > headDim) {
    throw new TypeError(`Cannot apply rope: nRot ${nRot} must be even and in 2..${headDim}`);
  }
  const half = nRot / 2;
  if (freqFactors !== undefined && freqFactors.length !== half) {
    throw new TypeError(
      `Cannot apply rope: ${freqFactors.length} frequency factors for ${nRot} rotated dims (one per pair)`,
    );
  }
  // pair i: (first, second) offsets inside a head
  const first = (i: number) => (mode === "normal" ? 2 * i : i);
  const second = (i: number) => (mode === "normal" ? 2 * i + 1 : i + half);
  for (let t = 0; t < nTokens; t++) {
    for (let i = 0; i < half; i++) {
      const theta = positions[t] * freqScale * freqBase ** (-2 * i / nRot) /
        (freqFactors?.[i] ?? 1);
      const cos = Math.cos(theta);
      const sin = Math.sin(theta);
      for (let h = 0; h < nHeads; h++) {
        const base = (t * nHeads + h) * headDim;
        const a = x[base + first(i)];
        const b = x[base + second(i)];
        x[base + first(i)] = a * cos - b * sin;
        x[base + second(i)] = a * sin + b * cos;
      }
    }
  }
}
