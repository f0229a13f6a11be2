/**
 * What `zeno quantize --type <name>` can make: each name is a llama.cpp file type
 * (`general.file_type`, `llama_ftype`) with the tensor type most matrices get. `_M`/`_S`
 * names are mixtures (see mixture.ts); the others put every quantizable matrix in one type,
 * except the output head, which llama.cpp always gives more bits.
 *
 * As in `llama-quantize`, `Q4_K` and `Q5_K` are aliases of `Q4_K_M` and `Q5_K_M`.
 *
 * @module
 */

import { GgmlType } from "../gguf/types.ts";

/** One quantization target. */
export interface QuantTarget {
  /** The canonical name, e.g. `"Q4_K_M"`. */
  readonly name: string;
  /** The `general.file_type` value (`llama_ftype`). */
  readonly fileType: number;
  /** The type most matrices get (`llama_ftype_get_default_type`). */
  readonly defaultType: GgmlType;
}

// [name, llama_ftype, default tensor type]
const TARGET_ROWS: readonly (readonly [string, number, GgmlType])[] = [
  ["F32", 0, GgmlType.F32],
  ["F16", 1, GgmlType.F16],
  ["BF16", 32, GgmlType.BF16],
  ["Q4_0", 2, GgmlType.Q4_0],
  ["Q4_1", 3, GgmlType.Q4_1],
  ["Q5_0", 8, GgmlType.Q5_0],
  ["Q5_1", 9, GgmlType.Q5_1],
  ["Q8_0", 7, GgmlType.Q8_0],
  ["Q4_K_S", 14, GgmlType.Q4_K],
  ["Q4_K_M", 15, GgmlType.Q4_K],
  ["Q5_K_S", 16, GgmlType.Q5_K],
  ["Q5_K_M", 17, GgmlType.Q5_K],
  ["Q6_K", 18, GgmlType.Q6_K],
];

const ALIASES: Readonly<Record<string, string>> = { Q4_K: "Q4_K_M", Q5_K: "Q5_K_M" };

/** Every target by canonical name. */
export const QUANT_TARGETS: ReadonlyMap<string, QuantTarget> = new Map(
  TARGET_ROWS.map((
    [name, fileType, defaultType],
  ) => [name, Object.freeze({ name, fileType, defaultType })]),
);

/** Names `quantTarget` accepts: the canonical names and the aliases. */
export const QUANT_TARGET_NAMES: readonly string[] = [
  ...QUANT_TARGETS.keys(),
  ...Object.keys(ALIASES),
];

/**
 * Looks a target up by name (case-insensitive; `Q4_K` and `Q5_K` are aliases of the `_M` mixes).
 *
 * @param name e.g. `"q4_k_m"`
 * @returns the target
 * @throws RangeError naming the accepted names
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { quantTarget } from "./quant_targets.ts";
 * strictEqual(quantTarget("Q4_K").name, "Q4_K_M");
 * strictEqual(quantTarget("q8_0").fileType, 7);
 * ```
 */
export function quantTarget(name: string): QuantTarget {
  const upper = name.toUpperCase();
  const target = QUANT_TARGETS.get(ALIASES[upper] ?? upper);
  if (target === undefined) {
    throw new RangeError(
      `Cannot quantize to "${name}": the type is not supported (supported: ${
        QUANT_TARGET_NAMES.join(", ")
      })`,
    );
  }
  return target;
}
