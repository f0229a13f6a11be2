import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createNativeBackend } from "../../backends/native/backend.ts";
import { type LogitsMaskKernel, setLogitsMaskKernel } from "../../core/sampling/logits_mask.ts";
import { testdataPath } from "../../tests/testdata.ts";
import { type CompiledGrammar, compileGrammar } from "./automaton.ts";
import { compileSchema } from "./compile.ts";
import { createGrammarConstraint } from "./constraint.ts";
import { parseGbnf } from "./gbnf.ts";
import { GrammarMatcher } from "./matcher.ts";
import { bruteForceAllowed, loadTestTokenizer, randomWalk, seededRandom } from "./test_helpers.ts";
import { MaskEngine, maskEngineOf, type TokenSet } from "./token_mask.ts";
import { tokenTrieOf } from "./token_trie.ts";
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

function idsOfSet(set: TokenSet): number[] {
  if (set.ids !== null) return Array.from(set.ids);
  const out: number[] = [];
  const bits = set.bits!;
  for (let w = 0; w < bits.length; w++) {
    for (let b = 0; b < 32; b++) if (bits[w] & (1 << b)) out.push(w * 32 + b);
  }
  return out;
}

for (const alias of ["smollm2-135m-instruct", "gemma3-270m"] as const) {
  Deno.test(`MaskEngine.mask() equals naiveMask() along random walks of every walk schema on ${alias}`, async () => {
    const tokenizer = await loadTestTokenizer(alias);
    const trie = tokenTrieOf(tokenizer);
    let compared = 0;
    for (const [name, build] of GRAMMARS) {
      const grammar = build();
      const engine = maskEngineOf(grammar, trie);
      const random = seededRandom(name.length * 31 + 5);
      for (let walk = 0; walk < 2; walk++) {
        const shadow = new GrammarMatcher(grammar);
        randomWalk(createGrammarConstraint(grammar, tokenizer), tokenizer, random, {
          budget: 12,
          onStep: (id) => {
            const fast = idsOfSet(engine.mask(shadow.state));
            assert.deepEqual(
              fast,
              Array.from(engine.naiveMask(shadow.state)),
              `${name}, walk ${walk}, state ${shadow.state}`,
            );
            assert.equal(engine.mask(shadow.state).count, fast.length);
            compared++;
            if (!tokenizer.isEog(id)) {
              assert.equal(shadow.acceptBytes(tokenizer.tokenBytes(id)), true);
            }
          },
        });
      }
    }
    assert.ok(compared >= 100, `compared only ${compared} steps`);
  });

  Deno.test(`MaskEngine.naiveMask() equals the token-by-token brute force on ${alias}`, async () => {
    const tokenizer = await loadTestTokenizer(alias);
    const { grammar } = compileSchema(WALK_SCHEMAS.person);
    const trie = tokenTrieOf(tokenizer);
    const engine = maskEngineOf(grammar, trie);
    const eog = new Set(trie.eogIds);
    // The start, inside a key, inside a string value (nearly the whole vocabulary).
    for (const text of ["", '{"na', '{"name": "ab']) {
      const at = new GrammarMatcher(grammar);
      assert.equal(at.acceptText(text), true, text);
      const brute = bruteForceAllowed(grammar, at.state, tokenizer).filter((id) => !eog.has(id));
      assert.deepEqual(Array.from(engine.naiveMask(at.state)), brute, JSON.stringify(text));
    }
  });
}

Deno.test("MaskEngine.mask() equals naiveMask() for sparse, middle and dense first-use masks on gemma3-270m", async () => {
  const tokenizer = await loadTestTokenizer("gemma3-270m");
  const { grammar } = compileSchema(WALK_SCHEMAS.person);
  const trie = tokenTrieOf(tokenizer);
  // The three ways a walked set is built: id list, bits set from ranges, bits cleared in gaps.
  const cases: [text: string, count: number][] = [
    ['{"name": "a", "age": 3, "e', 5],
    ['{"name": "a", "age": 3, "email": "ab', 53802],
    ['{"name": "ab', 238434],
  ];
  for (const [text, count] of cases) {
    const engine = new MaskEngine(grammar, trie);
    const at = new GrammarMatcher(grammar);
    assert.equal(at.acceptText(text), true, text);
    const set = engine.mask(at.state);
    assert.equal(set.count, count, text);
    assert.deepEqual(idsOfSet(set), Array.from(engine.naiveMask(at.state)), text);
  }
});

Deno.test("createGrammarConstraint() processor keeps exactly the allowed logits of a dense mask", async () => {
  const tokenizer = await loadTestTokenizer("gemma3-270m");
  const { grammar } = compileSchema(WALK_SCHEMAS.event);
  const constraint = createGrammarConstraint(grammar, tokenizer);
  for (
    const id of tokenizer.encode(
      '{"kind": "meeting", "day": "2024-02-29", "at": "10:00:00Z", "note": "a',
      { addSpecial: false },
    )
  ) {
    constraint.accept(id);
  }
  const allowed = constraint.allowedTokens();
  const logits = new Float32Array(tokenizer.vocabSize).map((_, i) => i % 7);
  constraint.processor(logits, { history: [] });
  let kept = 0;
  for (let id = 0; id < tokenizer.vocabSize; id++) {
    const isAllowed = (allowed[id >>> 5] & (1 << (id & 31))) !== 0;
    assert.equal(logits[id], isAllowed ? id % 7 : -Infinity, `token ${id}`);
    if (isAllowed) kept++;
  }
  assert.ok(kept > tokenizer.vocabSize / 2, `expected a dense mask, kept ${kept}`);
});

for (const kernel of ["JS", "native"] as const) {
  Deno.test(`createGrammarConstraint() processor keeps exactly naiveMask()'s logits through each masking path (${kernel} mask kernel)`, async () => {
    const previous = setLogitsMaskKernel(kernel === "JS" ? null : nativeLogitsMaskKernel());
    try {
      await checkMaskingPaths();
    } finally {
      setLogitsMaskKernel(previous);
    }
  });
}

/** The native library's kernel, as the native backend installs it. */
function nativeLogitsMaskKernel(): LogitsMaskKernel {
  const previous = setLogitsMaskKernel(null);
  createNativeBackend({ threads: 1 }).dispose();
  const kernel = setLogitsMaskKernel(previous);
  assert.ok(kernel !== null, "the native backend installs a logits mask kernel");
  return kernel;
}

async function checkMaskingPaths(): Promise<void> {
  const tokenizer = await loadTestTokenizer("gemma3-270m");
  const { grammar } = compileSchema(WALK_SCHEMAS.person);
  const engine = maskEngineOf(grammar, tokenTrieOf(tokenizer));
  // Allowed counts: a sparse id list, ids with bits (under a quarter of the vocabulary), and
  // forbidden lists under and over half of it.
  const cases: [text: string, count: number][] = [
    ['{"name": "a", "age": 3, "e', 5],
    ['{"name": "a", "age": 3, "email": "ab', 53802],
    ['{"name": "a", "age": 3, "tags": ["ab', 106535],
    ['{"name": "ab', 238434],
  ];
  for (const [text, count] of cases) {
    const constraint = createGrammarConstraint(grammar, tokenizer);
    const shadow = new GrammarMatcher(grammar);
    for (const id of tokenizer.encode(text, { addSpecial: false })) {
      constraint.accept(id);
      assert.equal(shadow.acceptBytes(tokenizer.tokenBytes(id)), true, text);
    }
    const naive = engine.naiveMask(shadow.state);
    assert.equal(naive.length, count, text);
    const expected = new Float32Array(tokenizer.vocabSize).fill(-Infinity);
    for (const id of naive) expected[id] = id % 7;
    const logits = new Float32Array(tokenizer.vocabSize).map((_, i) => i % 7);
    constraint.processor(logits, { history: [] });
    assert.deepEqual(logits, expected, text);
  }
}
