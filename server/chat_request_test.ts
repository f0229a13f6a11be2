import { deepStrictEqual, throws } from "node:assert";
import { parseChatRequest } from "./chat_request.ts";
import { parseCompletionRequest } from "./completion_request.ts";

Deno.test("parseChatRequest() reads messages, text parts and the developer role", () => {
  const request = parseChatRequest({
    model: "m",
    messages: [
      { role: "developer", content: "Be brief." },
      {
        role: "user",
        content: [{ type: "text", text: "Hi " }, { type: "text", text: "there" }],
        name: "ann",
      },
    ],
    stream: true,
    stream_options: { include_usage: true },
  }, 512);
  deepStrictEqual(request.messages, [
    { role: "system", content: "Be brief." },
    { role: "user", content: "Hi there", name: "ann" },
  ]);
  deepStrictEqual([request.model, request.stream, request.includeUsage], ["m", true, true]);
});

Deno.test("parseChatRequest() refuses what it cannot serve, naming the field", () => {
  const user = { role: "user", content: "Hi" };
  const cases: [Record<string, unknown>, string, string][] = [
    [
      { messages: [] },
      "messages",
      `Cannot read "messages": expected a non-empty array of messages`,
    ],
    [
      { messages: [{ role: "user", content: [{ type: "image_url", image_url: {} }] }] },
      "messages[0].content[0].image_url",
      `Cannot use field "messages[0].content[0].image_url": it is unknown or not supported`,
    ],
    [
      { messages: [{ role: "user", content: [{ type: "input_audio" }] }] },
      "messages[0].content[0].type",
      `Cannot use messages[0].content[0].type "input_audio": only "text" parts are supported`,
    ],
    [
      { messages: [{ role: "tool", content: "x" }] },
      "messages[0].role",
      `Cannot use messages[0].role "tool": expected one of system, developer, user, assistant`,
    ],
    [
      { messages: [user], stream_options: { include_usage: true } },
      "stream_options",
      `Cannot use field "stream_options" without "stream": true`,
    ],
    [
      { messages: [user], response_format: { type: "xml" } },
      "response_format.type",
      `Cannot use response_format.type "xml": expected "text", "json_object" or "json_schema"`,
    ],
    [
      { messages: [user], response_format: { type: "json_schema", json_schema: { name: "x", schema: [] } } },
      "response_format.json_schema.schema",
      "Cannot use response_format.json_schema.schema []: expected a JSON Schema object",
    ],
  ];
  for (const [body, param, message] of cases) {
    throws(() => parseChatRequest(body, 512), { param, message });
  }
});

Deno.test("parseChatRequest() reads response_format into the schema the reply must match", () => {
  const user = { role: "user", content: "hi" };
  const schema = { type: "object", properties: { a: { type: "integer" } }, required: ["a"] };
  deepStrictEqual(
    parseChatRequest({ messages: [user], response_format: { type: "json_schema", json_schema: { name: "a", schema, strict: true } } }, 512).responseSchema,
    schema,
  );
  deepStrictEqual(parseChatRequest({ messages: [user], response_format: { type: "json_object" } }, 512).responseSchema, { type: "object" });
  deepStrictEqual(parseChatRequest({ messages: [user], response_format: { type: "text" } }, 512).responseSchema, undefined);
});

Deno.test("parseCompletionRequest() takes text or token ids and defaults max_tokens to 16", () => {
  deepStrictEqual(parseCompletionRequest({ prompt: "Once" }, 512).prompt, "Once");
  deepStrictEqual(parseCompletionRequest({ prompt: ["Once"] }, 512).prompt, "Once");
  deepStrictEqual(parseCompletionRequest({ prompt: [1, 403] }, 512).prompt, [1, 403]);
  deepStrictEqual(parseCompletionRequest({ prompt: "x" }, 512).params.maxTokens, 16);
  throws(() => parseCompletionRequest({ prompt: [1, 512] }, 512), {
    param: "prompt",
    message: "Cannot use prompt token 512: the vocabulary has 512 tokens",
  });
  throws(() => parseCompletionRequest({}, 512), {
    param: "prompt",
    message: `Cannot read the request: field "prompt" is required`,
  });
  throws(() => parseCompletionRequest({ prompt: "x", echo: true }, 512), { param: "echo" });
});
