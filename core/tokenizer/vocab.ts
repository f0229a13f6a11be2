/**
 * Builds a {@linkcode Vocab} from GGUF metadata (`tokenizer.ggml.*`), with the defaults
 * llama.cpp applies when a key is absent:
 *
 * | `tokenizer.ggml.model` | BOS / EOS / UNK defaults | add BOS | add EOS | space prefix |
 * |---|---|---|---|---|
 * | `llama` (SentencePiece) | 1 / 2 / 0 | yes | no | yes |
 * | `gpt2` (byte-level BPE) | 11 / 11 / none | only for `pre` llama3 family, tekken, chameleon | no | no |
 * | `bert` (WordPiece) | 101 / none / 100, SEP 102, PAD 0, MASK 103 | yes | no | no |
 * | `t5` (Unigram) | none / 1 / 2, PAD 0 | no | yes | yes |
 *
 * The `add_bos_token`, `add_eos_token` and `add_space_prefix` keys override the defaults. A
 * special id stored as 0xFFFFFFFF (or -1) means "no such token" (stories260K stores its
 * separator and padding ids that way, under llama.cpp's misspelled key
 * `tokenizer.ggml.seperator_token_id`). Without an EOT id, the first token whose text is a
 * known end-of-turn marker (`<|eot_id|>`, `<|im_end|>`, `<end_of_turn>` …) becomes EOT, as
 * llama.cpp does.
 *
 * @module
 */

import { TokenizerError } from "../errors.ts";
import { GgufStringArray } from "../gguf/string_array.ts";
import type { GgufValue } from "../gguf/types.ts";
import { TokenTable } from "./token_table.ts";
import { TokenType, type Vocab } from "./types.ts";

/** Options of {@linkcode vocabFromMetadata}. */
export interface VocabFromMetadataOptions {
  /** Name used in error messages (a file name); defaults to `"metadata"`. */
  readonly name?: string;
}

/** Special ids stored as this u32 (or as -1) mean "no such token". */
export const NO_TOKEN_ID = 0xFFFFFFFF;

/** Metadata keys of the special token ids, by `Vocab` field. */
const SPECIAL_ID_KEYS = {
  bos: ["tokenizer.ggml.bos_token_id"],
  eos: ["tokenizer.ggml.eos_token_id"],
  eot: ["tokenizer.ggml.eot_token_id"],
  eom: ["tokenizer.ggml.eom_token_id"],
  unk: ["tokenizer.ggml.unknown_token_id"],
  // llama.cpp writes and reads the misspelled key; accept the correct spelling as well.
  sep: ["tokenizer.ggml.seperator_token_id", "tokenizer.ggml.separator_token_id"],
  pad: ["tokenizer.ggml.padding_token_id"],
  mask: ["tokenizer.ggml.mask_token_id"],
} as const;

type SpecialField = keyof typeof SPECIAL_ID_KEYS;
type SpecialIds = { -readonly [K in SpecialField]?: number };

interface ModelDefaults {
  readonly ids: SpecialIds;
  readonly addBos: boolean;
  readonly addEos: boolean;
  readonly addSpacePrefix: boolean;
}

const MODEL_DEFAULTS: Record<string, ModelDefaults> = {
  llama: { ids: { bos: 1, eos: 2, unk: 0 }, addBos: true, addEos: false, addSpacePrefix: true },
  gpt2: { ids: { bos: 11, eos: 11 }, addBos: false, addEos: false, addSpacePrefix: false },
  bert: {
    ids: { bos: 101, unk: 100, sep: 102, pad: 0, mask: 103 },
    addBos: true,
    addEos: false,
    addSpacePrefix: false,
  },
  t5: { ids: { eos: 1, unk: 2, pad: 0 }, addBos: false, addEos: true, addSpacePrefix: true },
};

const NO_DEFAULTS: ModelDefaults = { ids: {}, addBos: false, addEos: false, addSpacePrefix: false };

/** BPE pre-tokenizers for which llama.cpp adds BOS when `add_bos_token` is absent. */
const BPE_PRE_WITH_BOS = new Set([
  "llama3",
  "llama-v3",
  "llama-bpe",
  "falcon3",
  "falcon-h1",
  "pixtral",
  "midm-2.0",
  "lfm2",
  "jina-v5-nano",
  "tekken",
  "chameleon",
]);

/** Token texts llama.cpp takes as EOT when the metadata names none, in order of preference. */
export const EOT_TEXTS: readonly string[] = [
  "<|eot_id|>",
  "<|im_end|>",
  "<|end|>",
  "<end_of_turn>",
  "<|endoftext|>",
  "<|end_of_text|>",
  "<EOT>",
  "_<EOT>",
  "[EOT]",
  "<｜end▁of▁sentence｜>",
  "<end_of_utterance>",
];

/**
 * Reads the vocabulary of a model from its GGUF metadata.
 *
 * @param metadata the file's metadata (`GgufFile.metadata`)
 * @param options `name` for error messages
 * @returns the vocabulary with llama.cpp's defaults applied
 * @throws {TokenizerError} naming the key when a key is missing, has the wrong type, an array
 *   length differs from the token count, a token repeats, or a special id is out of range
 *
 * @example A three-token SentencePiece vocabulary
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { vocabFromMetadata } from "./vocab.ts";
 * const strings = (values: string[]) => ({ type: 8, values });
 * const vocab = vocabFromMetadata(new Map<string, unknown>([
 *   ["tokenizer.ggml.model", "llama"],
 *   ["tokenizer.ggml.tokens", strings(["<unk>", "<s>", "</s>"])],
 * ]) as never);
 * strictEqual(vocab.bos, 1);
 * strictEqual(vocab.addBos, true);
 * ```
 */
export function vocabFromMetadata(
  metadata: ReadonlyMap<string, GgufValue>,
  options: VocabFromMetadataOptions = {},
): Vocab {
  const reader = new _MetadataReader(metadata, options.name ?? "metadata");
  const model = reader.string("tokenizer.ggml.model");
  const pre = reader.optionalString("tokenizer.ggml.pre") ?? "default";
  const tokenTable = _readTokens(reader);
  const scores = _readScores(reader, tokenTable.size);
  const types = _readTypes(reader, tokenTable.size);
  const mergeTexts = reader.optionalStringArray("tokenizer.ggml.merges") ?? _NO_STRINGS;
  if (model === "gpt2" && !metadata.has("tokenizer.ggml.merges")) {
    throw reader.error("tokenizer.ggml.merges", "is missing, which a gpt2 (BPE) vocabulary needs");
  }
  const defaults = MODEL_DEFAULTS[model] ?? NO_DEFAULTS;
  const ids = _readSpecialIds(reader, defaults.ids, tokenTable.size);
  if (ids.eot === undefined) ids.eot = _findEotByText(tokenTable);
  if (ids.eom === undefined) ids.eom = tokenTable.idOf("<|eom_id|>");
  const addBosDefault = defaults.addBos || (model === "gpt2" && BPE_PRE_WITH_BOS.has(pre));
  return _withStringViews({
    model,
    pre,
    tokenTable,
    mergeTexts,
    scores,
    types,
    ...ids,
    addBos: reader.optionalBool("tokenizer.ggml.add_bos_token") ?? addBosDefault,
    addEos: reader.optionalBool("tokenizer.ggml.add_eos_token") ?? defaults.addEos,
    addSpacePrefix: reader.optionalBool("tokenizer.ggml.add_space_prefix") ??
      defaults.addSpacePrefix,
    modelName: reader.optionalString("general.name"),
  });
}

/**
 * The compact form of a vocabulary's texts: `vocab.tokenTable` and `vocab.mergeTexts` when it
 * has them (every vocabulary read from metadata does), else built from `tokens` and `merges`
 * (a vocabulary written by hand) once per vocabulary.
 *
 * @param vocab a vocabulary
 * @returns token text ↔ id and the merges as a string array
 */
export function compactVocabTexts(
  vocab: Vocab,
): { readonly tokenTable: TokenTable; readonly mergeTexts: GgufStringArray } {
  if (vocab.tokenTable !== undefined && vocab.mergeTexts !== undefined) {
    return { tokenTable: vocab.tokenTable, mergeTexts: vocab.mergeTexts };
  }
  let built = _builtTexts.get(vocab);
  if (built === undefined) {
    built = {
      tokenTable: vocab.tokenTable ?? new TokenTable(GgufStringArray.fromStrings(vocab.tokens)),
      mergeTexts: vocab.mergeTexts ?? GgufStringArray.fromStrings(vocab.merges),
    };
    _builtTexts.set(vocab, built);
  }
  return built;
}

const _builtTexts = new WeakMap<Vocab, ReturnType<typeof compactVocabTexts>>();
const _NO_STRINGS = GgufStringArray.fromStrings([]);

type _CompactVocab = Omit<Vocab, "tokens" | "merges" | "tokenToId"> & {
  readonly tokenTable: TokenTable;
  readonly mergeTexts: GgufStringArray;
};

// `tokens`, `merges` and `tokenToId` are made on first access (one JS string per entry): the
// tokenizer itself reads `tokenTable` and `mergeTexts` only.
function _withStringViews(compact: _CompactVocab): Vocab {
  let tokenToId: Map<string, number> | undefined;
  return {
    ...compact,
    get tokens(): readonly string[] {
      return compact.tokenTable.texts.values;
    },
    get merges(): readonly string[] {
      return compact.mergeTexts.values;
    },
    get tokenToId(): ReadonlyMap<string, number> {
      tokenToId ??= new Map(compact.tokenTable.texts.values.map((text, id) => [text, id]));
      return tokenToId;
    },
  };
}

function _readTokens(reader: _MetadataReader): TokenTable {
  const key = "tokenizer.ggml.tokens";
  const texts = _renameEmptyTokens(reader.stringArray(key));
  const table = new TokenTable(texts);
  if (table.duplicate !== undefined) {
    const [first, second] = table.duplicate;
    throw reader.error(key, `holds "${texts.at(second)}" twice (ids ${first} and ${second})`);
  }
  return table;
}

// llama.cpp renames empty pieces so that every token text is unique and non-empty.
function _renameEmptyTokens(texts: GgufStringArray): GgufStringArray {
  let hasEmpty = false;
  for (let id = 0; id < texts.length && !hasEmpty; id++) hasEmpty = texts.unitLength(id) === 0;
  if (!hasEmpty) return texts;
  const renamed = Array.from(
    { length: texts.length },
    (_, id) => texts.unitLength(id) === 0 ? `[EMPTY_${id}]` : texts.at(id),
  );
  return GgufStringArray.fromStrings(renamed);
}

function _readScores(reader: _MetadataReader, tokenCount: number): Float32Array {
  const key = "tokenizer.ggml.scores";
  const values = reader.optionalNumberArray(key);
  if (values === undefined) return new Float32Array(0);
  reader.checkLength(key, values.length, tokenCount);
  return Float32Array.from(values);
}

function _readTypes(reader: _MetadataReader, tokenCount: number): Uint8Array {
  const key = "tokenizer.ggml.token_type";
  const values = reader.optionalNumberArray(key);
  if (values === undefined) return new Uint8Array(tokenCount).fill(TokenType.NORMAL);
  reader.checkLength(key, values.length, tokenCount);
  // llama.cpp treats any type it does not know as UNDEFINED.
  return Uint8Array.from(values, (type) => type >= 0 && type <= TokenType.BYTE ? type : 0);
}

function _readSpecialIds(
  reader: _MetadataReader,
  defaults: SpecialIds,
  tokenCount: number,
): SpecialIds {
  const ids: SpecialIds = {};
  for (const field of Object.keys(SPECIAL_ID_KEYS) as SpecialField[]) {
    const fallback = defaults[field];
    ids[field] = fallback !== undefined && fallback < tokenCount ? fallback : undefined;
    for (const key of SPECIAL_ID_KEYS[field]) {
      if (!reader.has(key)) continue;
      ids[field] = reader.tokenId(key, tokenCount);
      break;
    }
  }
  return ids;
}

function _findEotByText(tokenTable: TokenTable): number | undefined {
  for (const text of EOT_TEXTS) {
    const id = tokenTable.idOf(text);
    if (id !== undefined) return id;
  }
  return undefined;
}

/** Typed access to metadata values with errors that name the key. */
class _MetadataReader {
  constructor(readonly metadata: ReadonlyMap<string, GgufValue>, readonly name: string) {}

  has(key: string): boolean {
    return this.metadata.has(key);
  }

  error(key: string, state: string): TokenizerError {
    return new TokenizerError(`Cannot read the vocabulary of "${this.name}": "${key}" ${state}`);
  }

  string(key: string): string {
    const value = this.optionalString(key);
    if (value === undefined) throw this.error(key, "is missing");
    return value;
  }

  optionalString(key: string): string | undefined {
    const value = this.metadata.get(key);
    if (value === undefined) return undefined;
    if (typeof value !== "string") throw this.error(key, `is ${_describe(value)}, not a string`);
    return value;
  }

  optionalBool(key: string): boolean | undefined {
    const value = this.metadata.get(key);
    if (value === undefined) return undefined;
    if (typeof value !== "boolean") throw this.error(key, `is ${_describe(value)}, not a bool`);
    return value;
  }

  stringArray(key: string): GgufStringArray {
    const values = this.optionalStringArray(key);
    if (values === undefined) throw this.error(key, "is missing");
    return values;
  }

  /** The reader's string arrays as they are; arrays built by hand are converted. */
  optionalStringArray(key: string): GgufStringArray | undefined {
    const value = this.metadata.get(key);
    if (value instanceof GgufStringArray) return value;
    const values = this._array(key);
    if (values === undefined) return undefined;
    if (!values.every((value) => typeof value === "string")) {
      throw this.error(key, "is not an array of strings");
    }
    return GgufStringArray.fromStrings(values as string[]);
  }

  optionalNumberArray(key: string): readonly number[] | undefined {
    const values = this._array(key);
    if (values === undefined) return undefined;
    if (!values.every((value) => typeof value === "number")) {
      throw this.error(key, "is not an array of numbers");
    }
    return values as readonly number[];
  }

  checkLength(key: string, length: number, tokenCount: number): void {
    if (length !== tokenCount) {
      throw this.error(key, `has ${length} entries but the vocabulary has ${tokenCount} tokens`);
    }
  }

  tokenId(key: string, tokenCount: number): number | undefined {
    const value = this.metadata.get(key);
    const id = typeof value === "bigint" ? Number(value) : value;
    if (typeof id !== "number" || !Number.isInteger(id)) {
      throw this.error(key, `is ${_describe(value)}, not a token id`);
    }
    if (id === NO_TOKEN_ID || id === -1) return undefined;
    if (id < 0 || id >= tokenCount) {
      throw this.error(key, `is ${id}, outside the vocabulary of ${tokenCount} tokens`);
    }
    return id;
  }

  private _array(key: string): readonly GgufValue[] | undefined {
    const value = this.metadata.get(key);
    if (value === undefined) return undefined;
    if (typeof value !== "object" || value === null || !("values" in value)) {
      throw this.error(key, `is ${_describe(value)}, not an array`);
    }
    return value.values;
  }
}

function _describe(value: unknown): string {
  if (typeof value === "object" && value !== null && "values" in value) return "an array";
  return `${typeof value} ${JSON.stringify(String(value))}`;
}
