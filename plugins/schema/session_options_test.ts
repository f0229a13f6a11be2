import assert from "node:assert/strict";
import { matchesGrammar } from "./matcher.ts";
import { schemaGrammar } from "./session_options.ts";
import { WALK_SCHEMAS } from "./walk_schemas.ts";

Deno.test("schemaGrammar() shares one grammar between equal schemas parsed apart", () => {
  const first = schemaGrammar(JSON.parse(JSON.stringify(WALK_SCHEMAS.order)));
  const second = schemaGrammar(JSON.parse(JSON.stringify(WALK_SCHEMAS.order)));
  assert.equal(second, first);
  const other = schemaGrammar(JSON.parse(JSON.stringify(WALK_SCHEMAS.tree)));
  assert.notEqual(other, first);
  assert.equal(schemaGrammar(structuredClone(WALK_SCHEMAS.tree)), other);
});

Deno.test("schemaGrammar() compiles a schema again once its text is edited", () => {
  const schema = structuredClone(WALK_SCHEMAS.person) as Record<string, unknown>;
  const before = schemaGrammar(schema);
  const edited = { ...schema, required: ["name"] };
  const after = schemaGrammar(edited);
  assert.notEqual(after, before);
  assert.equal(matchesGrammar(before, '{"name": "a"}'), false);
  assert.equal(matchesGrammar(after, '{"name": "a"}'), true);
});
