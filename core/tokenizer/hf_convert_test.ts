import assert from "node:assert/strict";
import { TokenizerError } from "../errors.ts";
import { GgufValueType } from "../gguf/types.ts";
import {
  buildHfBpeVocab,
  hfBpeToGgufKvs,
  LLAMA3_SPECIAL_TOKENS,
  parseMerges,
  readHfTokenizerJson,
} from "./hf_convert.ts";
import { TokenType } from "./types.ts";

Deno.test("parseMerges() skips the #version header and blank lines", () => {
  assert.deepEqual(parseMerges("#version: 0.2\nĠ t\n\nh e\r\n"), ["Ġ t", "h e"]);
  assert.deepEqual(parseMerges("Ġ Ġ\nĠĠ ĠĠ\n"), ["Ġ Ġ", "ĠĠ ĠĠ"]);
});

Deno.test("parseMerges() rejects a line without exactly two parts, naming it", () => {
  assert.throws(
    () => parseMerges("a b\nabc\n"),
    (error: Error) =>
      error instanceof TokenizerError &&
      error.message === 'Cannot parse merge line 2 "abc": it has 1 parts, not 2',
  );
});

Deno.test("buildHfBpeVocab() fills id gaps with [PAD<id>] and types added tokens", () => {
  const vocab = buildHfBpeVocab({
    vocab: { "a": 0, "b": 1, "ab": 3 },
    mergesText: "a b\n",
    pre: "qwen2",
    config: {
      added_tokens_decoder: {
        "4": { content: "<|im_end|>", special: true },
        "5": { content: "<tool>", special: false },
        "6": { content: "<|looks|>", special: false },
      },
      eos_token: "<|im_end|>",
      pad_token: { content: "<tool>" },
      bos_token: null,
    },
  });
  assert.deepEqual(vocab.tokens, ["a", "b", "[PAD2]", "ab", "<|im_end|>", "<tool>", "<|looks|>"]);
  assert.deepEqual(vocab.types, [
    TokenType.NORMAL,
    TokenType.NORMAL,
    TokenType.UNUSED,
    TokenType.NORMAL,
    TokenType.CONTROL,
    TokenType.USER_DEFINED,
    TokenType.CONTROL,
  ]);
  assert.deepEqual(vocab.merges, ["a b"]);
  assert.deepEqual([...vocab.specialIds], [["eos_token_id", 4], ["padding_token_id", 5]]);
});

Deno.test("buildHfBpeVocab() appends Llama 3's 256 special tokens to a bare 128000-token vocab", () => {
  const bare = Object.fromEntries(Array.from({ length: 128000 }, (_, i) => [`t${i}`, i]));
  const vocab = buildHfBpeVocab({ vocab: bare, mergesText: "", pre: "llama-bpe" });
  assert.equal(vocab.tokens.length, 128256);
  assert.deepEqual(vocab.tokens.slice(128000, 128012), [
    "<|begin_of_text|>",
    "<|end_of_text|>",
    "<|reserved_special_token_0|>",
    "<|reserved_special_token_1|>",
    "<|finetune_right_pad_id|>",
    "<|reserved_special_token_2|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|eom_id|>",
    "<|eot_id|>",
    "<|python_tag|>",
    "<|reserved_special_token_3|>",
  ]);
  assert.equal(vocab.tokens[128255], "<|reserved_special_token_247|>");
  assert.equal(LLAMA3_SPECIAL_TOKENS.length, 256);
  assert.ok(vocab.types.slice(128000).every((type) => type === TokenType.CONTROL));
  assert.deepEqual([...vocab.specialIds], [["bos_token_id", 128000], ["eos_token_id", 128001]]);
  // Other pre-tokenizers get no such tokens.
  assert.equal(
    buildHfBpeVocab({ vocab: bare, mergesText: "", pre: "gpt-2" }).tokens.length,
    128000,
  );
});

Deno.test("buildHfBpeVocab() rejects bad input, naming the value", () => {
  const cases: [() => unknown, string][] = [
    [
      () => buildHfBpeVocab({ vocab: {}, mergesText: "", pre: "gpt-3" }),
      'Cannot convert the vocabulary: pre-tokenizer "gpt-3" is unknown',
    ],
    [
      () => buildHfBpeVocab({ vocab: { a: 0, b: 0 }, mergesText: "", pre: "gpt-2" }),
      'Cannot convert the vocabulary: tokens "a" and "b" share id 0',
    ],
    [
      () => buildHfBpeVocab({ vocab: { a: -1 }, mergesText: "", pre: "gpt-2" }),
      'Cannot convert the vocabulary: token "a" has id -1',
    ],
    [
      () =>
        buildHfBpeVocab({
          vocab: { a: 0 },
          mergesText: "",
          pre: "gpt-2",
          config: { eos_token: "</s>" },
        }),
      'Cannot convert the vocabulary: eos_token "</s>" is not one of its tokens',
    ],
  ];
  for (const [run, message] of cases) {
    assert.throws(
      run,
      (error: Error) => error instanceof TokenizerError && error.message === message,
    );
  }
});

Deno.test("hfBpeToGgufKvs() writes llama.cpp's keys with their GGUF types, in order", () => {
  const kvs = hfBpeToGgufKvs({
    vocab: { "a": 0, "b": 1, "ab": 2 },
    mergesText: "a b\n",
    pre: "smollm",
    architecture: "llama",
    name: "tiny",
    config: { eos_token: "ab", add_bos_token: false },
  });
  assert.deepEqual(kvs, [
    { key: "general.architecture", type: GgufValueType.STRING, value: "llama" },
    { key: "general.name", type: GgufValueType.STRING, value: "tiny" },
    { key: "tokenizer.ggml.model", type: GgufValueType.STRING, value: "gpt2" },
    { key: "tokenizer.ggml.pre", type: GgufValueType.STRING, value: "smollm" },
    {
      key: "tokenizer.ggml.tokens",
      type: GgufValueType.ARRAY,
      value: { type: GgufValueType.STRING, values: ["a", "b", "ab"] },
    },
    {
      key: "tokenizer.ggml.token_type",
      type: GgufValueType.ARRAY,
      value: { type: GgufValueType.INT32, values: [1, 1, 1] },
    },
    {
      key: "tokenizer.ggml.merges",
      type: GgufValueType.ARRAY,
      value: { type: GgufValueType.STRING, values: ["a b"] },
    },
    { key: "tokenizer.ggml.eos_token_id", type: GgufValueType.UINT32, value: 2 },
    { key: "tokenizer.ggml.add_bos_token", type: GgufValueType.BOOL, value: false },
  ]);
});

Deno.test("readHfTokenizerJson() reads string and pair merges and added tokens", () => {
  const json = {
    added_tokens: [{ id: 3, content: "<|end|>", special: true }],
    model: { type: "BPE", vocab: { a: 0, b: 1, ab: 2 }, merges: ["a b", ["ab", "b"]] },
  };
  assert.deepEqual(readHfTokenizerJson(json), {
    vocab: { a: 0, b: 1, ab: 2 },
    merges: ["a b", "ab b"],
    addedTokens: [{ id: 3, content: "<|end|>", special: true }],
  });
  assert.throws(
    () => readHfTokenizerJson({ model: { type: "Unigram", vocab: [] } }),
    (error: Error) =>
      error instanceof TokenizerError &&
      error.message.startsWith('Cannot read tokenizer.json: model.type is "Unigram"'),
  );
  assert.throws(
    () => readHfTokenizerJson({ model: { type: "BPE", vocab: {}, merges: [["a"]] } }),
    (error: Error) => error.message === 'Cannot read tokenizer.json: merge 0 is ["a"]',
  );
});

Deno.test("buildHfBpeVocab() takes tokenizer.json's added tokens, the config winning per id", () => {
  const vocab = buildHfBpeVocab({
    vocab: { a: 0 },
    merges: [],
    addedTokens: [{ id: 1, content: "<x>", special: false }, { id: 2, content: "<y>" }],
    config: { added_tokens_decoder: { "2": { content: "<y>", special: true } } },
    pre: "gpt-2",
  });
  assert.deepEqual(vocab.tokens, ["a", "<x>", "<y>"]);
  assert.deepEqual(vocab.types, [TokenType.NORMAL, TokenType.USER_DEFINED, TokenType.CONTROL]);
});

Deno.test("buildHfBpeVocab() pads to vocabSize and rejects ids beyond it", () => {
  const padded = buildHfBpeVocab({ vocab: { a: 0, b: 1 }, merges: [], vocabSize: 4, pre: "gpt-2" });
  assert.deepEqual(padded.tokens, ["a", "b", "[PAD2]", "[PAD3]"]);
  assert.deepEqual(padded.types.slice(2), [TokenType.UNUSED, TokenType.UNUSED]);
  assert.throws(
    () => buildHfBpeVocab({ vocab: { a: 0, b: 5 }, merges: [], vocabSize: 4, pre: "gpt-2" }),
    (error: Error) =>
      error.message === "Cannot convert the vocabulary: it has id 5, beyond vocab_size 4",
  );
  assert.throws(
    () => buildHfBpeVocab({ vocab: { a: 0 }, merges: [], mergesText: "", pre: "gpt-2" }),
    TypeError,
  );
});
