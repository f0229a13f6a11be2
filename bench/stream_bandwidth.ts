/**
 * This machine's read bandwidth, measured by the native library (`zeno_stream_read_gbps`, a
 * STREAM-like sum over a huge-page buffer, best of several passes): the ceiling of a
 * memory-bound decode is this bandwidth divided by the bytes of weights read per token.
 *
 * @module
 */

import { loadNativeLibrary } from "../backends/native/library.ts";
import { checkStatus } from "../backends/native/status.ts";

/** Options of {@linkcode measureStreamGbps}. */
export interface StreamOptions {
  /** Threads reading; default 1. */
  readonly threads?: number;
  /** Buffer size in bytes; default 1 GiB (far beyond any cache). */
  readonly byteLength?: number;
  /** Passes, the best counts; default 5. */
  readonly passes?: number;
}

/**
 * Measures read bandwidth in GB/s (10^9 bytes per second).
 *
 * @param options threads, buffer size and passes
 * @returns the best pass's bandwidth
 * @throws NativeLibraryError when the library rejects the arguments or cannot allocate
 *
 * @example Two threads over 64 MiB
 * ```ts
 * import { ok } from "node:assert";
 * import { measureStreamGbps } from "./stream_bandwidth.ts";
 * ok(measureStreamGbps({ threads: 2, byteLength: 64 << 20, passes: 2 }) > 0);
 * ```
 */
export function measureStreamGbps(options: StreamOptions = {}): number {
  const { symbols } = loadNativeLibrary();
  const threads = options.threads ?? 1;
  const byteLength = options.byteLength ?? 1 << 30;
  const out = new Float64Array(1);
  const status = symbols.zeno_stream_read_gbps(
    null,
    BigInt(byteLength),
    threads,
    options.passes ?? 5,
    out,
  );
  checkStatus(
    symbols,
    status,
    `Cannot measure read bandwidth with ${threads} threads over ${byteLength} bytes`,
  );
  return out[0];
}
