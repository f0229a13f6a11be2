import { deepStrictEqual, throws } from "node:assert";
import "../../backends/mod.ts";
import { loadNativeLibrary } from "../../backends/native/library.ts";
import { createNativeBackend } from "../../backends/native/backend.ts";
import { maskLogitsByBits, maskLogitsByBitsJs, setLogitsMaskKernel } from "./logits_mask.ts";
import { Xoshiro128 } from "./xoshiro128.ts";

Deno.test("maskLogitsByBitsJs() writes -Infinity exactly where bits are clear", () => {
  const logits = new Float32Array([1, 2, 3, 4, 5, 6]);
  maskLogitsByBitsJs(logits, new Uint32Array([0b101001]), 6);
  deepStrictEqual([...logits], [1, -Infinity, -Infinity, 4, -Infinity, 6]);
});

Deno.test("maskLogitsByBits() with the native kernel equals the JS loop on random masks", () => {
  loadNativeLibrary();
  const before = setLogitsMaskKernel(null);
  createNativeBackend({ threads: 1 }).dispose(); // installs the library's kernel
  const native = setLogitsMaskKernel(before);
  deepStrictEqual(native !== null, true);
  setLogitsMaskKernel(native);
  const random = new Xoshiro128(5);
  const next = () => random.nextFloat();
  for (const count of [1, 33, 4099, 262144]) {
    for (const kept of [0.02, 0.5, 0.98]) {
      const bits = new Uint32Array(Math.ceil(count / 32));
      for (let i = 0; i < count; i++) if (next() < kept) bits[i >>> 5] |= 1 << (i & 31);
      const fast = Float32Array.from({ length: count + 3 }, () => next() * 10 - 5);
      const js = fast.slice();
      maskLogitsByBits(fast, bits, count);
      maskLogitsByBitsJs(js, bits, count);
      deepStrictEqual(fast, js);
    }
  }
  setLogitsMaskKernel(before);
});

Deno.test("maskLogitsByBits() refuses arrays shorter than the count", () => {
  throws(
    () => maskLogitsByBits(new Float32Array(3), new Uint32Array(1), 4),
    /Cannot mask 4 logits: 3 logits and 32 mask bits/,
  );
});
