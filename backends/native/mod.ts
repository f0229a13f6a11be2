/**
 * The native CPU backend: loading the Zig library built for this CPU, mapping model files
 * through it, and running graphs on it. Importing this module registers the backend as
 * "native" (score 100, above the reference), available when the library loads.
 *
 * @module
 */

import { registerBackend } from "../../core/backend.ts";
import { createNativeBackend } from "./backend.ts";
import { loadNativeLibrary } from "./library.ts";

export {
  acquireNativeLibrary,
  type AcquireNativeLibraryOptions,
  type AcquiredNativeLibrary,
  DEFAULT_RELEASE_URL,
  nativeLibraryCacheDir,
} from "./acquire.ts";
export { createNativeBackend, type NativeBackendOptions } from "./backend.ts";
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

registerBackend({
  name: "native",
  score: 100,
  available(): true | string {
    try {
      loadNativeLibrary();
      return true;
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
  },
  create: (options) => createNativeBackend(options),
});
