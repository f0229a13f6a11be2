import { deepStrictEqual, throws } from "node:assert";
import { attention, type AttentionOptions } from "./attention.ts";

const f = Math.fround;

function attend(
  q: number[],
  k: number[],
  v: number[],
  options: Partial<AttentionOptions> & Pick<AttentionOptions, "positions">,
): number[] {
  const full: AttentionOptions = {
    nTokens: options.positions.length,
    nHead: 1,
    nKvHead: 1,
    headDim: 2,
    kvLength: k.length / 2,
    scale: 1,
    causal: true,
    ...options,
  };
  const out = new Float32Array(q.length);
  attention(out, new Float32Array(q), new Float32Array(k), new Float32Array(v), full);
  return [...out];
}

function assertClose(actual: number[], expected: number[]): void {
  for (let i = 0; i < expected.length; i++) {
    if (!(Math.abs(actual[i] - expected[i]) <= 1e-7)) {
      throw new Error(`value ${i} is ${actual[i]}, expected ${expected[i]} (all: ${actual})`);
    }
  }
}

Deno.test("attention() weighs values by softmax(scale · q·k) under a causal mask", () => {
  // Scores: token 0 sees key 0 only; token 1 sees scale·[1, 0] with scale ln 3 → weights 3/4, 1/4.
  const out = attend([1, 0, 1, 0], [1, 0, 0, 1], [8, 0, 0, 4], {
    positions: [0, 1],
    scale: Math.log(3),
  });
  assertClose(out, [8, 0, 6, 1]);
});

Deno.test("attention() without the causal mask lets token 0 see later keys", () => {
  const out = attend([0, 0], [1, 0, 0, 1], [8, 0, 0, 4], { positions: [0], causal: false });
  deepStrictEqual(out, [4, 2]);
});

Deno.test("attention() maps query heads onto shared KV heads (grouped-query)", () => {
  // 4 query heads, 2 KV heads, one cached key: heads 0-1 read KV head 0, heads 2-3 KV head 1.
  const out = new Float32Array(8);
  attention(
    out,
    new Float32Array(8).fill(1),
    new Float32Array([1, 1, 1, 1]),
    new Float32Array([1, 2, 3, 4]),
    {
      nTokens: 1,
      nHead: 4,
      nKvHead: 2,
      headDim: 2,
      kvLength: 1,
      positions: [0],
      scale: 1,
      causal: true,
    },
  );
  deepStrictEqual([...out], [1, 2, 1, 2, 3, 4, 3, 4]);
});

Deno.test("attention() with a sliding window sees only keys with pos > query pos - window", () => {
  // Query at position 3, window 2: keys 2 and 3 are visible, 0 and 1 are not.
  const values = [100, 100, 100, 100, 2, 4, 6, 8];
  const out = attend([0, 0], [0, 0, 0, 0, 0, 0, 0, 0], values, {
    positions: [3],
    slidingWindow: 2,
  });
  deepStrictEqual(out, [4, 6]);
});

Deno.test("attention() reads cache positions from kvPositions and gives zeros when nothing is visible", () => {
  // Entries stored out of order: entry 0 holds position 5 (future), entry 1 position 0.
  const out = attend([0, 0, 0, 0], [0, 0, 0, 0], [9, 9, 1, 2], {
    positions: [1, 6],
    kvPositions: [5, 0],
  });
  deepStrictEqual(out, [1, 2, 5, 5.5]);
  deepStrictEqual(attend([0, 0], [0, 0], [9, 9], { positions: [0], kvPositions: [1] }), [0, 0]);
});

Deno.test("attention() soft-caps raw q·k before scaling", () => {
  // q·k = [100, 0]; capped at 1: [tanh(100), 0] = [1, 0]; scale 2 → weights e²/(e²+1), 1/(e²+1)
  const out = attend([10, 0], [10, 0, 0, 0], [1, 0, 0, 1], {
    positions: [1],
    softcap: 1,
    scale: 2,
  });
  const e2 = Math.exp(2);
  assertClose(out, [f(e2 / (e2 + 1)), f(1 / (e2 + 1))]);
});

Deno.test("attention() rejects shapes that do not fit", () => {
  throws(
    () => attend([0, 0], [0, 0], [0, 0], { positions: [0], nHead: 3, nKvHead: 2, headDim: 2 / 3 }),
    {
      name: "TypeError",
      message: "Cannot apply attention: 3 query heads do not group over 2 KV heads",
    },
  );
  throws(() => attend([0, 0], [0, 0], [0, 0], { positions: [0], kvLength: 2 }), {
    name: "TypeError",
    message: "Cannot apply attention: the cache has 2 keys and 2 values, expected [2][1][2]",
  });
});
