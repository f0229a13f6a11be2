/**
 * Load on loopback: one streaming client, then 8 at once, each for a bounded time, with the
 * `openai` client. Every request must finish with a finish reason and usage; the aggregate
 * tokens/s of 8 clients is printed beside one client's.
 *
 * CI runs ~2 s per phase on stories260K (reference backend). By hand:
 * `ZENO_LOAD_SECONDS=30 deno test -A tests/server_load_test.ts`, and with
 * `ZENO_LOAD_MODEL=smollm2-135m-instruct` on the best registered backend.
 */

import { ok, strictEqual } from "node:assert";
import OpenAI from "openai";
import "../backends/mod.ts";
import { loadModel } from "../core/model.ts";
import { startServer } from "../server/serve.ts";
import { testdataPath, testModelPath } from "./testdata.ts";

const SECONDS = Number(Deno.env.get("ZENO_LOAD_SECONDS") ?? "2");
const MODEL = Deno.env.get("ZENO_LOAD_MODEL") ?? "stories260K";
const CLIENTS = 8;
const MAX_TOKENS = 48;

interface PhaseResult {
  requests: number;
  tokens: number;
  failures: string[];
  seconds: number;
}

/** `clients` loops of streaming requests until the deadline; the last ones finish after it. */
async function phase(client: OpenAI, clients: number, seconds: number): Promise<PhaseResult> {
  const result: PhaseResult = { requests: 0, tokens: 0, failures: [], seconds: 0 };
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(Array.from({ length: clients }, async (_, id) => {
    for (let i = 0; performance.now() < deadline; i++) {
      try {
        // Read the sum after the await: `a += await b` would add to a stale value.
        const tokens = await streamOnce(client, id * 1000 + i);
        result.tokens += tokens;
        result.requests++;
      } catch (error) {
        result.failures.push(`client ${id}: ${error}`);
        return;
      }
    }
  }));
  result.seconds = (performance.now() - started) / 1000;
  return result;
}

/** One streamed chat completion; returns its completion tokens. */
async function streamOnce(client: OpenAI, seed: number): Promise<number> {
  const stream = await client.chat.completions.create({
    model: MODEL,
    messages: [{ role: "user", content: "Tell me a story about a dog." }],
    max_tokens: MAX_TOKENS,
    temperature: 0.8,
    seed,
    stream: true,
    stream_options: { include_usage: true },
  });
  let finish: string | null = null;
  let usage: OpenAI.CompletionUsage | undefined;
  for await (const chunk of stream) {
    for (const choice of chunk.choices) finish = choice.finish_reason ?? finish;
    if (chunk.usage) usage = chunk.usage;
  }
  if (finish === null || usage === undefined) {
    throw new Error(`Cannot finish stream ${seed}: finish_reason ${finish}, usage ${usage}`);
  }
  return usage.completion_tokens;
}

function modelLoader() {
  if (MODEL === "stories260K") {
    const path = testdataPath("models/stories260K.gguf");
    return () => loadModel(path, { openBytes: (p) => ({ path: p, bytes: Deno.readFileSync(p) }) });
  }
  const path = testModelPath(MODEL as "smollm2-135m-instruct");
  return () => loadModel(path);
}

Deno.test(`server load: ${CLIENTS} concurrent streaming clients for ${SECONDS} s without a failure`, async () => {
  const server = await startServer({
    load: modelLoader(),
    modelId: MODEL,
    port: 0,
    parallel: CLIENTS,
    contextSize: 128,
  });
  try {
    await server.ready;
    const client = new OpenAI({ apiKey: "none", baseURL: `${server.url}/v1`, maxRetries: 0 });
    const single = await phase(client, 1, SECONDS);
    const many = await phase(client, CLIENTS, SECONDS);
    const rate = (r: PhaseResult) => r.tokens / r.seconds;
    console.log(
      `${MODEL} on ${server.context.loaded!.model.backend.device.name}: 1 client ${
        rate(single).toFixed(1)
      } tok/s ` +
        `(${single.requests} requests); ${CLIENTS} clients ${
          rate(many).toFixed(1)
        } tok/s aggregate ` +
        `(${many.requests} requests, ${(rate(many) / rate(single)).toFixed(2)}x)`,
    );
    strictEqual(single.failures.join("\n"), "");
    strictEqual(many.failures.join("\n"), "");
    ok(many.requests >= CLIENTS, `${many.requests} requests for ${CLIENTS} clients`);
    const stats = server.context.loaded!.scheduler.stats();
    strictEqual(stats.activeSequences, 0);
    strictEqual(stats.kvCellsUsed, 0);
  } finally {
    await server.shutdown();
  }
});
