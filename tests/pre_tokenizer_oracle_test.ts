/**
 * Every `tokenizer.ggml.pre` name zeno accepts, against llama.cpp: one small byte-level
 * vocabulary (the 256 byte tokens and GPT-2's first 2000 merges) is written once per name,
 * llama.cpp tokenizes 300 generated texts under each (`tests/oracle/tokenize_many.mjs`, one
 * process), and zeno must give the same ids. A vocabulary this small loads in milliseconds,
 * and the words still merge across any misplaced word boundary, so a wrong rule or a name
 * mapped to the wrong rule set shows up as different ids.
 *
 * Needs `tests/oracle/node_modules` (`cd tests/oracle && NODE_LLAMA_CPP_SKIP_DOWNLOAD=true
 * npm ci`, which `.ci/run` does).
 *
 * @module
 */

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { readGgufFile } from "../core/gguf/reader.ts";
import { type GgufArray, type GgufKv, GgufValueType } from "../core/gguf/types.ts";
import { writeGgufFile } from "../core/gguf/writer.ts";
import { BYTE_TO_CHAR } from "../core/tokenizer/byte_level.ts";
import { PRE_TOKENIZER_NAMES } from "../core/tokenizer/pre_tokenizer.ts";
import { createTokenizer } from "../core/tokenizer/tokenizer.ts";
import { generateOracleTexts } from "./oracle_texts.ts";
import { testdataPath } from "./testdata.ts";

const ORACLE_DIR = new URL("./oracle/", import.meta.url).pathname;
const MERGE_COUNT = 2000;

/** GPT-2's GGUF with its vocabulary cut to the byte tokens and the first merges. */
async function smallVocabKvs(): Promise<GgufKv[]> {
  const gpt2 = await readGgufFile(testdataPath("vocab/ggml-vocab-gpt-2.gguf"));
  const merges = (gpt2.metadata.get("tokenizer.ggml.merges") as GgufArray).values
    .slice(0, MERGE_COUNT) as string[];
  const tokens = new Set(BYTE_TO_CHAR);
  for (const merge of merges) tokens.add(merge.replace(" ", ""));
  const array = (type: GgufValueType, values: (string | number)[]) => ({
    type: GgufValueType.ARRAY,
    value: { type, values },
  });
  return [
    ...gpt2.kvs.filter((kv) => !kv.key.startsWith("tokenizer.")),
    { key: "tokenizer.ggml.model", type: GgufValueType.STRING, value: "gpt2" },
    { key: "tokenizer.ggml.pre", type: GgufValueType.STRING, value: "default" },
    { key: "tokenizer.ggml.tokens", ...array(GgufValueType.STRING, [...tokens]) },
    { key: "tokenizer.ggml.token_type", ...array(GgufValueType.INT32, [...tokens].map(() => 1)) },
    { key: "tokenizer.ggml.merges", ...array(GgufValueType.STRING, merges) },
  ];
}

/**
 * A raw-text BPE vocabulary in Gemma 4's style: `<0xAB>` byte tokens, "▁" for space, GPT-2's
 * first merges over printable ASCII with "Ġ" read as "▁", newline runs and a few non-ASCII
 * letters as tokens.
 */
async function rawTextVocabKvs(): Promise<GgufKv[]> {
  const gpt2 = await readGgufFile(testdataPath("vocab/ggml-vocab-gpt-2.gguf"));
  const printable = /^[!-~\u2581]+$/;
  const merges = ((gpt2.metadata.get("tokenizer.ggml.merges") as GgufArray).values as string[])
    .slice(0, MERGE_COUNT)
    .map((merge) => merge.replaceAll("Ġ", "\u2581"))
    .filter((merge) => merge.split(" ").every((side) => printable.test(side)));
  const bytes = Array.from(
    { length: 256 },
    (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`,
  );
  const chars = [
    ..."\u2581!\"#$%&'()*+,-./0123456789:;<=>?@[\\]^_`{|}~",
    "é",
    "你",
    "\n",
    "\n\n",
    "\n\n\n",
  ];
  for (let c = 0x41; c <= 0x7a; c++) {
    if (!chars.includes(String.fromCharCode(c))) chars.push(String.fromCharCode(c));
  }
  const tokens = new Set([...bytes, ...chars]);
  for (const merge of merges) tokens.add(merge.replace(" ", ""));
  const types = [...tokens].map((token, id) => id < 256 ? 6 : token === "\u2581\u2581" ? 4 : 1);
  const array = (type: GgufValueType, values: (string | number)[]) => ({
    type: GgufValueType.ARRAY,
    value: { type, values },
  });
  return [
    ...gpt2.kvs.filter((kv) => !kv.key.startsWith("tokenizer.")),
    { key: "tokenizer.ggml.model", type: GgufValueType.STRING, value: "gpt2" },
    { key: "tokenizer.ggml.pre", type: GgufValueType.STRING, value: "gemma4" },
    { key: "tokenizer.ggml.tokens", ...array(GgufValueType.STRING, [...tokens]) },
    { key: "tokenizer.ggml.token_type", ...array(GgufValueType.INT32, types) },
    { key: "tokenizer.ggml.merges", ...array(GgufValueType.STRING, merges) },
  ];
}

function withPre(kvs: readonly GgufKv[], pre: string): GgufKv[] {
  return kvs.map((kv) => kv.key === "tokenizer.ggml.pre" ? { ...kv, value: pre } : kv);
}

/** llama.cpp's ids of every text under each model, by model path. */
async function llamaCppIds(models: string[], texts: string[]) {
  if (!existsSync(join(ORACLE_DIR, "node_modules", "node-llama-cpp"))) {
    throw new Error(
      `Cannot find node-llama-cpp in ${ORACLE_DIR}node_modules: run ` +
        "`cd tests/oracle && NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm ci` first",
    );
  }
  const child = new Deno.Command("node", {
    args: [join(ORACLE_DIR, "tokenize_many.mjs")],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify({ models, texts })));
  await writer.close();
  const output = await child.output();
  if (!output.success) {
    throw new Error(`tokenize_many.mjs failed:\n${new TextDecoder().decode(output.stderr)}`);
  }
  return JSON.parse(new TextDecoder().decode(output.stdout)) as Record<
    string,
    number[][] | { error: string }
  >;
}

Deno.test("every pre-tokenizer gives llama.cpp's ids on 300 generated texts", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    const kvs = await smallVocabKvs();
    const paths = PRE_TOKENIZER_NAMES.map((pre) => join(dir, `${pre}.gguf`));
    for (let i = 0; i < paths.length; i++) {
      await writeGgufFile(paths[i], { kvs: withPre(kvs, PRE_TOKENIZER_NAMES[i]), tensors: [] });
    }
    const texts = generateOracleTexts(300, 777);
    const expected = await llamaCppIds(paths, texts);
    for (let i = 0; i < paths.length; i++) {
      const pre = PRE_TOKENIZER_NAMES[i];
      await t.step(pre, () => {
        const oracle = expected[paths[i]];
        assert.ok(
          Array.isArray(oracle),
          `llama.cpp refused pre "${pre}": ${JSON.stringify(oracle)}`,
        );
        const metadata = new Map(withPre(kvs, pre).map((kv) => [kv.key, kv.value]));
        const tokenizer = createTokenizer(metadata, { name: pre });
        const failures = texts.flatMap((text, j) => {
          const actual = tokenizer.encode(text, { addSpecial: false });
          return actual.join(" ") === oracle[j].join(" ")
            ? []
            : [{ text, expected: oracle[j], actual }];
        });
        assert.deepEqual(failures, []);
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("raw-text BPE (gemma4, sarvam-moe) gives llama.cpp's ids on 300 generated texts", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    const kvs = await rawTextVocabKvs();
    const names = ["gemma4", "granite-embed-multi-311m", "sarvam-moe"];
    const paths = names.map((pre) => join(dir, `${pre}.gguf`));
    for (let i = 0; i < paths.length; i++) {
      await writeGgufFile(paths[i], { kvs: withPre(kvs, names[i]), tensors: [] });
    }
    const texts = generateOracleTexts(300, 4242);
    const expected = await llamaCppIds(paths, texts);
    for (let i = 0; i < paths.length; i++) {
      await t.step(names[i], () => {
        const oracle = expected[paths[i]];
        assert.ok(
          Array.isArray(oracle),
          `llama.cpp refused pre "${names[i]}": ${JSON.stringify(oracle)}`,
        );
        const metadata = new Map(withPre(kvs, names[i]).map((kv) => [kv.key, kv.value]));
        const tokenizer = createTokenizer(metadata, { name: names[i] });
        const failures = texts.flatMap((text, j) => {
          const actual = tokenizer.encode(text, { addSpecial: false });
          return actual.join(" ") === oracle[j].join(" ")
            ? []
            : [{ text, expected: oracle[j], actual }];
        });
        assert.deepEqual(failures, []);
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
