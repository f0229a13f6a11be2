import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { testdataPath } from "../../tests/testdata.ts";
import { compileGrammar } from "./automaton.ts";
import { SchemaCompileError } from "./errors.ts";
import { parseGbnf } from "./gbnf.ts";
import { matchesGrammar } from "./matcher.ts";

/** Accepted and rejected texts per grammar file in ../shared/testdata/grammars. */
const CASES: Record<string, { accepts: string[]; rejects: string[] }> = {
  arithmetic: {
    accepts: ["1+2=3\n", "x = (a+1)\n", "a*b-c/d=e\nf=1\n"],
    rejects: ["", "1+=2\n", "1=2", "X=1\n"],
  },
  c: {
    accepts: [
      "int main(){return 0;}",
      "float f(int x){while(x<10){x = x+1;}return x;}",
      "char c(){/* note */}",
    ],
    rejects: ["int main({}", "int 1x(){}", "main(){}"],
  },
  chess: {
    accepts: ["1. e4 e5\n2. Nf3 Nc6\n", "1. d4 d5\n2. c4 dxc4\n3. O-O O-O-O\n"],
    rejects: ["1. e4\n", "1. e4 e5\n", "1. e9 e5\n2. a3 a6\n"],
  },
  english: {
    accepts: ["Hello, world!", "a b\tc\nd", "x"],
    rejects: ["", "héllo", "two  spaces", "trailing "],
  },
  japanese: {
    accepts: ["こんにちは 世界", "カタカナ、ひらがな"],
    rejects: ["hello", "", "こんにちは  世界"],
  },
  json: {
    accepts: ['{"a": [1, 2.5, "x\\n"], "b": null}', "{}", '{"k":\n  {"n": -0.5e+3}}', '{"u": "\\u00e9"}'],
    rejects: ['{"a" 1}', "[1]", '{"a":01}', '{"a": "\\q"}', '{"a": tru}', '{"a": 1,}'],
  },
  json_arr: {
    accepts: ['[\n{"a": 1},\n2]', "[\n]", '[\n"x",\n[true, false]]'],
    rejects: ["[1]", "{}", "[\n1,\n2] "],
  },
  list: {
    accepts: ["- a\n", "- one item\n- another\n", "- é\n"],
    rejects: ["", "- \n", "a\n", "- a\r\n"],
  },
};

for (const [name, { accepts, rejects }] of Object.entries(CASES)) {
  Deno.test(`parseGbnf() compiles ${name}.gbnf and matches its accepted/rejected texts`, () => {
    const text = readFileSync(testdataPath(`grammars/${name}.gbnf`), "utf8");
    const grammar = compileGrammar(parseGbnf(text));
    for (const sample of accepts) assert.equal(matchesGrammar(grammar, sample), true, `accepts ${JSON.stringify(sample)}`);
    for (const sample of rejects) assert.equal(matchesGrammar(grammar, sample), false, `rejects ${JSON.stringify(sample)}`);
  });
}

Deno.test("parseGbnf() reads escapes, repetition braces and nested groups", () => {
  const grammar = compileGrammar(parseGbnf(String.raw`
root ::= "\x41" [\u00e0-\u00e5]{2,3} ("-" | "\\" ("ok" | "\"")){,2} tail
tail ::= [^a-z\n]+ # a comment
`));
  assert.equal(matchesGrammar(grammar, "Aàá#"), true);
  assert.equal(matchesGrammar(grammar, "Aàáâ-\\\"Z"), true);
  assert.equal(matchesGrammar(grammar, "Aà#"), false);
  assert.equal(matchesGrammar(grammar, "Aàá\\q"), false);
  assert.equal(matchesGrammar(grammar, "Aàáz"), false);
});

Deno.test("parseGbnf() names the line and column of a syntax error", () => {
  assert.throws(
    () => parseGbnf('root ::= "a"\nitem ::= [a-'),
    (e: unknown) => e instanceof SchemaCompileError && /line 2, column 14: unterminated character class/.test(e.message),
  );
  assert.throws(() => parseGbnf('item ::= "a"'), /no rule named "root"/);
});

Deno.test("compileGrammar() rejects undefined rules and left recursion", () => {
  assert.throws(() => compileGrammar(parseGbnf("root ::= item")), /rule "root" refers to undefined rule "item"/);
  assert.throws(() => compileGrammar(parseGbnf('root ::= root "a" | "b"')), /rule "root" is left-recursive/);
  assert.throws(
    () => compileGrammar(parseGbnf('root ::= x "a" | "b"\nx ::= y? root\ny ::= "y"')),
    /is left-recursive/,
  );
  assert.throws(() => compileGrammar(parseGbnf('root ::= "a" root')), /rule "root" matches no text/);
});

Deno.test("compileGrammar() keeps calls only for recursive rules", () => {
  const text = readFileSync(testdataPath("grammars/json.gbnf"), "utf8");
  const grammar = compileGrammar(parseGbnf(text));
  assert.deepEqual([...grammar.ruleNames].sort(), ["array", "object", "root", "value"]);
  const list = compileGrammar(parseGbnf(readFileSync(testdataPath("grammars/list.gbnf"), "utf8")));
  assert.deepEqual(list.ruleNames, ["root"]);
});
