import assert from "node:assert/strict";
import { TokenizerError } from "../errors.ts";
import { createPreTokenizer, PRE_TOKENIZER_NAMES } from "./pre_tokenizer.ts";

const CASES: [pre: string, text: string, words: string[]][] = [
  // GPT-2: a space joins the next word; of a run of spaces the last one is left for the word.
  ["gpt-2", "Hello  world", ["Hello", " ", " world"]],
  ["gpt-2", "I'm 12345 ok!!\n\n", ["I", "'m", " 12345", " ok", "!!", "\n\n"]],
  ["gpt-2", "I'M", ["I", "'", "M"]],
  ["gpt-2", "a \tb", ["a", " ", "\t", "b"]],
  // llama3: digits in threes, contractions in any case, newlines end a run of spaces.
  ["llama-bpe", "I'M 1234567", ["I", "'M", " ", "123", "456", "7"]],
  ["llama-bpe", "x  \n\n  y", ["x", "  \n\n", " ", " y"]],
  ["llama-bpe", "...\n\nok", ["...\n\n", "ok"]],
  ["llama-bpe", "$hello", ["$hello"]],
  // qwen2: every digit alone.
  ["qwen2", "v1.25", ["v", "1", ".", "2", "5"]],
  // default: punctuation runs first, then GPT-2, then digit runs, then triples of ASCII digits.
  ["default", "a+=1234;", ["a", "+=", "123", "4", ";"]],
  // starcoder family: each digit alone, then GPT-2.
  ["smollm", "abc 123", ["abc", " ", "1", "2", "3"]],
  // falcon: punctuation runs (with `), GPT-2, then ASCII digit triples.
  ["falcon", "x`=12345", ["x", "`=", "123", "45"]],
  // deepseek-llm: llama.cpp matches against text whose non-ASCII spaces are U+000B, so U+3000
  // counts as a space and never as a member of the punctuation class [U+3000-U+3002] or CJK [U+0800-U+4E00].
  ["deepseek-llm", "a\u3000\u3000b", ["a", "\u3000", "\u3000b"]],
  ["deepseek-llm", "\u3000\u3000。", ["\u3000", "\u3000", "。"]],
  // afmoe and tiny_aya cut digit runs in threes from the right. llama.cpp's first cut also
  // takes the text before the digits, so "  1" reaches the next rule whole and its two spaces
  // split apart (they would stay together as a piece of their own).
  ["afmoe", "ab  1234", ["ab", " ", " ", "1", "234"]],
  ["afmoe", "12345x", ["12", "345", "x"]],
  ["tiny_aya", "1234567 abc", ["1", "234", "567", " abc"]],
  // superbpe's second rule only matches empty strings: each match is a cut.
  ["superbpe", "x1234567", ["x", "1", "234", "567"]],
  // kimi-k2: Han runs apart from other letters, contractions kept on the word.
  ["kimi-k2", "我们abcDEF'S 12345", ["我们", "abcDEF'S", " ", "123", "45"]],
  ["exaone-moe", "ab cd 12", ["ab cd", " ", "1", "2"]],
  // U+00A0 is a space to llama.cpp; U+FEFF (a JavaScript \s) is not.
  ["gpt-2", "a\u00a0\u00a0b", ["a", "\u00a0", "\u00a0", "b"]],
  ["gpt-2", "a\ufeff\ufeffb", ["a", "\ufeff\ufeff", "b"]],
];

for (const [pre, text, words] of CASES) {
  Deno.test(`createPreTokenizer("${pre}").split(${JSON.stringify(text)})`, () => {
    assert.deepEqual(createPreTokenizer(pre).split(text), words);
  });
}

Deno.test("createPreTokenizer() flags follow llama.cpp's vocabulary loader", () => {
  const llama3 = createPreTokenizer("llama3");
  assert.deepEqual([llama3.ignoreMerges, llama3.addBos, llama3.cleanSpaces], [true, true, true]);
  const qwen2 = createPreTokenizer("qwen2");
  assert.deepEqual([qwen2.ignoreMerges, qwen2.addBos, qwen2.cleanSpaces], [false, false, false]);
  const gpt2 = createPreTokenizer("gpt-2");
  assert.deepEqual([gpt2.ignoreMerges, gpt2.addBos, gpt2.cleanSpaces], [false, false, true]);
});

Deno.test("createPreTokenizer() rejects an unknown name, naming it", () => {
  assert.throws(
    () => createPreTokenizer("whitespace"),
    (error: Error) =>
      error instanceof TokenizerError &&
      error.message.startsWith('Cannot create the pre-tokenizer "whitespace": it is not one of'),
  );
});

Deno.test("split() of every rule set gives back the text when joined", () => {
  const text = "Hello wörld  123 4567 I'Ve ’s\u3000\u3000x\t\n\n 🦙🦙 नमस्ते 你好～ ------=== \r\n ";
  for (const name of PRE_TOKENIZER_NAMES) {
    const words = createPreTokenizer(name).split(text);
    assert.equal(words.join(""), text, name);
    assert.ok(words.every((word) => word.length > 0), name);
  }
  assert.deepEqual(createPreTokenizer("gpt-2").split(""), []);
});

Deno.test("splitRanges() gives the UTF-16 offsets of split()'s words", () => {
  const pre = createPreTokenizer("qwen2");
  const text = "I'm 42 🦙s\n";
  const ranges = pre.splitRanges(text);
  assert.deepEqual(ranges, [0, 1, 1, 3, 3, 4, 4, 5, 5, 6, 6, 9, 9, 10, 10, 11]);
  const words = [];
  for (let i = 0; i < ranges.length; i += 2) words.push(text.slice(ranges[i], ranges[i + 1]));
  assert.deepEqual(words, pre.split(text));
});
