import { deepStrictEqual, strictEqual } from "node:assert";
import { f32View, readF16, readF32, readI16, readI8, readU32 } from "./bytes.ts";

Deno.test("byte readers decode little-endian fields at any offset", () => {
  const bytes = new Uint8Array([0xff, 0x00, 0xc0, 0x00, 0x00, 0x80, 0xbf, 0xfe, 0xff]);
  strictEqual(readF16(bytes, 1), -2); // 0xc000
  strictEqual(readF32(bytes, 3), -1); // 0xbf800000 at an odd offset
  strictEqual(readI8(bytes, 0), -1);
  strictEqual(readI16(bytes, 7), -2);
  strictEqual(readU32(bytes, 5), 0xfffebf80);
});

Deno.test("f32View() views aligned rows and copies unaligned ones", () => {
  const buffer = new Uint8Array(12);
  new DataView(buffer.buffer).setFloat32(4, 2.5, true);
  const aligned = f32View(buffer.subarray(4), 2);
  strictEqual(aligned.buffer, buffer.buffer);
  deepStrictEqual([...aligned], [2.5, 0]);
  const unalignedBytes = new Uint8Array(9);
  unalignedBytes.set(buffer.subarray(4, 8), 1);
  const copy = f32View(unalignedBytes.subarray(1), 2);
  strictEqual(copy.buffer === unalignedBytes.buffer, false);
  deepStrictEqual([...copy], [2.5, 0]);
});
