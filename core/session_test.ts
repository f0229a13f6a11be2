import { deepStrictEqual, rejects, strictEqual } from "node:assert";
import "../backends/reference/mod.ts";
import { testdataPath } from "../tests/testdata.ts";
import { loadModel, type Model } from "./model.ts";

// stories260K, greedy: BOS + "Once upon a time" continues with the goldens' 32 tokens.
const GOLDEN = JSON.parse(await Deno.readTextFile(testdataPath("models/stories260K.goldens.json")));
const GOLDEN_IDS: number[] = GOLDEN.cases[0].generated_ids;

async function openStories(): Promise<Model> {
  return await loadModel(testdataPath("models/stories260K.gguf"), {
    backend: "reference",
    openBytes: async (path) => ({ path, bytes: await Deno.readFile(path) }),
  });
}

Deno.test("LanguageModelSession.generate() streams the greedy goldens and resolves to the same text", async () => {
  const model = await openStories();
  const session = model.createSession({ contextSize: 128 });
  const chunks: string[] = [];
  const generation = session.generate("Once upon a time", { temperature: 0, maxTokens: 32 });
  for await (const chunk of generation) chunks.push(chunk);
  const result = await generation.result();
  deepStrictEqual(result.tokens, GOLDEN_IDS);
  strictEqual(chunks.join(""), model.tokenizer.decode(GOLDEN_IDS));
  strictEqual(result.text, chunks.join(""));
  strictEqual(result.finishReason, "length");
  strictEqual(result.promptTokens, 5);
  model.dispose();
});

Deno.test("LanguageModelSession reuses the cached prompt prefix on the next request", async () => {
  const model = await openStories();
  const session = model.createSession({ contextSize: 128 });
  const first = await session.generate("Once upon a time", { temperature: 0, maxTokens: 4 }).result();
  strictEqual(first.promptTokensEvaluated, 5);
  const second = await session.generate("Once upon a time", { temperature: 0, maxTokens: 32 }).result();
  // Everything but the last prompt token came from the cache; the output is unchanged.
  strictEqual(second.promptTokensEvaluated, 1);
  deepStrictEqual(second.tokens, GOLDEN_IDS);
  model.dispose();
});

Deno.test("LanguageModelSession.generate() ends at a stop string and leaves it out", async () => {
  const model = await openStories();
  const session = model.createSession({ contextSize: 128 });
  const text = model.tokenizer.decode(GOLDEN_IDS);
  const result = await session.generate("Once upon a time", { temperature: 0, maxTokens: 32, stop: ["Lily"] }).result();
  strictEqual(result.finishReason, "stop");
  strictEqual(result.text, text.slice(0, text.indexOf("Lily")));
  model.dispose();
});

Deno.test("LanguageModelSession.generate() stops on an aborted signal", async () => {
  const model = await openStories();
  const session = model.createSession({ contextSize: 128 });
  const controller = new AbortController();
  const generation = session.generate("Once upon a time", { temperature: 0, maxTokens: 32, signal: controller.signal });
  let count = 0;
  for await (const _ of generation) if (++count === 3) controller.abort();
  const result = await generation.result();
  strictEqual(result.finishReason, "abort");
  deepStrictEqual(result.tokens, GOLDEN_IDS.slice(0, result.tokens.length));
  model.dispose();
});

Deno.test("LanguageModelSession.candidates() decodes n sequences over the shared prompt", async () => {
  const model = await openStories();
  const session = model.createSession({ contextSize: 128 });
  const greedy = await session.candidates("Once upon a time", { n: 3, temperature: 0, maxTokens: 8 });
  const expected = model.tokenizer.decode(GOLDEN_IDS.slice(0, 8));
  deepStrictEqual(greedy, [expected, expected, expected]);
  const sampled = await session.candidates("Once upon a time", { n: 3, temperature: 1.5, topK: 0, topP: 1, minP: 0, seed: 7, maxTokens: 8 });
  const again = await session.candidates("Once upon a time", { n: 3, temperature: 1.5, topK: 0, topP: 1, minP: 0, seed: 7, maxTokens: 8 });
  deepStrictEqual(sampled, again);
  strictEqual(new Set(sampled).size > 1, true);
  model.dispose();
});

Deno.test("LanguageModelSession refuses a second request while one runs", async () => {
  const model = await openStories();
  const session = model.createSession({ contextSize: 128 });
  const generation = session.generate("Once", { temperature: 0, maxTokens: 2 });
  const iterator = generation[Symbol.asyncIterator]();
  await iterator.next();
  await new Promise((r) => setTimeout(r, 0));
  const second = session.generate("Once", { maxTokens: 1 });
  await second.result().then(() => { throw new Error("second request ran"); }, (error) => {
    strictEqual(error.message, "Cannot start a request: this session is already generating");
  });
  await iterator.return?.();
  await rejects(generation.result(), { message: "Cannot read the result: the stream was closed before the end" });
  await rejects(generation[Symbol.asyncIterator]().next(), { message: "Cannot consume a generation twice" });
  strictEqual((await session.generate("Once", { temperature: 0, maxTokens: 3 }).result()).tokens.length, 3);
  model.dispose();
});

Deno.test("LanguageModelSession.generate() applies a decoding constraint and resolves to its value", async () => {
  const model = await openStories();
  const session = model.createSession({ contextSize: 128 });
  // A constraint that allows exactly the ids of " a little girl", then ends.
  const forced = model.tokenizer.encode(" a little girl", { addSpecial: false }).slice(0);
  let at = 0;
  const constraint = {
    processor: (logits: Float32Array) => {
      for (let id = 0; id < logits.length; id++) if (id !== forced[at]) logits[id] = -Infinity;
    },
    accept: (id: number) => {
      strictEqual(id, forced[at]);
      at++;
    },
    isDone: () => at === forced.length,
    canEnd: () => at === forced.length,
    parse: (text: string) => ({ words: text.trim().split(" ") }),
  };
  const generation = session.generate("Once upon a time", { temperature: 0.9, seed: 3, maxTokens: 20, constraint });
  deepStrictEqual(await generation, { words: ["a", "little", "girl"] });
  const result = await generation.result();
  deepStrictEqual(result.tokens, forced);
  strictEqual(result.finishReason, "stop");
  model.dispose();
});
