import assert from "node:assert/strict";
import { join } from "node:path";
import { readGgufFile } from "../core/gguf/reader.ts";
import { parseMerges } from "../core/tokenizer/hf_convert.ts";
import { createTokenizer } from "../core/tokenizer/tokenizer.ts";
import { testdataPath } from "../tests/testdata.ts";
import { main } from "./convert_vocab.ts";

Deno.test("zeno convert-vocab writes a Llama 3 vocab-only GGUF that tokenizes like llama.cpp", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const output = join(dir, "llama-bpe.gguf");
    const code = await main([
      "--vocab",
      testdataPath("tokenizers/llama3.2/encoder.json"),
      "--merges",
      testdataPath("tokenizers/llama3.2/vocab.bpe"),
      "--pre",
      "llama-bpe",
      "-o",
      output,
    ]);
    assert.equal(code, 0);
    const file = await readGgufFile(output);
    assert.equal(file.tensors.length, 0);
    const tokenizer = createTokenizer(file.metadata);
    assert.equal(tokenizer.vocabSize, 128256);
    assert.equal(tokenizer.vocab.pre, "llama-bpe");
    assert.equal(tokenizer.vocab.merges.length, 280147);
    assert.equal(tokenizer.vocab.tokens[128009], "<|eot_id|>");
    assert.deepEqual([tokenizer.vocab.bos, tokenizer.vocab.eos], [128000, 128001]);
    // Ids from ../shared/testdata/vocab/ggml-vocab-llama-bpe.gguf.out; BOS added by default.
    assert.deepEqual(tokenizer.encode(" Hello World!"), [128000, 22691, 4435, 0]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("zeno convert-vocab exits 2 without its required flags and 1 for an unknown pre", async () => {
  assert.equal(await main(["--vocab", "v.json"]), 2);
  const dir = await Deno.makeTempDir();
  try {
    const vocab = join(dir, "vocab.json");
    const merges = join(dir, "merges.txt");
    await Deno.writeTextFile(vocab, '{"a": 0}');
    await Deno.writeTextFile(merges, "");
    const args = ["--vocab", vocab, "--merges", merges, "-o", join(dir, "out.gguf")];
    assert.equal(await main([...args, "--pre", "no-such-pre"]), 1);
    assert.equal(await main([...args, "--pre", "gpt-2"]), 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("zeno convert-vocab reads tokenizer.json and pads to --vocab-size", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // A tokenizer.json assembled from Qwen2's vocab.json and merges.txt, merges as pairs.
    const qwen2 = (file: string) => Deno.readTextFile(testdataPath(`tokenizers/qwen2/${file}`));
    const merges = parseMerges(await qwen2("merges.txt"));
    const tokenizerJson = {
      added_tokens: [{ id: 151643, content: "<|endoftext|>", special: true }],
      model: {
        type: "BPE",
        vocab: JSON.parse(await qwen2("vocab.json")),
        merges: merges.map((m) => m.split(" ")),
      },
    };
    const input = join(dir, "tokenizer.json");
    await Deno.writeTextFile(input, JSON.stringify(tokenizerJson));
    const output = join(dir, "qwen2.gguf");
    const args = ["--tokenizer", input, "--pre", "qwen2", "--vocab-size", "151936", "-o", output];
    assert.equal(await main(args), 0);
    const tokenizer = createTokenizer((await readGgufFile(output)).metadata);
    assert.equal(tokenizer.vocabSize, 151936);
    assert.equal(tokenizer.vocab.merges.length, 151387);
    assert.deepEqual([tokenizer.vocab.tokens[151643], tokenizer.vocab.tokens[151935]], [
      "<|endoftext|>",
      "[PAD151935]",
    ]);
    // Ids from ../shared/testdata/vocab/ggml-vocab-qwen2.gguf.out.
    assert.deepEqual(tokenizer.encode("Hello, world!", { addSpecial: false }), [9707, 11, 1879, 0]);
    assert.equal(
      await main(["--tokenizer", input, "--vocab", "x.json", "--pre", "qwen2", "-o", output]),
      2,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
