import assert from "node:assert/strict";
import {
  BYTE_TO_CHAR,
  BYTE_TO_CODE_POINT,
  byteLevelDecode,
  byteLevelEncode,
  CODE_POINT_TO_BYTE,
} from "./byte_level.ts";

Deno.test("BYTE_TO_CODE_POINT keeps printable Latin-1 and moves the 68 others to U+0100..U+0143", () => {
  assert.equal(BYTE_TO_CODE_POINT[0x21], 0x21);
  assert.equal(BYTE_TO_CODE_POINT[0x7e], 0x7e);
  assert.equal(BYTE_TO_CODE_POINT[0xa1], 0xa1);
  assert.equal(BYTE_TO_CODE_POINT[0xff], 0xff);
  assert.equal(BYTE_TO_CODE_POINT[0x00], 0x100);
  assert.equal(BYTE_TO_CODE_POINT[0x0a], 0x10a);
  assert.equal(BYTE_TO_CODE_POINT[0x20], 0x120);
  assert.equal(BYTE_TO_CODE_POINT[0x7f], 0x121);
  assert.equal(BYTE_TO_CODE_POINT[0xa0], 0x142);
  assert.equal(BYTE_TO_CODE_POINT[0xad], 0x143);
  assert.equal(new Set(BYTE_TO_CODE_POINT).size, 256);
  assert.equal(BYTE_TO_CHAR[0x20], "Ġ");
});

Deno.test("CODE_POINT_TO_BYTE inverts BYTE_TO_CODE_POINT and marks the rest -1", () => {
  for (let byte = 0; byte < 256; byte++) {
    assert.equal(CODE_POINT_TO_BYTE[BYTE_TO_CODE_POINT[byte]], byte);
  }
  assert.equal(CODE_POINT_TO_BYTE[0x20], -1);
  assert.equal(CODE_POINT_TO_BYTE.filter((byte) => byte >= 0).length, 256);
});

Deno.test("byteLevelEncode() shows each UTF-8 byte as one character", () => {
  const bytes = new TextEncoder().encode(" Grüße\t\n");
  assert.equal(byteLevelEncode(bytes), "ĠGrÃ¼ÃŁeĉĊ");
  assert.equal(byteLevelEncode(new Uint8Array()), "");
});

Deno.test("byteLevelEncode() round-trips all 256 bytes through byteLevelDecode() in long input", () => {
  const bytes = new Uint8Array(10_000).map((_, i) => (i * 7) & 0xff);
  const text = byteLevelEncode(bytes);
  assert.equal(text.length, 10_000);
  assert.deepEqual(byteLevelDecode(text), bytes);
});

Deno.test("byteLevelDecode() keeps the UTF-8 of characters outside the alphabet", () => {
  assert.deepEqual(byteLevelDecode("aĠ b"), new Uint8Array([0x61, 0x20, 0x20, 0x62]));
  assert.deepEqual(byteLevelDecode("▁"), new Uint8Array([0xe2, 0x96, 0x81]));
});
