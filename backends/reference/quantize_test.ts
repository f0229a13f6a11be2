import { deepStrictEqual, strictEqual, throws } from "node:assert";
import { GgmlType } from "../../core/gguf/types.ts";
import { dequantizeRow } from "./quant.ts";
import { quantizeRow } from "./quantize.ts";

function floatOfBits(bits: number): number {
  return new Float32Array(new Uint32Array([bits]).buffer)[0];
}

function int8s(bytes: Uint8Array): number[] {
  return [...new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length)];
}

Deno.test("quantizeRow(Q8_0) rounds halves away from zero; x86 rounding takes the even code", () => {
  const values = new Float32Array(32);
  values.set([127, 2.5, -2.5, 0.5, -1.49]);
  const reference = new Uint8Array(34);
  const x86 = new Uint8Array(34);
  quantizeRow(GgmlType.Q8_0, values, reference);
  quantizeRow(GgmlType.Q8_0, values, x86, { rounding: "x86" });
  deepStrictEqual([...reference.subarray(0, 2)], [0x00, 0x3c]); // d = 127 / 127 = 1
  deepStrictEqual(int8s(reference.subarray(2, 7)), [127, 3, -3, 1, -1]);
  deepStrictEqual(int8s(x86.subarray(2, 7)), [127, 2, -2, 0, -1]);
});

Deno.test("quantizeRow(Q8_0) x86 rounding scales by 127/amax, reference by 1/(amax/127)", () => {
  // amax = 3.1871314: 1/(amax/127) and 127/amax differ in the last bit, so x = 0.037643284
  // scales to 1.5000001 (→ 2) in the reference and to 1.4999999 (→ 1) on x86.
  const values = new Float32Array(32);
  values[0] = floatOfBits(1078721014);
  values[1] = floatOfBits(1025126360);
  const reference = new Uint8Array(34);
  const x86 = new Uint8Array(34);
  quantizeRow(GgmlType.Q8_0, values, reference);
  quantizeRow(GgmlType.Q8_0, values, x86, { rounding: "x86" });
  deepStrictEqual(int8s(reference.subarray(2, 4)), [127, 2]);
  deepStrictEqual(int8s(x86.subarray(2, 4)), [127, 1]);
});

Deno.test("quantizeRow(Q8_1) stores d and s = d·Σq as halves", () => {
  const values = new Float32Array(64);
  values.set([127, 2.5, -1]);
  values[32] = -0.25; // second block: amax 0.25, d = 0.25/127
  const out = new Uint8Array(72);
  quantizeRow(GgmlType.Q8_1, values, out);
  deepStrictEqual([...out.subarray(0, 4)], [0x00, 0x3c, 0x08, 0x58]); // d = 1, s = 129
  deepStrictEqual(int8s(out.subarray(4, 7)), [127, 3, -1]);
  deepStrictEqual(int8s(out.subarray(40, 41)), [-127]);
  // s = -127 · fround(0.25/127) = -0.25 (as an F16: 0xb400)
  deepStrictEqual([...out.subarray(38, 40)], [0x00, 0xb4]);
});

Deno.test("quantizeRow(Q8_K) scales by -127/max, rounds halves to even and fills bsums", () => {
  const values = new Float32Array(512);
  // Block 0: max = -254 → scale 0.5, d = 2. 1 → 0.5 → 0; 3 → 1.5 → 2; -127 → -63.5 → -64.
  values.set([-254, 1, 3, -127]);
  values[255] = 100;
  // Block 1: max = 10 → scale fround(-12.7); 5 · scale = -63.4999990 rounds in F32 to -63.5 → -64.
  values[256] = 10;
  values[257] = 5;
  const out = new Uint8Array(584);
  quantizeRow(GgmlType.Q8_K, values, out);
  const view = new DataView(out.buffer);
  strictEqual(view.getFloat32(0, true), 2);
  deepStrictEqual(int8s(out.subarray(4, 8)), [-127, 0, 2, -64]);
  strictEqual(view.getInt8(4 + 255), 50);
  strictEqual(view.getInt16(260, true), -189);
  strictEqual(view.getInt16(260 + 30, true), 50);
  strictEqual(view.getFloat32(292, true), Math.fround(1 / Math.fround(-12.7)));
  deepStrictEqual(int8s(out.subarray(296, 298)), [-127, -64]);
  strictEqual(view.getInt16(292 + 260, true), -191);
});

Deno.test("quantizeRow() writes zeros for an all-zero block", () => {
  for (
    const [type, byteLength, length] of [[GgmlType.Q8_0, 34, 32], [GgmlType.Q8_1, 36, 32], [
      GgmlType.Q8_K,
      292,
      256,
    ]]
  ) {
    const out = new Uint8Array(byteLength).fill(0x55);
    quantizeRow(type, new Float32Array(length), out);
    deepStrictEqual([...out], new Array(byteLength).fill(0), GgmlType[type]);
  }
});

Deno.test("quantizeRow() then dequantizeRow() stays within half a step of each value", () => {
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5;
  const values = Float32Array.from({ length: 512 }, () => 8 * random());
  for (
    const [type, byteLength] of [[GgmlType.Q8_0, 544], [GgmlType.Q8_1, 576], [GgmlType.Q8_K, 584]]
  ) {
    const bytes = new Uint8Array(byteLength);
    quantizeRow(type, values, bytes);
    const back = new Float32Array(512);
    dequantizeRow(type, bytes, back);
    const blockSize = type === GgmlType.Q8_K ? 256 : 32;
    for (let i = 0; i < 512; i++) {
      const block = values.subarray(i - (i % blockSize), i - (i % blockSize) + blockSize);
      const step = Math.max(...block.map(Math.abs)) / 127;
      // half a step, plus the F16 rounding of d (2^-11 relative) applied to |q| <= 127
      const bound = step / 2 + 127 * step * 2 ** -11;
      if (Math.abs(back[i] - values[i]) > bound) {
        throw new Error(`${GgmlType[type]} value ${i}: ${values[i]} came back as ${back[i]}`);
      }
    }
  }
});

Deno.test("quantizeRow() rejects weight types and short output", () => {
  throws(() => quantizeRow(GgmlType.Q4_0, new Float32Array(32), new Uint8Array(18)), {
    name: "RangeError",
    message: "Cannot quantize to Q4_0: only Q8_0, Q8_1 and Q8_K are activation types",
  });
  throws(() => quantizeRow(GgmlType.Q8_K, new Float32Array(256), new Uint8Array(291)), {
    name: "TypeError",
    message: "Cannot quantize 256 values to Q8_K: the output needs 292 bytes, got 291",
  });
});
