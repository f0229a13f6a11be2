/**
 * The sampler chain: penalties → logit bias → logits processors → top-k → top-p → min-p →
 * temperature → draw, with a seeded xoshiro128** generator.
 *
 * @module
 */

export * from "./types.ts";
export * from "./sampler.ts";
export * from "./greedy.ts";
export * from "./logit_bias.ts";
export * from "./logits_mask.ts";
export * from "./min_p.ts";
export * from "./penalties.ts";
export * from "./sort_candidates.ts";
export * from "./temperature.ts";
export * from "./token_history.ts";
export * from "./top_k.ts";
export * from "./top_p.ts";
export * from "./xoshiro128.ts";
