/**
 * Tokenizer conformance: every vocabulary against llama.cpp's expected ids. One table, one
 * row per vocabulary; each row says where its tokenizer comes from and where its expected ids
 * are. Rows read `../shared/testdata/vocab/<name>.inp/.out` pairs (texts separated by a line
 * `__ggml_vocab_test__`, one line of ids per text, encoded with addSpecial=false) or a
 * fixture generated once with llama.cpp itself (see `tests/oracle/`). Each row prints
 * `vocab <name>: <passed>/<total>` and fails listing the texts that differ.
 *
 * To add a vocabulary, add a row: `load` builds the `Tokenizer`, `cases` gives the texts and
 * the ids llama.cpp produces for them.
 *
 * @module
 */

import { deepStrictEqual } from "node:assert";
import { readGgufFile } from "../core/gguf/reader.ts";
import { createTokenizer } from "../core/tokenizer/tokenizer.ts";
import { hfBpeToGgufKvs } from "../core/tokenizer/hf_convert.ts";
import type { Tokenizer } from "../core/tokenizer/types.ts";
import { testdataPath, testModelPath } from "./testdata.ts";

/** One text and the ids llama.cpp gives for it. */
export interface ConformanceCase {
  readonly text: string;
  readonly ids: readonly number[];
  /** Encode with parseSpecial (special-token text becomes its id). Default false. */
  readonly parseSpecial?: boolean;
}

/** One vocabulary of the conformance table. */
export interface ConformanceRow {
  readonly name: string;
  readonly load: () => Promise<Tokenizer>;
  readonly cases: () => Promise<ConformanceCase[]>;
}

/** A tokenizer from a GGUF under `../shared/testdata` (e.g. `vocab/ggml-vocab-gpt-2.gguf`). */
export function tokenizerFromTestdata(relative: string): () => Promise<Tokenizer> {
  return async () => {
    const path = testdataPath(relative);
    const file = await readGgufFile(path);
    return createTokenizer(file.metadata, { name: relative });
  };
}

/** A tokenizer from a cached real model (`deno task zeno pull <alias>`). */
export function tokenizerFromModel(alias: Parameters<typeof testModelPath>[0]) {
  return async (): Promise<Tokenizer> => {
    const file = await readGgufFile(testModelPath(alias));
    return createTokenizer(file.metadata, { name: alias });
  };
}

const SEPARATOR = "\n__ggml_vocab_test__\n";

/**
 * Cases from llama.cpp's `<base>.inp` / `<base>.out` pair, split the way llama.cpp's
 * test-tokenizer-0 splits them.
 */
export function vocabVectors(base: string, parseSpecial = false) {
  return async (): Promise<ConformanceCase[]> => {
    const input = await Deno.readTextFile(testdataPath(`${base}.inp`));
    const lines = (await Deno.readTextFile(testdataPath(`${base}.out`))).split("\n");
    const texts: string[] = [];
    for (let pos = 0; pos < input.length;) {
      const next = input.indexOf(SEPARATOR, pos);
      texts.push(next < 0 ? input.slice(pos) : input.slice(pos, next));
      if (next < 0) break;
      pos = next + SEPARATOR.length;
    }
    return texts.map((text, i) => ({ text, ids: _parseIds(lines[i] ?? ""), parseSpecial }));
  };
}

function _parseIds(line: string): number[] {
  const trimmed = line.trim();
  return trimmed === "" ? [] : trimmed.split(" ").map(Number);
}

/** One text of an oracle fixture: inline, or a prefix of a shared test data file. */
interface OracleCase {
  readonly text?: string;
  readonly testdata?: { readonly path: string; readonly length: number };
  readonly ids: number[];
  readonly idsSpecial: number[];
}

async function _testdataPrefix(source: { path: string; length: number }): Promise<string> {
  return (await Deno.readTextFile(testdataPath(source.path))).slice(0, source.length);
}

/** Cases from a fixture in `tests/fixtures` written by a script in `tests/oracle`. */
export function oracleFixture(file: string) {
  return async (): Promise<ConformanceCase[]> => {
    const url = new URL(`./fixtures/${file}`, import.meta.url);
    const fixture = JSON.parse(await Deno.readTextFile(url)) as { cases: OracleCase[] };
    const cases: ConformanceCase[] = [];
    for (const c of fixture.cases) {
      const text = c.text ?? await _testdataPrefix(c.testdata!);
      cases.push({ text, ids: c.ids }, { text, ids: c.idsSpecial, parseSpecial: true });
    }
    return cases;
  };
}

/**
 * A tokenizer from Hugging Face BPE files under `../shared/testdata/tokenizers/<dir>`,
 * converted in memory the way `zeno convert-vocab` converts them.
 */
export function tokenizerFromHfBpe(dir: string, files: string[], pre: string) {
  return async (): Promise<Tokenizer> => {
    const [vocabFile, mergesFile, configFile] = files.map((f) =>
      testdataPath(`tokenizers/${dir}/${f}`)
    );
    const kvs = hfBpeToGgufKvs({
      vocab: JSON.parse(await Deno.readTextFile(vocabFile)),
      mergesText: await Deno.readTextFile(mergesFile),
      config: configFile ? JSON.parse(await Deno.readTextFile(configFile)) : undefined,
      pre,
    });
    return createTokenizer(new Map(kvs.map((kv) => [kv.key, kv.value])), { name: dir });
  };
}

/** Cases from ollama's `inputs.json` (`[{ base64, ids }]`, ids without BOS). */
export function ollamaInputs(relative: string) {
  return async (): Promise<ConformanceCase[]> => {
    const entries = JSON.parse(await Deno.readTextFile(testdataPath(relative))) as {
      base64: string;
      ids: number[];
    }[];
    const utf8 = new TextDecoder();
    return entries.map(({ base64, ids }) => ({
      text: utf8.decode(Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))),
      ids,
    }));
  };
}

const vocab = (name: string) => `vocab/ggml-vocab-${name}.gguf`;

/** Every vocabulary we check, with where its expectations come from. */
export const CONFORMANCE_TABLE: ConformanceRow[] = [
  {
    name: "llama-spm",
    load: tokenizerFromTestdata(vocab("llama-spm")),
    cases: vocabVectors(vocab("llama-spm")),
  },
  {
    name: "phi-3",
    load: tokenizerFromTestdata(vocab("phi-3")),
    cases: vocabVectors(vocab("phi-3")),
  },
  {
    name: "gpt-2",
    load: tokenizerFromTestdata(vocab("gpt-2")),
    cases: vocabVectors(vocab("gpt-2")),
  },
  {
    name: "deepseek-llm",
    load: tokenizerFromTestdata(vocab("deepseek-llm")),
    cases: vocabVectors(vocab("deepseek-llm")),
  },
  {
    name: "deepseek-coder",
    load: tokenizerFromTestdata(vocab("deepseek-coder")),
    cases: vocabVectors(vocab("deepseek-coder")),
  },
  {
    name: "starcoder",
    load: tokenizerFromTestdata(vocab("starcoder")),
    cases: vocabVectors(vocab("starcoder")),
  },
  {
    name: "falcon",
    load: tokenizerFromTestdata(vocab("falcon")),
    cases: vocabVectors(vocab("falcon")),
  },
  { name: "mpt", load: tokenizerFromTestdata(vocab("mpt")), cases: vocabVectors(vocab("mpt")) },
  {
    name: "refact",
    load: tokenizerFromTestdata(vocab("refact")),
    cases: vocabVectors(vocab("refact")),
  },
  { name: "dbrx", load: tokenizerFromTestdata(vocab("dbrx")), cases: vocabVectors(vocab("dbrx")) },
  {
    // Llama 3.2's encoder.json/vocab.bpe converted by hf_convert.ts (Llama 3 specials added).
    name: "llama-bpe",
    load: tokenizerFromHfBpe("llama3.2", ["encoder.json", "vocab.bpe"], "llama-bpe"),
    cases: vocabVectors(vocab("llama-bpe")),
  },
  {
    name: "llama-bpe (ollama inputs.json)",
    load: tokenizerFromHfBpe("llama3.2", ["encoder.json", "vocab.bpe"], "llama-bpe"),
    cases: ollamaInputs("tokenizers/llama3.2/inputs.json"),
  },
  {
    name: "qwen2",
    load: tokenizerFromHfBpe(
      "qwen2",
      ["vocab.json", "merges.txt", "tokenizer_config.json"],
      "qwen2",
    ),
    cases: vocabVectors(vocab("qwen2")),
  },
  {
    // Qwen2's BPE files under the deepseek-r1-qwen and qwen35 rule sets: both models share
    // Qwen2's byte-level tokens for every text of their vectors, so the ids must match.
    name: "deepseek-r1-qwen (Qwen2 BPE files)",
    load: tokenizerFromHfBpe(
      "qwen2",
      ["vocab.json", "merges.txt", "tokenizer_config.json"],
      "deepseek-r1-qwen",
    ),
    cases: vocabVectors(vocab("deepseek-r1-qwen")),
  },
  {
    name: "qwen35 (Qwen2 BPE files)",
    load: tokenizerFromHfBpe(
      "qwen2",
      ["vocab.json", "merges.txt", "tokenizer_config.json"],
      "qwen35",
    ),
    cases: vocabVectors(vocab("qwen35")),
  },
  {
    // SmolLM2's own vocabulary, from the real model.
    name: "smollm",
    load: tokenizerFromModel("smollm2-135m-instruct"),
    cases: vocabVectors(vocab("smollm")),
  },
  {
    name: "bert-bge",
    load: tokenizerFromTestdata(vocab("bert-bge")),
    cases: vocabVectors(vocab("bert-bge")),
  },
  {
    // Same 32000-piece vocabulary as llama-spm; the expected ids include </s> (parse_special).
    name: "tinyllama",
    load: tokenizerFromTestdata(vocab("llama-spm")),
    cases: vocabVectors(vocab("tinyllama"), true),
  },
  {
    // Ids from llama.cpp itself: tests/oracle/gemma3_tokens.mjs.
    name: "gemma3-270m",
    load: tokenizerFromModel("gemma3-270m"),
    cases: oracleFixture("gemma3-270m.tokens.json"),
  },
];

for (const row of CONFORMANCE_TABLE) {
  Deno.test(`tokenizer conformance: vocab ${row.name} matches llama.cpp`, async () => {
    const [tokenizer, cases] = await Promise.all([row.load(), row.cases()]);
    const failures: { text: string; expected: readonly number[]; actual: number[] }[] = [];
    for (const { text, ids, parseSpecial } of cases) {
      const actual = tokenizer.encode(text, { addSpecial: false, parseSpecial });
      if (actual.join(" ") !== ids.join(" ")) failures.push({ text, expected: ids, actual });
    }
    console.log(`vocab ${row.name}: ${cases.length - failures.length}/${cases.length}`);
    deepStrictEqual(failures, []);
  });
}
