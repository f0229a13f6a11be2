/**
 * Where pulled models live: `$ZENO_MODELS` when set, else the platform's cache directory
 * (`$XDG_CACHE_HOME/zeno/models` or `~/.cache/zeno/models` on Linux and other Unixes,
 * `~/Library/Caches/zeno/models` on macOS, `%LOCALAPPDATA%\zeno\models` on Windows).
 *
 * @module
 */

import { homedir } from "node:os";
import { join, win32 } from "node:path";

/** What the cache location depends on; defaults read the running process. */
export interface CacheDirOptions {
  /** Environment lookup; default `Deno.env.get`. */
  env?: (name: string) => string | undefined;
  /** Operating system; default `Deno.build.os`. */
  os?: typeof Deno.build.os;
  /** Home directory; default `os.homedir()`. */
  homeDir?: string;
}

/**
 * The model cache directory (not created here).
 *
 * @param options environment, OS and home directory to use instead of the process's
 * @returns an absolute directory path
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
  const home = options.homeDir ?? homedir();
  if (os === "darwin") return join(home, "Library", "Caches", "zeno", "models");
  if (os === "windows") {
    const localAppData = env("LOCALAPPDATA") ?? win32.join(home, "AppData", "Local");
    return win32.join(localAppData, "zeno", "models");
  }
  const xdgCache = env("XDG_CACHE_HOME");
  // XDG says a relative value is invalid and must be ignored.
  const base = xdgCache && xdgCache.startsWith("/") ? xdgCache : join(home, ".cache");
  return join(base, "zeno", "models");
}
