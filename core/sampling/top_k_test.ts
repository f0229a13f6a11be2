import { deepStrictEqual, strictEqual } from "node:assert";
import { selectTopK } from "./top_k.ts";
import { Xoshiro128 } from "./xoshiro128.ts";

function sortedTopK(logits: Float32Array, k: number): number[] {
  const out = new Int32Array(k);
  const count = selectTopK(logits, k, out);
  return Array.from(out.subarray(0, count)).sort((a, b) => a - b);
}

Deno.test("selectTopK() keeps the k largest logits of a hand-built vector", () => {
  const logits = new Float32Array([0.1, 7, -3, 4, 4.5, 9, 0]);
  deepStrictEqual(sortedTopK(logits, 3), [1, 4, 5]);
  deepStrictEqual(sortedTopK(logits, 1), [5]);
});

Deno.test("selectTopK() breaks ties at the boundary by the lowest id", () => {
  const logits = new Float32Array([2, 1, 2, 3, 2, 2]);
  deepStrictEqual(sortedTopK(logits, 2), [0, 3]);
  deepStrictEqual(sortedTopK(logits, 4), [0, 2, 3, 4]);
});

Deno.test("selectTopK() skips -Infinity and NaN and returns fewer when few are left", () => {
  const logits = new Float32Array([-Infinity, NaN, 1, -Infinity, -5]);
  deepStrictEqual(sortedTopK(logits, 4), [2, 4]);
  strictEqual(selectTopK(new Float32Array(3).fill(-Infinity), 2, new Int32Array(2)), 0);
});

Deno.test("selectTopK() agrees with a full sort on 100000 random logits", () => {
  const generator = new Xoshiro128(5);
  // Rounded to a coarse grid so that many ties fall on the boundary.
  const logits = Float32Array.from(
    { length: 100000 },
    () => Math.round(generator.nextFloat() * 2000) / 100,
  );
  const ids = Array.from(logits.keys()).sort((a, b) => logits[b] - logits[a] || a - b);
  for (const k of [1, 40, 1000]) {
    deepStrictEqual(sortedTopK(logits, k), ids.slice(0, k).sort((a, b) => a - b), `k = ${k}`);
  }
});
