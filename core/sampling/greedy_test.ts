import { strictEqual } from "node:assert";
import "../../backends/mod.ts";
import { createNativeBackend } from "../../backends/native/backend.ts";
import { loadNativeLibrary } from "../../backends/native/library.ts";
import { argmax, argmaxJs, setArgmaxKernel } from "./greedy.ts";
import { Xoshiro128 } from "./xoshiro128.ts";

Deno.test("argmax() returns the first index of the largest logit", () => {
  strictEqual(argmax(new Float32Array([-1, 4, 2, 4])), 1);
  strictEqual(argmax(new Float32Array([NaN, -3, -2])), 2);
  strictEqual(argmax(new Float32Array([-Infinity, Infinity, Infinity])), 1);
});

Deno.test("argmax() returns -1 when every logit is -Infinity or NaN", () => {
  strictEqual(argmax(new Float32Array([-Infinity, NaN])), -1);
  strictEqual(argmax(new Float32Array(0)), -1);
});

Deno.test("argmax() with the native kernel equals argmaxJs() on ties, NaN, infinities and views", () => {
  loadNativeLibrary();
  const before = setArgmaxKernel(null);
  createNativeBackend({ threads: 1 }).dispose(); // installs the library's kernel
  const native = setArgmaxKernel(before);
  strictEqual(native !== null, true);
  setArgmaxKernel(native);
  const random = new Xoshiro128(7);
  const specials = [NaN, -Infinity, Infinity, 0, -0, 3];
  for (const count of [0, 1, 15, 17, 1000, 49152, 128256]) {
    for (let round = 0; round < 6; round++) {
      const values = Float32Array.from({ length: count + 5 }, () => {
        const pick = Math.floor(random.nextFloat() * 8);
        if (round === 0) return pick % 2 === 0 ? NaN : -Infinity;
        return round === 1 ? specials[pick % specials.length] : pick; // few values: many ties
      });
      // A view that starts past its buffer's start, as the engine's logits rows do.
      const view = values.subarray(5);
      strictEqual(argmax(view), argmaxJs(view), `count ${count}, round ${round}`);
    }
  }
  setArgmaxKernel(before);
});
