import { deepStrictEqual, throws } from "node:assert";
import { TokenizerError } from "../errors.ts";
import { createSpmModel } from "./spm.ts";
import { TokenType, type Vocab } from "./types.ts";

/** A small SentencePiece vocabulary: pieces with scores and types, ids in order. */
function _vocab(
  pieces: [string, number, TokenType?][],
  extra: Partial<Vocab> = {},
): Vocab {
  const tokens = pieces.map(([piece]) => piece);
  return {
    model: "llama",
    pre: "default",
    tokens,
    scores: Float32Array.from(pieces, ([, score]) => score),
    types: Uint8Array.from(pieces, ([, , type]) => type ?? TokenType.NORMAL),
    merges: [],
    tokenToId: new Map(tokens.map((token, id) => [token, id])),
    unk: 0,
    addBos: true,
    addEos: false,
    addSpacePrefix: true,
    ...extra,
  };
}

const BYTES: [string, number, TokenType][] = Array.from(
  { length: 256 },
  (_, byte) => [`<0x${byte.toString(16).toUpperCase().padStart(2, "0")}>`, 0, TokenType.BYTE],
);

// ids: 0 <unk>, 1 ▁, 2 a, 3 b, 4 c, 5 ab, 6 bc, 7 ▁a, 8 abc, then 256 byte tokens from 9.
const VOCAB = _vocab([
  ["<unk>", 0, TokenType.UNKNOWN],
  ["▁", -1],
  ["a", -2],
  ["b", -2],
  ["c", -2],
  ["ab", -5],
  ["bc", -3],
  ["▁a", -4],
  ["abc", -6],
  ...BYTES,
]);
const byteId = (byte: number) => 9 + byte;

Deno.test("encodeFragment() merges the best-scoring pair first", () => {
  const model = createSpmModel(VOCAB);
  // "bc" (-3) beats "ab" (-5); then a + bc forms "abc".
  deepStrictEqual(model.encodeFragment("abc", false), [8]);
  // With the prefix: "bc" first, then "▁a" (-4) beats "abc" (-6) and nothing is left to merge.
  deepStrictEqual(model.encodeFragment("abc", true), [7, 6]);
});

Deno.test("encodeFragment() breaks score ties leftmost first", () => {
  const model = createSpmModel(_vocab([["<unk>", 0], ["a", -1], ["aa", -2]]));
  deepStrictEqual(model.encodeFragment("aaa", false), [2, 1]);
});

Deno.test("encodeFragment() turns spaces into ▁ and adds the prefix only when asked", () => {
  const model = createSpmModel(VOCAB);
  deepStrictEqual(model.encodeFragment("a b", false), [2, 1, 3]);
  deepStrictEqual(model.encodeFragment(" a", false), [7]);
  deepStrictEqual(model.encodeFragment("", true), [1], "an empty fragment still gets ▁");
  deepStrictEqual(model.encodeFragment("", false), []);
  const noPrefix = createSpmModel({ ...VOCAB, addSpacePrefix: false });
  deepStrictEqual(noPrefix.encodeFragment("a", true), [2]);
});

Deno.test("encodeFragment() keeps byte fallback for 'á', CJK and emoji", () => {
  const model = createSpmModel(VOCAB);
  deepStrictEqual(model.encodeFragment("á", false), [byteId(0xC3), byteId(0xA1)]);
  deepStrictEqual(model.encodeFragment("中", false), [0xE4, 0xB8, 0xAD].map(byteId));
  deepStrictEqual(model.encodeFragment("a😀", false), [2, ...[0xF0, 0x9F, 0x98, 0x80].map(byteId)]);
});

Deno.test("encodeFragment() uses UNK for characters without byte tokens", () => {
  const model = createSpmModel(_vocab([["<unk>", 0, TokenType.UNKNOWN], ["a", -1]]));
  deepStrictEqual(model.encodeFragment("aé", false), [1, 0, 0]);
  const noUnk = createSpmModel(_vocab([["x", 0], ["a", -1]], { unk: undefined }));
  throws(
    () => noUnk.encodeFragment("é", false),
    (error: Error) =>
      error instanceof TokenizerError &&
      error.message ===
        `Cannot tokenize "é": the vocabulary has no piece, no byte token <0xC3> and no UNK token for it`,
  );
});

Deno.test("tokenBytes() decodes ▁ and <0xAB> pieces", () => {
  const model = createSpmModel(VOCAB);
  deepStrictEqual(model.tokenBytes(7), new TextEncoder().encode(" a"));
  deepStrictEqual(model.tokenBytes(byteId(0xAB)), Uint8Array.of(0xAB));
  throws(() => model.tokenBytes(9999), RangeError);
});

Deno.test("encodeFragment() is linear-ish on long inputs", () => {
  const model = createSpmModel(VOCAB);
  const text = "abc ".repeat(50_000);
  const start = performance.now();
  const ids = model.encodeFragment(text, false);
  const elapsedMs = performance.now() - start;
  deepStrictEqual(ids.slice(0, 5), [8, 7, 6, 7, 6]);
  deepStrictEqual(ids.slice(-3), [7, 6, 1]);
  deepStrictEqual(ids.length, 100_000);
  if (elapsedMs > 2000) throw new Error(`encoding 200 kB took ${elapsedMs.toFixed(0)} ms`);
});

Deno.test("encodeFragment() keeps merges across ▁ when a piece has a character before ▁", () => {
  // "x▁y" lets "x" join the following "▁", so the text must not be cut into words there.
  const model = createSpmModel(_vocab([["<unk>", 0], ["x", -1], ["▁", -1], ["y", -1], ["x▁", -2], [
    "x▁y",
    -3,
  ], ["▁x", -1]]));
  // x▁y▁x▁y: "▁x" (-1) first, then "x▁" (-2) at the start, then "x▁" + "y" = "x▁y" (-3).
  deepStrictEqual(model.encodeFragment("x y x y", false), [5, 6, 2, 3]);
  deepStrictEqual(model.encodeFragment("x y", true), [6, 2, 3]);
});
