/**
 * Byte-level BPE against llama.cpp itself on generated text: 300 seeded random strings built
 * from pieces that stress the pre-tokenizers (every kind of space, contractions, digits of
 * several scripts, letters with combining marks, CJK, emoji sequences, punctuation and
 * symbols, unassigned and private-use code points). llama.cpp's ids come from
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
import { testdataPath, testModelPath } from "./testdata.ts";

const ORACLE_DIR = new URL("./oracle/", import.meta.url).pathname;

const PIECES = [
  " ",
  "  ",
  "   ",
  "\t",
  "\n",
  "\r\n",
  "\n\n",
  " \n",
  "\u00a0",
  "\u3000",
  "\u2009",
  "\u0085",
  "\ufeff",
  "\u200b",
  "\v",
  "\f",
  "\x1c",
  "a",
  "Z",
  "hello",
  "World",
  "I",
  "'s",
  "'S",
  "'t",
  "'re",
  "'VE",
  "'ll",
  "'d",
  "'m",
  "\u2019s",
  "'x",
  "0",
  "7",
  "12",
  "345",
  "6789",
  "١٢٣",
  "１２",
  "²",
  "½",
  "Ⅻ",
  "é",
  "ß",
  "Ωμέγα",
  "Привет",
  "你好",
  "世界",
  "한국어",
  "日本語",
  "ｶﾀｶﾅ",
  "नमस्ते",
  "क़",
  "ไทย",
  "العربية",
  "שלום",
  "ǅ",
  "ꭰ",
  ".",
  ",",
  "!",
  "?",
  "...",
  "--",
  "==",
  "$",
  "+",
  "<",
  "=",
  ">",
  "^",
  "`",
  "|",
  "~",
  "(",
  ")",
  "[",
  "]",
  "{",
  "}",
  "@",
  "#",
  "%",
  "&",
  "*",
  "/",
  "\\",
  "_",
  '"',
  "'",
  ":",
  ";",
  "。",
  "，",
  "、",
  "～",
  "！",
  "‘",
  "“",
  "”",
  "…",
  "—",
  "·",
  "§",
  "©",
  "®",
  "°",
  "€",
  "£",
  "¥",
  "™",
  "🦙",
  "😀",
  "👍🏽",
  "🇫🇷",
  "😶‍🌫️",
  "🚀",
  "✅",
  "\u0301",
  "\u20dd",
  "\u{E000}",
  "\u{0378}",
  "\u{1D400}",
  "\x00",
  "\x7f",
];

/** Seeded texts of 1..25 pieces (a linear congruential generator keeps them reproducible). */
function generateTexts(count: number, seed: number): string[] {
  let state = seed;
  const next = () => (state = (state * 1103515245 + 12345) & 0x7fffffff) / 0x80000000;
  return Array.from({ length: count }, () => {
    const length = 1 + Math.floor(next() * 25);
    return Array.from({ length }, () => PIECES[Math.floor(next() * PIECES.length)]).join("");
  });
}

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

const TEXTS = generateTexts(300, 12345);

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
