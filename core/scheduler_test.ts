import { deepStrictEqual, rejects, strictEqual, throws } from "node:assert";
import "../backends/reference/mod.ts";
import { testdataPath } from "../tests/testdata.ts";
import { loadModel, type Model } from "./model.ts";
import { Scheduler } from "./scheduler.ts";

// stories260K, greedy: BOS + "Once upon a time" continues with the goldens' 32 tokens.
const GOLDEN = JSON.parse(await Deno.readTextFile(testdataPath("models/stories260K.goldens.json")));
const GOLDEN_IDS: number[] = GOLDEN.cases[0].generated_ids;
const GREEDY = { temperature: 0 };

async function openStories(): Promise<Model> {
  return await loadModel(testdataPath("models/stories260K.gguf"), {
    backend: "reference",
    openBytes: async (path) => ({ path, bytes: await Deno.readFile(path) }),
  });
}

function encode(model: Model, text: string): number[] {
  return model.tokenizer.encode(text, { addSpecial: true, parseSpecial: false });
}

/** Tokens of each prompt generated alone, on a scheduler of its own. */
async function alone(model: Model, prompts: string[], maxTokens: number): Promise<number[][]> {
  const results: number[][] = [];
  for (const prompt of prompts) {
    const scheduler = new Scheduler(model.createEngine({ contextSize: 128 }), model.tokenizer, {
      parallel: 1,
    });
    results.push([
      ...(await scheduler.submit({ prompt: encode(model, prompt), sampler: GREEDY, maxTokens })
        .result()).tokens,
    ]);
  }
  return results;
}

Deno.test("Scheduler decodes two requests in one batch per step with the tokens each gets alone", async () => {
  const model = await openStories();
  const prompts = ["Once upon a time", "The little dog"];
  const expected = await alone(model, prompts, 32);
  deepStrictEqual(expected[0], GOLDEN_IDS);
  const scheduler = new Scheduler(model.createEngine({ contextSize: 256 }), model.tokenizer, {
    parallel: 2,
  });
  const generations = prompts.map((p) =>
    scheduler.submit({ prompt: encode(model, p), sampler: GREEDY, maxTokens: 32 })
  );
  const results = await Promise.all(generations.map((g) => g.result()));
  deepStrictEqual(results.map((r) => r.tokens), expected);
  deepStrictEqual(results.map((r) => r.finishReason), ["length", "length"]);
  // One prefill tick holding both prompts, then 31 ticks each decoding both sequences.
  strictEqual(scheduler.stats().ticks, 32);
  strictEqual(scheduler.stats().generatedTokens, 64);
  strictEqual(scheduler.stats().promptTokens, results[0].promptTokens + results[1].promptTokens);
  strictEqual(scheduler.stats().kvCellsUsed, 0);
  model.dispose();
});

Deno.test("Scheduler lets a request join while another decodes, without changing either", async () => {
  const model = await openStories();
  const prompts = ["Once upon a time", "Lily wanted to play"];
  const expected = await alone(model, prompts, 24);
  const scheduler = new Scheduler(model.createEngine({ contextSize: 256 }), model.tokenizer, {
    parallel: 2,
  });
  const first = scheduler.submit({
    prompt: encode(model, prompts[0]),
    sampler: GREEDY,
    maxTokens: 24,
  });
  const iterator = first[Symbol.asyncIterator]();
  for (let i = 0; i < 5; i++) await iterator.next();
  const second = scheduler.submit({
    prompt: encode(model, prompts[1]),
    sampler: GREEDY,
    maxTokens: 24,
  });
  while (!(await iterator.next()).done);
  deepStrictEqual([...(await first.result()).tokens], expected[0]);
  deepStrictEqual([...(await second.result()).tokens], expected[1]);
  model.dispose();
});

Deno.test("Scheduler gives a seeded sampled request the same tokens alone and batched", async () => {
  const model = await openStories();
  const sampler = { temperature: 1.2, topK: 0, topP: 1, minP: 0, seed: 11 };
  const prompt = encode(model, "Once upon a time");
  const single = new Scheduler(model.createEngine({ contextSize: 128 }), model.tokenizer, {
    parallel: 1,
  });
  const reference = (await single.submit({ prompt, sampler, maxTokens: 20 }).result()).tokens;
  const scheduler = new Scheduler(model.createEngine({ contextSize: 256 }), model.tokenizer, {
    parallel: 2,
  });
  const other = scheduler.submit({
    prompt: encode(model, "A cat"),
    sampler: { ...sampler, seed: 3 },
    maxTokens: 20,
  });
  const batched = scheduler.submit({ prompt, sampler, maxTokens: 20 });
  deepStrictEqual((await batched.result()).tokens, reference);
  await other.result();
  model.dispose();
});

Deno.test("Scheduler frees an aborted request's KV cells at once and keeps its text so far", async () => {
  const model = await openStories();
  const scheduler = new Scheduler(model.createEngine({ contextSize: 256 }), model.tokenizer, {
    parallel: 2,
  });
  const controller = new AbortController();
  const prompt = encode(model, "Once upon a time");
  const keeper = scheduler.submit({ prompt, sampler: GREEDY, maxTokens: 32 });
  const aborted = scheduler.submit({
    prompt,
    sampler: GREEDY,
    maxTokens: 100,
    signal: controller.signal,
  });
  const iterator = aborted[Symbol.asyncIterator]();
  for (let i = 0; i < 3; i++) await iterator.next();
  strictEqual(scheduler.stats().activeSequences, 2);
  // Both sequences advanced in step: each holds half of the used cells.
  const cellsBefore = scheduler.stats().kvCellsUsed;
  controller.abort();
  strictEqual(scheduler.stats().activeSequences, 1);
  strictEqual(scheduler.stats().kvCellsUsed, cellsBefore / 2);
  while (!(await iterator.next()).done);
  const result = await aborted.result();
  strictEqual(result.finishReason, "abort");
  deepStrictEqual(result.tokens, GOLDEN_IDS.slice(0, result.tokens.length));
  deepStrictEqual((await keeper.result()).tokens, GOLDEN_IDS);
  strictEqual(scheduler.stats().kvCellsUsed, 0);
  model.dispose();
});

Deno.test("Scheduler ends a request whose consumer stops reading", async () => {
  const model = await openStories();
  const scheduler = new Scheduler(model.createEngine({ contextSize: 128 }), model.tokenizer, {
    parallel: 1,
  });
  const generation = scheduler.submit({
    prompt: encode(model, "Once upon a time"),
    sampler: GREEDY,
    maxTokens: 100,
  });
  let chunks = 0;
  for await (const _ of generation) if (++chunks === 4) break;
  strictEqual(scheduler.stats().activeSequences, 0);
  strictEqual(scheduler.stats().kvCellsUsed, 0);
  await rejects(generation.result(), {
    message: "Cannot read the result: the stream was closed before the end",
  });
  // The freed sequence serves the next request from a clean cache.
  const next = await scheduler.submit({
    prompt: encode(model, "Once upon a time"),
    sampler: GREEDY,
    maxTokens: 32,
  }).result();
  deepStrictEqual(next.tokens, GOLDEN_IDS);
  model.dispose();
});

Deno.test("Scheduler queues requests beyond `parallel` and drains them in order", async () => {
  const model = await openStories();
  const prompts = ["Once upon a time", "The little dog", "Lily wanted to play"];
  const expected = await alone(model, prompts, 8);
  const scheduler = new Scheduler(model.createEngine({ contextSize: 128 }), model.tokenizer, {
    parallel: 1,
  });
  const finished: number[] = [];
  const generations = prompts.map((p) =>
    scheduler.submit({ prompt: encode(model, p), sampler: GREEDY, maxTokens: 8 })
  );
  // Nothing runs before the submitting turn ends; then one request runs and two wait.
  strictEqual(scheduler.stats().queueDepth, 3);
  const iterator = generations[0][Symbol.asyncIterator]();
  await iterator.next();
  strictEqual(scheduler.stats().queueDepth, 2);
  strictEqual(scheduler.stats().activeSequences, 1);
  while (!(await iterator.next()).done);
  const results = await Promise.all(
    generations.map((g, i) => g.result().then((r) => (finished.push(i), r))),
  );
  deepStrictEqual(finished, [0, 1, 2]);
  deepStrictEqual(results.map((r) => r.tokens), expected);
  strictEqual(scheduler.stats().queueDepth, 0);
  model.dispose();
});

Deno.test("Scheduler removes an aborted request from the queue", async () => {
  const model = await openStories();
  const scheduler = new Scheduler(model.createEngine({ contextSize: 128 }), model.tokenizer, {
    parallel: 1,
  });
  const controller = new AbortController();
  const running = scheduler.submit({
    prompt: encode(model, "Once"),
    sampler: GREEDY,
    maxTokens: 8,
  });
  const queued = scheduler.submit({
    prompt: encode(model, "Once"),
    sampler: GREEDY,
    maxTokens: 8,
    signal: controller.signal,
  });
  const iterator = running[Symbol.asyncIterator]();
  await iterator.next();
  strictEqual(scheduler.stats().queueDepth, 1);
  controller.abort();
  strictEqual(scheduler.stats().queueDepth, 0);
  const result = await queued.result();
  strictEqual(result.finishReason, "abort");
  deepStrictEqual(result.tokens, []);
  strictEqual(result.promptTokensEvaluated, 0);
  while (!(await iterator.next()).done);
  strictEqual((await running.result()).tokens.length, 8);
  model.dispose();
});

Deno.test("Scheduler.submit() applies stop strings and refuses prompts longer than a sequence's context", async () => {
  const model = await openStories();
  const scheduler = new Scheduler(model.createEngine({ contextSize: 128 }), model.tokenizer, {
    parallel: 2,
  });
  strictEqual(scheduler.contextSize, 64);
  const text = model.tokenizer.decode(GOLDEN_IDS);
  const stopped = await scheduler.submit({
    prompt: encode(model, "Once upon a time"),
    sampler: GREEDY,
    maxTokens: 32,
    stop: ["Lily"],
  }).result();
  strictEqual(stopped.finishReason, "stop");
  strictEqual(stopped.text, text.slice(0, text.indexOf("Lily")));
  throws(() => scheduler.submit({ prompt: new Array(64).fill(1) }), {
    name: "RangeError",
    message: "Cannot evaluate a prompt of 64 tokens: the context holds 64",
  });
  throws(() => scheduler.submit({ prompt: [1, 512] }), {
    message: "Cannot evaluate token 512: the vocabulary has 512 tokens",
  });
  throws(() => scheduler.submit({ prompt: [1], sampler: { temperature: -1 } }), {
    message: "Cannot create a sampler: temperature -1 is outside [0, Infinity]",
  });
  // The context bounds generation: 63 prompt tokens leave room for one generated token.
  const full = await scheduler.submit({ prompt: new Array(63).fill(1), sampler: GREEDY }).result();
  strictEqual(full.tokens.length, 1);
  strictEqual(full.finishReason, "length");
  throws(
    () => new Scheduler(model.createEngine({ contextSize: 64 }), model.tokenizer, { parallel: 32 }),
    {
      message: "Cannot schedule 32 parallel sequences: between 1 and 31 are allowed",
    },
  );
  model.dispose();
});
