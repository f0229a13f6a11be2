/**
 * Synthetic models: real architectures' shapes and tokenizers with seeded random weights,
 * for benchmarks and tests (`writeSynthModel(path, synthSpec("llama-3.2-1b"), { target })`).
 *
 * @example Write a tiny model
 * ```ts ignore
 * import { quantTarget } from "../quantize/mod.ts";
 * import { synthSpec, writeSynthModel } from "./mod.ts";
 * await writeSynthModel("tiny.gguf", synthSpec("tiny"), { target: quantTarget("Q8_0"), seed: 1 });
 * ```
 *
 * @module
 */

export * from "./synth_specs.ts";
export * from "./synth_vocab.ts";
export * from "./random_weights.ts";
export * from "./synth_model.ts";
