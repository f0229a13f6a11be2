/**
 * Hugging Face byte-level BPE files → the `tokenizer.ggml.*` metadata of a vocab-only GGUF,
 * laid out as llama.cpp's `convert_hf_to_gguf.py` lays it out:
 * - `tokens`: one per id 0..max id; an id no file names becomes `[PAD<id>]` (UNUSED);
 * - `token_type`: NORMAL, except added tokens: CONTROL when `special` or when they look
 *   special (`<|…|>`, `<｜…｜>`, `<pad>`, `<mask>`), USER_DEFINED otherwise;
 * - `merges`: the merges file's lines as "left right", without its `#version` header;
 * - `bos`/`eos`/`unknown`/`seperator`/`padding`/`mask` ids from `tokenizer_config.json`'s
 *   `<kind>_token` entries, and `add_bos_token`/`add_eos_token` when the config has them.
 *
 * Llama 3 assumption: the Llama 3 `encoder.json` ollama ships lists only the 128000 BPE
 * tokens. For a llama3-family `pre` with exactly 128000 tokens and no added tokens, the
 * converter appends the 256 special tokens of Llama 3.1/3.2 (`<|begin_of_text|>` = 128000,
 * `<|end_of_text|>` = 128001, `<|finetune_right_pad_id|>` = 128004, `<|start_header_id|>` =
 * 128006, `<|end_header_id|>` = 128007, `<|eom_id|>` = 128008, `<|eot_id|>` = 128009,
 * `<|python_tag|>` = 128010, the rest `<|reserved_special_token_N|>`), all CONTROL, with BOS
 * 128000 and EOS 128001 as in llama.cpp's own `ggml-vocab-llama-bpe.gguf`.
 *
 * @module
 */

import { TokenizerError } from "../errors.ts";
import { type GgufKv, GgufValueType } from "../gguf/types.ts";
import { PRE_TOKENIZER_NAMES } from "./pre_tokenizer.ts";
import { TokenType } from "./types.ts";

/** An added token as `tokenizer_config.json`'s `added_tokens_decoder` lists it. */
export interface HfAddedToken {
  readonly content: string;
  readonly special?: boolean;
}

/** The parts of `tokenizer_config.json` the converter reads. */
export interface HfTokenizerConfig {
  readonly added_tokens_decoder?: Readonly<Record<string, HfAddedToken>>;
  readonly bos_token?: string | HfAddedToken | null;
  readonly eos_token?: string | HfAddedToken | null;
  readonly unk_token?: string | HfAddedToken | null;
  readonly sep_token?: string | HfAddedToken | null;
  readonly pad_token?: string | HfAddedToken | null;
  readonly mask_token?: string | HfAddedToken | null;
  readonly add_bos_token?: boolean;
  readonly add_eos_token?: boolean;
}

/** An added token with its id, as `tokenizer.json`'s `added_tokens` lists it. */
export interface HfAddedTokenWithId extends HfAddedToken {
  readonly id: number;
}

/** Input of {@linkcode hfBpeToGgufKvs}: file contents, already read. */
export interface HfBpeInput {
  /** `encoder.json` / `vocab.json` (or `tokenizer.json`'s `model.vocab`): token text → id. */
  readonly vocab: Readonly<Record<string, number>>;
  /** `vocab.bpe` / `merges.txt` as text; give this or `merges`. */
  readonly mergesText?: string;
  /** Merges as "left right" in rank order (from `tokenizer.json`); give this or `mergesText`. */
  readonly merges?: readonly string[];
  /** `tokenizer.json`'s `added_tokens`; `tokenizer_config.json`'s entries win on the same id. */
  readonly addedTokens?: readonly HfAddedTokenWithId[];
  /** `tokenizer_config.json`, parsed. */
  readonly config?: HfTokenizerConfig;
  /** `config.json`'s `vocab_size`: ids up to it that no file names become `[PAD<id>]`. */
  readonly vocabSize?: number;
  /** `tokenizer.ggml.pre`, e.g. "llama-bpe" or "qwen2". */
  readonly pre: string;
  /** `general.architecture`; default "llama". */
  readonly architecture?: string;
  /** `general.name`; default the `pre` name. */
  readonly name?: string;
}

/** The tokens llama.cpp's converter would write, before they become metadata. */
export interface HfBpeVocab {
  readonly tokens: string[];
  readonly types: TokenType[];
  readonly merges: string[];
  /** Special ids by GGUF key suffix ("bos_token_id" …). */
  readonly specialIds: ReadonlyMap<string, number>;
}

const _LLAMA3_PRE = new Set(["llama3", "llama-v3", "llama-bpe"]);
const _LLAMA3_BPE_TOKEN_COUNT = 128000;

const _SPECIAL_KEYS: readonly [keyof HfTokenizerConfig, string][] = [
  ["bos_token", "bos_token_id"],
  ["eos_token", "eos_token_id"],
  ["unk_token", "unknown_token_id"],
  // llama.cpp's key is misspelled; readers look for this spelling.
  ["sep_token", "seperator_token_id"],
  ["pad_token", "padding_token_id"],
  ["mask_token", "mask_token_id"],
];

/**
 * Builds the token list, types, merges and special ids from Hugging Face BPE files.
 *
 * @param input file contents and the `pre` name
 * @returns what llama.cpp's converter would write
 * @throws {TokenizerError} for an unknown `pre`, a malformed merge line, a negative or
 *   repeated id, or a special token that is not in the vocabulary
 */
export function buildHfBpeVocab(input: HfBpeInput): HfBpeVocab {
  if (!PRE_TOKENIZER_NAMES.includes(input.pre)) {
    throw new TokenizerError(
      `Cannot convert the vocabulary: pre-tokenizer "${input.pre}" is unknown`,
    );
  }
  const byId = new Map<number, { text: string; type: TokenType }>();
  for (const [text, id] of Object.entries(input.vocab)) _place(byId, id, text, TokenType.NORMAL);
  const added: [string | number, HfAddedToken][] = [
    ...(input.addedTokens ?? []).map((token): [number, HfAddedToken] => [token.id, token]),
    ...Object.entries(input.config?.added_tokens_decoder ?? {}),
  ];
  for (const [id, token] of added) {
    const type = token.special || _looksSpecial(token.content)
      ? TokenType.CONTROL
      : TokenType.USER_DEFINED;
    byId.set(Number(id), { text: token.content, type });
  }
  const addLlama3 = _LLAMA3_PRE.has(input.pre) && byId.size === _LLAMA3_BPE_TOKEN_COUNT &&
    added.length === 0;
  if (addLlama3) {
    LLAMA3_SPECIAL_TOKENS.forEach((text, i) =>
      byId.set(_LLAMA3_BPE_TOKEN_COUNT + i, { text, type: TokenType.CONTROL })
    );
  }
  let count = 0;
  for (const id of byId.keys()) count = Math.max(count, id + 1);
  if (input.vocabSize !== undefined) {
    if (count > input.vocabSize) {
      throw new TokenizerError(
        `Cannot convert the vocabulary: it has id ${
          count - 1
        }, beyond vocab_size ${input.vocabSize}`,
      );
    }
    count = input.vocabSize;
  }
  const tokens = Array.from({ length: count }, (_, id) => byId.get(id)?.text ?? `[PAD${id}]`);
  const types = Array.from({ length: count }, (_, id) => byId.get(id)?.type ?? TokenType.UNUSED);
  const specialIds = addLlama3
    ? new Map([["bos_token_id", 128000], ["eos_token_id", 128001]])
    : _specialIds(input.config ?? {}, tokens);
  return { tokens, types, merges: _merges(input), specialIds };
}

function _merges(input: HfBpeInput): string[] {
  if ((input.mergesText === undefined) === (input.merges === undefined)) {
    throw new TypeError("Cannot convert the vocabulary: give exactly one of mergesText and merges");
  }
  return input.merges ? [...input.merges] : parseMerges(input.mergesText!);
}

/** What a Hugging Face `tokenizer.json` holds for a BPE model. */
export interface HfTokenizerJson {
  readonly vocab: Record<string, number>;
  readonly merges: string[];
  readonly addedTokens: HfAddedTokenWithId[];
}

/**
 * Reads the BPE model of a parsed `tokenizer.json`: `model.vocab`, `model.merges` (either
 * "left right" strings or `[left, right]` pairs, the newer form) and `added_tokens`.
 *
 * @param json the parsed file
 * @returns vocabulary, merges and added tokens, ready for {@linkcode hfBpeToGgufKvs}
 * @throws {TokenizerError} when the model is not BPE or a field is missing or malformed
 */
export function readHfTokenizerJson(json: unknown): HfTokenizerJson {
  const file = json as {
    model?: { type?: string; vocab?: Record<string, number>; merges?: unknown[] };
    added_tokens?: HfAddedTokenWithId[];
  };
  const model = file.model;
  if (model?.type !== "BPE" || typeof model.vocab !== "object" || !Array.isArray(model.merges)) {
    throw new TokenizerError(
      `Cannot read tokenizer.json: model.type is "${model?.type}" and needs to be "BPE" ` +
        "with model.vocab and model.merges",
    );
  }
  const merges = model.merges.map((merge, rank) => {
    if (typeof merge === "string") return merge;
    if (Array.isArray(merge) && merge.length === 2) return `${merge[0]} ${merge[1]}`;
    throw new TokenizerError(
      `Cannot read tokenizer.json: merge ${rank} is ${JSON.stringify(merge)}`,
    );
  });
  return { vocab: model.vocab, merges, addedTokens: file.added_tokens ?? [] };
}

function _place(
  byId: Map<number, { text: string; type: TokenType }>,
  id: number,
  text: string,
  type: TokenType,
): void {
  if (!Number.isInteger(id) || id < 0) {
    throw new TokenizerError(`Cannot convert the vocabulary: token "${text}" has id ${id}`);
  }
  const other = byId.get(id);
  if (other !== undefined) {
    throw new TokenizerError(
      `Cannot convert the vocabulary: tokens "${other.text}" and "${text}" share id ${id}`,
    );
  }
  byId.set(id, { text, type });
}

function _looksSpecial(text: string): boolean {
  return text === "<pad>" || text === "<mask>" ||
    (text.startsWith("<|") && text.endsWith("|>")) ||
    (text.startsWith("<\uff5c") && text.endsWith("\uff5c>"));
}

function _specialIds(config: HfTokenizerConfig, tokens: readonly string[]): Map<string, number> {
  const ids = new Map<string, number>();
  for (const [field, key] of _SPECIAL_KEYS) {
    const entry = config[field] as string | HfAddedToken | null | undefined;
    if (entry === undefined || entry === null) continue;
    const text = typeof entry === "string" ? entry : entry.content;
    const id = tokens.lastIndexOf(text);
    if (id < 0) {
      throw new TokenizerError(
        `Cannot convert the vocabulary: ${field} "${text}" is not one of its tokens`,
      );
    }
    ids.set(key, id);
  }
  return ids;
}

/**
 * Parses a merges file (`vocab.bpe`, `merges.txt`): one "left right" pair a line, an optional
 * `#version` first line, blank lines ignored.
 *
 * @param text the file's text
 * @returns the merges in rank order, each as "left right"
 * @throws {TokenizerError} naming the line when a line does not hold exactly two parts
 */
export function parseMerges(text: string): string[] {
  const lines = text.split("\n");
  const merges: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "" || (i === 0 && line.startsWith("#"))) continue;
    const parts = line.split(/[ \t]+/);
    if (parts.length !== 2) {
      throw new TokenizerError(
        `Cannot parse merge line ${i + 1} "${line}": it has ${parts.length} parts, not 2`,
      );
    }
    merges.push(`${parts[0]} ${parts[1]}`);
  }
  return merges;
}

/**
 * The GGUF metadata of a vocab-only file for Hugging Face BPE files.
 *
 * @param input file contents, `pre`, and optional architecture and name
 * @returns metadata entries in llama.cpp's order, ready for `writeGguf`
 * @throws {TokenizerError} as {@linkcode buildHfBpeVocab}
 *
 * @example Three tokens and one merge
 * ```ts
 * import { hfBpeToGgufKvs } from "./hf_convert.ts";
 * const kvs = hfBpeToGgufKvs({
 *   vocab: { "a": 0, "b": 1, "ab": 2 },
 *   mergesText: "#version: 0.2\na b\n",
 *   pre: "gpt-2",
 * });
 * const merges = kvs.find((kv) => kv.key === "tokenizer.ggml.merges")!.value;
 * if (JSON.stringify(merges) !== '{"type":8,"values":["a b"]}') throw new Error("merges");
 * ```
 */
export function hfBpeToGgufKvs(input: HfBpeInput): GgufKv[] {
  const vocab = buildHfBpeVocab(input);
  const kvs: GgufKv[] = [
    _string("general.architecture", input.architecture ?? "llama"),
    _string("general.name", input.name ?? input.pre),
    _string("tokenizer.ggml.model", "gpt2"),
    _string("tokenizer.ggml.pre", input.pre),
    _array("tokenizer.ggml.tokens", GgufValueType.STRING, vocab.tokens),
    _array("tokenizer.ggml.token_type", GgufValueType.INT32, vocab.types),
    _array("tokenizer.ggml.merges", GgufValueType.STRING, vocab.merges),
  ];
  for (const [key, id] of vocab.specialIds) {
    kvs.push({ key: `tokenizer.ggml.${key}`, type: GgufValueType.UINT32, value: id });
  }
  for (const field of ["add_bos_token", "add_eos_token"] as const) {
    const value = input.config?.[field];
    if (typeof value === "boolean") {
      kvs.push({ key: `tokenizer.ggml.${field}`, type: GgufValueType.BOOL, value });
    }
  }
  return kvs;
}

function _string(key: string, value: string): GgufKv {
  return { key, type: GgufValueType.STRING, value };
}

function _array(key: string, type: GgufValueType, values: readonly (string | number)[]): GgufKv {
  return { key, type: GgufValueType.ARRAY, value: { type, values } };
}

/** Llama 3.1/3.2's 256 special tokens, ids 128000..128255 (see the module doc). */
export const LLAMA3_SPECIAL_TOKENS: readonly string[] = _llama3SpecialTokens();

function _llama3SpecialTokens(): string[] {
  const named: Record<number, string> = {
    0: "<|begin_of_text|>",
    1: "<|end_of_text|>",
    4: "<|finetune_right_pad_id|>",
    6: "<|start_header_id|>",
    7: "<|end_header_id|>",
    8: "<|eom_id|>",
    9: "<|eot_id|>",
    10: "<|python_tag|>",
  };
  let reserved = 0;
  return Array.from(
    { length: 256 },
    (_, i) => named[i] ?? `<|reserved_special_token_${reserved++}|>`,
  );
}
