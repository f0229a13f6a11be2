import assert from "node:assert/strict";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { compileSchema } from "./compile.ts";
import { createGrammarConstraint } from "./constraint.ts";
import { loadTestTokenizer, randomWalk, seededRandom } from "./test_helpers.ts";
import { WALK_SCHEMAS } from "./walk_schemas.ts";

const WALKS_PER_SCHEMA = 25;

for (const [name, schema] of Object.entries(WALK_SCHEMAS)) {
  Deno.test(`random token walks under "${name}" on SmolLM2's vocabulary all validate with ajv`, async () => {
    const tokenizer = await loadTestTokenizer("smollm2-135m-instruct");
    const ajv = new Ajv2020({ strict: false });
    (addFormats as unknown as (a: Ajv2020) => void)(ajv);
    const validate = ajv.compile(schema);
    const { grammar } = compileSchema(schema);
    const random = seededRandom(name.length * 1000 + 1);
    let valid = 0;
    for (let i = 0; i < WALKS_PER_SCHEMA; i++) {
      const walk = randomWalk(createGrammarConstraint(grammar, tokenizer), tokenizer, random, { budget: 30 });
      assert.equal(walk.ended, true, `walk ${i} did not end: ${walk.text}`);
      const value = JSON.parse(walk.text);
      assert.equal(validate(value), true, `${walk.text}\n${JSON.stringify(validate.errors)}`);
      valid++;
    }
    assert.equal(valid, WALKS_PER_SCHEMA);
  });
}
