import { deepStrictEqual, strictEqual, throws } from "node:assert";
import { TokenizerError } from "../errors.ts";
import { readGgufFile } from "../gguf/reader.ts";
import { type GgufValue, GgufValueType } from "../gguf/types.ts";
import { testdataPath } from "../../tests/testdata.ts";
import { TokenType } from "./types.ts";
import { vocabFromMetadata } from "./vocab.ts";

function _metadata(entries: Record<string, GgufValue>): Map<string, GgufValue> {
  return new Map(Object.entries(entries));
}

const strings = (values: string[]) => ({ type: GgufValueType.STRING, values });
const floats = (values: number[]) => ({ type: GgufValueType.FLOAT32, values });
const ints = (values: number[]) => ({ type: GgufValueType.INT32, values });

const SPM_TOKENS = ["<unk>", "<s>", "</s>", "▁a", "<|im_end|>"];

Deno.test("vocabFromMetadata() applies SentencePiece defaults when keys are absent", () => {
  const vocab = vocabFromMetadata(_metadata({
    "tokenizer.ggml.model": "llama",
    "tokenizer.ggml.tokens": strings(SPM_TOKENS),
  }));
  strictEqual(vocab.pre, "default");
  deepStrictEqual([vocab.unk, vocab.bos, vocab.eos, vocab.pad, vocab.sep], [
    0,
    1,
    2,
    undefined,
    undefined,
  ]);
  deepStrictEqual([vocab.addBos, vocab.addEos, vocab.addSpacePrefix], [true, false, true]);
  deepStrictEqual([...vocab.types], [1, 1, 1, 1, 1]);
  strictEqual(vocab.scores.length, 0);
  strictEqual(vocab.eot, 4, "EOT found by the text <|im_end|>");
  strictEqual(vocab.tokenToId.get("▁a"), 3);
});

Deno.test("vocabFromMetadata() reads explicit ids, flags, scores and types", () => {
  const vocab = vocabFromMetadata(_metadata({
    "tokenizer.ggml.model": "llama",
    "tokenizer.ggml.tokens": strings(SPM_TOKENS),
    "tokenizer.ggml.scores": floats([0, 0, 0, -1.5, 0]),
    "tokenizer.ggml.token_type": ints([2, 3, 3, 1, 9]),
    "tokenizer.ggml.bos_token_id": 2,
    "tokenizer.ggml.eos_token_id": 1,
    "tokenizer.ggml.eot_token_id": 1,
    "tokenizer.ggml.add_bos_token": false,
    "tokenizer.ggml.add_eos_token": true,
    "tokenizer.ggml.add_space_prefix": false,
  }));
  deepStrictEqual([vocab.bos, vocab.eos, vocab.eot], [2, 1, 1]);
  deepStrictEqual([vocab.addBos, vocab.addEos, vocab.addSpacePrefix], [false, true, false]);
  deepStrictEqual([...vocab.scores], [0, 0, 0, -1.5, 0]);
  deepStrictEqual([...vocab.types], [2, 3, 3, 1, TokenType.UNDEFINED]);
});

Deno.test("vocabFromMetadata() takes 0xFFFFFFFF and -1 as 'no token'", () => {
  const vocab = vocabFromMetadata(_metadata({
    "tokenizer.ggml.model": "llama",
    "tokenizer.ggml.tokens": strings(SPM_TOKENS),
    "tokenizer.ggml.seperator_token_id": 0xFFFFFFFF,
    "tokenizer.ggml.padding_token_id": -1,
  }));
  deepStrictEqual([vocab.sep, vocab.pad], [undefined, undefined]);
});

Deno.test("vocabFromMetadata() adds BOS for BPE only where llama.cpp does", () => {
  const bpe = (pre: string, extra: Record<string, GgufValue> = {}) =>
    vocabFromMetadata(_metadata({
      "tokenizer.ggml.model": "gpt2",
      "tokenizer.ggml.pre": pre,
      "tokenizer.ggml.tokens": strings(["a", "b", "ab"]),
      "tokenizer.ggml.merges": strings(["a b"]),
      ...extra,
    }));
  deepStrictEqual([bpe("gpt-2").addBos, bpe("llama-bpe").addBos, bpe("qwen2").addBos], [
    false,
    true,
    false,
  ]);
  strictEqual(bpe("gpt-2", { "tokenizer.ggml.add_bos_token": true }).addBos, true);
  strictEqual(bpe("gpt-2").addSpacePrefix, false);
  deepStrictEqual(bpe("gpt-2").merges, ["a b"]);
  strictEqual(bpe("gpt-2").bos, undefined, "the default BOS id 11 lies outside 3 tokens");
});

Deno.test("vocabFromMetadata() names the key of malformed metadata", () => {
  const base = {
    "tokenizer.ggml.model": "llama",
    "tokenizer.ggml.tokens": strings(SPM_TOKENS),
  };
  const cases: [Record<string, GgufValue>, string][] = [
    [{ "tokenizer.ggml.model": 3 }, `"tokenizer.ggml.model" is number "3", not a string`],
    [
      { "tokenizer.ggml.scores": floats([0, 0]) },
      `"tokenizer.ggml.scores" has 2 entries but the vocabulary has 5 tokens`,
    ],
    [
      { "tokenizer.ggml.token_type": ints([1]) },
      `"tokenizer.ggml.token_type" has 1 entries but the vocabulary has 5 tokens`,
    ],
    [
      { "tokenizer.ggml.bos_token_id": 5 },
      `"tokenizer.ggml.bos_token_id" is 5, outside the vocabulary of 5 tokens`,
    ],
    [
      { "tokenizer.ggml.tokens": strings(["a", "b", "a"]) },
      `"tokenizer.ggml.tokens" holds "a" twice (ids 0 and 2)`,
    ],
    [
      { "tokenizer.ggml.add_bos_token": 1 },
      `"tokenizer.ggml.add_bos_token" is number "1", not a bool`,
    ],
  ];
  for (const [override, state] of cases) {
    throws(
      () => vocabFromMetadata(_metadata({ ...base, ...override }), { name: "x.gguf" }),
      (error: Error) =>
        error instanceof TokenizerError &&
        error.message === `Cannot read the vocabulary of "x.gguf": ${state}`,
    );
  }
  throws(
    () => vocabFromMetadata(_metadata({ "tokenizer.ggml.model": "llama" })),
    { message: `Cannot read the vocabulary of "metadata": "tokenizer.ggml.tokens" is missing` },
  );
});

Deno.test("vocabFromMetadata() survives stories260K's quirks", async () => {
  const file = await readGgufFile(testdataPath("models/stories260K.gguf"));
  const vocab = vocabFromMetadata(file.metadata, { name: "stories260K.gguf" });
  strictEqual(vocab.tokens.length, 512);
  deepStrictEqual([vocab.unk, vocab.bos, vocab.eos, vocab.pad, vocab.sep], [
    0,
    1,
    2,
    undefined,
    undefined,
  ]);
  deepStrictEqual([vocab.addBos, vocab.addEos, vocab.addSpacePrefix], [true, false, true]);
  strictEqual(vocab.tokens[3 + 0x41], "<0x41>");
  strictEqual(vocab.types[3 + 0x41], TokenType.BYTE);
});
