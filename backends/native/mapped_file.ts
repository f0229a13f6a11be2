/**
 * Memory-mapped files: a model's bytes as a zero-copy `Uint8Array` over the native mapping.
 *
 * The native library maps the file read-only and shared (`PROT_READ`, `MAP_SHARED`), so the
 * bytes are the kernel's page cache itself: opening costs no read, pages load on first touch,
 * and processes that map the same file share the same physical pages. Nothing is copied into
 * JavaScript memory. Idle file pages can be reclaimed by the kernel and read again later.
 *
 * @module
 */

import { NativeLibraryError } from "../../core/errors.ts";
import { loadNativeLibrary, type LoadNativeLibraryOptions } from "./library.ts";
import { checkStatus } from "./status.ts";

/** How the pages of a mapping will be read, passed to the kernel as `madvise` advice. */
export type MapAdvice = "normal" | "sequential" | "random" | "willneed" | "hugepage";

const ADVICE_CODES: Record<MapAdvice, number> = {
  normal: 0,
  sequential: 1,
  random: 2,
  willneed: 3,
  hugepage: 4,
};

/** A file mapped into memory. */
export interface MappedFile {
  /** The path as given to {@linkcode mapFile}. */
  readonly path: string;
  /** The file's size in bytes when it was mapped. */
  readonly byteLength: number;
  /**
   * The file's bytes: a view of the mapping, not a copy. Read-only memory: writing to it
   * crashes the process. After {@linkcode MappedFile.close} the memory is gone and touching
   * this view is undefined behaviour (a crash), so drop every view before closing.
   */
  readonly bytes: Uint8Array;
  /** Whether {@linkcode MappedFile.close} has been called. */
  readonly closed: boolean;
  /**
   * Advice for the whole file: `"willneed"` starts reading it into the page cache in the
   * background; `"hugepage"` asks for huge pages (for file pages most kernels ignore it).
   * @throws NativeLibraryError when the kernel rejects the advice
   */
  advise(advice: MapAdvice): void;
  /**
   * Reads the whole file now and pins its pages in RAM until `close()` (`mlock`), so weights
   * stay hot: the kernel otherwise reclaims file pages that sit idle (here after about a
   * minute) and the next request reads them from disk again. Costs the read up front and the
   * file's size in locked memory, limited by RLIMIT_MEMLOCK unless the process has
   * CAP_IPC_LOCK. The pages stay shared with other processes.
   * @throws NativeLibraryError when the limit or the permissions forbid it
   */
  lock(): void;
  /**
   * Drops this process's pages of the whole pages inside bytes [offset, offset + length):
   * they leave its RSS but stay in the page cache, and reading them again faults them back in.
   * For weights copied elsewhere (a repacked layout).
   * @throws NativeLibraryError when the range is outside the file or the file is closed
   */
  release(offset: number, length: number): void;
  /** Unmaps the file. Calling it again does nothing. */
  close(): void;
}

/** Options of {@linkcode mapFile}. */
export interface MapFileOptions {
  /** Which native library to use (default: the one {@linkcode loadNativeLibrary} picks). */
  library?: LoadNativeLibraryOptions;
}

/**
 * Maps the file at `path` read-only. An empty file gives an empty `bytes`.
 *
 * @param path a file path (relative paths start at the current directory)
 * @returns the mapping; call `close()` when done, or it stays mapped until the process exits
 * @throws NativeLibraryError naming the path and the reason (missing, a directory, denied …)
 *
 * @example Map a file and read its bytes
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { mapFile } from "./mapped_file.ts";
 * const path = Deno.makeTempFileSync();
 * Deno.writeTextFileSync(path, "GGUF");
 * const file = mapFile(path);
 * strictEqual(new TextDecoder().decode(file.bytes), "GGUF");
 * file.close();
 * Deno.removeSync(path);
 * ```
 */
export function mapFile(path: string, options: MapFileOptions = {}): MappedFile {
  const { symbols } = loadNativeLibrary(options.library);
  const action = `Cannot map "${path}"`;
  const pathBytes = new TextEncoder().encode(path);
  const handleOut = new BigUint64Array(1);
  checkStatus(
    symbols,
    symbols.zeno_map_open(pathBytes, BigInt(pathBytes.length), handleOut),
    action,
  );
  const handle = Deno.UnsafePointer.create(handleOut[0]);
  const byteLength = Number(symbols.zeno_map_len(handle));
  const pointer = symbols.zeno_map_ptr(handle);
  const bytes = pointer === null
    ? new Uint8Array(0)
    : new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(pointer, byteLength));
  let closed = false;
  return {
    path,
    byteLength,
    bytes,
    get closed() {
      return closed;
    },
    advise(advice: MapAdvice): void {
      if (closed) throw new NativeLibraryError(`Cannot advise "${path}": it is closed`);
      checkStatus(
        symbols,
        symbols.zeno_map_advise(handle, ADVICE_CODES[advice]),
        `${action} with advice "${advice}"`,
      );
    },
    lock(): void {
      if (closed) throw new NativeLibraryError(`Cannot lock "${path}": it is closed`);
      checkStatus(symbols, symbols.zeno_map_lock(handle), `Cannot lock "${path}" in memory`);
    },
    release(offset: number, length: number): void {
      if (closed) throw new NativeLibraryError(`Cannot release pages of "${path}": it is closed`);
      checkStatus(
        symbols,
        symbols.zeno_map_release(handle, BigInt(offset), BigInt(length)),
        `Cannot release bytes ${offset}..${offset + length} of "${path}"`,
      );
    },
    close(): void {
      if (closed) return;
      closed = true;
      symbols.zeno_map_close(handle);
    },
  };
}
