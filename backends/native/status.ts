/**
 * Status codes returned by fallible native calls (`Status` in zig/src/c_api.zig; values are
 * stable) and the error they become in TypeScript.
 *
 * @module
 */

import { NativeLibraryError } from "../../core/errors.ts";
import type { NativeSymbols } from "./symbols.ts";

/** Status values by name, as in c_api.zig. */
export const NATIVE_STATUS = {
  ok: 0,
  invalid_argument: 1,
  not_found: 2,
  access_denied: 3,
  is_directory: 4,
  not_regular_file: 5,
  name_too_long: 6,
  too_many_open_files: 7,
  out_of_memory: 8,
  file_too_big: 9,
  io_error: 10,
  unsupported: 11,
  unexpected: 12,
  lock_limit_exceeded: 13,
} as const;

/** The library's message for a status ("file does not exist"). */
export function statusMessage(symbols: NativeSymbols, status: number): string {
  const pointer = symbols.zeno_status_message(status);
  if (pointer === null) return `status ${status}`;
  return Deno.UnsafePointerView.getCString(pointer);
}

/** An error carrying the native status, for callers that branch on it. */
export class NativeStatusError extends NativeLibraryError {
  /** The status value (see {@linkcode NATIVE_STATUS}). */
  readonly status: number;

  /**
   * @param message the action and its value, then the library's reason
   * @param status the status value
   */
  constructor(message: string, status: number) {
    super(message);
    this.status = status;
  }
}

/**
 * Throws when `status` is not ok.
 *
 * @param action what was attempted, with its quoted value: `Cannot map "x.gguf"`
 * @throws NativeStatusError `${action}: ${reason}`
 */
export function checkStatus(symbols: NativeSymbols, status: number, action: string): void {
  if (status === NATIVE_STATUS.ok) return;
  throw new NativeStatusError(`${action}: ${statusMessage(symbols, status)}`, status);
}
