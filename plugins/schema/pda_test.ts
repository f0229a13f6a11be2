import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { testdataPath } from "../../tests/testdata.ts";
import { type CompiledGrammar, compileGrammar } from "./automaton.ts";
import { compileSchema } from "./compile.ts";
import { parseGbnf } from "./gbnf.ts";
import { DEAD, Pda, UNKNOWN_PARENT } from "./pda.ts";
import { WALK_SCHEMAS } from "./walk_schemas.ts";

const GRAMMARS: [string, () => CompiledGrammar][] = [
  ...Object.entries(WALK_SCHEMAS).map(([name, schema]): [string, () => CompiledGrammar] => [
    name,
    () => compileSchema(schema).grammar,
  ]),
  [
    "json.gbnf",
    () => compileGrammar(parseGbnf(readFileSync(testdataPath("grammars/json.gbnf"), "utf8"))),
  ],
];
const STATE_LIMIT = 1500;

/** The frames `state` moves to on class `cls`, by the frame-list rule (the reference). */
function referenceStepFrames(pda: Pda, state: number, cls: number): number[] {
  const { next, classCount } = pda.grammar;
  const out = new Set<number>();
  for (const f of pda.closure(state)) {
    if (f <= UNKNOWN_PARENT) continue;
    const target = next[pda.frameState[f] * classCount + cls];
    if (target >= 0) out.add(pda.frame(target, pda.frameParent[f]));
  }
  return [...out].sort((a, b) => a - b);
}

function framesOf(pda: Pda, state: number): number[] {
  return state === DEAD ? [] : Array.from(pda.stateFrames[state]);
}

for (const [name, build] of GRAMMARS) {
  Deno.test(`Pda.step() and uniformStep() equal the frame-list rule on ${name}`, () => {
    const pda = new Pda(build());
    const classCount = pda.grammar.classCount;
    const seen = new Set<number>([pda.startState]);
    const queue = [pda.startState];
    let compared = 0;
    while (queue.length > 0 && seen.size < STATE_LIMIT) {
      const state = queue.shift()!;
      for (let cls = 0; cls < classCount; cls++) {
        const next = pda.step(state, cls);
        assert.deepEqual(
          framesOf(pda, next),
          referenceStepFrames(pda, state, cls),
          `${state}/${cls}`,
        );
        compared++;
        if (next !== DEAD && !seen.has(next)) {
          seen.add(next);
          queue.push(next);
        }
      }
      // Class pairs: uniform exactly when both reference steps give the same frames.
      for (let cls = 0; cls + 1 < classCount; cls++) {
        const a = referenceStepFrames(pda, state, cls);
        const b = referenceStepFrames(pda, state, cls + 1);
        const uniform = pda.uniformStep(state, Int32Array.of(cls, cls + 1));
        const expected = a.join() === b.join() ? a : undefined;
        assert.deepEqual(uniform === undefined ? undefined : framesOf(pda, uniform), expected);
      }
    }
    assert.ok(compared >= 1000, `compared only ${compared} steps`);
  });
}

Deno.test("Pda.stateOf() interns one-frame states once whatever the spelling", () => {
  const pda = new Pda(compileSchema(WALK_SCHEMAS.person).grammar);
  const frame = pda.stateFrames[pda.startState][0];
  assert.equal(pda.stateOf([frame]), pda.startState);
  assert.equal(pda.stateOf([frame, frame]), pda.startState);
  assert.equal(pda.singleStateOf(frame), pda.startState);
  const other = pda.frame(pda.grammar.rootStart, UNKNOWN_PARENT);
  const created = pda.singleStateOf(other);
  assert.deepEqual(Array.from(pda.stateFrames[created]), [other]);
  assert.equal(pda.stateOf([other, other]), created);
  assert.equal(pda.stateOf([]), DEAD);
});
