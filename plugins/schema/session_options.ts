/**
 * Wires the schema plugin into sessions: `session.generate(prompt, { schema })` (JSON Schema or
 * zod) and `{ grammar }` (GBNF) become decoding constraints through the plugin contract in
 * core/plugin.ts. Compiled grammars are cached per schema object and per GBNF text.
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
const gbnfCache = new Map<string, CompiledGrammar>();
const GBNF_CACHE_ENTRIES = 32;

function isZod(schema: unknown): schema is ZodSchemaLike {
  return typeof schema === "object" && schema !== null && "_zod" in schema;
}

function schemaGrammar(schema: object): CompiledGrammar {
  let grammar = schemaCache.get(schema);
  if (grammar === undefined) {
    grammar = compileSchema(schema as JsonSchema).grammar;
    schemaCache.set(schema, grammar);
  }
  return grammar;
}

function gbnfGrammar(text: string): CompiledGrammar {
  let grammar = gbnfCache.get(text);
  if (grammar === undefined) {
    grammar = compileGbnf(text);
    if (gbnfCache.size >= GBNF_CACHE_ENTRIES) gbnfCache.delete(gbnfCache.keys().next().value!);
    gbnfCache.set(text, grammar);
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
    throw new TypeError(`Cannot use schema ${JSON.stringify(schema)}: expected a JSON Schema object or a zod schema`);
  }
  const parse = isZod(schema) ? (text: string) => parseTyped(text, schema) : (text: string) => JSON.parse(text);
  return constraint(schemaGrammar(schema), tokenizer, parse);
}

/** Builds the constraint of a `grammar` option (GBNF text); the value is the text itself. */
export function grammarConstraint(grammar: unknown, tokenizer: Tokenizer): DecodingConstraint {
  if (typeof grammar !== "string") throw new TypeError("Cannot use grammar: expected GBNF text");
  return constraint(gbnfGrammar(grammar), tokenizer, (text) => text);
}

registerConstraintOption("schema", schemaConstraint);
registerConstraintOption("grammar", grammarConstraint);
