import { deepStrictEqual, strictEqual } from "node:assert";
import {
  createSpecialMatcher,
  specialTokenInfo,
  splitSpecialTokens,
  TokenAttr,
} from "./special_tokens.ts";
import { TokenType, type Vocab } from "./types.ts";

function _vocab(pieces: [string, TokenType][], extra: Partial<Vocab> = {}): Vocab {
  const tokens = pieces.map(([piece]) => piece);
  return {
    model: "llama",
    pre: "default",
    tokens,
    scores: new Float32Array(tokens.length),
    types: Uint8Array.from(pieces, ([, type]) => type),
    merges: [],
    tokenToId: new Map(tokens.map((token, id) => [token, id])),
    addBos: false,
    addEos: false,
    addSpacePrefix: true,
    ...extra,
  };
}

const { NORMAL, CONTROL, USER_DEFINED, UNKNOWN } = TokenType;

function _split(vocab: Vocab, text: string, parseSpecial: boolean) {
  const matcher = createSpecialMatcher(vocab, specialTokenInfo(vocab), parseSpecial);
  return splitSpecialTokens(text, matcher);
}

Deno.test("splitSpecialTokens() takes longer tokens first, like llama.cpp", () => {
  // ids: 0 "xa", 1 "abc"; "abc" is longer, so "xabc" splits as "x" + abc, not xa + "bc".
  const vocab = _vocab([["xa", USER_DEFINED], ["abc", USER_DEFINED]]);
  deepStrictEqual(_split(vocab, "xabc", false), [{ text: "x" }, { id: 1 }]);
  deepStrictEqual(_split(vocab, "xaxa", false), [{ id: 0 }, { id: 0 }]);
  deepStrictEqual(_split(vocab, "abcabcab", false), [{ id: 1 }, { id: 1 }, { text: "ab" }]);
});

Deno.test("splitSpecialTokens() splits CONTROL and UNKNOWN tokens only with parseSpecial", () => {
  const vocab = _vocab([["<unk>", UNKNOWN], ["<s>", CONTROL], ["<tab>", USER_DEFINED], [
    "a",
    NORMAL,
  ]]);
  const text = "a<s>b<tab>c<unk>";
  deepStrictEqual(_split(vocab, text, false), [{ text: "a<s>b" }, { id: 2 }, { text: "c<unk>" }]);
  deepStrictEqual(_split(vocab, text, true), [
    { text: "a" },
    { id: 1 },
    { text: "b" },
    { id: 2 },
    { text: "c" },
    { id: 0 },
  ]);
  deepStrictEqual(_split(vocab, "", true), []);
  deepStrictEqual(_split(vocab, "plain", true), [{ text: "plain" }]);
});

Deno.test("splitSpecialTokens() drops whitespace after Phi-3 special tokens (RSTRIP)", () => {
  const vocab = _vocab(
    [["<s>", CONTROL], ["<|user|>", CONTROL], ["<|endoftext|>", CONTROL], ["a", NORMAL]],
    { modelName: "Phi3" },
  );
  deepStrictEqual(_split(vocab, "<|user|> \n a <s> b", true), [
    { id: 1 },
    { text: "a " },
    { id: 0 },
    { text: " b" },
  ]);
  // A fragment that is only whitespace disappears.
  deepStrictEqual(_split(vocab, "<|user|>  <|user|>", true), [{ id: 1 }, { id: 1 }]);
});

Deno.test("specialTokenInfo() marks end-of-generation tokens and forces them to CONTROL", () => {
  const vocab = _vocab(
    [["<unk>", UNKNOWN], ["<s>", CONTROL], ["</s>", CONTROL], ["<|im_end|>", USER_DEFINED], [
      "<|im_start|>",
      USER_DEFINED,
    ]],
    { eos: 2 },
  );
  const info = specialTokenInfo(vocab);
  deepStrictEqual([...info.eogIds].sort(), [2, 3]);
  strictEqual(info.attrs[3], TokenAttr.USER_DEFINED | TokenAttr.CONTROL);
  strictEqual(info.attrs[4], TokenAttr.USER_DEFINED);
  // Longest UTF-8 text first, then lower id.
  deepStrictEqual(info.specialIds, [4, 3, 0, 2, 1]);
});

Deno.test("specialTokenInfo() keeps <|end|> as text in Harmony vocabularies", () => {
  const vocab = _vocab([["<|end|>", CONTROL], ["<|return|>", CONTROL], ["<|call|>", CONTROL]]);
  const info = specialTokenInfo(vocab);
  deepStrictEqual([...info.eogIds].sort(), [1, 2]);
  strictEqual(info.attrs[0], TokenAttr.USER_DEFINED);
});
