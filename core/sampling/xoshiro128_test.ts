import { deepStrictEqual, strictEqual, throws } from "node:assert";
import { Xoshiro128 } from "./xoshiro128.ts";

// Expected outputs come from the reference C implementation of xoshiro128** and SplitMix64,
// compiled with `zig cc` on this machine.

Deno.test("Xoshiro128.nextUint32() matches the reference stream from state {1, 2, 3, 4}", () => {
  const generator = Xoshiro128.fromState([1, 2, 3, 4]);
  const outputs = Array.from({ length: 6 }, () => generator.nextUint32());
  deepStrictEqual(outputs, [11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
});

Deno.test("new Xoshiro128(42) expands the seed with SplitMix64 like the reference", () => {
  const generator = new Xoshiro128(42);
  // splitmix64(42) = 13679457532755275413, 2949826092126892291 (low word first)
  deepStrictEqual(Array.from(generator.state), [
    Number(13679457532755275413n & 0xffffffffn),
    Number(13679457532755275413n >> 32n),
    Number(2949826092126892291n & 0xffffffffn),
    Number(2949826092126892291n >> 32n),
  ]);
  const outputs = Array.from({ length: 6 }, () => generator.nextUint32());
  deepStrictEqual(outputs, [1776835114, 4165204688, 17111135, 2317295270, 2792088233, 2554630222]);
});

Deno.test("Xoshiro128.nextFloat() builds a 53-bit double in [0, 1) from two outputs", () => {
  const generator = new Xoshiro128(42);
  const expected = ((1776835114 >>> 5) * 2 ** 26 + (4165204688 >>> 6)) / 2 ** 53;
  strictEqual(generator.nextFloat(), expected);
  for (let i = 0; i < 10000; i++) {
    const u = generator.nextFloat();
    if (!(u >= 0 && u < 1)) throw new Error(`nextFloat() returned ${u}`);
  }
});

Deno.test("Xoshiro128.clone() continues the same stream independently", () => {
  const generator = new Xoshiro128(7);
  generator.nextUint32();
  const fork = generator.clone();
  const a = [generator.nextUint32(), generator.nextUint32()];
  const b = [fork.nextUint32(), fork.nextUint32()];
  deepStrictEqual(a, b);
});

Deno.test("Xoshiro128 rejects a seed outside [0, 2^32) and an all-zero state", () => {
  throws(() => new Xoshiro128(-1), RangeError);
  throws(() => new Xoshiro128(2 ** 32), RangeError);
  throws(() => new Xoshiro128(1.5), RangeError);
  throws(() => Xoshiro128.fromState([0, 0, 0, 0]), RangeError);
  throws(() => Xoshiro128.fromState([1, 2, 3]), TypeError);
});
