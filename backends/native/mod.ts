/**
 * The native CPU backend's foundation: loading the Zig library built for this CPU and mapping
 * model files through it.
 *
 * @module
 */

export {
  cpuFeatures,
  loadNativeLibrary,
  type LoadNativeLibraryOptions,
  type NativeLibrary,
  nativeLibraryFileName,
  type NativeVariant,
  nativeVariant,
} from "./library.ts";
export { type MapAdvice, mapFile, type MapFileOptions, type MappedFile } from "./mapped_file.ts";
export { CPU_FEATURE_BITS, type CpuFeature, cpuFeatureNames } from "./cpu_features.ts";
export { checkStatus, NATIVE_STATUS, NativeStatusError, statusMessage } from "./status.ts";
export { NATIVE_SYMBOLS, type NativeSymbols, ZENO_ABI_VERSION } from "./symbols.ts";
