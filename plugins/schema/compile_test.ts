import assert from "node:assert/strict";
import { compileSchema } from "./compile.ts";
import { SchemaCompileError } from "./errors.ts";
import { matchesGrammar } from "./matcher.ts";

const TAGS = {
  type: "object",
  properties: { tags: { type: "array", items: { type: "string" }, uniqueItems: true } },
  required: ["tags"],
  additionalProperties: false,
};

Deno.test("compileSchema() refuses a keyword it cannot enforce, naming it and its JSON pointer", () => {
  assert.throws(
    () => compileSchema(TAGS),
    (error: unknown) => {
      assert.ok(error instanceof SchemaCompileError);
      assert.equal(error.keyword, "uniqueItems");
      assert.equal(error.pointer, "/properties/tags");
      assert.match(
        error.message,
        /"uniqueItems" cannot be enforced .*"\/properties\/tags\/uniqueItems"/,
      );
      return true;
    },
  );
});

Deno.test("compileSchema() with lenient lists the keyword as a warning and enforces the rest", () => {
  const { grammar, warnings } = compileSchema(TAGS, { lenient: true });
  assert.deepEqual(warnings, [
    '/properties/tags/uniqueItems: keyword "uniqueItems" cannot be enforced by a grammar; not enforced',
  ]);
  assert.equal(matchesGrammar(grammar, '{"tags":["a","a"]}'), true);
  assert.equal(matchesGrammar(grammar, '{"tags":[1]}'), false);
  assert.equal(matchesGrammar(grammar, '{"tags":["a"],"x":1}'), false);
});
