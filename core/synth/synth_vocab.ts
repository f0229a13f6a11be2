/**
 * Real tokenizer vocabularies for synthetic models, converted from the Hugging Face files in
 * `../shared/testdata/tokenizers` by `hf_convert.ts`:
 * - `llama3`: Llama 3.2's BPE (128000 tokens + 256 specials);
 * - `qwen2`: Qwen2's BPE and its added tokens, padded with `[PAD<id>]` (UNUSED) tokens up to
 *   the embedding's rows, as llama.cpp's converter pads from `config.json`'s `vocab_size`;
 * - `llama3-tiny`: Llama 3's first 1024 tokens (the 256 bytes and the first merges), the merges
 *   among them, and the 256 specials renumbered from 1024 — a real BPE in a 1280-token vocab.
 *
 * @module
 */

import { join } from "node:path";
import { ModelError } from "../errors.ts";
import { type GgufArray, type GgufKv, GgufValueType } from "../gguf/types.ts";
import {
  hfBpeToGgufKvs,
  type HfTokenizerConfig,
  LLAMA3_SPECIAL_TOKENS,
  parseMerges,
} from "../tokenizer/hf_convert.ts";
import { TokenType } from "../tokenizer/types.ts";
import type { SynthVocab } from "./synth_specs.ts";
import { sharedTestdataDir } from "../shared_testdata.ts";

/** Where the Hugging Face tokenizer files live: `tokenizers/` of the shared test data. */
export function defaultTokenizerDir(): string {
  return join(sharedTestdataDir(), "tokenizers");
}

const TINY_BPE_TOKENS = 1024;

/**
 * The `tokenizer.ggml.*` metadata of a synthetic model's vocabulary.
 *
 * @param vocab which vocabulary
 * @param nVocab rows of the embedding; the token list is padded to it
 * @param tokenizerDir the folder holding `llama3.2/` and `qwen2/`
 * @returns metadata entries (no `general.*` keys)
 * @throws ModelError naming the file when a tokenizer file is missing
 */
export async function synthVocabKvs(
  vocab: SynthVocab,
  nVocab: number,
  tokenizerDir = defaultTokenizerDir(),
): Promise<GgufKv[]> {
  const kvs = vocab === "qwen2"
    ? await _qwen2(tokenizerDir)
    : await _llama3(tokenizerDir, vocab === "llama3-tiny");
  const tokenizerOnly = kvs.filter((kv) => kv.key.startsWith("tokenizer."));
  return _padded(tokenizerOnly, nVocab);
}

async function _llama3(dir: string, tiny: boolean): Promise<GgufKv[]> {
  const encoder = await _readJson(join(dir, "llama3.2", "encoder.json")) as Record<string, number>;
  const mergesText = await _readText(join(dir, "llama3.2", "vocab.bpe"));
  if (!tiny) {
    const kvs = hfBpeToGgufKvs({ vocab: encoder, mergesText, pre: "llama-bpe" });
    return [...kvs, _bool("tokenizer.ggml.add_bos_token", true)];
  }
  const kept = Object.fromEntries(Object.entries(encoder).filter(([, id]) => id < TINY_BPE_TOKENS));
  const merges = parseMerges(mergesText).filter((merge) => {
    const [left, right] = merge.split(" ");
    return left in kept && right in kept && (left + right) in kept;
  });
  const added = Object.fromEntries(
    LLAMA3_SPECIAL_TOKENS.map((
      content,
      i,
    ) => [String(TINY_BPE_TOKENS + i), { content, special: true }]),
  );
  const kvs = hfBpeToGgufKvs({
    vocab: kept,
    mergesText: merges.join("\n"),
    pre: "llama-bpe",
    config: {
      added_tokens_decoder: added,
      bos_token: "<|begin_of_text|>",
      eos_token: "<|end_of_text|>",
    },
  });
  return [...kvs, _bool("tokenizer.ggml.add_bos_token", true)];
}

async function _qwen2(dir: string): Promise<GgufKv[]> {
  const kvs = hfBpeToGgufKvs({
    vocab: await _readJson(join(dir, "qwen2", "vocab.json")) as Record<string, number>,
    mergesText: await _readText(join(dir, "qwen2", "merges.txt")),
    config: await _readJson(join(dir, "qwen2", "tokenizer_config.json")) as HfTokenizerConfig,
    pre: "qwen2",
    architecture: "qwen2",
  });
  const hasAddBos = kvs.some((kv) => kv.key === "tokenizer.ggml.add_bos_token");
  return hasAddBos ? kvs : [...kvs, _bool("tokenizer.ggml.add_bos_token", false)];
}

/** Pads `tokens` and `token_type` with unused `[PAD<id>]` entries up to `nVocab`. */
function _padded(kvs: GgufKv[], nVocab: number): GgufKv[] {
  return kvs.map((kv) => {
    if (kv.key !== "tokenizer.ggml.tokens" && kv.key !== "tokenizer.ggml.token_type") return kv;
    const array = kv.value as GgufArray;
    if (array.values.length > nVocab) {
      throw new ModelError(
        `Cannot make a synthetic vocabulary: it has ${array.values.length} tokens, more than ${nVocab} rows`,
      );
    }
    const values = [...array.values];
    for (let id = values.length; id < nVocab; id++) {
      values.push(kv.key === "tokenizer.ggml.tokens" ? `[PAD${id}]` : TokenType.UNUSED);
    }
    return { ...kv, value: { type: array.type, values } };
  });
}

function _bool(key: string, value: boolean): GgufKv {
  return { key, type: GgufValueType.BOOL, value };
}

async function _readText(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    throw new ModelError(`Cannot read tokenizer file "${path}": it does not exist`, {
      cause: error,
    });
  }
}

async function _readJson(path: string): Promise<unknown> {
  return JSON.parse(await _readText(path));
}
