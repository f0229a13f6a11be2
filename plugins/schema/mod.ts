/**
 * The schema plugin: constrained decoding from JSON Schema, zod and GBNF, with typed results.
 *
 * - `compileSchema(schema, options)` / `compileGbnf(text)` → a compiled grammar (a byte-level
 *   DFA per recursive rule, run as a pushdown automaton).
 * - `createGrammarConstraint(grammar, tokenizer)` → a logits processor masking tokens the
 *   grammar forbids, plus `accept(id)`, `canEnd()`, `isDone()`, `clone()`.
 * - `parseTyped(text, zodSchema)` → the value, typed by `z.output`.
 *
 * JSON policies: whitespace "bounded" by default (after `{ [ , :` and before `} ]`: nothing, a
 * space, or a newline and up to 20 spaces/tabs), properties in `properties` order, extra
 * properties allowed unless `additionalProperties: false` or `closedObjects: true`, `oneOf`
 * enforced as `anyOf`. Keywords that cannot be enforced fail with `SchemaCompileError`
 * (keyword + JSON pointer) unless `lenient: true`, which lists them in `warnings`.
 *
 * @module
 */

export * from "./compile.ts";
export * from "./constraint.ts";
export * from "./errors.ts";
export * from "./matcher.ts";
export type { CompiledGrammar } from "./automaton.ts";
export type { Pda } from "./pda.ts";
export type { Expr, Grammar } from "./grammar.ts";
export type { JsonSchema, SchemaGrammarOptions } from "./json_schema.ts";
export * from "./session_options.ts";
