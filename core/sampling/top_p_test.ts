import { deepStrictEqual, strictEqual } from "node:assert";
import { collectTopP, createTopPScratch, TOP_P_SPAN, truncateTopP } from "./top_p.ts";
import { Xoshiro128 } from "./xoshiro128.ts";

/** The top-p set the obvious way: sort everything, accumulate exact softmax mass. */
function referenceTopP(logits: Float32Array, p: number, floor = -Infinity): number[] {
  const ids = Array.from(logits.keys()).filter((id) => logits[id] > -Infinity);
  ids.sort((a, b) => logits[b] - logits[a] || a - b);
  const max = logits[ids[0]];
  const weights = ids.map((id) => Math.exp(logits[id] - max));
  const total = weights.reduce((a, b) => a + b, 0);
  let cumulative = 0;
  const last = weights.findIndex((weight) => (cumulative += weight) >= p * total);
  return ids.slice(0, last + 1).filter((id) => logits[id] >= floor);
}

function collect(logits: Float32Array, p: number, floor = -Infinity): number[] {
  const out = new Int32Array(logits.length);
  let max = -Infinity;
  for (const logit of logits) if (logit > max) max = logit; // NaN never wins
  const count = collectTopP(logits, max, p, floor, out, createTopPScratch(logits.length));
  return Array.from(out.subarray(0, count));
}

Deno.test("truncateTopP() keeps the smallest sorted prefix reaching p", () => {
  // Probabilities 0.5, 0.25, 0.125, 0.125.
  const logits = Float32Array.from([0.5, 0.25, 0.125, 0.125], Math.log);
  const ids = Int32Array.from([0, 1, 2, 3]);
  strictEqual(truncateTopP(ids, 4, logits, 0.5), 1);
  strictEqual(truncateTopP(ids, 4, logits, 0.6), 2);
  strictEqual(truncateTopP(ids, 4, logits, 0.8), 3);
  strictEqual(truncateTopP(ids, 4, logits, 0.9), 4);
  strictEqual(truncateTopP(ids, 4, logits, 0), 1);
  strictEqual(truncateTopP(ids, 4, logits, 1), 4);
});

Deno.test("collectTopP() returns the hand-computed nucleus, boundary by descending logit", () => {
  // Probabilities 0.1, 0.4, 0.2, 0.3: p = 0.65 → {1, 3}; p = 0.75 → {1, 3, 2}.
  const logits = Float32Array.from([0.1, 0.4, 0.2, 0.3], Math.log);
  deepStrictEqual(collect(logits, 0.65).sort(), [1, 3]);
  deepStrictEqual(collect(logits, 0.75).sort(), [1, 2, 3]);
  deepStrictEqual(collect(logits, 0), [1]);
  deepStrictEqual(collect(logits, 0.75, Math.log(0.25)).sort(), [1, 3]); // min-p floor
});

Deno.test("collectTopP() matches a full sort on random logits of many spreads", () => {
  for (const [seed, scale] of [[1, 0.01], [2, 1], [3, 8], [4, 40]]) {
    const generator = new Xoshiro128(seed);
    const logits = Float32Array.from(
      { length: 50000 },
      () => (generator.nextFloat() - 0.5) * scale,
    );
    for (const p of [0.1, 0.5, 0.9, 0.95, 0.99]) {
      const actual = collect(logits, p).sort((a, b) => a - b);
      deepStrictEqual(actual, referenceTopP(logits, p).sort((a, b) => a - b), `${scale} ${p}`);
    }
    const floor = 0.5 * scale - 2;
    deepStrictEqual(
      collect(logits, 0.9, floor).sort((a, b) => a - b),
      referenceTopP(logits, 0.9, floor).sort((a, b) => a - b),
    );
  }
});

Deno.test("collectTopP() handles ties, banned tokens and tokens beyond the span", () => {
  const logits = new Float32Array([1, -Infinity, 1, 1, NaN, 1 - TOP_P_SPAN - 1]);
  // Three tokens of equal mass (the far one weighs e^-33): p = 0.5 keeps the two lowest ids.
  deepStrictEqual(collect(logits, 0.5), [0, 2]);
  deepStrictEqual(collect(logits, 0.99).sort(), [0, 2, 3]);
});
