/**
 * How a program that imports zeno gets the native library. JSR packages carry source files
 * only, so an importer finds the Zig library one of three ways, tried in this order:
 *
 * 1. **`ZENO_LIB_DIR`** (or `libDir`): a directory holding `libzeno-<arch>-<variant>.so`,
 *    e.g. the `zig/zig-out/lib` of a checkout after `deno task build`. Used as given.
 * 2. **Build with Zig** when Zig 0.16.0 is found (`$ZIG`, `zig` on PATH, `python3 -m ziglang`):
 *    the package ships `zig/`; the files are fetched through the registry's manifest
 *    (`<package root>_meta.json`, each checked against its sha256) and built into the cache.
 * 3. **Download** a prebuilt build: `<release URL>/v<version>/SHA256SUMS` (lines of
 *    `<sha256 hex>  <file name>`, as `sha256sum` prints them) lists the files; every
 *    `libzeno-<arch>-<variant>.<so|dylib>` of this architecture is fetched from
 *    `<release URL>/v<version>/<file name>` and kept only when its sha256 matches. The release
 *    URL is `$ZENO_LIB_URL`, else {@linkcode DEFAULT_RELEASE_URL}.
 *
 * Builds and downloads land in a per-user cache, `<cache>/zeno/lib/<version>/<os>-<arch>/lib`
 * (`<cache>` as for models: `$XDG_CACHE_HOME` or `~/.cache` on Linux, `~/Library/Caches` on
 * macOS, `%LOCALAPPDATA%` on Windows); a later run finds it there at once. When none of the
 * three is possible the error names all three and why each failed.
 *
 * In a checkout (this module loaded from a `file:` URL) nothing is built or downloaded: the
 * library is `zig/zig-out/lib` and the loader's own error says to run `deno task build`.
 *
 * @module
 */

import { NativeLibraryError } from "../../core/errors.ts";
import { modelCacheDir } from "../../core/hub/cache_dir.ts";
import { downloadFile } from "../../core/hub/download_file.ts";
import { dirname, joinPath, pathExistsSync } from "../../core/paths.ts";
import { findZig, ZIG_VERSION } from "./build.ts";
import { nativeLibraryFileName } from "./library.ts";

/** The package version the cache and the release downloads are keyed on (deno.json's). */
export const ZENO_VERSION = "0.1.0";

/** Where prebuilt libraries are published unless `$ZENO_LIB_URL` says otherwise. */
export const DEFAULT_RELEASE_URL = "https://github.com/zeno-dev/zeno/releases/download";

/** Options of {@linkcode acquireNativeLibrary}; each default reads the process. */
export interface AcquireNativeLibraryOptions {
  /** A directory holding the libraries (default `$ZENO_LIB_DIR`). */
  libDir?: string;
  /** URL of this module in its package (default its own `import.meta.url`). */
  moduleUrl?: string;
  /** The cache directory for this version and platform (default {@linkcode nativeLibraryCacheDir}). */
  cacheDir?: string;
  /** The `$ZIG` command to build with (default the environment's; see `findZig`). */
  zig?: string;
  /** Base URL of the prebuilt releases (default `$ZENO_LIB_URL` or {@linkcode DEFAULT_RELEASE_URL}). */
  releaseUrl?: string;
  /** Build only this variant ("baseline"); default every variant of this architecture. */
  buildVariant?: string;
  /** Called with one line per step ("building with Zig 0.16.0 (PATH) into …"). */
  onStatus?: (line: string) => void;
}

/** Where the library was found. */
export interface AcquiredNativeLibrary {
  /** The directory to pass as `libDir` (the loader finds it by itself too). */
  readonly libDir: string;
  /** How it got there. */
  readonly source: "env" | "checkout" | "cache" | "build" | "download";
}

/**
 * The per-user cache directory of this version's libraries on this platform.
 *
 * @returns `<cache>/zeno/lib/<version>/<os>-<arch>`
 */
export function nativeLibraryCacheDir(): string {
  // Same base as the model cache, but never under $ZENO_MODELS (that one is for models).
  const env = (name: string) => name === "ZENO_MODELS" ? undefined : Deno.env.get(name);
  const zenoDir = dirname(modelCacheDir({ env }));
  return joinPath(zenoDir, "lib", ZENO_VERSION, `${Deno.build.os}-${Deno.build.arch}`);
}

/**
 * Finds the native library without building or downloading: what the synchronous loader
 * calls when no directory was given and no build sits beside the module.
 *
 * @param options `libDir`, `moduleUrl`, `cacheDir` as in {@linkcode acquireNativeLibrary}
 * @returns the directory and how it was found
 * @throws NativeLibraryError naming the three ways when nothing is there yet
 */
export function findNativeLibrarySync(
  options: AcquireNativeLibraryOptions = {},
): AcquiredNativeLibrary {
  const found = _findReady(options);
  if (found !== undefined) return found;
  throw new NativeLibraryError(
    `${_action()}: it is not in ${_libDir(options)} yet; ` +
      `call \`await acquireNativeLibrary()\` once to build it with Zig ${ZIG_VERSION} or ` +
      `download it, or set ZENO_LIB_DIR to a directory that holds ${_baselineName()}`,
  );
}

/**
 * Makes the native library available: `ZENO_LIB_DIR`, else the checkout's build, else the
 * cache, else a build with Zig, else a checked download (see the module doc).
 *
 * @param options directories, URLs and the Zig command to use instead of the process's
 * @returns the directory holding `libzeno-<arch>-<variant>.so` and how it got there
 * @throws NativeLibraryError naming `ZENO_LIB_DIR`, the Zig build and the download, with the
 *   reason each failed
 *
 * @example Imported from JSR: the first call builds or downloads, later ones hit the cache
 * ```ts ignore
 * import { acquireNativeLibrary, loadModel } from "jsr:@zeno/zeno";
 * const { libDir, source } = await acquireNativeLibrary({ onStatus: console.error });
 * console.error(`native library: ${libDir} (${source})`);
 * ```
 */
export async function acquireNativeLibrary(
  options: AcquireNativeLibraryOptions = {},
): Promise<AcquiredNativeLibrary> {
  const ready = _findReady(options);
  if (ready !== undefined) return ready;
  const libDir = _libDir(options);
  const status = options.onStatus ?? (() => {});
  let buildFailure: string;
  try {
    await _buildIntoCache(options, libDir, status);
    return { libDir, source: "build" };
  } catch (error) {
    buildFailure = _reason(error);
  }
  const releaseUrl = _releaseUrl(options);
  try {
    await _downloadIntoCache(releaseUrl, libDir, status);
    return { libDir, source: "download" };
  } catch (error) {
    throw new NativeLibraryError(
      `${_action()}: ZENO_LIB_DIR is not set (set it to a directory that holds ` +
        `${_baselineName()}); building it failed (${buildFailure}); downloading it from ` +
        `${releaseUrl}/v${ZENO_VERSION}/ failed (${_reason(error)})`,
      { cause: error },
    );
  }
}

function _findReady(options: AcquireNativeLibraryOptions): AcquiredNativeLibrary | undefined {
  const explicit = options.libDir ?? (Deno.env.get("ZENO_LIB_DIR") || undefined);
  if (explicit !== undefined) return { libDir: explicit, source: "env" };
  const moduleUrl = new URL(options.moduleUrl ?? import.meta.url);
  if (moduleUrl.protocol === "file:") {
    const checkout = new URL("../../zig/zig-out/lib", moduleUrl);
    return { libDir: decodeURIComponent(checkout.pathname), source: "checkout" };
  }
  const libDir = _libDir(options);
  if (pathExistsSync(joinPath(libDir, _baselineName()))) return { libDir, source: "cache" };
  return undefined;
}

function _libDir(options: AcquireNativeLibraryOptions): string {
  return joinPath(options.cacheDir ?? nativeLibraryCacheDir(), "lib");
}

function _action(): string {
  return `Cannot get the native library of zeno ${ZENO_VERSION} for ` +
    `${Deno.build.os}-${Deno.build.arch}`;
}

function _baselineName(): string {
  return nativeLibraryFileName("baseline");
}

function _releaseUrl(options: AcquireNativeLibraryOptions): string {
  const url = options.releaseUrl ?? (Deno.env.get("ZENO_LIB_URL") || DEFAULT_RELEASE_URL);
  return url.replace(/\/+$/, "");
}

function _reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The package's files as the registry lists them: `{ "/zig/build.zig": "<sha256 hex>" }`. */
async function _fetchManifest(packageRoot: string): Promise<Map<string, string>> {
  const metaUrl = `${packageRoot.replace(/\/$/, "")}_meta.json`;
  const response = await fetch(metaUrl);
  if (!response.ok) {
    await response.body?.cancel();
    throw new NativeLibraryError(`cannot fetch "${metaUrl}": HTTP ${response.status}`);
  }
  const meta = await response.json() as { manifest?: Record<string, { checksum?: string }> };
  const files = new Map<string, string>();
  for (const [path, entry] of Object.entries(meta.manifest ?? {})) {
    const hex = entry.checksum?.replace(/^sha256-/, "");
    if (path.startsWith("/zig/") && hex !== undefined) files.set(path, hex);
  }
  if (files.size === 0) throw new NativeLibraryError(`"${metaUrl}" lists no zig/ files`);
  return files;
}

async function _fetchChecked(url: string, sha256Hex: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) {
    await response.body?.cancel();
    throw new NativeLibraryError(`cannot fetch "${url}": HTTP ${response.status}`);
  }
  const bytes = new Uint8Array(await response.arrayBuffer());
  const actual = _hex(await crypto.subtle.digest("SHA-256", bytes));
  if (actual !== sha256Hex) {
    throw new NativeLibraryError(`"${url}" has sha256 ${actual}, expected ${sha256Hex}`);
  }
  return bytes;
}

function _hex(bytes: ArrayBuffer): string {
  return Array.from(new Uint8Array(bytes), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** Fetches zig/ (checked) into a fresh directory, builds there, then moves `lib` into place. */
async function _buildIntoCache(
  options: AcquireNativeLibraryOptions,
  libDir: string,
  status: (line: string) => void,
): Promise<void> {
  const zig = await findZig("zig" in options ? { zigEnv: options.zig } : {});
  const packageRoot = new URL("../../", options.moduleUrl ?? import.meta.url).href;
  const files = await _fetchManifest(packageRoot);
  const workDir = await _freshSibling(libDir, "build");
  try {
    status(`fetching ${files.size} zig/ files from ${packageRoot}`);
    for (const [path, sha256Hex] of files) {
      const bytes = await _fetchChecked(new URL(`.${path}`, packageRoot).href, sha256Hex);
      const target = joinPath(workDir, path);
      await Deno.mkdir(dirname(target), { recursive: true });
      await Deno.writeFile(target, bytes);
    }
    status(`building with Zig ${zig.version} (${zig.source}) in ${workDir}`);
    const zigDir = joinPath(workDir, "zig");
    const flags = ["-Doptimize=ReleaseFast", "--prefix", workDir];
    if (options.buildVariant !== undefined) flags.push(`-Dvariant=${options.buildVariant}`);
    const args = [...zig.args, "build", "install", ...flags];
    const command = new Deno.Command(zig.command, {
      args,
      cwd: zigDir,
      stdout: "null",
      stderr: "piped",
    });
    const output = await command.output();
    if (!output.success) {
      const lastLines = new TextDecoder().decode(output.stderr).trim().split("\n").slice(-3);
      throw new NativeLibraryError(
        `\`zig build\` exited with code ${output.code}: ${lastLines.join(" / ")}`,
      );
    }
    await _moveIntoPlace(joinPath(workDir, "lib"), libDir);
  } finally {
    await Deno.remove(workDir, { recursive: true }).catch(() => {});
  }
}

/** Downloads every library of this architecture listed in SHA256SUMS, each checked. */
async function _downloadIntoCache(
  releaseUrl: string,
  libDir: string,
  status: (line: string) => void,
): Promise<void> {
  const base = `${releaseUrl}/v${ZENO_VERSION}`;
  const sums = await _fetchText(`${base}/SHA256SUMS`);
  const wanted = _librariesInSums(sums);
  if (!wanted.has(_baselineName())) {
    throw new NativeLibraryError(`"${base}/SHA256SUMS" lists no ${_baselineName()}`);
  }
  const workDir = await _freshSibling(libDir, "download");
  try {
    for (const [name, sha256Hex] of wanted) {
      status(`downloading ${base}/${name}`);
      const partial = joinPath(workDir, `${name}.partial`);
      const result = await downloadFile(`${base}/${name}`, partial);
      if (result.sha256 !== sha256Hex) {
        throw new NativeLibraryError(
          `"${base}/${name}" has sha256 ${result.sha256}, expected ${sha256Hex}`,
        );
      }
      await Deno.rename(partial, joinPath(workDir, name));
    }
    await _moveIntoPlace(workDir, libDir);
  } finally {
    await Deno.remove(workDir, { recursive: true }).catch(() => {});
  }
}

/** `sha256sum` lines naming this architecture's libraries: file name → sha256 hex. */
function _librariesInSums(sums: string): Map<string, string> {
  const extension = nativeLibraryFileName("x").split(".").pop();
  const pattern = new RegExp(`^libzeno-${Deno.build.arch}-\\w+\\.${extension}$`);
  const libraries = new Map<string, string>();
  for (const line of sums.split("\n")) {
    const match = /^([0-9a-f]{64}) [ *](\S+)$/.exec(line.trim());
    if (match !== null && pattern.test(match[2])) libraries.set(match[2], match[1]);
  }
  return libraries;
}

async function _fetchText(url: string): Promise<string> {
  const response = await fetch(url);
  if (!response.ok) {
    await response.body?.cancel();
    throw new NativeLibraryError(`cannot fetch "${url}": HTTP ${response.status}`);
  }
  return await response.text();
}

/** A new empty directory beside `libDir`, so the final move is a rename on one file system. */
async function _freshSibling(libDir: string, purpose: string): Promise<string> {
  await Deno.mkdir(dirname(libDir), { recursive: true });
  return await Deno.makeTempDir({ dir: dirname(libDir), prefix: `.${purpose}-` });
}

/** Renames `from` to `to`; another process that got there first wins and `from` is dropped. */
async function _moveIntoPlace(from: string, to: string): Promise<void> {
  try {
    await Deno.rename(from, to);
  } catch (error) {
    if (!pathExistsSync(joinPath(to, _baselineName()))) throw error;
  }
}
