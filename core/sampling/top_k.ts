/**
 * Top-k by partial selection: one pass over the vocabulary with a size-k min-heap of ids whose
 * root is the worst kept candidate, so almost every logit costs one comparison. O(n + k log k
 * log n) on typical logits, never a full sort.
 *
 * @module
 */

/**
 * Writes the ids of the k largest logits into `out` (heap order, not sorted). Ties at the
 * boundary keep the lowest ids; NaN and -Infinity are never selected.
 *
 * @param logits `[vocabSize]`
 * @param k how many to keep, >= 1
 * @param out `[>= k]`, receives the ids
 * @returns how many ids were written: min(k, number of logits above -Infinity)
 * @example
 * ```ts
 * import { selectTopK } from "./top_k.ts";
 * const out = new Int32Array(2);
 * const count = selectTopK(new Float32Array([0.5, 3, -1, 2]), 2, out);
 * if (count !== 2 || [...out].sort().join() !== "1,3") throw new Error(`got ${out}`);
 * ```
 */
export function selectTopK(logits: Float32Array, k: number, out: Int32Array): number {
  let size = 0;
  let rootLogit = -Infinity;
  const length = logits.length;
  for (let id = 0; id < length; id++) {
    const logit = logits[id];
    if (size < k) {
      if (!(logit > -Infinity)) continue;
      _siftUp(out, size++, id, logits);
      rootLogit = logits[out[0]];
    } else if (logit > rootLogit) {
      // A later id with an equal logit loses the tie, so only a strictly larger logit enters.
      _siftDown(out, size, id, logits);
      rootLogit = logits[out[0]];
    }
  }
  return size;
}

/** True when candidate a is worse than b: smaller logit, or equal logit and larger id. */
function _worse(a: number, b: number, logits: Float32Array): boolean {
  const la = logits[a];
  const lb = logits[b];
  return la < lb || (la === lb && a > b);
}

function _siftUp(heap: Int32Array, index: number, id: number, logits: Float32Array): void {
  let i = index;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!_worse(id, heap[parent], logits)) break;
    heap[i] = heap[parent];
    i = parent;
  }
  heap[i] = id;
}

/** Replaces the root with `id` and restores the heap. */
function _siftDown(heap: Int32Array, size: number, id: number, logits: Float32Array): void {
  let i = 0;
  for (;;) {
    const left = 2 * i + 1;
    if (left >= size) break;
    const right = left + 1;
    const child = right < size && _worse(heap[right], heap[left], logits) ? right : left;
    if (!_worse(heap[child], id, logits)) break;
    heap[i] = heap[child];
    i = child;
  }
  heap[i] = id;
}
