import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { testdataPath } from "../../tests/testdata.ts";
import { compileGrammar } from "./automaton.ts";
import { createGrammarConstraint } from "./constraint.ts";
import { parseGbnf } from "./gbnf.ts";
import { GrammarMatcher, matchesGrammar } from "./matcher.ts";
import { bruteForceAllowed, idsOfBits, loadTestTokenizer, randomWalk, seededRandom } from "./test_helpers.ts";

const gbnf = (name: string) => compileGrammar(parseGbnf(readFileSync(testdataPath(`grammars/${name}.gbnf`), "utf8")));

for (const alias of ["smollm2-135m-instruct", "gemma3-270m"] as const) {
  Deno.test(`createGrammarConstraint() masks equal the brute-force masks along random walks of json.gbnf on ${alias}`, async () => {
    const tokenizer = await loadTestTokenizer(alias);
    const grammar = gbnf("json");
    const random = seededRandom(7);
    let checked = 0;
    for (let walk = 0; walk < 3; walk++) {
      const constraint = createGrammarConstraint(grammar, tokenizer);
      const shadow = new GrammarMatcher(grammar);
      const result = randomWalk(constraint, tokenizer, random, {
        budget: 6,
        onStep: (id) => {
          if (checked < 24) {
            assert.deepEqual(idsOfBits(constraint.allowedTokens()), bruteForceAllowed(grammar, shadow.state, tokenizer));
            checked++;
          }
          if (!tokenizer.isEog(id)) assert.equal(shadow.acceptBytes(tokenizer.tokenBytes(id)), true);
        },
      });
      assert.equal(result.ended, true);
      assert.equal(matchesGrammar(grammar, result.text), true, result.text);
    }
    assert.equal(checked, 24);
  });
}

Deno.test("createGrammarConstraint() allows EOG exactly when the grammar can end", async () => {
  const tokenizer = await loadTestTokenizer("smollm2-135m-instruct");
  const grammar = compileGrammar(parseGbnf('root ::= "ab" "c"?'));
  const constraint = createGrammarConstraint(grammar, tokenizer);
  const eos = tokenizer.vocab.eos!;
  assert.equal(tokenizer.isEog(eos), true);
  assert.equal(constraint.isAllowed(eos), false);
  constraint.accept(tokenizer.encode("ab", { addSpecial: false })[0]);
  assert.equal(constraint.canEnd(), true);
  assert.equal(constraint.isAllowed(eos), true);
  assert.equal(constraint.isDone(), false);
  const logits = new Float32Array(tokenizer.vocabSize).fill(1);
  constraint.processor(logits, { history: [] });
  const kept = [...logits.keys()].filter((i) => logits[i] === 1).map((i) => tokenizer.decode([i]));
  assert.deepEqual(kept.sort(), ["<|endoftext|>", "<|im_end|>", "c"].sort());
  constraint.accept(eos);
  assert.equal(constraint.isDone(), true);
  assert.throws(() => constraint.accept(eos), RangeError);
});

Deno.test("createGrammarConstraint() accepts a token spanning several terminals and rule ends", async () => {
  const tokenizer = await loadTestTokenizer("smollm2-135m-instruct");
  const grammar = compileGrammar(parseGbnf('root ::= "{" key ":" val "}"\nkey ::= "\\"" [a-z]+ "\\""\nval ::= [0-9]+'));
  const constraint = createGrammarConstraint(grammar, tokenizer);
  const ids = tokenizer.encode('{"ab":12}', { addSpecial: false });
  assert.ok(ids.length < 9, `expected merged tokens, got ${ids.length}`);
  for (const id of ids) constraint.accept(id);
  assert.equal(constraint.canEnd(), true);
  assert.equal(constraint.isDone(), true);
  assert.throws(() => createGrammarConstraint(grammar, tokenizer).accept(tokenizer.encode("x", { addSpecial: false })[0]), /Cannot accept token \d+ \("x"\): the grammar does not allow it here/);
});

Deno.test("createGrammarConstraint() walks partial UTF-8 one byte token at a time", async () => {
  const tokenizer = await loadTestTokenizer("gemma3-270m");
  const grammar = compileGrammar(parseGbnf('root ::= [é-ê] "x"'));
  const byteToken = (b: number) => tokenizer.vocab.tokenToId.get(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`)!;
  const constraint = createGrammarConstraint(grammar, tokenizer);
  assert.equal(constraint.isAllowed(byteToken(0xc3)), true);
  assert.equal(constraint.isAllowed(byteToken(0xc4)), false);
  constraint.accept(byteToken(0xc3));
  assert.equal(constraint.isAllowed(byteToken(0xa9)), true);
  assert.equal(constraint.isAllowed(byteToken(0xab)), false);
  constraint.accept(byteToken(0xaa));
  assert.equal(constraint.isAllowed(tokenizer.vocab.tokenToId.get("x")!), true);
});

Deno.test("createGrammarConstraint() clone() is independent of the original", async () => {
  const tokenizer = await loadTestTokenizer("smollm2-135m-instruct");
  const grammar = compileGrammar(parseGbnf('root ::= "a" | "b"'));
  const a = createGrammarConstraint(grammar, tokenizer);
  const b = a.clone();
  a.accept(tokenizer.vocab.tokenToId.get("a")!);
  assert.equal(a.canEnd(), true);
  assert.equal(b.canEnd(), false);
  assert.equal(b.isAllowed(tokenizer.vocab.tokenToId.get("b")!), true);
});
