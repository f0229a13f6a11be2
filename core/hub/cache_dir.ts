/**
 * Where pulled models live: `$ZENO_MODELS` when set, else the platform's cache directory
 * (`$XDG_CACHE_HOME/zeno/models` or `~/.cache/zeno/models` on Linux and other Unixes,
 * `~/Library/Caches/zeno/models` on macOS, `%LOCALAPPDATA%\zeno\models` on Windows).
 *
 * @module
 */

import { homeDir, joinPath } from "../paths.ts";

/** What the cache location depends on; defaults read the running process. */
export interface CacheDirOptions {
  /** Environment lookup; default `Deno.env.get`. */
  env?: (name: string) => string | undefined;
  /** Operating system; default `Deno.build.os`. */
  os?: typeof Deno.build.os;
  /** Home directory; default `$HOME` (`%USERPROFILE%` on Windows). */
  homeDir?: string;
}

/**
 * The model cache directory (not created here).
 *
 * @param options environment, OS and home directory to use instead of the process's
 * @returns an absolute directory path
 * @throws {Error} when the home directory is needed and `$HOME` is not set
 *
 * @example `$ZENO_MODELS` wins
 * ```ts
 * import { modelCacheDir } from "./cache_dir.ts";
 * const env = (name: string) => ({ ZENO_MODELS: "/data/models" } as Record<string, string>)[name];
 * if (modelCacheDir({ env }) !== "/data/models") throw new Error("unexpected");
 * ```
 */
export function modelCacheDir(options: CacheDirOptions = {}): string {
  const env = options.env ?? ((name: string) => Deno.env.get(name));
  const explicit = env("ZENO_MODELS");
  if (explicit) return explicit;
  const os = options.os ?? Deno.build.os;
  const home = () => options.homeDir ?? homeDir() ?? _noHome();
  if (os === "darwin") return joinPath(home(), "Library", "Caches", "zeno", "models");
  if (os === "windows") {
    const localAppData = env("LOCALAPPDATA") ?? _windowsJoin(home(), "AppData", "Local");
    return _windowsJoin(localAppData, "zeno", "models");
  }
  const xdgCache = env("XDG_CACHE_HOME");
  // XDG says a relative value is invalid and must be ignored.
  const base = xdgCache && xdgCache.startsWith("/") ? xdgCache : joinPath(home(), ".cache");
  return joinPath(base, "zeno", "models");
}

// The cache path of another OS can be asked for (tests do), so Windows' separator is explicit.
function _windowsJoin(...segments: string[]): string {
  return segments.map((segment) => segment.replace(/[\\/]+$/, "")).join("\\");
}

function _noHome(): never {
  throw new Error(
    "Cannot find the cache directory: HOME is not set; set ZENO_MODELS (models) or HOME",
  );
}
