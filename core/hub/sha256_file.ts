/**
 * Streaming sha256 of a file (node:crypto, ~0.4 GB/s here), never holding the file in memory.
 * node:crypto is imported when a hash is made, not with this module: the first `node:` import
 * starts Deno's Node compatibility layer (6-12 MB resident), and this module is on the path of
 * every model load (through `resolveModel` and the native library's download) while hashing
 * happens only on a pull. Web Crypto has no incremental sha256.
 *
 * @module
 */

import type { Hash } from "node:crypto";

const CHUNK_BYTES = 1 << 20;

/**
 * A new incremental sha256 (node:crypto's, loaded on first use).
 *
 * @returns a hash to `update` and `digest("hex")`
 */
export async function createSha256(): Promise<Hash> {
  const { createHash } = await import("node:crypto");
  return createHash("sha256");
}

/**
 * Feeds the first `byteLength` bytes of a file (all of it by default) into a hash.
 *
 * @param path the file
 * @param hash a node:crypto hash to update
 * @param byteLength how many bytes to read; default the whole file
 * @returns the number of bytes hashed
 */
export async function hashFileInto(
  path: string,
  hash: Hash,
  byteLength = Infinity,
): Promise<number> {
  using file = await Deno.open(path, { read: true });
  const buffer = new Uint8Array(CHUNK_BYTES);
  let total = 0;
  while (total < byteLength) {
    const read = await file.read(buffer.subarray(0, Math.min(CHUNK_BYTES, byteLength - total)));
    if (read === null) break;
    hash.update(buffer.subarray(0, read));
    total += read;
  }
  return total;
}

/**
 * The sha256 of a whole file, in lowercase hex.
 *
 * @param path the file
 * @returns 64 hex digits
 */
export async function sha256File(path: string): Promise<string> {
  const hash = await createSha256();
  await hashFileInto(path, hash);
  return hash.digest("hex");
}
