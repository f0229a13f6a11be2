/**
 * Decoder graph builders, one per architecture, from shared blocks.
 *
 * @module
 */

import type { GraphBuilder, GraphTensor } from "../graph.ts";
import type { ForwardInputs } from "./blocks.ts";
import { buildGemma3 } from "./gemma3.ts";
import type { HParams } from "./hparams.ts";
import { buildLlama } from "./llama.ts";
import type { ModelWeights } from "./weights.ts";

export type { ForwardInputs } from "./blocks.ts";
export { type Architecture, type HParams, isSlidingLayer, readHParams, SUPPORTED_ARCHITECTURES } from "./hparams.ts";
export { ModelWeights } from "./weights.ts";

/** Builds one forward pass of the model; returns logits [nOutputs, nVocab]. */
export function buildForward(g: GraphBuilder, hp: HParams, w: ModelWeights, inp: ForwardInputs): GraphTensor {
  switch (hp.arch) {
    case "llama":
    case "qwen2":
      return buildLlama(g, hp, w, inp);
    case "gemma3":
      return buildGemma3(g, hp, w, inp);
  }
}
