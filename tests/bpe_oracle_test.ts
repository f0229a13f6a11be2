/**
 * Byte-level BPE against llama.cpp itself on generated text (`oracle_texts.ts`: 300 seeded
 * random strings that stress the pre-tokenizers). llama.cpp's ids come from
 * `tests/oracle/tokenize.mjs` (node-llama-cpp); zeno's must be identical for every text.
 *
 * Needs `tests/oracle/node_modules` (`cd tests/oracle && NODE_LLAMA_CPP_SKIP_DOWNLOAD=true
 * npm ci`, which `.ci/run` does). dbrx is not here: its GGUF repeats a key that current
 * llama.cpp refuses to load (its vectors are in the conformance table).
 *
 * @module
 */

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { readGgufFile } from "../core/gguf/reader.ts";
import { writeGgufFile } from "../core/gguf/writer.ts";
import { hfBpeToGgufKvs } from "../core/tokenizer/hf_convert.ts";
import { createTokenizer } from "../core/tokenizer/tokenizer.ts";
import { generateOracleTexts } from "./oracle_texts.ts";
import { testdataPath, testModelPath } from "./testdata.ts";

const ORACLE_DIR = new URL("./oracle/", import.meta.url).pathname;

async function llamaCppIds(ggufPath: string, texts: string[]): Promise<number[][]> {
  if (!existsSync(join(ORACLE_DIR, "node_modules", "node-llama-cpp"))) {
    throw new Error(
      `Cannot find node-llama-cpp in ${ORACLE_DIR}node_modules: run ` +
        "`cd tests/oracle && NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm ci` first",
    );
  }
  const child = new Deno.Command("node", {
    args: [join(ORACLE_DIR, "tokenize.mjs"), ggufPath],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify(texts)));
  await writer.close();
  const output = await child.output();
  if (!output.success) {
    const stderr = new TextDecoder().decode(output.stderr);
    throw new Error(`llama.cpp could not tokenize with "${ggufPath}":\n${stderr}`);
  }
  return JSON.parse(new TextDecoder().decode(output.stdout));
}

/** A GGUF path for each vocabulary; converted ones are written to `dir` first. */
const VOCABS: [name: string, path: (dir: string) => Promise<string>][] = [
  ...["gpt-2", "deepseek-llm", "deepseek-coder", "starcoder", "falcon", "mpt", "refact"].map(
    (name): [string, (dir: string) => Promise<string>] => [
      name,
      () => Promise.resolve(testdataPath(`vocab/ggml-vocab-${name}.gguf`)),
    ],
  ),
  ["smollm2-135m", () => Promise.resolve(testModelPath("smollm2-135m-instruct"))],
  [
    "llama-bpe (converted)",
    (dir) => convert(dir, "llama3.2", ["encoder.json", "vocab.bpe"], "llama-bpe"),
  ],
  [
    "qwen2 (converted)",
    (dir) => convert(dir, "qwen2", ["vocab.json", "merges.txt", "tokenizer_config.json"], "qwen2"),
  ],
];

async function convert(dir: string, source: string, files: string[], pre: string) {
  const [vocab, merges, config] = files.map((f) => testdataPath(`tokenizers/${source}/${f}`));
  const kvs = hfBpeToGgufKvs({
    vocab: JSON.parse(await Deno.readTextFile(vocab)),
    mergesText: await Deno.readTextFile(merges),
    config: config ? JSON.parse(await Deno.readTextFile(config)) : undefined,
    pre,
  });
  const path = join(dir, `${pre}.gguf`);
  await writeGgufFile(path, { kvs, tensors: [] });
  return path;
}

const TEXTS = generateOracleTexts(300, 12345);

for (const [name, getPath] of VOCABS) {
  Deno.test(`BPE vocab ${name} gives llama.cpp's ids on 300 generated texts`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      const path = await getPath(dir);
      const expected = await llamaCppIds(path, TEXTS);
      const tokenizer = createTokenizer((await readGgufFile(path)).metadata, { name });
      const failures = TEXTS.flatMap((text, i) => {
        const actual = tokenizer.encode(text, { addSpecial: false });
        return actual.join(" ") === expected[i].join(" ")
          ? []
          : [{ text, expected: expected[i], actual }];
      });
      assert.deepEqual(failures, []);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}
