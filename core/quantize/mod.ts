/**
 * Quantizing models: llama.cpp's tensor-type mixtures (`planTensorTypes`), the targets
 * (`quantTarget("Q4_K_M")`), and a streaming writer that converts tensors with the native
 * kernels on a pool of workers (`quantizeModel`, `writeQuantizedGguf`).
 *
 * @example Quantize a model file
 * ```ts ignore
 * import { quantizeModel, quantTarget } from "./mod.ts";
 * await quantizeModel("model-f16.gguf", "model-q4_k_m.gguf", { target: quantTarget("Q4_K_M") });
 * ```
 *
 * @module
 */

export * from "./quant_targets.ts";
export * from "./mixture.ts";
export * from "./row_codec.ts";
export * from "./write_quantized.ts";
export * from "./quantize_model.ts";
export * from "./progress_line.ts";
