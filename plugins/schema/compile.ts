/**
 * The plugin's compile entry points: JSON Schema or zod schema → compiled grammar, GBNF text
 * → compiled grammar, and typed parsing of a constrained output.
 *
 * @module
 */

import { z } from "zod";
import { type CompiledGrammar, compileGrammar } from "./automaton.ts";
import { parseGbnf } from "./gbnf.ts";
import { type JsonSchema, type SchemaGrammarOptions, schemaToGrammar } from "./json_schema.ts";

/**
 * What zeno needs of a zod 4 schema, structurally (so the public API names no zod type): the
 * output type zod carries in `_zod` and its `parse`. Every zod 4 schema is one.
 */
export interface ZodSchemaLike<T = unknown> {
  /** zod's internals; only the output type is read. */
  readonly _zod: { readonly output: T };
  /** Validates a value and returns it typed. */
  parse(value: unknown): T;
}

/** Options of `compileSchema`. */
export interface CompileSchemaOptions extends SchemaGrammarOptions {
  /** Largest automaton (DFA states) before compiling fails. Default 200000. */
  maxStates?: number;
}

/** A compiled schema: the automaton, the JSON Schema it came from and what was not enforced. */
export interface CompiledSchema {
  /** The grammar the schema compiled to. */
  readonly grammar: CompiledGrammar;
  /** The JSON Schema it came from (zod schemas converted). */
  readonly jsonSchema: JsonSchema;
  /** Keywords not enforced (lenient mode) and notes such as "oneOf enforced as anyOf". */
  readonly warnings: readonly string[];
}

/**
 * Compiles a JSON Schema, or a zod 4 schema (through `z.toJSONSchema`), into a grammar.
 * @param schema a JSON Schema object/boolean or a zod schema
 * @param options strictness, whitespace policy, size limit
 * @throws SchemaCompileError naming the keyword and JSON pointer that cannot be enforced
 * @example Compile and check
 * ```ts
 * import { compileSchema } from "./compile.ts";
 * import { matchesGrammar } from "./matcher.ts";
 * const { grammar } = compileSchema({ type: "object", properties: { n: { type: "integer" } }, required: ["n"], additionalProperties: false });
 * if (!matchesGrammar(grammar, '{"n": 3}')) throw new Error("expected a match");
 * ```
 */
export function compileSchema(
  schema: JsonSchema | ZodSchemaLike,
  options: CompileSchemaOptions = {},
): CompiledSchema {
  const jsonSchema = _isZod(schema) ? (z.toJSONSchema(schema as unknown as z.ZodType) as JsonSchema) : schema;
  const { grammar, warnings } = schemaToGrammar(jsonSchema, options);
  return { grammar: compileGrammar(grammar, { maxStates: options.maxStates }), jsonSchema, warnings };
}

/**
 * Compiles a GBNF grammar (llama.cpp's syntax; the start rule is "root").
 * @throws SchemaCompileError with the position of a syntax error
 */
export function compileGbnf(text: string): CompiledGrammar {
  return compileGrammar(parseGbnf(text));
}

/**
 * Parses a constrained output and validates it with the zod schema, typed as its output.
 * @throws SyntaxError for text that is not JSON; zod's error when the value does not validate
 */
export function parseTyped<T>(text: string, schema: ZodSchemaLike<T>): T {
  return schema.parse(JSON.parse(text));
}

function _isZod(schema: unknown): schema is ZodSchemaLike {
  return typeof schema === "object" && schema !== null && "_zod" in schema;
}
