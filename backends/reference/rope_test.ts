import { deepStrictEqual, throws } from "node:assert";
import { rope, type RopeOptions } from "./rope.ts";

const f = Math.fround;
const NORMAL: RopeOptions = { mode: "normal", freqBase: 100, freqScale: 1, nRot: 4 };

// headDim 4, nRot 4, base 100: pair 0 turns by θ = p, pair 1 by θ = p · 100^(-2/4) = p / 10.

Deno.test("rope() normal mode rotates adjacent pairs (2i, 2i+1)", () => {
  const x = new Float32Array([1, 0, 0, 1]);
  rope(x, 1, 1, 4, [2], NORMAL);
  deepStrictEqual([...x], [f(Math.cos(2)), f(Math.sin(2)), f(-Math.sin(0.2)), f(Math.cos(0.2))]);
});

Deno.test("rope() neox mode rotates pairs (i, i + nRot/2)", () => {
  const x = new Float32Array([1, 0, 0, 1]);
  rope(x, 1, 1, 4, [2], { ...NORMAL, mode: "neox" });
  // pair 0 = (x0, x2) = (1, 0) by 2; pair 1 = (x1, x3) = (0, 1) by 0.2
  deepStrictEqual([...x], [f(Math.cos(2)), f(-Math.sin(0.2)), f(Math.sin(2)), f(Math.cos(0.2))]);
});

Deno.test("rope() leaves dimensions past nRot alone and scales positions by freqScale", () => {
  const x = new Float32Array([1, 0, 5, 7]);
  rope(x, 1, 1, 4, [2], { ...NORMAL, nRot: 2, freqScale: 0.5 }); // θ = 2 · 0.5 = 1
  deepStrictEqual([...x], [f(Math.cos(1)), f(Math.sin(1)), 5, 7]);
});

Deno.test("rope() uses each token's position for all of its heads; position 0 is the identity", () => {
  // 2 tokens × 2 heads × headDim 2
  const x = new Float32Array([3, 4, 1, 0, 1, 0, 0, 2]);
  rope(x, 2, 2, 2, [0, 1], { ...NORMAL, nRot: 2 });
  deepStrictEqual([...x], [
    3,
    4,
    1,
    0,
    f(Math.cos(1)),
    f(Math.sin(1)),
    f(-2 * Math.sin(1)),
    f(2 * Math.cos(1)),
  ]);
});

Deno.test("rope() rejects mismatched shapes and odd nRot", () => {
  throws(() => rope(new Float32Array(4), 1, 1, 4, [0, 1], NORMAL), {
    name: "TypeError",
    message: "Cannot apply rope: x has 4 values and 2 positions, expected [1][1][4]",
  });
  throws(() => rope(new Float32Array(4), 1, 1, 4, [0], { ...NORMAL, nRot: 3 }), {
    name: "TypeError",
    message: "Cannot apply rope: nRot 3 must be even and in 2..4",
  });
});
