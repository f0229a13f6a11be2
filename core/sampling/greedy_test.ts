import { strictEqual } from "node:assert";
import { argmax } from "./greedy.ts";

Deno.test("argmax() returns the first index of the largest logit", () => {
  strictEqual(argmax(new Float32Array([-1, 4, 2, 4])), 1);
  strictEqual(argmax(new Float32Array([NaN, -3, -2])), 2);
  strictEqual(argmax(new Float32Array([-Infinity, Infinity, Infinity])), 1);
});

Deno.test("argmax() returns -1 when every logit is -Infinity or NaN", () => {
  strictEqual(argmax(new Float32Array([-Infinity, NaN])), -1);
  strictEqual(argmax(new Float32Array(0)), -1);
});
