import { deepStrictEqual, strictEqual, throws } from "node:assert";
import { GgmlType } from "../../core/gguf/types.ts";
import { decodeRow } from "./blocks.ts";

Deno.test("decodeRow() keeps Q8_1's stored block sum s", () => {
  const bytes = new Uint8Array(72);
  bytes.set([0x00, 0x3c, 0x00, 0x50, 5, 0xfb]); // block 0: d = 1, s = 32, qs = [5, -5, 0 ...]
  bytes.set([0x00, 0x38, 0x00, 0xc0], 36); // block 1: d = 0.5, s = -2
  const row = decodeRow(GgmlType.Q8_1, bytes, 64);
  deepStrictEqual([...row.d], [1, 0.5]);
  deepStrictEqual([...row.s], [32, -2]);
  deepStrictEqual([...row.quants.subarray(0, 3)], [5, -5, 0]);
  strictEqual(row.groupSize, 32);
});

Deno.test("decodeRow() reads Q8_K's f32 scale and int16 bsums", () => {
  const bytes = new Uint8Array(292);
  const view = new DataView(bytes.buffer);
  view.setFloat32(0, -0.375, true);
  view.setInt8(4 + 17, -100);
  view.setInt16(260 + 2, -100, true);
  view.setInt16(260 + 30, 2047, true);
  const row = decodeRow(GgmlType.Q8_K, bytes, 256);
  deepStrictEqual([...row.d], [-0.375]);
  strictEqual(row.quants[17], -100);
  deepStrictEqual([row.bsums[0], row.bsums[1], row.bsums[15]], [0, -100, 2047]);
  deepStrictEqual([row.groupSize, row.scales[0], row.mins[0]], [256, 1, 0]);
});

Deno.test("decodeRow() spreads Q4_K scales and mins over 8 groups per super-block", () => {
  const bytes = new Uint8Array(288); // two super-blocks
  bytes.set([0x00, 0x3c, 0x00, 0x38, 7, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0x21], 144); // block 1
  const row = decodeRow(GgmlType.Q4_K, bytes, 512);
  deepStrictEqual([...row.d], [0, 1]);
  deepStrictEqual([...row.m], [0, 0.5]);
  // group 8 = block 1 group 0: scale 7, min 9; group 15 = block 1 group 7: scale 1, min 2
  deepStrictEqual([row.scales[8], row.mins[8], row.scales[15], row.mins[15]], [7, 9, 1, 2]);
});

Deno.test("decodeRow() rejects float types", () => {
  throws(() => decodeRow(GgmlType.F16, new Uint8Array(64), 32), {
    name: "RangeError",
    message: "Cannot unpack a row of type F16: it is not a quantized type",
  });
});
