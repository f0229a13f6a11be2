/**
 * Wires the schema plugin into sessions: `session.generate(prompt, { schema })` (JSON Schema or
 * zod) and `{ grammar }` (GBNF) become decoding constraints through the plugin contract in
 * core/plugin.ts. Compiled grammars are cached per schema object, per JSON Schema text and per
 * GBNF text: a grammar's token masks live with it, so a server that gets the same schema in
 * every request body computes them once, not once a request.
 *
 * @module
 */

import type { DecodingConstraint } from "../../core/plugin.ts";
import { registerConstraintOption } from "../../core/plugin.ts";
import type { Tokenizer } from "../../core/tokenizer/types.ts";
import type { CompiledGrammar } from "./automaton.ts";
import { compileGbnf, compileSchema, parseTyped, type ZodSchemaLike } from "./compile.ts";
import { createGrammarConstraint } from "./constraint.ts";
import type { JsonSchema } from "./json_schema.ts";

const schemaCache = new WeakMap<object, CompiledGrammar>();
const schemaTextCache = new Map<string, CompiledGrammar>();
const gbnfCache = new Map<string, CompiledGrammar>();
const GBNF_CACHE_ENTRIES = 32;
const SCHEMA_TEXT_CACHE_ENTRIES = 32;

function isZod(schema: unknown): schema is ZodSchemaLike {
  return typeof schema === "object" && schema !== null && "_zod" in schema;
}

/**
 * The compiled grammar of a `schema` option, cached by object and, for JSON Schemas, by their
 * JSON text (equal schemas parsed from different request bodies share one grammar).
 * @param schema a JSON Schema object or a zod schema
 * @returns the compiled grammar
 * @throws SchemaCompileError when the schema cannot be enforced
 */
export function schemaGrammar(schema: object): CompiledGrammar {
  let grammar = schemaCache.get(schema);
  if (grammar !== undefined) return grammar;
  const text = isZod(schema) ? undefined : _jsonText(schema);
  grammar = text === undefined ? undefined : schemaTextCache.get(text);
  if (grammar === undefined) {
    grammar = compileSchema(schema as JsonSchema).grammar;
    if (text !== undefined) _remember(schemaTextCache, text, grammar, SCHEMA_TEXT_CACHE_ENTRIES);
  }
  schemaCache.set(schema, grammar);
  return grammar;
}

/** The JSON text of `schema`, or undefined when it has none (a cycle): then it is not cached by text. */
function _jsonText(schema: object): string | undefined {
  try {
    return JSON.stringify(schema);
  } catch {
    return undefined;
  }
}

/** Sets `key` in a cache that keeps its `limit` newest entries. */
function _remember(
  cache: Map<string, CompiledGrammar>,
  key: string,
  grammar: CompiledGrammar,
  limit: number,
): void {
  if (cache.size >= limit) cache.delete(cache.keys().next().value!);
  cache.set(key, grammar);
}

function gbnfGrammar(text: string): CompiledGrammar {
  let grammar = gbnfCache.get(text);
  if (grammar === undefined) {
    grammar = compileGbnf(text);
    _remember(gbnfCache, text, grammar, GBNF_CACHE_ENTRIES);
  }
  return grammar;
}

function constraint(
  grammar: CompiledGrammar,
  tokenizer: Tokenizer,
  parse: (text: string) => unknown,
): DecodingConstraint {
  const inner = createGrammarConstraint(grammar, tokenizer);
  return {
    processor: inner.processor,
    accept: (id) => inner.accept(id),
    isDone: () => inner.isDone(),
    canEnd: () => inner.canEnd(),
    parse,
  };
}

/** Builds the constraint of a `schema` option: JSON text parsed, and checked by zod when given. */
export function schemaConstraint(schema: unknown, tokenizer: Tokenizer): DecodingConstraint {
  if (typeof schema !== "object" || schema === null) {
    throw new TypeError(
      `Cannot use schema ${JSON.stringify(schema)}: expected a JSON Schema object or a zod schema`,
    );
  }
  const parse = isZod(schema)
    ? (text: string) => parseTyped(text, schema)
    : (text: string) => JSON.parse(text);
  return constraint(schemaGrammar(schema), tokenizer, parse);
}

/** Builds the constraint of a `grammar` option (GBNF text); the value is the text itself. */
export function grammarConstraint(grammar: unknown, tokenizer: Tokenizer): DecodingConstraint {
  if (typeof grammar !== "string") throw new TypeError("Cannot use grammar: expected GBNF text");
  return constraint(gbnfGrammar(grammar), tokenizer, (text) => text);
}

registerConstraintOption("schema", schemaConstraint);
registerConstraintOption("grammar", grammarConstraint);
