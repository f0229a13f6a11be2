/**
 * Model sources, the model cache and `pullModel`/`resolveModel`.
 *
 * @module
 */

export * from "./cache_dir.ts";
export * from "./model_catalog.ts";
export * from "./pull_model.ts";
