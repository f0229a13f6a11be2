/**
 * The process's peak resident set size: `VmHWM` of /proc/self/status on Linux, else the
 * current RSS (the best other systems offer without native calls).
 *
 * @module
 */

/**
 * Peak resident memory of this process so far, in bytes.
 *
 * @example
 * ```ts
 * import { ok } from "node:assert";
 * import { peakRssBytes } from "./peak_rss.ts";
 * ok(peakRssBytes() >= Deno.memoryUsage().rss * 0.5);
 * ```
 */
export function peakRssBytes(): number {
  try {
    const status = Deno.readTextFileSync("/proc/self/status");
    const match = /VmHWM:\s+(\d+) kB/.exec(status);
    if (match !== null) return Number(match[1]) * 1024;
  } catch {
    // Not Linux: fall through to the current RSS.
  }
  return Deno.memoryUsage().rss;
}
