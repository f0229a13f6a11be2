/**
 * The official `openai` client against zeno's OpenAI-compatible server: the example starts the
 * server in-process on 127.0.0.1 (a free port), then streams one chat completion and asks for
 * the same one without streaming. Any OpenAI client works the same way against
 * `deno task zeno serve`.
 *
 * ```sh
 * deno run -A examples/openai_client.ts [model] [--prompt "..."] [--max-tokens N]
 * ```
 *
 * `model` is an alias or a .gguf path (default `smollm2-135m-instruct`). `temperature: 0`
 * makes both answers greedy, so they must be equal: the example fails when they differ.
 * Prints the streamed reply, then `[<completion tokens> tokens, <finish reason>, same as
 * non-streamed]`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { basename } from "node:path";
import OpenAI from "openai";
import { loadModel, resolveModel } from "../mod.ts";
import { startServer } from "../server/mod.ts";

/** The model used when none is named. */
export const DEFAULT_MODEL = "smollm2-135m-instruct";

async function main(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      prompt: { type: "string", default: "Write one sentence about the sea." },
      "max-tokens": { type: "string", default: "32" },
    },
  });
  const path = await resolveModel(positionals[0] ?? DEFAULT_MODEL);
  const server = await startServer({
    load: () => loadModel(path),
    modelId: basename(path),
    port: 0,
    parallel: 1,
    contextSize: 512,
  });
  try {
    await server.ready;
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused" });
    const request = {
      model: basename(path),
      messages: [{ role: "user" as const, content: values.prompt }],
      temperature: 0,
      max_tokens: Number(values["max-tokens"]),
    };
    let streamed = "";
    const encoder = new TextEncoder();
    for await (const chunk of await client.chat.completions.create({ ...request, stream: true })) {
      const delta = chunk.choices[0]?.delta?.content ?? "";
      streamed += delta;
      await Deno.stdout.write(encoder.encode(delta));
    }
    const whole = await client.chat.completions.create(request);
    const text = whole.choices[0].message.content ?? "";
    if (text !== streamed) {
      throw new Error(
        `Cannot confirm the reply: streamed ${JSON.stringify(streamed)}, non-streamed ${
          JSON.stringify(text)
        }`,
      );
    }
    const tokens = whole.usage?.completion_tokens;
    console.log(`\n[${tokens} tokens, ${whole.choices[0].finish_reason}, same as non-streamed]`);
  } finally {
    await server.shutdown();
  }
}

if (import.meta.main) {
  try {
    await main(Deno.args);
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    Deno.exit(1);
  }
}
