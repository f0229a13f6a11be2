/**
 * A keyboard's suggestion strip: three 8-token continuations of what was typed, decoded
 * together (`session.candidates`: the typed prefix is evaluated once and its KV cells are
 * shared by the three sequences).
 *
 * ```sh
 * deno run -A examples/keyboard.ts [model] [--prefix "..."] [--seed S]
 * ```
 *
 * `model` is an alias or a .gguf path (default `smollm2-135m-instruct`). Sampling at
 * temperature 0.8 with a fixed seed (candidate i uses seed + i): different suggestions, the
 * same ones on every run. Prints one suggestion a line (`1. …`), then the time from the call to
 * the first suggestion (all three arrive together) and the process's resident memory.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { loadModel, resolveModel } from "../mod.ts";

/** The model used when none is named. */
export const DEFAULT_MODEL = "smollm2-135m-instruct";

/** How the suggestions are sampled; exported so tests can ask the library for the same. */
export const SUGGESTION_OPTIONS = { n: 3, maxTokens: 8, temperature: 0.8 } as const;

async function main(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      prefix: { type: "string", default: "I will meet you at the" },
      seed: { type: "string", default: "7" },
    },
  });
  const model = await loadModel(await resolveModel(positionals[0] ?? DEFAULT_MODEL));
  try {
    const session = model.createSession({ contextSize: 256 });
    const started = performance.now();
    const suggestions = await session.candidates(values.prefix, {
      ...SUGGESTION_OPTIONS,
      seed: Number(values.seed),
    });
    const firstMs = performance.now() - started;
    suggestions.forEach((text, index) => console.log(`${index + 1}. ${JSON.stringify(text)}`));
    console.log(`first suggestion: ${firstMs.toFixed(0)} ms`);
    console.log(`memory: ${(Deno.memoryUsage().rss / 2 ** 20).toFixed(1)} MiB RSS`);
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
