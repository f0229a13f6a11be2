import assert from "node:assert/strict";
import { TokenizerError } from "../errors.ts";
import { readGgufFile } from "../gguf/reader.ts";
import { testdataPath } from "../../tests/testdata.ts";
import { createBpeModel } from "./bpe.ts";
import { TokenType, type Vocab } from "./types.ts";
import { vocabFromMetadata } from "./vocab.ts";

/** A byte-level vocabulary from tokens and merges; every token NORMAL unless typed. */
function makeVocab(
  tokens: string[],
  merges: string[],
  options: { pre?: string; types?: Record<string, TokenType> } = {},
): Vocab {
  return {
    model: "gpt2",
    pre: options.pre ?? "gpt-2",
    tokens,
    scores: new Float32Array(0),
    types: Uint8Array.from(tokens, (t) => options.types?.[t] ?? TokenType.NORMAL),
    merges,
    tokenToId: new Map(tokens.map((token, id) => [token, id])),
    addBos: false,
    addEos: false,
    addSpacePrefix: false,
  };
}

Deno.test("encodeFragment() applies merges by rank, not by position", () => {
  // "abc": "b c" (rank 0) wins over "a b" (rank 1), so the result is a + bc, never ab + c.
  const vocab = makeVocab(["a", "b", "c", "bc", "ab"], ["b c", "a b"]);
  assert.deepEqual(createBpeModel(vocab).encodeFragment("abc", true), [0, 3]);
});

Deno.test("encodeFragment() merges the leftmost of equal pairs first", () => {
  const vocab = makeVocab(["a", "aa"], ["a a"]);
  assert.deepEqual(createBpeModel(vocab).encodeFragment("aaa", true), [1, 0]);
  assert.deepEqual(createBpeModel(vocab).encodeFragment("aaaa", true), [1, 1]);
});

Deno.test("encodeFragment() keeps merging results with their neighbours", () => {
  const tokens = ["l", "o", "w", "e", "r", "lo", "low", "er", "lower"];
  const vocab = makeVocab(tokens, ["l o", "lo w", "e r", "low er"]);
  assert.deepEqual(createBpeModel(vocab).encodeFragment("lowerlow", true), [8, 6]);
});

Deno.test("encodeFragment() encodes bytes in the byte-level alphabet", () => {
  // " é" is the bytes 20 C3 A9 → "Ġ", "Ã", "©".
  const vocab = makeVocab(["Ġ", "Ã", "©", "Ã©", "ĠÃ©"], ["Ã ©", "Ġ Ã©"]);
  assert.deepEqual(createBpeModel(vocab).encodeFragment(" é", true), [4]);
  assert.deepEqual(createBpeModel(vocab).encodeFragment("é é", true), [3, 4]);
});

Deno.test("encodeFragment() with ignoreMerges emits a word that is a token whole", () => {
  // "abc" is a token but no merge path reaches it: llama3 takes it, gpt-2 does not.
  const tokens = ["a", "b", "c", "ab", "abc"];
  const merges = ["a b"];
  assert.deepEqual(
    createBpeModel(makeVocab(tokens, merges, { pre: "llama3" })).encodeFragment("abc", true),
    [4],
  );
  assert.deepEqual(createBpeModel(makeVocab(tokens, merges)).encodeFragment("abc", true), [3, 2]);
});

Deno.test("encodeFragment() falls back to ASCII ids for a merge result that is not a token", () => {
  // "x y" makes "xy", which the vocabulary lacks: llama.cpp emits the ids of "x" and "y".
  const vocab = makeVocab(["x", "y", "z"], ["x y"]);
  assert.deepEqual(createBpeModel(vocab).encodeFragment("xyz", true), [0, 1, 2]);
});

Deno.test("encodeFragment() drops bytes whose alphabet character is not a token", () => {
  const vocab = makeVocab(["a"], []);
  assert.deepEqual(createBpeModel(vocab).encodeFragment("a\u00e9a", true), [0, 0]);
});

Deno.test("encodeFragment() gives the same ids with and without the word cache", () => {
  const vocab = makeVocab(["a", "b", "ab", "Ġ", "Ġab"], ["a b", "Ġ ab"]);
  const text = "ab ab ab abab";
  assert.deepEqual(
    createBpeModel(vocab, { cacheWordCount: 0 }).encodeFragment(text, true),
    createBpeModel(vocab, { cacheWordCount: 1 }).encodeFragment(text, true),
  );
  assert.deepEqual(createBpeModel(vocab).encodeFragment(text, true), [2, 4, 4, 4, 2]);
});

Deno.test("encodeFragment() handles a 20000-byte word", () => {
  const vocab = makeVocab(["a", "aa", "aaaa"], ["a a", "aa aa"]);
  const ids = createBpeModel(vocab).encodeFragment("a".repeat(20_001), true);
  assert.equal(ids.length, 5001);
  assert.deepEqual(ids.slice(-2), [2, 0]);
});

Deno.test("tokenBytes() decodes by token type", () => {
  const vocab = makeVocab(["ĠhÃ©", "<|end|>", "a b", "<0x0A>", "[PAD3]"], [], {
    types: {
      "<|end|>": TokenType.CONTROL,
      "a b": TokenType.USER_DEFINED,
      "<0x0A>": TokenType.BYTE,
      "[PAD3]": TokenType.UNUSED,
    },
  });
  const model = createBpeModel(vocab);
  const text = (id: number) => new TextDecoder().decode(model.tokenBytes(id));
  assert.deepEqual([text(0), text(1), text(2), text(3), text(4)], [
    " hé",
    "<|end|>",
    "a b",
    "\n",
    "",
  ]);
  assert.throws(() => model.tokenBytes(5), RangeError);
});

Deno.test("createBpeModel() rejects a merge without a space", () => {
  assert.throws(
    () => createBpeModel(makeVocab(["a"], ["ab"])),
    (error: Error) =>
      error instanceof TokenizerError &&
      error.message === 'Cannot load merge 0 "ab": it has no space between its two parts',
  );
});

Deno.test("createBpeModel() on GPT-2's vocabulary matches llama.cpp's ids", async () => {
  const file = await readGgufFile(testdataPath("vocab/ggml-vocab-gpt-2.gguf"));
  const model = createBpeModel(vocabFromMetadata(file.metadata));
  // From ggml-vocab-gpt-2.gguf.out.
  assert.deepEqual(model.encodeFragment(" Hello World!", true), [18435, 2159, 0]);
  assert.deepEqual(
    model.encodeFragment("Hello, y'all! How are you 😁 ?我想在apple工作1314151天～", true),
    [
      15496,
      11,
      331,
      6,
      439,
      0,
      1374,
      389,
      345,
      30325,
      223,
      5633,
      22755,
      239,
      46349,
      111,
      28839,
      101,
      18040,
      32432,
      98,
      43291,
      1485,
      1415,
      24309,
      25465,
      171,
      121,
      252,
    ],
  );
  assert.equal(new TextDecoder().decode(model.tokenBytes(18435)), " Hello");
});

Deno.test("encodeFragment() for raw-text BPE (gemma4) escapes spaces and falls back to <0xAB>", () => {
  // Tokens: byte tokens for "é" (C3 A9), "▁", "h", "i", "▁h", "▁hi", "\n", "\n\n".
  const tokens = ["<0xC3>", "<0xA9>", "\u2581", "h", "i", "\u2581h", "\u2581hi", "\n", "\n\n"];
  const vocab = makeVocab(tokens, ["\u2581 h", "\u2581h i"], {
    pre: "gemma4",
    types: { "<0xC3>": TokenType.BYTE, "<0xA9>": TokenType.BYTE },
  });
  const model = createBpeModel(vocab);
  assert.deepEqual(model.encodeFragment(" hi\n\né", true), [6, 8, 0, 1]);
  // A newline run is taken whole only when it is a token; no merge joins newlines here.
  assert.deepEqual(model.encodeFragment("\n\n\n", true), [7, 7, 7]);
  const text = (id: number) => new TextDecoder().decode(model.tokenBytes(id));
  assert.deepEqual([text(6), text(2), text(0).length], [" hi", " ", 1]);
});
