/**
 * File paths on Deno's built-ins alone, for the modules a model load goes through (finding
 * the native library, the model cache, naming a model file). node:path would do the same, but
 * the first `node:` import of a process starts Deno's Node compatibility layer, 6-12 MB of
 * resident memory that a process which only loads and runs a model should not pay.
 *
 * Paths are POSIX paths (the native library exists for Linux and macOS); on Windows `\` is
 * accepted as a separator too. `joinPath` and `resolvePath` normalize as node:path does
 * (`.` and `..` segments, repeated separators).
 *
 * @module
 */

const _SEPARATORS = Deno.build.os === "windows" ? /[\\/]+/ : /\/+/;
const _TRAILING_SEPARATORS = new RegExp(`(?:${_SEPARATORS.source})$`);

/**
 * Joins path segments with `/` and normalizes the result, as node:path's `posix.join`.
 *
 * @param segments path segments; empty ones are skipped
 * @returns the joined path, `"."` when nothing is left
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { joinPath } from "./paths.ts";
 * strictEqual(joinPath("/cache/", "zeno", "../lib", "x.so"), "/cache/lib/x.so");
 * ```
 */
export function joinPath(...segments: string[]): string {
  return _normalize(segments.filter((segment) => segment !== "").join("/"));
}

/**
 * Makes a path absolute against the working directory and normalizes it, as node:path's
 * `resolve` with one argument (symbolic links are kept, unlike `Deno.realPath`).
 *
 * @param path a relative or absolute path
 * @returns an absolute, normalized path
 */
export function resolvePath(path: string): string {
  return _normalize(path.startsWith("/") ? path : `${Deno.cwd()}/${path}`);
}

/**
 * The directory part of a path, as node:path's `dirname`.
 *
 * @param path a path
 * @returns everything before the last segment and its separator (`"/"` for a top-level
 *   entry, `"."` for a bare name)
 */
export function dirname(path: string): string {
  // node:path's posix.dirname: only the separator run next to the last segment goes.
  const rooted = path.length > 0 && _isSeparator(path[0]);
  let end = -1;
  let inTrailingSeparators = true;
  for (let i = path.length - 1; i >= 1; i--) {
    if (!_isSeparator(path[i])) inTrailingSeparators = false;
    else if (!inTrailingSeparators) {
      end = i;
      break;
    }
  }
  if (end === -1) return rooted ? path[0] : ".";
  if (rooted && end === 1) return path.slice(0, 2); // POSIX keeps a leading "//"
  return path.slice(0, end);
}

/**
 * The last segment of a path, as node:path's `basename`.
 *
 * @param path a path
 * @param suffix removed from the end when the name ends with it and is longer
 * @returns the file or directory name
 */
export function basename(path: string, suffix = ""): string {
  const name = _trimTrailingSeparators(path).split(_SEPARATORS).at(-1)!;
  if (suffix !== "" && name !== suffix && name.endsWith(suffix)) {
    return name.slice(0, -suffix.length);
  }
  return name;
}

/**
 * Whether something exists at a path, as node:fs's `existsSync` (any error counts as absent).
 *
 * @param path a file or directory path
 * @returns true when `Deno.statSync` succeeds
 */
export function pathExistsSync(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * The user's home directory from the environment (`HOME`, `USERPROFILE` on Windows), which
 * is where node:os's `homedir` looks first.
 *
 * @returns the directory, or undefined when the variable is not set
 */
export function homeDir(): string | undefined {
  const name = Deno.build.os === "windows" ? "USERPROFILE" : "HOME";
  return Deno.env.get(name) || undefined;
}

// Keeps a lone root ("/" stays "/").
function _trimTrailingSeparators(path: string): string {
  const trimmed = path.replace(_TRAILING_SEPARATORS, "");
  return trimmed === "" && path !== "" ? path[0] : trimmed;
}

function _isSeparator(char: string): boolean {
  return char === "/" || (char === "\\" && Deno.build.os === "windows");
}

// Resolves "." and ".." and collapses separators; ".." above the root stays at the root, and
// leading ".." segments of a relative path are kept (node:path's posix.normalize).
function _normalize(path: string): string {
  if (path === "") return ".";
  const absolute = path.startsWith("/");
  const kept: string[] = [];
  for (const segment of path.split(_SEPARATORS)) {
    if (segment === "" || segment === ".") continue;
    if (segment !== "..") kept.push(segment);
    else if (kept.length > 0 && kept.at(-1) !== "..") kept.pop();
    else if (!absolute) kept.push("..");
  }
  const trailing = /[\\/]$/.test(path) && kept.length > 0 ? "/" : "";
  const body = kept.join("/") + trailing;
  if (absolute) return `/${body}`;
  return body === "" ? "." : body;
}
