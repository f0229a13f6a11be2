/**
 * `zeno run -m <model.gguf|alias> -p "<prompt>" [-n N] [--temp T] [--seed S] [--chat] [--ids]`:
 * prints the continuation of a prompt (with `--chat`, the reply to it as a user message). With
 * `--ids`, prints only the generated token ids, space-separated, on one line. With
 * `--schema <schema.json>` (or `--grammar <file.gbnf>`), the output is constrained and only the
 * JSON value (or the grammar's text) is printed. Without `-m`,
 * uses `smollm2-135m-instruct`, pulled on first use. Everything but the output goes to stderr.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { openModel } from "./open_model.ts";
import { compact, numberOption } from "./options.ts";

const USAGE = `usage: zeno run [-m <model.gguf|alias>] -p "<prompt>" [-n N] [--temp T] [--seed S]
                [--top-k K] [--top-p P] [--min-p P] [--repeat-penalty R] [--chat] [--ids]
                [--schema <schema.json> | --grammar <file.gbnf>] [--threads N] [--ctx N]`;

/** Entry point of `zeno run`. */
export async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      model: { type: "string", short: "m" },
      prompt: { type: "string", short: "p" },
      "n-predict": { type: "string", short: "n", default: "128" },
      temp: { type: "string" },
      seed: { type: "string" },
      "top-k": { type: "string" },
      "top-p": { type: "string" },
      "min-p": { type: "string" },
      "repeat-penalty": { type: "string" },
      chat: { type: "boolean", default: false },
      ids: { type: "boolean", default: false },
      schema: { type: "string" },
      grammar: { type: "string" },
      threads: { type: "string", short: "t" },
      ctx: { type: "string", short: "c" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help || values.prompt === undefined) {
    console.error(USAGE);
    return values.help ? 0 : 2;
  }
  const model = await openModel(values.model, { threads: numberOption(values.threads, "--threads") });
  try {
    const session = model.createSession({ contextSize: numberOption(values.ctx, "--ctx") });
    const constraint = await constraintOptions(values.schema, values.grammar);
    const options = compact({
      ...constraint,
      maxTokens: numberOption(values["n-predict"], "-n"),
      temperature: numberOption(values.temp, "--temp"),
      seed: numberOption(values.seed, "--seed"),
      topK: numberOption(values["top-k"], "--top-k"),
      topP: numberOption(values["top-p"], "--top-p"),
      minP: numberOption(values["min-p"], "--min-p"),
      repeatPenalty: numberOption(values["repeat-penalty"], "--repeat-penalty"),
    });
    const generation = values.chat
      ? session.respond([{ role: "user", content: values.prompt }], options)
      : session.generate(values.prompt, options);
    if (constraint.schema !== undefined || constraint.grammar !== undefined) {
      const value = await generation;
      console.log(constraint.schema !== undefined ? JSON.stringify(value) : value);
      return 0;
    }
    if (values.ids) {
      const result = await generation.result();
      console.log(result.tokens.join(" "));
      return 0;
    }
    const encoder = new TextEncoder();
    for await (const chunk of generation) await Deno.stdout.write(encoder.encode(chunk));
    await Deno.stdout.write(encoder.encode("\n"));
    return 0;
  } finally {
    model.dispose();
  }
}

/** Reads `--schema`/`--grammar` files and loads the schema plugin when one is given. */
async function constraintOptions(
  schemaPath: string | undefined,
  grammarPath: string | undefined,
): Promise<{ schema?: unknown; grammar?: string }> {
  if (schemaPath === undefined && grammarPath === undefined) return {};
  if (schemaPath !== undefined && grammarPath !== undefined) {
    throw new TypeError("Cannot use --schema and --grammar together: pick one");
  }
  await import("../plugins/schema/mod.ts");
  if (schemaPath !== undefined) {
    const text = await Deno.readTextFile(schemaPath);
    try {
      return { schema: JSON.parse(text) };
    } catch (error) {
      throw new SyntaxError(`Cannot read schema "${schemaPath}": ${(error as Error).message}`, { cause: error });
    }
  }
  return { grammar: await Deno.readTextFile(grammarPath!) };
}
