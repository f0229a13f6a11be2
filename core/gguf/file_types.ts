/**
 * Names of `general.file_type` values: llama.cpp's `llama_ftype`, the quantization mix a whole
 * model was made with (`Q4_K_M` stores most matrices as Q4_K and some as Q6_K). Ids 4–6 and
 * 33–35 are retired.
 *
 * @module
 */

const FILE_TYPE_NAMES: ReadonlyMap<number, string> = new Map([
  [0, "F32"],
  [1, "F16"],
  [2, "Q4_0"],
  [3, "Q4_1"],
  [7, "Q8_0"],
  [8, "Q5_0"],
  [9, "Q5_1"],
  [10, "Q2_K"],
  [11, "Q3_K_S"],
  [12, "Q3_K_M"],
  [13, "Q3_K_L"],
  [14, "Q4_K_S"],
  [15, "Q4_K_M"],
  [16, "Q5_K_S"],
  [17, "Q5_K_M"],
  [18, "Q6_K"],
  [19, "IQ2_XXS"],
  [20, "IQ2_XS"],
  [21, "Q2_K_S"],
  [22, "IQ3_XS"],
  [23, "IQ3_XXS"],
  [24, "IQ1_S"],
  [25, "IQ4_NL"],
  [26, "IQ3_S"],
  [27, "IQ3_M"],
  [28, "IQ2_S"],
  [29, "IQ2_M"],
  [30, "IQ4_XS"],
  [31, "IQ1_M"],
  [32, "BF16"],
  [36, "TQ1_0"],
  [37, "TQ2_0"],
  [38, "MXFP4_MOE"],
]);

/**
 * The name of a `general.file_type` value.
 *
 * @param fileType the stored value
 * @returns e.g. `"Q4_K_M"`, or `undefined` for an unknown id
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { fileTypeName } from "./file_types.ts";
 * strictEqual(fileTypeName(15), "Q4_K_M");
 * ```
 */
export function fileTypeName(fileType: number): string | undefined {
  return FILE_TYPE_NAMES.get(fileType);
}
