/**
 * Loads the native library built for this CPU. The build makes one shared library per CPU
 * variant (`zig/src/variants.zig`: x86-64 baseline/avx2/avx512, aarch64 baseline/dotprod/
 * i8mm); the baseline runs everywhere, so it is opened first to ask the CPU's features and
 * the variant table, then the best variant whose required features are all present is opened
 * and kept for the life of the process.
 *
 * Library directory: `options.libDir`, else `$ZENO_LIB_DIR`, else `zig/zig-out/lib` of this
 * checkout. Variant: `options.variant`, else `$ZENO_CPU_VARIANT`, else the best one.
 *
 * @module
 */

import { NativeLibraryError } from "../../core/errors.ts";
import { joinPath, pathExistsSync } from "../../core/paths.ts";
import { findNativeLibrarySync } from "./acquire.ts";
import { type CpuFeature, cpuFeatureNames } from "./cpu_features.ts";
import { NATIVE_SYMBOLS, type NativeSymbols, PROBE_SYMBOLS, ZENO_ABI_VERSION } from "./symbols.ts";

/** The native library, bound and checked. */
export interface NativeLibrary {
  /** Absolute path of the opened library file. */
  readonly path: string;
  /** The variant opened ("avx2"). */
  readonly variant: string;
  /** The variants this architecture has, most portable first. */
  readonly variants: readonly NativeVariant[];
  /** What this CPU supports, by name, in bit order. */
  readonly cpuFeatures: readonly CpuFeature[];
  /** The ABI version, equal to {@linkcode ZENO_ABI_VERSION}. */
  readonly abiVersion: number;
  /** The bound native functions. */
  readonly symbols: NativeSymbols;
}

/** One build of the library for this architecture. */
export interface NativeVariant {
  /** The variant's name ("avx2"). */
  readonly name: string;
  /** Features the CPU needs to run it. */
  readonly requiredFeatures: readonly CpuFeature[];
  /** Whether this CPU has all of them. */
  readonly supported: boolean;
}

/** Options of {@linkcode loadNativeLibrary}. */
export interface LoadNativeLibraryOptions {
  /** Directory holding `libzeno-<arch>-<variant>.so` (default `$ZENO_LIB_DIR` or zig-out). */
  libDir?: string;
  /** Variant to open instead of the best one (default `$ZENO_CPU_VARIANT`). */
  variant?: string;
}

/** The build command named in errors. */
const BUILD_HINT = "run `deno task build`";

/** Loaded libraries by options, and by file: each file is bound once per process. */
const _loaded = new Map<string, NativeLibrary>();
const _loadedByPath = new Map<string, NativeLibrary>();

/**
 * Opens (once per process and options) the best native library for this CPU.
 *
 * @returns the bound library; repeated calls with the same options return the same object
 * @throws NativeLibraryError when the library is missing or stale, or the CPU cannot run the
 *   requested variant; RangeError for a variant name that does not exist
 *
 * @example The chosen variant is one this CPU supports
 * ```ts
 * import { ok } from "node:assert";
 * import { loadNativeLibrary } from "./library.ts";
 * const native = loadNativeLibrary();
 * ok(native.variants.some((v) => v.name === native.variant && v.supported));
 * console.log(native.variant, native.cpuFeatures.join(" ")); // e.g. "avx2 sse4_2 popcnt …"
 * ```
 */
export function loadNativeLibrary(options: LoadNativeLibraryOptions = {}): NativeLibrary {
  const libDir = options.libDir ?? Deno.env.get("ZENO_LIB_DIR") ?? _defaultLibDir();
  const requested = options.variant ?? (Deno.env.get("ZENO_CPU_VARIANT") || undefined);
  const key = `${libDir}\0${requested ?? ""}`;
  let library = _loaded.get(key);
  if (library === undefined) {
    library = _open(libDir, requested);
    _loaded.set(key, library);
  }
  return library;
}

/** The CPU's features by name, from the default native library. */
export function cpuFeatures(): readonly CpuFeature[] {
  return loadNativeLibrary().cpuFeatures;
}

/** The variant the default native library runs ("avx512"). */
export function nativeVariant(): string {
  return loadNativeLibrary().variant;
}

/** The file name of a variant's library on this OS and architecture. */
export function nativeLibraryFileName(variant: string): string {
  const extension = Deno.build.os === "darwin" ? "dylib" : "so";
  return `libzeno-${Deno.build.arch}-${variant}.${extension}`;
}

function _defaultLibDir(): string {
  const url = new URL("../../zig/zig-out/lib", import.meta.url);
  // Imported from a remote URL (a registry) there is no build beside the module: see acquire.ts.
  return url.protocol === "file:" ? decodeURIComponent(url.pathname) : findNativeLibrarySync().libDir;
}

function _open(libDir: string, requested: string | undefined): NativeLibrary {
  const baselinePath = joinPath(libDir, nativeLibraryFileName("baseline"));
  const baseline = _openChecked(baselinePath);
  let kept: Deno.DynamicLibrary<typeof NATIVE_SYMBOLS> | undefined;
  try {
    const features = cpuFeatureNames(BigInt(baseline.symbols.zeno_cpu_features()));
    const variants = _readVariants(baseline.symbols, features);
    const chosen = _chooseVariant(variants, requested, features);
    const path = joinPath(libDir, nativeLibraryFileName(chosen.name));
    const already = _loadedByPath.get(path);
    if (already !== undefined) return already;
    const opened = path === baselinePath ? baseline : _openChecked(path);
    try {
      _checkBuildVariant(opened.symbols, chosen.name, path);
    } catch (error) {
      if (opened !== baseline) opened.close();
      throw error;
    }
    kept = opened;
    const library: NativeLibrary = {
      path,
      variant: chosen.name,
      variants,
      cpuFeatures: features,
      abiVersion: ZENO_ABI_VERSION,
      symbols: opened.symbols,
    };
    _loadedByPath.set(path, library);
    return library;
  } finally {
    // The baseline served as a probe; close it unless it is the library we keep.
    if (kept !== baseline) baseline.close();
  }
}

/** Opens `path` after checking that it exists and has our ABI version. */
function _openChecked(path: string): Deno.DynamicLibrary<typeof NATIVE_SYMBOLS> {
  const action = `Cannot load the native library "${path}"`;
  if (!pathExistsSync(path)) {
    throw new NativeLibraryError(
      `${action}: the file does not exist; ${BUILD_HINT}, or set ZENO_LIB_DIR to the ` +
        `directory that holds ${nativeLibraryFileName("<variant>")}`,
    );
  }
  const probe = _dlopen(path, PROBE_SYMBOLS, action);
  const version = probe.symbols.zeno_abi_version();
  probe.close();
  if (version !== ZENO_ABI_VERSION) {
    throw new NativeLibraryError(
      `${action}: it has ABI version ${version}, but this zeno needs version ` +
        `${ZENO_ABI_VERSION}; ${BUILD_HINT} to rebuild it`,
    );
  }
  return _dlopen(path, NATIVE_SYMBOLS, action);
}

function _dlopen<S extends Deno.ForeignLibraryInterface>(
  path: string,
  symbols: S,
  action: string,
): Deno.DynamicLibrary<S> {
  try {
    return Deno.dlopen(path, symbols);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new NativeLibraryError(`${action}: ${reason}; ${BUILD_HINT}`, { cause: error });
  }
}

function _readVariants(symbols: NativeSymbols, features: readonly CpuFeature[]): NativeVariant[] {
  const count = symbols.zeno_variant_count();
  const variants: NativeVariant[] = [];
  for (let index = 0; index < count; index++) {
    const name = Deno.UnsafePointerView.getCString(symbols.zeno_variant_name(index)!);
    const requiredFeatures = cpuFeatureNames(BigInt(symbols.zeno_variant_features(index)));
    const supported = requiredFeatures.every((feature) => features.includes(feature));
    variants.push({ name, requiredFeatures, supported });
  }
  return variants;
}

function _chooseVariant(
  variants: NativeVariant[],
  requested: string | undefined,
  features: readonly CpuFeature[],
): NativeVariant {
  if (requested === undefined) return variants.findLast((v) => v.supported) ?? variants[0];
  const variant = variants.find((v) => v.name === requested);
  if (variant === undefined) {
    const names = variants.map((v) => v.name).join(", ");
    throw new RangeError(
      `Cannot load the native library variant "${requested}": ${Deno.build.arch} has ` +
        `variants ${names}`,
    );
  }
  if (!variant.supported) {
    const missing = variant.requiredFeatures.filter((feature) => !features.includes(feature));
    throw new NativeLibraryError(
      `Cannot load the native library variant "${requested}": this CPU lacks ` +
        `${missing.join(", ")}`,
    );
  }
  return variant;
}

/** A file renamed or copied over another variant's name would run the wrong code. */
function _checkBuildVariant(symbols: NativeSymbols, expected: string, path: string): void {
  const built = Deno.UnsafePointerView.getCString(symbols.zeno_build_variant()!);
  if (built !== expected) {
    throw new NativeLibraryError(
      `Cannot load the native library "${path}": it was built as variant "${built}", ` +
        `not "${expected}"; ${BUILD_HINT}`,
    );
  }
}
