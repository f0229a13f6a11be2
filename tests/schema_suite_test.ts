/**
 * The schema compiler over the official JSON Schema Test Suite, grammar only (no model): how
 * many schemas compile in strict mode, and for those, whether each instance's compact JSON
 * text is accepted exactly when the suite says it is valid.
 *
 * The npm package `json-schema-test-suite` (0.0.10) only carries draft3/draft4, so the suite
 * is read from the PyPI sdist of `jsonschema` 4.23.0, which vendors it under `json/`;
 * `.ci/run` unpacks it into `$ZENO_CACHE_DIR/json-schema-test-suite` (default
 * `~/.cache/zeno/json-schema-test-suite`).
 */

import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { compileSchema } from "../plugins/schema/compile.ts";
import { SchemaCompileError } from "../plugins/schema/errors.ts";
import { matchesGrammar } from "../plugins/schema/matcher.ts";

const SUITE_DIR = join(Deno.env.get("ZENO_CACHE_DIR") ?? join(homedir(), ".cache", "zeno"), "json-schema-test-suite", "json", "tests");

interface SuiteGroup {
  description: string;
  schema: unknown;
  tests: { description: string; data: unknown; valid: boolean }[];
}

interface SuiteCounts {
  schemas: number;
  compiled: number;
  instances: number;
  agreeing: number;
  validAccepted: number;
  validTotal: number;
  invalidRejected: number;
  invalidTotal: number;
  mismatches: string[];
}

function runSuite(draft: string): SuiteCounts {
  const dir = join(SUITE_DIR, draft);
  if (!existsSync(dir)) {
    throw new Error(`Cannot find the JSON Schema Test Suite at ${dir}: run the suite step of .ci/run first`);
  }
  const counts: SuiteCounts = {
    schemas: 0, compiled: 0, instances: 0, agreeing: 0,
    validAccepted: 0, validTotal: 0, invalidRejected: 0, invalidTotal: 0, mismatches: [],
  };
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".json")).sort()) {
    const groups = JSON.parse(readFileSync(join(dir, file), "utf8")) as SuiteGroup[];
    for (const group of groups) {
      counts.schemas++;
      let grammar;
      try {
        grammar = compileSchema(group.schema as boolean, { maxStates: 50000 }).grammar;
      } catch (error) {
        if (error instanceof SchemaCompileError) continue;
        throw new Error(`${file}: "${group.description}" crashed the compiler`, { cause: error });
      }
      counts.compiled++;
      for (const test of group.tests) {
        const accepted = matchesGrammar(grammar, JSON.stringify(test.data));
        counts.instances++;
        if (test.valid) {
          counts.validTotal++;
          if (accepted) counts.validAccepted++;
        } else {
          counts.invalidTotal++;
          if (!accepted) counts.invalidRejected++;
        }
        if (accepted === test.valid) counts.agreeing++;
        else counts.mismatches.push(`${file}: ${group.description} / ${test.description} (valid: ${test.valid})`);
      }
    }
  }
  return counts;
}

/** Reached on 2026-11-24; the test fails if a change drops below them. */
const FLOORS: Record<string, { compiled: number; agreeing: number; invalidRejected: number }> = {
  // 2020-12: 150/364 compile; 526/546 instances agree (316/327 valid accepted, 210/219
  // invalid rejected). The rest: property order, oneOf as anyOf, formats enforced.
  "draft2020-12": { compiled: 150, agreeing: 526, invalidRejected: 210 },
  // draft7: 149/252 compile; 512/525 agree (303/308 valid accepted, 209/217 invalid rejected).
  "draft7": { compiled: 149, agreeing: 512, invalidRejected: 209 },
};

for (const draft of Object.keys(FLOORS)) {
  Deno.test(`compileSchema() over the JSON Schema Test Suite ${draft} (grammar only)`, () => {
    const c = runSuite(draft);
    console.log(
      `${draft}: ${c.compiled}/${c.schemas} schemas compile; of their ${c.instances} instances ${c.agreeing} agree ` +
        `(valid accepted ${c.validAccepted}/${c.validTotal}, invalid rejected ${c.invalidRejected}/${c.invalidTotal})`,
    );
    if (Deno.env.get("SCHEMA_SUITE_VERBOSE")) for (const m of c.mismatches) console.log(`  mismatch: ${m}`);
    const floor = FLOORS[draft];
    assert.ok(c.compiled >= floor.compiled, `compiled ${c.compiled} < ${floor.compiled}`);
    assert.ok(c.agreeing >= floor.agreeing, `agreeing ${c.agreeing} < ${floor.agreeing}`);
    assert.ok(c.invalidRejected >= floor.invalidRejected, `invalid rejected ${c.invalidRejected} < ${floor.invalidRejected}`);
  });
}
