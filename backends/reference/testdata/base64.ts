/**
 * Base64 decoding for test fixtures (Deno has `atob`, which yields a binary string).
 *
 * @module
 */

/** Bytes of a base64 string. */
export function decodeBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
