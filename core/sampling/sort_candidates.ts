/**
 * Sorting candidate ids by logit, descending, ties by ascending id: the order of llama.cpp's
 * sorted candidate arrays, made deterministic. Each (logit, id) pair is packed into one exact
 * float64 key (32 order-preserving bits of the float32 logit, then 21 bits of id) so the engine's
 * native numeric sort does the work instead of a JavaScript comparator.
 *
 * @module
 */

const ID_LIMIT = 2 ** 21;
const _f32 = new Float32Array(1);
const _u32 = new Uint32Array(_f32.buffer);

/**
 * Sorts `ids[0..count)` in place by `logits[id]` descending, then by id ascending.
 *
 * @param ids candidate token ids, `[>= count]`
 * @param count how many of `ids` are candidates
 * @param logits `[vocabSize]`
 * @param keys scratch, `[>= count]`
 * @example
 * ```ts
 * import { sortCandidates } from "./sort_candidates.ts";
 * const ids = Int32Array.from([0, 1, 2, 3]);
 * sortCandidates(ids, 4, new Float32Array([1, 5, 1, -2]), new Float64Array(4));
 * if (ids.join() !== "1,0,2,3") throw new Error(`got ${ids}`);
 * ```
 */
export function sortCandidates(
  ids: Int32Array,
  count: number,
  logits: Float32Array,
  keys: Float64Array,
): void {
  if (logits.length > ID_LIMIT) {
    _sortWithComparator(ids, count, logits);
    return;
  }
  for (let i = 0; i < count; i++) {
    keys[i] = (0xffffffff - _orderedBits(logits[ids[i]])) * ID_LIMIT + ids[i];
  }
  const sorted = keys.subarray(0, count).sort();
  for (let i = 0; i < count; i++) {
    const key = sorted[i];
    ids[i] = key - Math.floor(key / ID_LIMIT) * ID_LIMIT;
  }
}

/** The float32's bits as an unsigned integer that sorts like the float (-0 just below +0). */
function _orderedBits(logit: number): number {
  _f32[0] = logit;
  const bits = _u32[0];
  return bits >= 0x80000000 ? (~bits >>> 0) : (bits | 0x80000000) >>> 0;
}

function _sortWithComparator(ids: Int32Array, count: number, logits: Float32Array): void {
  ids.subarray(0, count).sort((a, b) => logits[b] - logits[a] || a - b);
}
