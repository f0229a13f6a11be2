/**
 * Checks a cached file against its expected size and sha256, hashing it only once: the result
 * is recorded in a sidecar `<file>.sha256.json` (`{ sha256, byteLength, mtimeMs }`) that stays
 * valid while the file's size and modification time are unchanged.
 *
 * @module
 */

import { sha256File } from "./sha256_file.ts";

/** What the file should be; fields left out are not checked. */
export interface ExpectedFile {
  readonly sha256?: string;
  readonly byteLength?: number;
}

/** The outcome of `verifyCachedFile`. */
export type VerifyResult =
  | { readonly ok: true; readonly sha256: string }
  | { readonly ok: false; readonly reason: string };

interface _Record {
  sha256: string;
  byteLength: number;
  mtimeMs: number;
}

/**
 * The sidecar path of a cached file.
 *
 * @param path the cached file
 * @returns `<path>.sha256.json`
 */
export function sidecarPath(path: string): string {
  return `${path}.sha256.json`;
}

/**
 * Checks size, then sha256 (from the sidecar when it still describes the file, else computed
 * and recorded).
 *
 * @param path an existing file
 * @param expected size and sha256 to match
 * @returns ok with the sha256, or the reason it does not match
 */
export async function verifyCachedFile(
  path: string,
  expected: ExpectedFile,
): Promise<VerifyResult> {
  const info = await Deno.stat(path);
  if (expected.byteLength !== undefined && info.size !== expected.byteLength) {
    return { ok: false, reason: `its size is ${info.size} bytes, expected ${expected.byteLength}` };
  }
  const mtimeMs = info.mtime?.getTime() ?? 0;
  const record = await _readRecord(path);
  let sha256: string;
  if (record !== undefined && record.byteLength === info.size && record.mtimeMs === mtimeMs) {
    sha256 = record.sha256;
  } else {
    sha256 = await sha256File(path);
    // A read-only cache still works; it only hashes again next time.
    await _writeRecord(path, { sha256, byteLength: info.size, mtimeMs }).catch(() => {});
  }
  if (expected.sha256 !== undefined && sha256 !== expected.sha256) {
    return { ok: false, reason: `its sha256 is ${sha256}, expected ${expected.sha256}` };
  }
  return { ok: true, sha256 };
}

/**
 * Records a sha256 just computed for a file (after a download), so the next check is free.
 *
 * @param path the file
 * @param sha256 its sha256
 */
export async function recordVerifiedFile(path: string, sha256: string): Promise<void> {
  const info = await Deno.stat(path);
  await _writeRecord(path, { sha256, byteLength: info.size, mtimeMs: info.mtime?.getTime() ?? 0 });
}

async function _readRecord(path: string): Promise<_Record | undefined> {
  try {
    const record = JSON.parse(await Deno.readTextFile(sidecarPath(path)));
    return typeof record?.sha256 === "string" ? record : undefined;
  } catch {
    // A missing or unreadable sidecar only means hashing again.
    return undefined;
  }
}

async function _writeRecord(path: string, record: _Record): Promise<void> {
  // Write then rename, so a reader never sees half a record.
  const temporary = `${sidecarPath(path)}.partial`;
  await Deno.writeTextFile(temporary, JSON.stringify(record) + "\n");
  await Deno.rename(temporary, sidecarPath(path));
}
