/**
 * zeno: run language models on the device, from TypeScript.
 *
 * @module
 */

export * from "./core/errors.ts";
