/**
 * zeno: run language models on the device, from TypeScript.
 *
 * @module
 */

export * from "./core/errors.ts";
export { createSampler, DEFAULT_SAMPLER_OPTIONS } from "./core/sampling/sampler.ts";
export type * from "./core/sampling/types.ts";
