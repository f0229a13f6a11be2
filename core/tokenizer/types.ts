/**
 * Tokenizer contracts shared by the SentencePiece (`llama`) and byte-level BPE (`gpt2`)
 * implementations. A vocabulary comes from GGUF metadata (`tokenizer.ggml.*`).
 *
 * @module
 */

import type { GgufStringArray } from "../gguf/string_array.ts";
import type { TokenTable } from "./token_table.ts";

/** llama.cpp token attributes from `tokenizer.ggml.token_type`. */
export enum TokenType {
  UNDEFINED = 0,
  NORMAL = 1,
  UNKNOWN = 2,
  CONTROL = 3,
  USER_DEFINED = 4,
  UNUSED = 5,
  BYTE = 6,
}

/** The vocabulary as stored in GGUF, shared by every tokenizer model. */
export interface Vocab {
  /** `tokenizer.ggml.model`: "llama" (SentencePiece), "gpt2" (byte-level BPE), … */
  readonly model: string;
  /** `tokenizer.ggml.pre`: the pre-tokenizer rule set for BPE ("default" when absent). */
  readonly pre: string;
  /**
   * Token text by id. A vocabulary from `vocabFromMetadata` makes these strings on first
   * access (one per token); the tokenizer reads `tokenTable` instead.
   */
  readonly tokens: readonly string[];
  /** Piece scores (SentencePiece); empty when absent. */
  readonly scores: Float32Array;
  /** Token type by id (`TokenType`). */
  readonly types: Uint8Array;
  /** BPE merges as "left right" strings, rank = index; empty for SentencePiece. Made on first access, as `tokens`. */
  readonly merges: readonly string[];
  /** Id by token text (made on first access, as `tokens`). */
  readonly tokenToId: ReadonlyMap<string, number>;
  /**
   * `tokens` with their ids, without one JS string per token. Set by `vocabFromMetadata`; a
   * vocabulary written by hand may leave it out (the tokenizer then builds it from `tokens`).
   */
  readonly tokenTable?: TokenTable;
  /** `merges` as one string array; optional as `tokenTable` is. */
  readonly mergeTexts?: GgufStringArray;
  /** Beginning-of-sequence id. */
  readonly bos?: number;
  /** End-of-sequence id. */
  readonly eos?: number;
  /** End-of-turn id. */
  readonly eot?: number;
  /** Unknown-token id. */
  readonly unk?: number;
  /** Padding id. */
  readonly pad?: number;
  /** End of message (`<|eom_id|>`), when the metadata names one. */
  readonly eom?: number;
  /** Separator (`tokenizer.ggml.seperator_token_id`, llama.cpp's spelling). */
  readonly sep?: number;
  /** Mask id. */
  readonly mask?: number;
  /** Whether encoding with special tokens prepends BOS. */
  readonly addBos: boolean;
  /** Whether encoding with special tokens appends EOS. */
  readonly addEos: boolean;
  /** SentencePiece: prepend "▁" to the first fragment (`tokenizer.ggml.add_space_prefix`). */
  readonly addSpacePrefix: boolean;
  /** `general.name`: llama.cpp keys a few per-model token quirks on it (Phi-3). */
  readonly modelName?: string;
}

/** Options of `Tokenizer.encode`. */
export interface EncodeOptions {
  /** Add BOS/EOS as the vocabulary asks (`add_bos_token`/`add_eos_token`). Default true. */
  addSpecial?: boolean;
  /** Turn special-token text such as "<|im_start|>" into its id. Default false. */
  parseSpecial?: boolean;
}

/** Options of `Tokenizer.decode`. */
export interface DecodeOptions {
  /** Drop control tokens (BOS, EOS, …) from the text. Default false. */
  skipSpecial?: boolean;
}

/** Turns ids into text incrementally, never emitting half a UTF-8 sequence. */
export interface StreamDecoder {
  /** Add one id; returns the text that is now complete (may be ""). */
  push(id: number): string;
  /** Returns what is left (incomplete bytes become U+FFFD). */
  flush(): string;
}

/** Text ↔ token ids for one vocabulary. */
export interface Tokenizer {
  /** The vocabulary. */
  readonly vocab: Vocab;
  /** Number of tokens. */
  readonly vocabSize: number;
  /** Text to token ids. */
  encode(text: string, options?: EncodeOptions): number[];
  /** Token ids to text. */
  decode(ids: readonly number[], options?: DecodeOptions): string;
  /** The bytes one token stands for, after byte-level / ▁ decoding. */
  tokenBytes(id: number): Uint8Array;
  /** True for end-of-generation tokens (EOS, EOT, <|im_end|>, <end_of_turn> …). */
  isEog(id: number): boolean;
  /** A decoder fed one id at a time that never splits a UTF-8 sequence. */
  createStreamDecoder(options?: DecodeOptions): StreamDecoder;
}

/**
 * One tokenizer algorithm (SentencePiece, byte-level BPE …) over a vocabulary. The shared
 * `Tokenizer` facade splits special tokens out first and hands each plain-text fragment here.
 */
export interface TokenizerModel {
  /**
   * Token ids of one plain-text fragment (no special tokens inside).
   * @param text the fragment
   * @param isFirst true when the fragment starts the input or follows a special token
   *   (SentencePiece adds its space prefix only there, as llama.cpp does)
   */
  encodeFragment(text: string, isFirst: boolean): number[];
  /** The bytes one token stands for (byte-level BPE and "▁"/<0xAB> pieces decoded). */
  tokenBytes(id: number): Uint8Array;
}
