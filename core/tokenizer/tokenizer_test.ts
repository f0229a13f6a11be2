import { deepStrictEqual, strictEqual, throws } from "node:assert";
import { TokenizerError } from "../errors.ts";
import { readGgufFile } from "../gguf/reader.ts";
import { type GgufValue, GgufValueType } from "../gguf/types.ts";
import { testdataPath, testModelPath } from "../../tests/testdata.ts";
import { createTokenizer } from "./tokenizer.ts";
import type { Tokenizer } from "./types.ts";
import { vocabFromMetadata } from "./vocab.ts";

async function _load(path: string): Promise<Tokenizer> {
  return createTokenizer((await readGgufFile(path)).metadata, { name: path });
}

const llama = await _load(testdataPath("vocab/ggml-vocab-llama-spm.gguf"));
const phi3 = await _load(testdataPath("vocab/ggml-vocab-phi-3.gguf"));

Deno.test("encode() adds BOS by default and splits control tokens only with parseSpecial", () => {
  deepStrictEqual(llama.encode("Hello world"), [1, 15043, 3186]);
  deepStrictEqual(llama.encode("Hello world", { addSpecial: false }), [15043, 3186]);
  // "</s>" as text: "▁</" "s" ">" pieces, unless parsed as the EOS token.
  deepStrictEqual(llama.encode("a</s>", { addSpecial: false }), [263, 829, 29879, 29958]);
  deepStrictEqual(llama.encode("a</s>", { addSpecial: false, parseSpecial: true }), [263, 2]);
  deepStrictEqual(llama.encode("", { addSpecial: true }), [1]);
  deepStrictEqual(llama.encode("", { addSpecial: false }), []);
});

Deno.test("encode() gives a space prefix to the text after a special token", () => {
  // tinyllama vector: "a</s>b" → ▁a </s> ▁b
  deepStrictEqual(llama.encode("a</s>b", { addSpecial: false, parseSpecial: true }), [263, 2, 289]);
});

Deno.test("encode() strips whitespace after Phi-3's special tokens (RSTRIP)", () => {
  const ids = phi3.encode("<|user|>\n  Hi<|end|>", { addSpecial: false, parseSpecial: true });
  deepStrictEqual(ids, [32010, 6324, 32007]);
});

Deno.test("decode() renders or skips control tokens and strips the leading space like llama.cpp", () => {
  const ids = llama.encode("Hello world"); // [BOS, ▁Hello, ▁world]
  strictEqual(llama.decode(ids), "<s> Hello world");
  strictEqual(llama.decode(ids, { skipSpecial: true }), " Hello world");
  strictEqual(llama.decode(ids.slice(1)), "Hello world");
  strictEqual(llama.decode([15043, 2, 3186]), "Hello</s> world");
  strictEqual(llama.decode([15043, 2, 3186], { skipSpecial: true }), "Hello world");
  strictEqual(llama.decode([]), "");
  throws(() => llama.decode([32000]), RangeError);
});

Deno.test("decode() joins byte tokens into multi-byte characters", () => {
  const text = "emoji 😀 and 中文 and á";
  const ids = llama.encode(text, { addSpecial: false });
  strictEqual(llama.decode(ids), text);
});

Deno.test("tokenBytes() gives a token's bytes after ▁ and <0xAB> decoding", () => {
  deepStrictEqual(llama.tokenBytes(15043), new TextEncoder().encode(" Hello"));
  deepStrictEqual(llama.tokenBytes(3 + 0xF0), Uint8Array.of(0xF0));
  deepStrictEqual(llama.tokenBytes(1), new TextEncoder().encode("<s>"));
});

Deno.test("isEog() is true for EOS and end-of-turn text tokens", () => {
  deepStrictEqual([llama.isEog(2), llama.isEog(1), llama.isEog(15043)], [true, false, false]);
  // Phi-3: <|endoftext|> (EOS), <|end|> and </s> end generation; <|user|> does not.
  deepStrictEqual([32000, 32007, 2, 32010].map((id) => phi3.isEog(id)), [true, true, true, false]);
});

Deno.test("createStreamDecoder() never emits half a UTF-8 sequence", () => {
  const text = "a😀中é";
  const ids = llama.encode(text, { addSpecial: false });
  const decoder = llama.createStreamDecoder();
  const chunks = ids.map((id) => decoder.push(id));
  chunks.push(decoder.flush());
  strictEqual(chunks.join(""), " " + text, "stream pieces keep the space prefix");
  for (const chunk of chunks) strictEqual(chunk.includes("\uFFFD"), false);
  // 😀 is four byte tokens: nothing comes out until the last one.
  const emoji = llama.encode("😀", { addSpecial: false }).slice(1);
  deepStrictEqual(emoji, [0xF0, 0x9F, 0x98, 0x80].map((byte) => 3 + byte));
  const emojiDecoder = llama.createStreamDecoder();
  deepStrictEqual(emoji.map((id) => emojiDecoder.push(id)), ["", "", "", "😀"]);
});

Deno.test("createStreamDecoder() flushes an incomplete tail as U+FFFD and skips specials on request", () => {
  const decoder = llama.createStreamDecoder({ skipSpecial: true });
  strictEqual(decoder.push(1), "");
  strictEqual(decoder.push(3 + 0xE4), "");
  strictEqual(decoder.flush(), "\uFFFD");
  strictEqual(decoder.push(15043), " Hello");
});

Deno.test("createTokenizer() names an unsupported tokenizer model", () => {
  const metadata = new Map<string, GgufValue>([
    ["tokenizer.ggml.model", "t5"],
    ["tokenizer.ggml.tokens", { type: GgufValueType.STRING, values: ["<pad>", "</s>", "<unk>"] }],
  ]);
  throws(
    () => createTokenizer(metadata, { name: "t5.gguf" }),
    (error: Error) =>
      error instanceof TokenizerError &&
      error.message ===
        `Cannot create a tokenizer for "t5.gguf": tokenizer model "t5" is not supported (supported: "llama", "gpt2", "bert")`,
  );
});

Deno.test("WordPiece (bert-bge): [CLS] … [SEP] framing, lowercase, accents stripped, llama.cpp's decode", async () => {
  const bert = await _load(testdataPath("vocab/ggml-vocab-bert-bge.gguf"));
  const text = "Hello, World! It's Déjà vu [SEP] 中文";
  // Expected ids and strings from llama.cpp (node-llama-cpp 3.22.1).
  const ids = [7592, 1010, 2088, 999, 2009, 1005, 1055, 2139, 3900, 24728, 102, 1746, 1861];
  deepStrictEqual(bert.encode(text, { addSpecial: false, parseSpecial: true }), ids);
  strictEqual(bert.decode(ids), " hello, world! it's deja vu[SEP] 中 文");
  strictEqual(bert.decode(ids, { skipSpecial: true }), " hello, world! it's deja vu 中 文");
  deepStrictEqual(bert.encode("a [MASK] b"), [101, 1037, 1031, 7308, 1033, 1038, 102]);
});

Deno.test("createTokenizer() accepts a Vocab and fails clearly when BOS is asked for but absent", async () => {
  const metadata = (await readGgufFile(testdataPath("vocab/ggml-vocab-llama-spm.gguf"))).metadata;
  const vocab = { ...vocabFromMetadata(metadata), bos: undefined };
  throws(() => createTokenizer(vocab).encode("x"), {
    name: "TokenizerError",
    message: "Cannot add BOS: the vocabulary asks for it (add_bos_token) but has no bos token id",
  });
  deepStrictEqual(createTokenizer(vocab).encode("x", { addSpecial: false }), [921]);
});

Deno.test("Gemma 3: no space prefix, BOS added, <end_of_turn> ends generation", async () => {
  const gemma = await _load(testModelPath("gemma3-270m"));
  strictEqual(gemma.vocabSize, 262144);
  const ids = gemma.encode("<start_of_turn>user\nHi<end_of_turn>", { parseSpecial: true });
  deepStrictEqual(ids, [2, 105, 2364, 107, 10979, 106]);
  strictEqual(gemma.decode(ids, { skipSpecial: true }), "user\nHi");
  deepStrictEqual([gemma.isEog(106), gemma.isEog(1), gemma.isEog(105)], [true, true, false]);
});

Deno.test("Gemma 3: decode() matches llama.cpp's detokenizer on the oracle fixture", async () => {
  const gemma = await _load(testModelPath("gemma3-270m"));
  const url = new URL("../../tests/fixtures/gemma3-270m.tokens.json", import.meta.url);
  const fixture = JSON.parse(await Deno.readTextFile(url)) as {
    cases: { text?: string; idsSpecial: number[]; decoded?: string; decodedSkip?: string }[];
  };
  const withText = fixture.cases.filter((c) => c.decoded !== undefined);
  strictEqual(withText.length, 55);
  for (const c of withText) {
    strictEqual(gemma.decode(c.idsSpecial), c.decoded, JSON.stringify(c.text));
    strictEqual(gemma.decode(c.idsSpecial, { skipSpecial: true }), c.decodedSkip);
  }
});

Deno.test("decode() tidies spaces before punctuation for gpt-2 BPE as llama.cpp does", async () => {
  const gpt2 = await _load(testdataPath("vocab/ggml-vocab-gpt-2.gguf"));
  // Expected strings from llama.cpp's llama_detokenize (node-llama-cpp 3.22.1).
  const cases: [string, string][] = [
    [
      "Hello , world ! It 's ok . Don 't ' quote ' we 're here , they 've",
      "Hello, world! It's ok. Don 't'quote'we're here, they've",
    ],
    ["a ' b", "a'b"],
    [" ' ' ", "'' "],
  ];
  for (const [text, expected] of cases) {
    strictEqual(gpt2.decode(gpt2.encode(text)), expected);
  }
  strictEqual(
    gpt2.decode(gpt2.encode("<|endoftext|>x é😀", { parseSpecial: true })),
    "<|endoftext|>x é😀",
  );
  strictEqual(gpt2.isEog(50256), true);
});

Deno.test("SmolLM2 (BPE, smollm): ChatML markers split with parseSpecial, <|im_end|> ends generation", async () => {
  const smol = await _load(testModelPath("smollm2-135m-instruct"));
  const ids = smol.encode("<|im_start|>user\nhi<|im_end|>", { parseSpecial: true });
  deepStrictEqual(ids, [1, 4093, 198, 6004, 2]);
  strictEqual(smol.decode(ids), "<|im_start|>user\nhi<|im_end|>");
  strictEqual(smol.decode(ids, { skipSpecial: true }), "user\nhi");
  deepStrictEqual([smol.isEog(2), smol.isEog(1), smol.isEog(0)], [true, false, true]);
});
