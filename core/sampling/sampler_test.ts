import { deepStrictEqual, ok, strictEqual, throws } from "node:assert";
import { createSampler, DEFAULT_SAMPLER_OPTIONS } from "./sampler.ts";
import type { SamplerOptions, TokenDistribution } from "./types.ts";
import { Xoshiro128 } from "./xoshiro128.ts";

/** Logits whose softmax is exactly `probabilities` (up to float32 rounding of the logs). */
function logitsOf(probabilities: number[]): Float32Array {
  return Float32Array.from(probabilities, (p) => (p === 0 ? -Infinity : Math.log(p)));
}

/** Random logits in [-scale, scale), reproducible from `seed`. */
function randomLogits(length: number, seed: number, scale = 8): Float32Array {
  const generator = new Xoshiro128(seed);
  return Float32Array.from({ length }, () => (generator.nextFloat() * 2 - 1) * scale);
}

/** id → probability, for comparisons that do not depend on candidate order. */
function asMap(distribution: TokenDistribution): Map<number, number> {
  const map = new Map<number, number>();
  distribution.ids.forEach((id, i) => map.set(id, distribution.probabilities[i]));
  return map;
}

function assertDistribution(actual: TokenDistribution, expected: Record<number, number>): void {
  const map = asMap(actual);
  deepStrictEqual([...map.keys()].sort((a, b) => a - b), Object.keys(expected).map(Number));
  for (const [id, p] of Object.entries(expected)) {
    const got = map.get(Number(id))!;
    ok(Math.abs(got - p) < 1e-6, `token ${id}: probability ${got}, expected ${p}`);
  }
}

const NO_TRUNCATION: SamplerOptions = { temperature: 1, topK: 0, topP: 1, minP: 0 };

Deno.test("createSampler() fills in llama.cpp's common defaults", () => {
  const sampler = createSampler({ seed: 1 });
  deepStrictEqual({ ...sampler.options, logitBias: {}, processors: [] }, {
    temperature: 0.8,
    greedy: false,
    topK: 40,
    topP: 0.95,
    minP: 0.05,
    repeatPenalty: 1,
    presencePenalty: 0,
    frequencyPenalty: 0,
    penaltyLastN: 64,
    logitBias: {},
    processors: [],
  });
  strictEqual(sampler.seed, 1);
  strictEqual(DEFAULT_SAMPLER_OPTIONS.topK, 40);
});

Deno.test("sample() with temperature 0 or greedy picks the argmax, ties to the lowest id", () => {
  const logits = new Float32Array([0.5, 2.5, -1, 2.5, 2.25]);
  strictEqual(createSampler({ temperature: 0 }).sample(logits), 1);
  strictEqual(createSampler({ greedy: true, temperature: 1.5 }).sample(logits), 1);
  const big = randomLogits(262144, 3);
  big[200000] = 9;
  big[100001] = 9;
  strictEqual(createSampler({ temperature: 0 }).sample(big), 100001);
});

Deno.test("sample() with topK 1 equals greedy on random logits", () => {
  for (let seed = 0; seed < 20; seed++) {
    const logits = randomLogits(1000, seed, 2);
    const topOne = createSampler({ topK: 1, seed, temperature: 1.3, topP: 1, minP: 0 });
    strictEqual(topOne.sample(logits), createSampler({ greedy: true }).sample(logits));
  }
});

Deno.test("distribution() with topP keeps the smallest prefix reaching p (hand-computed)", () => {
  // Probabilities 0.4, 0.3, 0.2, 0.1: p = 0.65 needs 0.4 + 0.3; p = 0.75 needs the 0.2 too.
  const four = logitsOf([0.1, 0.4, 0.2, 0.3]);
  const padded = logitsOf([0.1, 0.4, 0, 0.2, 0.3, 0]); // top-k path: two banned tokens
  for (const [logits, topK] of [[four, 0], [padded, 5]] as const) {
    const distribution = (topP: number) =>
      createSampler({ ...NO_TRUNCATION, topK, topP }).distribution(logits);
    const [a, b, c] = logits === four ? [1, 3, 2] : [1, 4, 3];
    assertDistribution(distribution(0.65), { [a]: 0.4 / 0.7, [b]: 0.3 / 0.7 });
    assertDistribution(distribution(0.75), { [a]: 0.4 / 0.9, [b]: 0.3 / 0.9, [c]: 0.2 / 0.9 });
    assertDistribution(distribution(0.3), { [a]: 1 });
  }
});

Deno.test("distribution() with minP drops tokens below p times the top probability", () => {
  // Top probability 0.5; minP 0.2 keeps p >= 0.1: 0.5, 0.3, 0.12 stay, 0.05 and 0.03 go.
  const logits = logitsOf([0.05, 0.5, 0.12, 0.03, 0.3]);
  for (const topK of [0, 4]) {
    const sampler = createSampler({ ...NO_TRUNCATION, topK, minP: 0.2 });
    assertDistribution(sampler.distribution(logits), {
      1: 0.5 / 0.92,
      2: 0.12 / 0.92,
      4: 0.3 / 0.92,
    });
  }
});

Deno.test("distribution() divides the kept logits by the temperature", () => {
  const logits = new Float32Array([Math.log(2), 0]);
  const at = (temperature: number) =>
    createSampler({ ...NO_TRUNCATION, temperature }).distribution(logits);
  assertDistribution(at(1), { 0: 2 / 3, 1: 1 / 3 });
  assertDistribution(at(0.5), { 0: 0.8, 1: 0.2 }); // odds 2 → 4
  assertDistribution(at(2), { 0: Math.SQRT2 / (Math.SQRT2 + 1), 1: 1 / (Math.SQRT2 + 1) });
});

Deno.test("sample() never returns a token whose logit bias is -Infinity, even the argmax", () => {
  const logits = new Float32Array([1, 5, 4.5, 0]);
  strictEqual(createSampler({ greedy: true, logitBias: { 1: -Infinity } }).sample(logits), 2);
  const sampler = createSampler({ ...NO_TRUNCATION, seed: 9, logitBias: { 1: -Infinity } });
  for (let i = 0; i < 1000; i++) ok(sampler.sample(logits) !== 1);
  const shifted = createSampler({ greedy: true, logitBias: { 0: 4.25 } });
  strictEqual(shifted.sample(logits), 0); // 1 + 4.25 > 5
});

Deno.test("sample() applies repeat, presence and frequency penalties over the last N tokens", () => {
  const logits = new Float32Array([2, -1, 0.5, 3, -2]);
  let seen: Float32Array | undefined;
  let seenHistory: number[] = [];
  const sampler = createSampler({
    greedy: true,
    repeatPenalty: 1.5,
    presencePenalty: 0.25,
    frequencyPenalty: 0.1,
    penaltyLastN: 5,
    processors: [(edited, state) => {
      seen = edited.slice();
      seenHistory = [...state.history];
    }],
  });
  for (const id of [0, 0, 1, 3, 4, 4, 4]) sampler.accept(id);
  // Window = last 5 = [1, 3, 4, 4, 4]: counts {1: 1, 3: 1, 4: 3}; token 0 fell out of it.
  //   token 1: -1 × 1.5 - (1 × 0.1 + 0.25) = -1.85
  //   token 3:  3 / 1.5 - (1 × 0.1 + 0.25) =  1.65
  //   token 4: -2 × 1.5 - (3 × 0.1 + 0.25) = -3.55
  strictEqual(sampler.sample(logits), 0);
  deepStrictEqual(Array.from(seen!), [2, -1.85, 0.5, 1.65, -3.55].map(Math.fround));
  deepStrictEqual(seenHistory, [0, 0, 1, 3, 4, 4, 4]);
  deepStrictEqual(Array.from(logits), [2, -1, 0.5, 3, -2]); // the caller's array is untouched
});

Deno.test("sample() runs processors in order after the logit bias", () => {
  const order: string[] = [];
  const sampler = createSampler({
    greedy: true,
    logitBias: { 0: 10 },
    processors: [
      (logits) => {
        order.push(`first sees ${logits[0]}`);
        logits[0] = -Infinity;
      },
      (logits) => order.push(`second sees ${logits[0]}`),
    ],
  });
  strictEqual(sampler.sample(new Float32Array([1, 2, 3])), 2);
  deepStrictEqual(order, ["first sees 11", "second sees -Infinity"]);
});

Deno.test("sample() with one seed repeats 1000 draws; another seed differs", () => {
  const logits = randomLogits(5000, 11, 3);
  const draws = (seed: number) => {
    const sampler = createSampler({ seed, topK: 0, topP: 0.9, minP: 0 });
    return Array.from({ length: 1000 }, () => sampler.sample(logits));
  };
  const first = draws(1234);
  deepStrictEqual(draws(1234), first);
  const other = draws(1235);
  ok(other.filter((id, i) => id !== first[i]).length > 900, "seeds 1234 and 1235 agree too often");
});

Deno.test("sample() frequencies of 20000 draws match a 4-token distribution within 0.015", () => {
  // The standard deviation of a frequency is at most sqrt(0.25 / 20000) ≈ 0.0035, so 0.015 is
  // over 4σ; the seed is fixed, so the test is deterministic.
  const probabilities = [0.1, 0.2, 0.3, 0.4];
  const sampler = createSampler({ ...NO_TRUNCATION, seed: 20000 });
  const counts = [0, 0, 0, 0];
  const logits = logitsOf(probabilities);
  for (let i = 0; i < 20000; i++) counts[sampler.sample(logits)]++;
  counts.forEach((count, id) => {
    const frequency = count / 20000;
    ok(Math.abs(frequency - probabilities[id]) < 0.015, `token ${id}: frequency ${frequency}`);
  });
});

Deno.test("sample() with every logit -Infinity throws a RangeError naming the state", () => {
  const banned = new Float32Array(8).fill(-Infinity);
  const message =
    "Cannot sample a token: all 8 logits are -Infinity or NaN after penalties, logit bias and processors";
  for (const options of [{ greedy: true }, { topK: 3 }, { topK: 0 }, { topK: 0, topP: 1 }]) {
    throws(() => createSampler(options).sample(banned), { name: "RangeError", message });
  }
  const masked = createSampler({ processors: [(logits) => logits.fill(-Infinity)] });
  throws(() => masked.sample(new Float32Array([1, 2])), RangeError);
  throws(() => createSampler({ topK: 0 }).sample(new Float32Array([1, Infinity])), {
    name: "RangeError",
    message: "Cannot sample a token: token 1 has logit Infinity",
  });
});

Deno.test("clone() forks history and generator; reset() restarts from the seed", () => {
  const logits = randomLogits(300, 5, 2);
  const sampler = createSampler({ seed: 77, repeatPenalty: 1.3 });
  const start = Array.from({ length: 5 }, () => sampler.sample(logits));
  sampler.accept(start[0]);
  const fork = sampler.clone();
  const ahead = Array.from({ length: 20 }, () => sampler.sample(logits));
  deepStrictEqual(Array.from({ length: 20 }, () => fork.sample(logits)), ahead);
  fork.accept(1);
  deepStrictEqual(sampler.history, [start[0]]);
  deepStrictEqual(fork.history, [start[0], 1]);
  sampler.reset();
  deepStrictEqual(sampler.history, []);
  deepStrictEqual(Array.from({ length: 5 }, () => sampler.sample(logits)), start);
});

Deno.test("distribution() matches a sort-everything reference chain on random logits", () => {
  const cases: SamplerOptions[] = [
    {},
    { topK: 0 },
    { topK: 0, minP: 0 },
    { topK: 0, topP: 0.5, minP: 0 },
    { topK: 0, topP: 0.999, minP: 0, temperature: 1.7 },
    { topK: 0, topP: 1, minP: 0.01 },
    { topK: 200, topP: 0.8, minP: 0.02, temperature: 0.6 },
  ];
  for (const [i, options] of cases.entries()) {
    for (const scale of [0.5, 4, 20]) {
      const logits = randomLogits(20000, 100 + i, scale);
      const actual = asMap(createSampler(options).distribution(logits));
      const expected = _referenceDistribution(logits, { ...DEFAULT_SAMPLER_OPTIONS, ...options });
      deepStrictEqual(
        [...actual.keys()].sort((a, b) => a - b),
        [...expected.keys()].sort((a, b) => a - b),
        `case ${i} scale ${scale}`,
      );
      for (const [id, p] of expected) ok(Math.abs(actual.get(id)! - p) < 1e-7, `token ${id}`);
    }
  }
});

Deno.test("createSampler() rejects unknown options and out-of-range values", () => {
  throws(() => createSampler({ top_k: 3 } as unknown as SamplerOptions), {
    name: "TypeError",
    message: 'Cannot create a sampler: unknown option "top_k"',
  });
  throws(() => createSampler({ temperature: -0.1 }), RangeError);
  throws(() => createSampler({ topP: 1.5 }), RangeError);
  throws(() => createSampler({ minP: -0.5 }), RangeError);
  throws(() => createSampler({ topK: 2.5 }), RangeError);
  throws(() => createSampler({ repeatPenalty: 0 }), RangeError);
  throws(() => createSampler({ penaltyLastN: -2 }), RangeError);
  throws(() => createSampler({ seed: -1 }), RangeError);
  throws(() => createSampler({ logitBias: { 3: NaN } }), RangeError);
  throws(() => createSampler().accept(-1), RangeError);
  throws(() => createSampler({ logitBias: { 9: 1 } }).sample(new Float32Array(4)), {
    name: "RangeError",
    message: "Cannot apply logit bias: token 9 is outside the vocabulary of 4 tokens",
  });
});

/** The chain written the obvious way: sort everything, then cut, in llama.cpp's order. */
function _referenceDistribution(
  logits: Float32Array,
  options: Required<Omit<SamplerOptions, "seed">>,
): Map<number, number> {
  let ids = Array.from(logits.keys()).filter((id) => logits[id] > -Infinity);
  ids.sort((a, b) => logits[b] - logits[a] || a - b);
  if (options.topK > 0) ids = ids.slice(0, options.topK);
  const max = logits[ids[0]];
  if (options.topP < 1) {
    const weights = ids.map((id) => Math.exp(logits[id] - max));
    const total = weights.reduce((a, b) => a + b, 0);
    let cumulative = 0;
    const keep = weights.findIndex((w) => (cumulative += w) >= options.topP * total);
    ids = ids.slice(0, keep + 1);
  }
  ids = ids.filter((id) => logits[id] >= max + Math.log(options.minP));
  const weights = ids.map((id) => Math.exp((logits[id] - max) / options.temperature));
  const total = weights.reduce((a, b) => a + b, 0);
  return new Map(ids.map((id, i) => [id, weights[i] / total]));
}
