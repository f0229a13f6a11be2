import assert from "node:assert/strict";
import { join } from "node:path";
import { readGgufFile } from "../core/gguf/reader.ts";
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
