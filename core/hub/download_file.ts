/**
 * Resumable HTTP download into a `.partial` file. When the partial file has bytes, we ask for
 * the rest (`Range: bytes=<size>-`): a `206` whose `Content-Range` starts there is appended, a
 * `200` (the server ignores ranges) starts over, a `416` drops the partial file and starts
 * over once. The sha256 covers the whole file (the kept prefix is hashed first). A failure
 * keeps the partial file for the next attempt; it never gets the final name here: the caller
 * verifies, then renames.
 *
 * @module
 */

import type { Hash } from "node:crypto";
import { PullError } from "../errors.ts";
import { createSha256, hashFileInto } from "./sha256_file.ts";

/** Options of `downloadFile`. */
export interface DownloadOptions {
  /** Expected size: a longer partial file is discarded, an equal one is not re-requested. */
  expectedBytes?: number;
  /** Called with (bytes done, total when known) as data arrives. */
  onProgress?: (doneBytes: number, totalBytes: number | undefined, startBytes: number) => void;
  /** Give up when response headers take longer; default 30 s. */
  headersTimeoutMs?: number;
  /** Give up when the body stalls longer; default 60 s. */
  stallTimeoutMs?: number;
}

/** What `downloadFile` produced. */
export interface DownloadResult {
  /** Size of the partial file now, in bytes. */
  readonly byteLength: number;
  /** sha256 of the whole partial file, hex. */
  readonly sha256: string;
  /** Bytes that were kept from an earlier attempt. */
  readonly resumedBytes: number;
}

async function _fileSize(path: string): Promise<number> {
  try {
    return (await Deno.stat(path)).size;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return 0;
    throw error;
  }
}

/**
 * Downloads `url` into `partialPath`, resuming what is there.
 *
 * @param url an http(s) URL
 * @param partialPath the temporary file (kept on failure)
 * @param options expected size, progress callback, timeouts
 * @returns size and sha256 of the complete partial file
 * @throws {PullError} naming the URL: HTTP status, timeout, truncated body, network error
 */
export async function downloadFile(
  url: string,
  partialPath: string,
  options: DownloadOptions = {},
): Promise<DownloadResult> {
  let keptBytes = await _fileSize(partialPath);
  if (options.expectedBytes !== undefined && keptBytes > options.expectedBytes) {
    await Deno.truncate(partialPath, 0);
    keptBytes = 0;
  }
  if (keptBytes > 0 && keptBytes === options.expectedBytes) {
    const hash = await createSha256();
    await hashFileInto(partialPath, hash);
    return { byteLength: keptBytes, sha256: hash.digest("hex"), resumedBytes: keptBytes };
  }
  const result = await _attempt(url, partialPath, keptBytes, options);
  if (result !== "restart") return result;
  await Deno.truncate(partialPath, 0);
  const retried = await _attempt(url, partialPath, 0, options);
  if (retried === "restart") throw new PullError(`Cannot download "${url}": HTTP 416 from byte 0`);
  return retried;
}

async function _attempt(
  url: string,
  partialPath: string,
  keptBytes: number,
  options: DownloadOptions,
): Promise<DownloadResult | "restart"> {
  const abort = new AbortController();
  const headersTimer = setTimeout(
    () => abort.abort(new Error("no response headers in time")),
    options.headersTimeoutMs ?? 30_000,
  );
  let response: Response;
  try {
    const headers: HeadersInit = keptBytes > 0 ? { Range: `bytes=${keptBytes}-` } : {};
    response = await fetch(url, { headers, signal: abort.signal });
  } catch (error) {
    throw new PullError(`Cannot download "${url}": ${_reason(error, abort)}`, { cause: error });
  } finally {
    clearTimeout(headersTimer);
  }
  if (response.status === 416 && keptBytes > 0) {
    await response.body?.cancel();
    return "restart";
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new PullError(
      `Cannot download "${url}": HTTP ${response.status} ${response.statusText}`.trimEnd(),
    );
  }
  const startBytes = _resumeOffset(response, keptBytes);
  const totalBytes = _totalBytes(response, startBytes) ?? options.expectedBytes;
  const hash = await createSha256();
  if (startBytes > 0) await hashFileInto(partialPath, hash, startBytes);
  else await Deno.writeFile(partialPath, new Uint8Array());
  const byteLength = await _writeBody(response, partialPath, {
    url,
    hash,
    startBytes,
    totalBytes,
    abort,
    options,
  });
  if (totalBytes !== undefined && byteLength !== totalBytes) {
    throw new PullError(
      `Cannot download "${url}": the body ended after ${byteLength} of ${totalBytes} bytes`,
    );
  }
  return { byteLength, sha256: hash.digest("hex"), resumedBytes: startBytes };
}

/** Where the body starts in the file: `keptBytes` for a matching 206, else 0. */
function _resumeOffset(response: Response, keptBytes: number): number {
  if (response.status !== 206) return 0;
  const range = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(response.headers.get("content-range") ?? "");
  if (range === null || Number(range[1]) !== keptBytes) {
    throw new PullError(
      `Cannot resume "${response.url}" at byte ${keptBytes}: the server answered Content-Range ` +
        `"${response.headers.get("content-range")}"`,
    );
  }
  return keptBytes;
}

function _totalBytes(response: Response, startBytes: number): number | undefined {
  if (response.status === 206) {
    const total = /\/(\d+)$/.exec(response.headers.get("content-range") ?? "");
    if (total !== null) return Number(total[1]);
  }
  const length = response.headers.get("content-length");
  return length === null ? undefined : startBytes + Number(length);
}

interface _BodyContext {
  url: string;
  hash: Hash;
  startBytes: number;
  totalBytes: number | undefined;
  abort: AbortController;
  options: DownloadOptions;
}

async function _writeBody(response: Response, path: string, context: _BodyContext) {
  const stallMs = context.options.stallTimeoutMs ?? 60_000;
  let stallTimer = setTimeout(() => context.abort.abort(new Error("the body stalled")), stallMs);
  using file = await Deno.open(path, { write: true, append: true });
  let doneBytes = context.startBytes;
  try {
    for await (const chunk of response.body ?? []) {
      clearTimeout(stallTimer);
      stallTimer = setTimeout(() => context.abort.abort(new Error("the body stalled")), stallMs);
      context.hash.update(chunk);
      for (let written = 0; written < chunk.length;) {
        written += await file.write(chunk.subarray(written));
      }
      doneBytes += chunk.length;
      context.options.onProgress?.(doneBytes, context.totalBytes, context.startBytes);
    }
  } catch (error) {
    throw new PullError(
      `Cannot download "${context.url}": ${_reason(error, context.abort)} after ${doneBytes} ` +
        `bytes (kept in "${path}" to resume)`,
      { cause: error },
    );
  } finally {
    clearTimeout(stallTimer);
  }
  return doneBytes;
}

function _reason(error: unknown, abort: AbortController): string {
  if (abort.signal.aborted && abort.signal.reason instanceof Error) {
    return abort.signal.reason.message;
  }
  if (!(error instanceof Error)) return String(error);
  // fetch's "fetch failed" says little; its cause names DNS, connect or TLS failures.
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
  return `${error.message}${cause}`;
}
