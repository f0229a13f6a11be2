/**
 * GGUF files: read the header of a (mapped) file, read typed metadata, write files back.
 *
 * @example Read a model's architecture
 * ```ts ignore
 * import { getString, readGgufFile } from "./mod.ts";
 * const file = await readGgufFile("model.gguf");
 * console.log(getString(file, "general.architecture"), file.tensors.length);
 * ```
 *
 * @module
 */

export * from "./types.ts";
export * from "./string_array.ts";
export * from "./ggml_types.ts";
export * from "./file_types.ts";
export * from "./reader.ts";
export * from "./accessors.ts";
export * from "./writer.ts";
