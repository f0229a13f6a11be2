/**
 * Byte classes: the 256 byte values cut into runs, a run starting at each marked byte.
 *
 * @module
 */

/**
 * The class of every byte, numbered from 0 in byte order.
 *
 * @param starts 257 flags; `starts[b]` = 1 when a new class starts at byte b (`starts[0]`
 *   must be 1; index 256 is a sentinel callers may set freely)
 * @returns the byte → class table and the number of classes
 * @example Two classes, split at 0x80
 * ```ts
 * import { strictEqual } from "node:assert";
 * const starts = new Uint8Array(257);
 * starts[0] = starts[0x80] = 1;
 * const { classOf, count } = byteClassTable(starts);
 * strictEqual(count, 2);
 * strictEqual(classOf[0x7f], 0);
 * strictEqual(classOf[0x80], 1);
 * ```
 */
export function byteClassTable(starts: Uint8Array): { classOf: Uint8Array; count: number } {
  const classOf = new Uint8Array(256);
  let cls = -1;
  for (let b = 0; b < 256; b++) {
    if (starts[b]) cls++;
    classOf[b] = cls;
  }
  return { classOf, count: cls + 1 };
}
