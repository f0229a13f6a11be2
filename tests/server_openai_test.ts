/**
 * The server against the official `openai` client, on stories260K (reference backend, greedy
 * outputs checked token for token against `LanguageModelSession`).
 */

import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert";
import OpenAI from "openai";
import "../backends/reference/mod.ts";
import { loadModel, type Model } from "../core/model.ts";
import type { GenerateOptions } from "../core/session.ts";
import { readMetric } from "../server/metrics.ts";
import { type RunningServer, startServer } from "../server/serve.ts";
import { testdataPath } from "./testdata.ts";

const MODEL_PATH = testdataPath("models/stories260K.gguf");
const API_KEY = "test-key";
const CONTEXT = 128;
const USER = [{ role: "user" as const, content: "Once upon a time" }];
// OpenAI's sampling semantics, as the server applies them.
const OPENAI_SAMPLING: GenerateOptions = { topK: 0, minP: 0, topP: 1, penaltyLastN: -1 };

async function openStories(): Promise<Model> {
  return await loadModel(MODEL_PATH, {
    backend: "reference",
    openBytes: (path) => ({ path, bytes: Deno.readFileSync(path) }),
  });
}

/** Runs `body` with a server on a free loopback port and a client for it. */
async function withServer(
  body: (client: OpenAI, server: RunningServer) => Promise<void>,
  parallel = 2,
): Promise<void> {
  const server = await startServer({
    load: openStories,
    modelId: "stories260K",
    port: 0,
    parallel,
    contextSize: CONTEXT,
    apiKey: API_KEY,
  });
  try {
    await server.ready;
    await body(new OpenAI({ apiKey: API_KEY, baseURL: `${server.url}/v1`, maxRetries: 0 }), server);
  } finally {
    await server.shutdown();
  }
}

/** What a session produces alone for the same request. */
async function expected(
  run: "respond" | "generate",
  options: GenerateOptions,
): Promise<{ text: string; tokens: number; promptTokens: number; finishReason: string }> {
  const model = await openStories();
  const session = model.createSession({ contextSize: CONTEXT });
  const generation = run === "respond"
    ? session.respond(USER, options)
    : session.generate(USER[0].content, options);
  const result = await generation.result();
  model.dispose();
  return {
    text: result.text,
    tokens: result.tokens.length,
    promptTokens: result.promptTokens,
    finishReason: result.finishReason === "length" ? "length" : "stop",
  };
}

async function metrics(server: RunningServer): Promise<string> {
  const response = await fetch(`${server.url}/metrics`, {
    headers: { authorization: `Bearer ${API_KEY}` },
  });
  strictEqual(response.status, 200);
  return await response.text();
}

Deno.test("server: chat completion (JSON) equals the session's greedy reply, with usage", async () => {
  const want = await expected("respond", { temperature: 0, maxTokens: 24 });
  await withServer(async (client) => {
    const reply = await client.chat.completions.create({
      model: "stories260K",
      messages: USER,
      temperature: 0,
      max_tokens: 24,
    });
    strictEqual(reply.object, "chat.completion");
    strictEqual(reply.model, "stories260K");
    strictEqual(reply.choices.length, 1);
    strictEqual(reply.choices[0].message.role, "assistant");
    strictEqual(reply.choices[0].message.content, want.text);
    strictEqual(reply.choices[0].finish_reason, want.finishReason);
    deepStrictEqual(reply.usage, {
      prompt_tokens: want.promptTokens,
      completion_tokens: want.tokens,
      total_tokens: want.promptTokens + want.tokens,
    });
  });
});

Deno.test("server: streamed chat completion joins to the session's greedy reply and ends with usage", async () => {
  const want = await expected("respond", { temperature: 0, maxTokens: 24 });
  await withServer(async (client) => {
    const stream = await client.chat.completions.create({
      model: "stories260K",
      messages: USER,
      temperature: 0,
      max_completion_tokens: 24,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    const reasons: (string | null)[] = [];
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      strictEqual(chunk.object, "chat.completion.chunk");
      for (const choice of chunk.choices) {
        text += choice.delta.content ?? "";
        reasons.push(choice.finish_reason);
      }
      if (chunk.usage) usage = chunk.usage;
    }
    strictEqual(text, want.text);
    strictEqual(reasons.at(-1), want.finishReason);
    strictEqual(reasons.filter((r) => r !== null).length, 1);
    deepStrictEqual(usage, {
      prompt_tokens: want.promptTokens,
      completion_tokens: want.tokens,
      total_tokens: want.promptTokens + want.tokens,
    });
  });
});

Deno.test("server: text completions (JSON and streamed) continue the prompt as the session does", async () => {
  const want = await expected("generate", { temperature: 0, maxTokens: 32 });
  const golden = JSON.parse(
    await Deno.readTextFile(testdataPath("models/stories260K.goldens.json")),
  );
  await withServer(async (client, server) => {
    const model = server.context.loaded!.model;
    strictEqual(want.text, model.tokenizer.decode(golden.cases[0].generated_ids));
    const reply = await client.completions.create({
      model: "stories260K",
      prompt: USER[0].content,
      temperature: 0,
      max_tokens: 32,
    });
    strictEqual(reply.object, "text_completion");
    strictEqual(reply.choices[0].text, want.text);
    strictEqual(reply.choices[0].finish_reason, "length");
    deepStrictEqual(reply.usage, { prompt_tokens: 5, completion_tokens: 32, total_tokens: 37 });
    const stream = await client.completions.create({
      model: "stories260K",
      prompt: USER[0].content,
      temperature: 0,
      max_tokens: 32,
      stream: true,
    });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? "";
    strictEqual(text, want.text);
    // OpenAI's default for text completions is 16 tokens.
    const short = await client.completions.create({
      model: "stories260K",
      prompt: USER[0].content,
      temperature: 0,
    });
    strictEqual(short.usage?.completion_tokens, 16);
  });
});

Deno.test("server: n > 1 gives each choice its own seed (seed + index), as sessions do", async () => {
  const sampling = { ...OPENAI_SAMPLING, temperature: 1, maxTokens: 12 };
  const wants = [
    await expected("respond", { ...sampling, seed: 5 }),
    await expected("respond", { ...sampling, seed: 6 }),
  ];
  await withServer(async (client) => {
    const reply = await client.chat.completions.create({
      model: "stories260K",
      messages: USER,
      n: 2,
      seed: 5,
      max_tokens: 12,
    });
    deepStrictEqual(reply.choices.map((c) => c.index), [0, 1]);
    deepStrictEqual(reply.choices.map((c) => c.message.content), wants.map((w) => w.text));
    strictEqual(reply.usage?.completion_tokens, wants[0].tokens + wants[1].tokens);
    strictEqual(reply.usage?.prompt_tokens, wants[0].promptTokens);
    const stream = await client.chat.completions.create({
      model: "stories260K",
      messages: USER,
      n: 2,
      seed: 5,
      max_tokens: 12,
      stream: true,
    });
    const texts = ["", ""];
    for await (const chunk of stream) {
      for (const choice of chunk.choices) texts[choice.index] += choice.delta.content ?? "";
    }
    deepStrictEqual(texts, wants.map((w) => w.text));
  });
});

Deno.test("server: bad requests get OpenAI-shaped 400s naming the field", async () => {
  await withServer(async (client) => {
    const cases: [
      Record<string, unknown>,
      { param: string | null; code: string; message: string },
    ][] = [
      [{ foo: 1 }, {
        param: "foo",
        code: "unsupported_parameter",
        message: `Cannot use field "foo": it is unknown or not supported`,
      }],
      [{ temperature: 3 }, {
        param: "temperature",
        code: "invalid_value",
        message: "Cannot use temperature 3: expected a value in [0, 2]",
      }],
      [{ top_p: "high" }, {
        param: "top_p",
        code: "invalid_type",
        message: `Cannot use top_p "high": expected a number`,
      }],
      [{ n: 0 }, {
        param: "n",
        code: "invalid_value",
        message: "Cannot use n 0: expected a value in [1, 16]",
      }],
      [{ tools: [] }, {
        param: "tools",
        code: "unsupported_parameter",
        message: `Cannot use field "tools": it is unknown or not supported`,
      }],
      [{ logit_bias: { "512": 1 } }, {
        param: "logit_bias",
        code: "invalid_value",
        message:
          `Cannot use logit_bias key "512": expected a token id below the vocabulary size 512`,
      }],
      [{ messages: [{ role: "robot", content: "hi" }] }, {
        param: "messages[0].role",
        code: "invalid_value",
        message:
          `Cannot use messages[0].role "robot": expected one of system, developer, user, assistant`,
      }],
      [{ messages: [{ role: "user", content: "once ".repeat(200) }] }, {
        param: "messages",
        code: "context_length_exceeded",
        message:
          "Cannot evaluate a prompt of 441 tokens: the context size is 128 tokens per sequence, and at least one must be left to generate",
      }],
    ];
    for (const [extra, want] of cases) {
      const body = {
        model: "stories260K",
        messages: USER,
        ...extra,
      } as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming;
      await rejects(client.chat.completions.create(body), (error: unknown) => {
        ok(error instanceof OpenAI.BadRequestError, `${JSON.stringify(extra)}: ${error}`);
        strictEqual(error.status, 400);
        deepStrictEqual(error.error, {
          message: want.message,
          type: "invalid_request_error",
          param: want.param,
          code: want.code,
        });
        return true;
      });
    }
  });
});

Deno.test("server: a wrong API key gets 401 everywhere but /health", async () => {
  await withServer(async (_client, server) => {
    const wrong = new OpenAI({ apiKey: "nope", baseURL: `${server.url}/v1`, maxRetries: 0 });
    await rejects(wrong.models.list(), (error: unknown) => {
      ok(error instanceof OpenAI.AuthenticationError);
      strictEqual(error.code, "invalid_api_key");
      return true;
    });
    strictEqual(
      await fetch(`${server.url}/metrics`).then(async (r) => (await r.body?.cancel(), r.status)),
      401,
    );
    const health = await fetch(`${server.url}/health`);
    deepStrictEqual([health.status, await health.json()], [200, { status: "ok" }]);
    const models = await _client.models.list();
    deepStrictEqual(models.data.map((m) => [m.id, m.object, m.owned_by]), [[
      "stories260K",
      "model",
      "zeno",
    ]]);
  });
});

Deno.test("server: aborting a stream stops its generation and frees its KV cells", async () => {
  await withServer(async (client, server) => {
    const stream = await client.chat.completions.create({
      model: "stories260K",
      messages: USER,
      temperature: 0,
      max_tokens: 100,
      stream: true,
    });
    let chunks = 0;
    for await (const _ of stream) if (++chunks === 4) break;
    // The server sees the closed connection within a tick or two.
    let text = await metrics(server);
    for (let i = 0; i < 100 && readMetric(text, "zeno_active_sequences") !== 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
      text = await metrics(server);
    }
    strictEqual(readMetric(text, "zeno_active_sequences"), 0);
    strictEqual(readMetric(text, "zeno_kv_cells_used"), 0);
    strictEqual(readMetric(text, "zeno_requests_finished_total"), 1);
    ok(readMetric(text, "zeno_generated_tokens_total")! < 100, text);
    strictEqual(readMetric(text, "zeno_kv_cells_total"), 2 * CONTEXT);
  });
});

Deno.test("server: /tokenize and /detokenize round-trip", async () => {
  await withServer(async (_client, server) => {
    const post = async (path: string, body: unknown) => {
      const response = await fetch(`${server.url}${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${API_KEY}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      return [response.status, await response.json()];
    };
    deepStrictEqual(await post("/tokenize", { content: "Once upon a time" }), [200, {
      tokens: [403, 407, 261, 378],
    }]);
    deepStrictEqual(await post("/tokenize", { content: "Once upon a time", add_special: true }), [
      200,
      { tokens: [1, 403, 407, 261, 378] },
    ]);
    deepStrictEqual(await post("/detokenize", { tokens: [403, 407, 261, 378] }), [200, {
      content: "Once upon a time",
    }]);
    const [status, body] = await post("/detokenize", { tokens: [512] });
    strictEqual(status, 400);
    strictEqual(body.error.param, "tokens");
  });
});

Deno.test("server: a JSON request whose client disconnects stops and frees its sequence", async () => {
  await withServer(async (_client, server) => {
    const controller = new AbortController();
    const request = fetch(`${server.url}/v1/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${API_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ prompt: "Once upon a time", temperature: 0, max_tokens: 100 }),
      signal: controller.signal,
    });
    let text = await metrics(server);
    for (let i = 0; i < 100 && readMetric(text, "zeno_generated_tokens_total")! < 3; i++) {
      await new Promise((r) => setTimeout(r, 10));
      text = await metrics(server);
    }
    controller.abort();
    await rejects(request, { name: "AbortError" });
    for (let i = 0; i < 100 && readMetric(text, "zeno_requests_finished_total") !== 1; i++) {
      await new Promise((r) => setTimeout(r, 20));
      text = await metrics(server);
    }
    strictEqual(readMetric(text, "zeno_requests_finished_total"), 1);
    strictEqual(readMetric(text, "zeno_active_sequences"), 0);
    strictEqual(readMetric(text, "zeno_kv_cells_used"), 0);
    ok(readMetric(text, "zeno_generated_tokens_total")! < 100, text);
  });
});

Deno.test("server: /health says 503 while the model loads and the other routes wait for it", async () => {
  const { promise: gate, resolve: open } = Promise.withResolvers<void>();
  const server = await startServer({
    load: async () => (await gate, await openStories()),
    modelId: "stories260K",
    port: 0,
    contextSize: CONTEXT,
  });
  try {
    const health = await fetch(`${server.url}/health`);
    deepStrictEqual([health.status, await health.json()], [503, { status: "loading" }]);
    const models = await fetch(`${server.url}/v1/models`);
    deepStrictEqual([models.status, await models.json()], [503, {
      error: {
        message: "Cannot serve the request: the model is still loading",
        type: "unavailable_error",
        param: null,
        code: null,
      },
    }]);
    open();
    await server.ready;
    const ready = await fetch(`${server.url}/health`);
    deepStrictEqual([ready.status, await ready.json()], [200, { status: "ok" }]);
  } finally {
    open();
    await server.shutdown();
  }
});

Deno.test("server: response_format json_schema and json_object constrain the reply (ajv-valid, as the session's)", async () => {
  const { Ajv2020 } = await import("ajv/dist/2020.js");
  await import("../plugins/schema/mod.ts");
  const schema = {
    type: "object",
    properties: { hero: { type: "string", maxLength: 16 }, age: { type: "integer", minimum: 1, maximum: 12 } },
    required: ["hero", "age"],
    additionalProperties: false,
  };
  const model = await openStories();
  const session = model.createSession({ contextSize: CONTEXT });
  const want = await session.respond(USER, { ...OPENAI_SAMPLING, temperature: 0, maxTokens: 60, schema }).result();
  model.dispose();
  await withServer(async (client) => {
    const reply = await client.chat.completions.create({
      model: "stories260K",
      messages: USER,
      temperature: 0,
      max_tokens: 60,
      response_format: { type: "json_schema", json_schema: { name: "hero", schema, strict: true } },
    });
    const content = reply.choices[0].message.content ?? "";
    strictEqual(content, want.text);
    strictEqual(reply.choices[0].finish_reason, "stop");
    strictEqual(new Ajv2020({ strict: false }).compile(schema)(JSON.parse(content)), true);
    const free = await client.chat.completions.create({
      model: "stories260K",
      messages: USER,
      temperature: 0.9,
      seed: 5,
      max_tokens: 80,
      response_format: { type: "json_object" },
    });
    const text = free.choices[0].message.content ?? "";
    strictEqual(free.choices[0].finish_reason, "stop");
    deepStrictEqual(JSON.parse(text), {});
    await rejects(
      client.chat.completions.create({
        model: "stories260K",
        messages: USER,
        response_format: { type: "json_schema", json_schema: { name: "x", schema: { type: "array", uniqueItems: true } } },
      }),
      (error: { status: number; param: string }) =>
        error.status === 400 && error.param === "response_format.json_schema.schema",
    );
  });
});
