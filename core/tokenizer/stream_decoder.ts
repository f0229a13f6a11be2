/**
 * Streaming detokenizer: turns ids into text one at a time and never emits half a UTF-8
 * sequence, so a character split over byte tokens (`<0xF0><0x9F><0x98><0x80>` = 😀) comes
 * out whole once its last byte arrives. Built on `TextDecoder`'s streaming mode, which keeps
 * an incomplete tail between calls and turns invalid bytes into U+FFFD.
 *
 * @module
 */

import type { StreamDecoder } from "./types.ts";

/**
 * Creates a stream decoder over a function that gives each token's bytes.
 *
 * @param pieceBytes the bytes a token adds to the text (empty for a skipped token)
 * @returns a decoder whose `push` returns only complete characters
 *
 * @example Two byte tokens make one character
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { createByteStreamDecoder } from "./stream_decoder.ts";
 * const pieces = [Uint8Array.of(0xC3), Uint8Array.of(0xA9)]; // "é" split in two
 * const decoder = createByteStreamDecoder((id) => pieces[id]);
 * strictEqual(decoder.push(0), "");
 * strictEqual(decoder.push(1), "é");
 * strictEqual(decoder.flush(), "");
 * ```
 */
export function createByteStreamDecoder(pieceBytes: (id: number) => Uint8Array): StreamDecoder {
  // A call without `stream` ends the stream and resets the decoder for the next one.
  const decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
  return {
    push(id: number): string {
      const bytes = pieceBytes(id);
      return bytes.length === 0 ? "" : decoder.decode(bytes, { stream: true });
    },
    flush(): string {
      return decoder.decode();
    },
  };
}
