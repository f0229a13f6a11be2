/**
 * Runs every example as a subprocess, as a user would, and checks what it printed exactly:
 * against the stories260K goldens where they exist, else against the same calls made here
 * in-process through the library (greedy or fixed-seed settings, so both are deterministic).
 * One example also runs on SmolLM2-135M-Instruct, with few tokens (its decode is slow here).
 */

import { deepStrictEqual, equal, match, ok } from "node:assert";
import { join } from "node:path";
import { loadModel, type Model } from "../mod.ts";
import { testdataPath, testModelPath } from "../tests/testdata.ts";
import { SUGGESTION_OPTIONS } from "./keyboard.ts";
import { sliceParagraphs, summarize } from "./summarize.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const STORIES = testdataPath("models/stories260K.gguf");

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function runExample(name: string, args: string[]): Promise<Run> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(ROOT, "examples", name), ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** Runs an example that must succeed; a failure shows its stderr. */
async function runOk(name: string, args: string[]): Promise<string> {
  const run = await runExample(name, args);
  equal(run.code, 0, `${name} exited with ${run.code}: ${run.stderr}`);
  return run.stdout;
}

async function withModel<T>(path: string, body: (model: Model) => Promise<T>): Promise<T> {
  const model = await loadModel(path);
  try {
    return await body(model);
  } finally {
    model.dispose();
  }
}

Deno.test("examples/quickstart.ts --plain streams the stories260K greedy golden", async () => {
  const goldens = JSON.parse(
    await Deno.readTextFile(testdataPath("models/stories260K.goldens.json")),
  );
  const golden = goldens.cases[0];
  deepStrictEqual(golden.prompt_ids, [1, 403, 407, 261, 378]); // BOS + "Once upon a time"
  const expected = await withModel(
    STORIES,
    (model) => Promise.resolve(model.tokenizer.decode(golden.generated_ids)),
  );
  const stdout = await runOk("quickstart.ts", [
    STORIES,
    "--plain",
    "--prompt",
    "Once upon a time",
    "--max-tokens",
    "32",
  ]);
  equal(stdout, `${expected}\n[32 tokens, length]\n`);
  equal(
    expected,
    ", there was a little girl named Lily. She loved to play outside in the park. One day, she saw",
  );
});

Deno.test("examples/quickstart.ts chats with SmolLM2: the greedy reply of respond()", async () => {
  const path = testModelPath("smollm2-135m-instruct");
  const prompt = "What is the capital of France?";
  const expected = await withModel(path, async (model) => {
    const session = model.createSession({ contextSize: 1024 });
    return await session.respond([{ role: "user", content: prompt }], {
      temperature: 0,
      maxTokens: 6,
    }).result();
  });
  equal(expected.tokens.length, 6);
  const stdout = await runOk("quickstart.ts", [path, "--prompt", prompt, "--max-tokens", "6"]);
  equal(stdout, `${expected.text}\n[6 tokens, ${expected.finishReason}]\n`);
});

Deno.test("examples/quickstart.ts exits 1 naming a missing model file", async () => {
  const run = await runExample("quickstart.ts", ["/nonexistent/model.gguf"]);
  equal(run.code, 1);
  equal(run.stdout, "");
  match(run.stderr, /"\/nonexistent\/model\.gguf"/);
});

Deno.test("examples/keyboard.ts prints three 8-token suggestions, their latency and RSS", async () => {
  const prefix = "Once upon a time, there was a";
  const expected = await withModel(STORIES, async (model) => {
    const suggestions = await model.createSession({ contextSize: 256 }).candidates(prefix, {
      ...SUGGESTION_OPTIONS,
      seed: 7,
    });
    for (const text of suggestions) {
      ok(model.tokenizer.encode(text, { addSpecial: false }).length <= 8);
    }
    return suggestions;
  });
  const lines = (await runOk("keyboard.ts", [STORIES, "--prefix", prefix, "--seed", "7"])).split(
    "\n",
  );
  equal(lines.length, 6);
  deepStrictEqual(
    lines.slice(0, 3),
    expected.map((text, i) => `${i + 1}. ${JSON.stringify(text)}`),
  );
  equal(new Set(expected).size, 2, "seed 7 gives two different suggestions on stories260K");
  const firstMs = Number(/^first suggestion: (\d+) ms$/.exec(lines[3])?.[1]);
  ok(firstMs > 0 && firstMs < 10_000, lines[3]);
  const rssMib = Number(/^memory: (\d+\.\d) MiB RSS$/.exec(lines[4])?.[1]);
  ok(rssMib > 20 && rssMib < 2048, lines[4]);
  equal(lines[5], "");
});

Deno.test("examples/summarize.ts map-reduces a War and Peace slice in chunks that fit", async () => {
  const text = sliceParagraphs(
    await Deno.readTextFile(testdataPath("text/war-and-peace.txt")),
    3000,
  );
  equal(text.length, 2843);
  const options = { chunkTokens: 300, summaryTokens: 24 };
  const expected = await withModel(STORIES, (model) => summarize(model, text, options));
  equal(expected.chunks.length, 7);
  for (const chunk of expected.chunks) ok(chunk.tokenCount <= 300, `${chunk.tokenCount} tokens`);
  const words = (s: string) => s.split(/\s+/).filter(Boolean);
  deepStrictEqual(
    words(expected.chunks.map((c) => c.text).join(" ")),
    words(text),
    "the chunks cover the slice",
  );
  const stdout = await runOk("summarize.ts", [
    STORIES,
    "--chars",
    "3000",
    "--chunk-tokens",
    "300",
    "--summary-tokens",
    "24",
  ]);
  const lines = expected.chunks.map((chunk, i) =>
    `chunk ${i + 1}/7 (${chunk.tokenCount} tokens): ${JSON.stringify(chunk.summary)}`
  );
  equal(stdout, [...lines, `summary: ${JSON.stringify(expected.summary)}`, ""].join("\n"));
});

Deno.test("examples/openai_client.ts streams through the openai client what the session decodes", async () => {
  const prompt = "Once upon a time";
  const expected = await withModel(STORIES, async (model) => {
    const session = model.createSession({ contextSize: 512 });
    // OpenAI's sampling semantics, as the server applies them; temperature 0 is greedy.
    const sampling = { topK: 0, minP: 0, topP: 1, penaltyLastN: -1, temperature: 0, maxTokens: 16 };
    return await session.respond([{ role: "user", content: prompt }], sampling).result();
  });
  equal(expected.tokens.length, 16);
  const stdout = await runOk("openai_client.ts", [
    STORIES,
    "--prompt",
    prompt,
    "--max-tokens",
    "16",
  ]);
  equal(stdout, `${expected.text}\n[16 tokens, length, same as non-streamed]\n`);
});
