/**
 * Scaled dot-product attention over a KV cache, with grouped-query heads, a causal mask by
 * position, an optional sliding window and optional logit soft-capping.
 *
 * Shapes (row-major, ggml order):
 * ```
 * q, out   [nTokens][nHead][headDim]
 * k, v     [kvLength][nKvHead][headDim]   (the cache; key j has position kvPositions[j])
 * ```
 * Query head h reads KV head `floor(h / (nHead / nKvHead))`. Key j is visible to token t when
 * `kvPos[j] <= pos[t]` (if causal) and `kvPos[j] > pos[t] - slidingWindow` (if a window is
 * set, as Gemma 3's local layers). Scores are `scale · (q·k)`; with `softcap` the raw `q·k` is
 * first capped to `softcap · tanh(q·k / softcap)`, in llama.cpp's order. Softmax subtracts the
 * row maximum; a token with no visible key gets zeros.
 *
 * @module
 */

/** Options of `attention`. */
export interface AttentionOptions {
  /** Query tokens. */
  readonly nTokens: number;
  /** Query heads. */
  readonly nHead: number;
  /** KV heads; divides `nHead`. */
  readonly nKvHead: number;
  /** Values per head. */
  readonly headDim: number;
  /** Keys (and values) in the cache. */
  readonly kvLength: number;
  /** Position of each query token. */
  readonly positions: ArrayLike<number>;
  /** Position of each cache entry; defaults to its index. */
  readonly kvPositions?: ArrayLike<number>;
  /** Multiplier of q·k, usually 1/√headDim. */
  readonly scale: number;
  /** Hide keys at later positions. */
  readonly causal: boolean;
  /** Hide keys at or beyond this distance behind the query. */
  readonly slidingWindow?: number;
  /** Cap of the raw q·k (Gemma 2); none when absent. */
  readonly softcap?: number;
}

/**
 * Attention of `q` over the cache `k`/`v`.
 *
 * @param out `[nTokens][nHead][headDim]`
 * @param q `[nTokens][nHead][headDim]`
 * @param k `[kvLength][nKvHead][headDim]`
 * @param v `[kvLength][nKvHead][headDim]`
 * @param options shapes, positions, scale and masks
 * @throws TypeError when a length does not fit the shapes
 *
 * @example One key: the output is its value
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * const out = new Float32Array(2);
 * attention(out, new Float32Array([1, 0]), new Float32Array([1, 0]), new Float32Array([3, 4]), {
 *   nTokens: 1, nHead: 1, nKvHead: 1, headDim: 2, kvLength: 1, positions: [0], scale: 1, causal: true,
 * });
 * deepStrictEqual([...out], [3, 4]);
 * ```
 */
export function attention(
  out: Float32Array,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  options: AttentionOptions,
): void {
  _assertShapes(out, q, k, v, options);
  const { nTokens, nHead, nKvHead, headDim, kvLength, positions, scale, causal } = options;
  const kvPositions = options.kvPositions ?? Array.from({ length: kvLength }, (_, j) => j);
  const group = nHead / nKvHead;
  const scores = new Float64Array(kvLength);
  for (let t = 0; t < nTokens; t++) {
    for (let h = 0; h < nHead; h++) {
      const qAt = (t * nHead + h) * headDim;
      const kvHead = Math.floor(h / group);
      let max = -Infinity;
      for (let j = 0; j < kvLength; j++) {
        const visible = _isVisible(positions[t], kvPositions[j], causal, options.slidingWindow);
        scores[j] = visible
          ? _score(q, qAt, k, (j * nKvHead + kvHead) * headDim, headDim, options) * scale
          : -Infinity;
        max = Math.max(max, scores[j]);
      }
      _weightedValues(out, qAt, scores, max, v, kvHead, nKvHead, headDim);
    }
  }
}

function _isVisible(queryPos: number, keyPos: number, causal: boolean, window?: number): boolean {
  if (causal && keyPos > queryPos) return false;
  return window === undefined || keyPos > queryPos - window;
}

/** q·k for one head pair, soft-capped when asked. */
function _score(
  q: Float32Array,
  qAt: number,
  k: Float32Array,
  kAt: number,
  headDim: number,
  options: AttentionOptions,
): number {
  let dot = 0;
  for (let d = 0; d < headDim; d++) dot += q[qAt + d] * k[kAt + d];
  const cap = options.softcap;
  return cap === undefined ? dot : cap * Math.tanh(dot / cap);
}

/** out[outAt ..] = Σ_j softmax(scores)_j · v_j for one head; zeros when nothing is visible. */
function _weightedValues(
  out: Float32Array,
  outAt: number,
  scores: Float64Array,
  max: number,
  v: Float32Array,
  kvHead: number,
  nKvHead: number,
  headDim: number,
): void {
  if (max === -Infinity) {
    out.fill(0, outAt, outAt + headDim);
    return;
  }
  const acc = new Float64Array(headDim);
  let sum = 0;
  for (let j = 0; j < scores.length; j++) {
    if (scores[j] === -Infinity) continue;
    const weight = Math.exp(scores[j] - max);
    sum += weight;
    const vAt = (j * nKvHead + kvHead) * headDim;
    for (let d = 0; d < headDim; d++) acc[d] += weight * v[vAt + d];
  }
  for (let d = 0; d < headDim; d++) out[outAt + d] = acc[d] / sum;
}

function _assertShapes(
  out: Float32Array,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  options: AttentionOptions,
): void {
  const { nTokens, nHead, nKvHead, headDim, kvLength } = options;
  if (!(nKvHead > 0) || nHead % nKvHead !== 0) {
    throw new TypeError(
      `Cannot apply attention: ${nHead} query heads do not group over ${nKvHead} KV heads`,
    );
  }
  const queryLength = nTokens * nHead * headDim;
  const cacheLength = kvLength * nKvHead * headDim;
  if (q.length !== queryLength || out.length !== queryLength) {
    throw new TypeError(
      `Cannot apply attention: q has ${q.length} values and out ${out.length}, expected [${nTokens}][${nHead}][${headDim}]`,
    );
  }
  if (k.length < cacheLength || v.length < cacheLength) {
    throw new TypeError(
      `Cannot apply attention: the cache has ${k.length} keys and ${v.length} values, expected [${kvLength}][${nKvHead}][${headDim}]`,
    );
  }
  if (options.positions.length !== nTokens) {
    throw new TypeError(
      `Cannot apply attention: ${options.positions.length} positions for ${nTokens} tokens`,
    );
  }
  if (options.kvPositions !== undefined && options.kvPositions.length < kvLength) {
    throw new TypeError(
      `Cannot apply attention: ${options.kvPositions.length} cache positions for ${kvLength} entries`,
    );
  }
}
