/**
 * `zeno schema check <schema.json> [--lenient]`: compiles a JSON Schema the way constrained
 * decoding would. Exit code 0 when it compiles (warnings go to stderr), 1 with the keyword and
 * JSON pointer when it does not, 2 for usage errors.
 *
 * @module
 */

import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { compileSchema } from "../plugins/schema/compile.ts";
import { SchemaCompileError } from "../plugins/schema/errors.ts";

const USAGE = "usage: zeno schema check <schema.json> [--lenient]";

/** Runs `zeno schema ...`; returns the exit code. */
export function main(args: string[]): Promise<number> {
  const { positionals, values } = parseArgs({ args, allowPositionals: true, options: { lenient: { type: "boolean" } } });
  const [action, path] = positionals;
  if (action !== "check" || path === undefined) {
    console.error(USAGE);
    return Promise.resolve(2);
  }
  let schema: unknown;
  try {
    schema = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    console.error(`Cannot read schema "${path}": ${(error as Error).message}`);
    return Promise.resolve(1);
  }
  try {
    const compiled = compileSchema(schema as boolean, { lenient: values.lenient });
    for (const warning of compiled.warnings) console.error(`warning: ${warning}`);
    console.log(`ok: "${path}" compiles (${compiled.grammar.stateCount} automaton states)`);
    return Promise.resolve(0);
  } catch (error) {
    if (!(error instanceof SchemaCompileError)) throw error;
    console.error(`${error.message}\nkeyword: ${error.keyword}\npointer: ${error.pointer || "/"}`);
    return Promise.resolve(1);
  }
}
