/**
 * Quickstart: load a model and stream a reply to one message.
 *
 * ```sh
 * deno run -A examples/quickstart.ts [model] [--prompt "..."] [--max-tokens N] [--plain]
 * ```
 *
 * `model` is an alias (pulled into the cache on first use) or a .gguf path; default
 * `smollm2-135m-instruct`. Decoding is greedy (temperature 0), so one model always gives the
 * same reply. `--plain` continues the prompt as text instead of chatting (for base models such
 * as stories260K). Prints the reply as it streams, then `[<n> tokens, <finish reason>]`.
 *
 * From JSR, import `jsr:@zeno/zeno` instead of `../mod.ts`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { loadModel, resolveModel } from "../mod.ts";

/** The model used when none is named. */
export const DEFAULT_MODEL = "smollm2-135m-instruct";

async function main(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      prompt: { type: "string", default: "What is the capital of France?" },
      "max-tokens": { type: "string", default: "64" },
      plain: { type: "boolean", default: false },
    },
  });
  const model = await loadModel(await resolveModel(positionals[0] ?? DEFAULT_MODEL));
  try {
    const session = model.createSession({ contextSize: 1024 });
    const options = { temperature: 0, maxTokens: Number(values["max-tokens"]) };
    const reply = values.plain
      ? session.generate(values.prompt, options)
      : session.respond([{ role: "user", content: values.prompt }], options);
    const encoder = new TextEncoder();
    // Each chunk is whole UTF-8 characters: printing it at once never splits a character.
    for await (const chunk of reply) await Deno.stdout.write(encoder.encode(chunk));
    const result = await reply.result();
    console.log(`\n[${result.tokens.length} tokens, ${result.finishReason}]`);
  } finally {
    model.dispose();
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
