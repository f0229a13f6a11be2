/**
 * Seeded random tensors for synthetic models, generated row chunk by row chunk (never a whole
 * tensor in memory). Each tensor has its own stream, seeded from the model seed and the
 * tensor's name, so a tensor's values do not depend on the chunk size or on the other tensors.
 *
 * Values are uniform in [−a, a] with a = √3·std, so `std` is the standard deviation.
 *
 * @module
 */

import { GgmlType } from "../gguf/types.ts";
import type { TensorSource } from "../quantize/write_quantized.ts";

/** How to fill one tensor. */
export interface RandomFill {
  /** Standard deviation of the uniform values; 0 for a constant. */
  readonly std: number;
  /** Added to every value (1 for norm weights). */
  readonly mean?: number;
}

/**
 * A random F32 tensor as a quantizer source.
 *
 * @param name GGUF tensor name (part of the seed)
 * @param dims ggml order
 * @param fill standard deviation and mean
 * @param seed the model seed
 * @returns a source whose rows are generated on demand, in order
 */
export function randomTensorSource(
  name: string,
  dims: readonly number[],
  fill: RandomFill,
  seed: number,
): TensorSource {
  let state = _seedState(seed, name);
  let nextRow = 0;
  return {
    name,
    dims,
    type: GgmlType.F32,
    readRows(firstRow, out) {
      if (firstRow !== nextRow) {
        throw new RangeError(
          `Cannot read rows of "${name}" from ${firstRow}: the stream is at row ${nextRow}`,
        );
      }
      state = fillUniform(out, state, fill.std * Math.sqrt(3), fill.mean ?? 0);
      nextRow += out.length / dims[0];
    },
  };
}

/**
 * Fills `out` with uniform values in [mean − halfWidth, mean + halfWidth) from an xorshift32
 * stream.
 *
 * @param out values to write
 * @param state the stream state (nonzero)
 * @param halfWidth half the range
 * @param mean the centre
 * @returns the next state
 *
 * @example
 * ```ts
 * import { ok } from "node:assert";
 * import { fillUniform } from "./random_weights.ts";
 * const out = new Float32Array(1000);
 * fillUniform(out, 12345, 0.5, 1);
 * ok(out.every((v) => v >= 0.5 && v < 1.5));
 * ```
 */
export function fillUniform(
  out: Float32Array,
  state: number,
  halfWidth: number,
  mean: number,
): number {
  let s = state | 0;
  const scale = (2 * halfWidth) / 4294967296;
  const low = mean - halfWidth;
  for (let i = 0; i < out.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = low + (s >>> 0) * scale;
  }
  return s;
}

/** A nonzero 32-bit state from the seed and a name (FNV-1a, then a splitmix32 finaliser). */
function _seedState(seed: number, name: string): number {
  let h = (0x811c9dc5 ^ (seed >>> 0)) >>> 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h ^= h >>> 16;
  return h === 0 ? 0x9e3779b9 : h;
}
