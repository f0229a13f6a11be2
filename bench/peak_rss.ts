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

/**
 * Lowers the peak to the current RSS (Linux: "5" into /proc/self/clear_refs), so memory
 * that a measurement of something else took and gave back (the bandwidth test's buffer)
 * does not count as the model's. Returns false where that is not possible.
 *
 * @example
 * ```ts
 * import { ok } from "node:assert";
 * import { peakRssBytes, resetPeakRss } from "./peak_rss.ts";
 * if (resetPeakRss()) ok(peakRssBytes() <= Deno.memoryUsage().rss * 1.5);
 * ```
 */
export function resetPeakRss(): boolean {
  try {
    Deno.writeTextFileSync("/proc/self/clear_refs", "5");
    return true;
  } catch {
    return false;
  }
}
