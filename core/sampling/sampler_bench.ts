/**
 * Time per `sample()` on 262144 random logits (Gemma 3's vocabulary size):
 * `deno bench core/sampling/sampler_bench.ts`.
 *
 * @module
 */

import { createSampler } from "./sampler.ts";
import { Xoshiro128 } from "./xoshiro128.ts";

const VOCAB_SIZE = 262144;

/** Uniform logits in [-scale, scale); wide logits concentrate mass, narrow ones spread it. */
function randomLogits(scale: number): Float32Array {
  const generator = new Xoshiro128(2026);
  return Float32Array.from({ length: VOCAB_SIZE }, () => (generator.nextFloat() * 2 - 1) * scale);
}

const logits = randomLogits(10);
const history = Array.from({ length: 64 }, (_, i) => (i * 4099) % VOCAB_SIZE);

function bench(name: string, options: Parameters<typeof createSampler>[0], input = logits): void {
  const sampler = createSampler({ seed: 1, ...options });
  for (const id of history) sampler.accept(id);
  Deno.bench(name, { group: "sample 262144" }, () => {
    sampler.sample(input);
  });
}

bench("greedy", { greedy: true });
bench("defaults (top-k 40, top-p 0.95, min-p 0.05, T 0.8)", {});
bench("defaults + repeat penalty 1.1 over 64 tokens", { repeatPenalty: 1.1 });
bench("top-k off: top-p 0.95 + min-p 0.05", { topK: 0 });
bench("top-k off: top-p 0.95 only", { topK: 0, minP: 0 });
bench("top-k off: top-p 0.95 only, narrow logits [-1, 1)", { topK: 0, minP: 0 }, randomLogits(1));
bench("top-k off, top-p off: min-p 0.05 only", { topK: 0, topP: 1 });
