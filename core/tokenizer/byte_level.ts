/**
 * GPT-2's byte-level alphabet: every byte 0..255 is shown as one printable code point, so a
 * byte-level BPE vocabulary can store any byte sequence as ordinary text. Bytes that are
 * already printable Latin-1 ("!".."~", "¡".."¬", "®".."ÿ") stand for themselves; the other
 * 68 bytes (controls, space, DEL, NBSP, soft hyphen) take the code points U+0100.. in byte
 * order, which is why a space reads "Ġ" (U+0120) and a newline "Ċ" (U+010A) in these vocabs.
 *
 * @module
 */

/** Code point shown for each byte: `[256]`, every value < 0x144. */
export const BYTE_TO_CODE_POINT: Uint16Array = _buildByteToCodePoint();

/** The byte each alphabet code point stands for, or -1: `[0x144]`, indexed by code point. */
export const CODE_POINT_TO_BYTE: Int16Array = _buildCodePointToByte(BYTE_TO_CODE_POINT);

/** The one-character string shown for each byte: `[256]`. */
export const BYTE_TO_CHAR: readonly string[] = Array.from(
  BYTE_TO_CODE_POINT,
  (codePoint) => String.fromCharCode(codePoint),
);

function _isPrintableLatin1(byte: number): boolean {
  return (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || byte >= 0xae;
}

function _buildByteToCodePoint(): Uint16Array {
  const table = new Uint16Array(256);
  let next = 0x100;
  for (let byte = 0; byte < 256; byte++) {
    table[byte] = _isPrintableLatin1(byte) ? byte : next++;
  }
  return table;
}

function _buildCodePointToByte(byteToCodePoint: Uint16Array): Int16Array {
  const table = new Int16Array(0x144).fill(-1);
  byteToCodePoint.forEach((codePoint, byte) => table[codePoint] = byte);
  return table;
}

const _UTF8 = new TextEncoder();

// String.fromCharCode.apply takes its arguments on the stack: build long strings in chunks.
const _CHUNK_LENGTH = 4096;

/**
 * Shows bytes in the byte-level alphabet (one UTF-16 unit per byte).
 *
 * @param bytes raw bytes, usually UTF-8 text
 * @returns the byte-level string, `bytes.length` characters long
 *
 * @example Encode "Hi there"
 * ```ts
 * import { byteLevelEncode } from "./byte_level.ts";
 * const text = byteLevelEncode(new TextEncoder().encode("Hi there\n"));
 * if (text !== "HiĠthereĊ") throw new Error(text);
 * ```
 */
export function byteLevelEncode(bytes: Uint8Array): string {
  const codes = new Uint16Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) codes[i] = BYTE_TO_CODE_POINT[bytes[i]];
  let text = "";
  for (let start = 0; start < codes.length; start += _CHUNK_LENGTH) {
    const chunk = codes.subarray(start, start + _CHUNK_LENGTH);
    text += String.fromCharCode.apply(null, chunk as unknown as number[]);
  }
  return text;
}

/**
 * The bytes a byte-level string stands for. A character outside the alphabet (an added
 * token may hold one) keeps its own UTF-8 bytes, so nothing is dropped.
 *
 * @param text a byte-level string such as a vocabulary token ("Ġthe")
 * @returns the raw bytes
 *
 * @example Decode a token
 * ```ts
 * import { byteLevelDecode } from "./byte_level.ts";
 * const bytes = byteLevelDecode("Ġä½łå¥½");
 * if (new TextDecoder().decode(bytes) !== " 你好") throw new Error("wrong bytes");
 * ```
 */
export function byteLevelDecode(text: string): Uint8Array {
  const out = new Uint8Array(text.length * 4);
  let length = 0;
  for (const char of text) {
    const codePoint = char.codePointAt(0)!;
    const byte = codePoint < CODE_POINT_TO_BYTE.length ? CODE_POINT_TO_BYTE[codePoint] : -1;
    if (byte >= 0) {
      out[length++] = byte;
    } else {
      length += _UTF8.encodeInto(char, out.subarray(length)).written;
    }
  }
  return out.slice(0, length);
}
