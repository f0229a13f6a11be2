/**
 * WordPiece (`tokenizer.ggml.model = "bert"`: BERT, BGE embedding models), the way llama.cpp
 * runs it. The text is normalized and cut into words (whitespace separates words; each
 * punctuation mark, ASCII symbol and CJK ideograph is a word of its own; control characters
 * vanish), each word gets the "▁" word-start marker that llama.cpp's converter puts on
 * word-initial pieces, and is then covered greedily by the longest pieces from left to right.
 * A word that cannot be covered entirely becomes UNK.
 *
 * Normalization follows llama.cpp's BERT defaults (lowercase and strip accents): each code
 * point is replaced by the first code point of its NFD decomposition ("é" → "e"), combining
 * marks are dropped, and letters are lowercased one code point at a time.
 *
 * @module
 */

import { TokenizerError } from "../errors.ts";
import { SPM_SPACE } from "./spm.ts";
import type { TokenTable } from "./token_table.ts";
import type { TokenizerModel, Vocab } from "./types.ts";
import { compactVocabTexts } from "./vocab.ts";

const ENCODER = new TextEncoder();
const WHITESPACE = /^\p{White_Space}$/u;
const CONTROL = /^\p{C}$/u;
const MARK = /^\p{M}$/u;
const PUNCTUATION = /^\p{P}$/u;
const SYMBOL = /^\p{S}$/u;

/**
 * Creates the WordPiece algorithm over a vocabulary.
 *
 * @param vocab a vocabulary whose word-initial pieces start with "▁"
 * @returns the model the `Tokenizer` facade hands plain-text fragments to
 *
 * @example Longest pieces first, punctuation split off
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { createWpmModel } from "./wpm.ts";
 * const tokens = ["[UNK]", "▁hello", "▁hell", "o", "▁!", "▁world"];
 * const model = createWpmModel({
 *   model: "bert", pre: "default", tokens, merges: [],
 *   scores: new Float32Array(), types: new Uint8Array(tokens.length).fill(1),
 *   tokenToId: new Map(tokens.map((t, i) => [t, i])),
 *   unk: 0, addBos: true, addEos: false, addSpacePrefix: false,
 * });
 * deepStrictEqual(model.encodeFragment("Héllo World!", true), [1, 5, 4]);
 * ```
 */
export function createWpmModel(vocab: Vocab): TokenizerModel {
  const tokens = compactVocabTexts(vocab).tokenTable;
  const maxTokenLength = _maxUnitLength(tokens);
  const unk = vocab.unk;
  return {
    encodeFragment(text: string): number[] {
      const output: number[] = [];
      for (const word of _splitWords(text)) {
        const ids = _coverWord(SPM_SPACE + word, tokens, maxTokenLength);
        if (ids !== undefined) {
          for (const id of ids) output.push(id);
        } else if (unk !== undefined) {
          output.push(unk);
        } else {
          throw new TokenizerError(
            `Cannot tokenize "${word}": no pieces cover it and the vocabulary has no UNK token`,
          );
        }
      }
      return output;
    },
    tokenBytes(id: number): Uint8Array {
      if (!(Number.isInteger(id) && id >= 0 && id < tokens.size)) {
        throw new RangeError(`Cannot decode token ${id}: it is not in the vocabulary`);
      }
      return ENCODER.encode(tokens.text(id).replaceAll(SPM_SPACE, " "));
    },
  };
}

/** Greedy longest-match cover of a word, or undefined when some position has no piece. */
function _coverWord(
  word: string,
  tokens: TokenTable,
  maxTokenLength: number,
): number[] | undefined {
  const ids: number[] = [];
  for (let start = 0; start < word.length;) {
    let end = Math.min(word.length, start + maxTokenLength);
    let id = -1;
    for (; end > start; end--) {
      id = tokens.idOfRange(word, start, end);
      if (id >= 0) break;
    }
    if (id < 0) return undefined;
    ids.push(id);
    start = end;
  }
  return ids;
}

function _maxUnitLength(tokens: TokenTable): number {
  let max = 0;
  for (let id = 0; id < tokens.size; id++) max = Math.max(max, tokens.texts.unitLength(id));
  return max;
}

/** Normalized words of a text, as llama.cpp's WordPiece pre-processing cuts them. */
function _splitWords(text: string): string[] {
  const words: string[] = [];
  let current = "";
  for (const char of text) {
    if (WHITESPACE.test(char)) {
      if (current) words.push(current);
      current = "";
      continue;
    }
    const base = _firstCodePoint(char.normalize("NFD"));
    const cp = base.codePointAt(0)!;
    if (cp === 0 || cp === 0xFFFD || CONTROL.test(base) || MARK.test(base)) continue;
    const lower = _lowercase(base);
    if (PUNCTUATION.test(base) || (cp < 0x7F && SYMBOL.test(base)) || _isChineseChar(cp)) {
      if (current) words.push(current);
      words.push(lower);
      current = "";
    } else {
      current += lower;
    }
  }
  if (current) words.push(current);
  return words;
}

function _firstCodePoint(text: string): string {
  return String.fromCodePoint(text.codePointAt(0)!);
}

/** One code point to one code point, as llama.cpp's lowercase table maps them. */
function _lowercase(char: string): string {
  const lower = char.toLowerCase();
  return [...lower].length === 1 ? lower : char;
}

function _isChineseChar(cp: number): boolean {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
    (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
    (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) || // as HF has it
    (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}
