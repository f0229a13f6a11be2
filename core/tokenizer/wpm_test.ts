import { deepStrictEqual, throws } from "node:assert";
import { TokenizerError } from "../errors.ts";
import type { Vocab } from "./types.ts";
import { createWpmModel } from "./wpm.ts";

function _vocab(tokens: string[], unk: number | undefined): Vocab {
  return {
    model: "bert",
    pre: "default",
    tokens,
    scores: new Float32Array(),
    types: new Uint8Array(tokens.length).fill(1),
    merges: [],
    tokenToId: new Map(tokens.map((token, id) => [token, id])),
    unk,
    addBos: true,
    addEos: false,
    addSpacePrefix: false,
  };
}

// ids: 0 [UNK], 1 ▁un, 2 aff, 3 able, 4 ▁unaff, 5 ▁,, 6 ▁a, 7 ▁中, 8 ▁文, 9 ▁$
const VOCAB = _vocab(["[UNK]", "▁un", "aff", "able", "▁unaff", "▁,", "▁a", "▁中", "▁文", "▁$"], 0);

Deno.test("encodeFragment() covers each word with the longest pieces from the left", () => {
  const model = createWpmModel(VOCAB);
  deepStrictEqual(model.encodeFragment("unaffable", true), [4, 3]);
  deepStrictEqual(model.encodeFragment("UNAFFABLE  a", true), [4, 3, 6]);
});

Deno.test("encodeFragment() splits punctuation, ASCII symbols and CJK into their own words", () => {
  const model = createWpmModel(VOCAB);
  deepStrictEqual(model.encodeFragment("a,a$中文", true), [6, 5, 6, 9, 7, 8]);
});

Deno.test("encodeFragment() strips accents and drops control characters", () => {
  const model = createWpmModel(VOCAB);
  deepStrictEqual(model.encodeFragment("Ünäff\u0000able", true), [4, 3]);
  deepStrictEqual(model.encodeFragment("a\u0301", true), [6], "a combining accent is dropped");
});

Deno.test("encodeFragment() turns a word it cannot cover into UNK", () => {
  deepStrictEqual(createWpmModel(VOCAB).encodeFragment("unx a", true), [0, 6]);
  throws(
    () => createWpmModel(_vocab(["▁a"], undefined)).encodeFragment("b", true),
    (error: Error) =>
      error instanceof TokenizerError &&
      error.message ===
        `Cannot tokenize "b": no pieces cover it and the vocabulary has no UNK token`,
  );
});

Deno.test("tokenBytes() turns the word-start marker into a space", () => {
  deepStrictEqual(createWpmModel(VOCAB).tokenBytes(4), new TextEncoder().encode(" unaff"));
  deepStrictEqual(createWpmModel(VOCAB).tokenBytes(3), new TextEncoder().encode("able"));
});
