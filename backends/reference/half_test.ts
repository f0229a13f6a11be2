import { strictEqual } from "node:assert";
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from "./half.ts";

Deno.test("f16ToF32() decodes zeros, subnormals, normals, infinities and NaN", () => {
  const cases: [number, number][] = [
    [0x0000, 0],
    [0x8000, -0],
    [0x0001, 2 ** -24],
    [0x03ff, 1023 * 2 ** -24],
    [0x0400, 2 ** -14],
    [0x3c00, 1],
    [0xc000, -2],
    [0x3555, 0.333251953125],
    [0x7bff, 65504],
    [0x7c00, Infinity],
    [0xfc00, -Infinity],
  ];
  for (const [bits, value] of cases) {
    strictEqual(Object.is(f16ToF32(bits), value), true, `0x${bits.toString(16)}`);
  }
  strictEqual(Number.isNaN(f16ToF32(0x7e00)), true);
  strictEqual(Number.isNaN(f16ToF32(0xfc01)), true);
});

Deno.test("f32ToF16() rounds to nearest even, saturates to infinity and keeps NaN quiet", () => {
  const cases: [number, number][] = [
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [0.1, 0x2e66],
    [65504, 0x7bff],
    [65519, 0x7bff],
    [65520, 0x7c00],
    [1e9, 0x7c00],
    [-Infinity, 0xfc00],
    [2 ** -24, 0x0001],
    [2 ** -25, 0x0000], // tie between 0 and the smallest subnormal: even is 0
    [3 * 2 ** -25, 0x0002], // tie between 1 and 2 subnormal units: even is 2
    [Math.fround(2 ** -25 * 1.0000001), 0x0001],
    [1023.5 * 2 ** -24, 0x0400], // tie between the largest subnormal and 2^-14
    [1 + 2 ** -11, 0x3c00],
    [1 + 3 * 2 ** -11, 0x3c02],
    [2 - 2 ** -12, 0x4000], // tie; the even neighbour is 2: the mantissa and carries into the exponent
    [1e-8, 0x0000],
  ];
  for (const [value, bits] of cases) strictEqual(f32ToF16(value), bits, `${value}`);
  strictEqual(f32ToF16(NaN), 0x7e00);
});

Deno.test("f32ToF16() inverts f16ToF32() on every non-NaN half", () => {
  for (let bits = 0; bits < 0x10000; bits++) {
    const value = f16ToF32(bits);
    if (Number.isNaN(value)) continue;
    if (f32ToF16(value) !== bits) throw new Error(`0x${bits.toString(16)} came back different`);
  }
});

Deno.test("bf16ToF32() and f32ToBf16() handle edges and ties to even", () => {
  strictEqual(bf16ToF32(0x3f80), 1);
  strictEqual(bf16ToF32(0xc040), -3);
  strictEqual(bf16ToF32(0x7f80), Infinity);
  strictEqual(bf16ToF32(0xff80), -Infinity);
  strictEqual(bf16ToF32(0x0001), 2 ** -133);
  strictEqual(Number.isNaN(bf16ToF32(0x7fc0)), true);
  strictEqual(f32ToBf16(1 + 2 ** -8), 0x3f80);
  strictEqual(f32ToBf16(1 + 3 * 2 ** -8), 0x3f82);
  strictEqual(f32ToBf16(-0), 0x8000);
  strictEqual(f32ToBf16(3.4e38), 0x7f80); // rounds past the largest finite bf16
  strictEqual(f32ToBf16(NaN), 0x7fc0);
  for (let bits = 0; bits < 0x10000; bits++) {
    const value = bf16ToF32(bits);
    if (Number.isNaN(value)) continue;
    if (f32ToBf16(value) !== bits) throw new Error(`0x${bits.toString(16)} came back different`);
  }
});
