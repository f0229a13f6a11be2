/**
 * Byte-level BPE (`tokenizer.ggml.model = gpt2`), as llama.cpp runs it:
 * 1. the pre-tokenizer named by `tokenizer.ggml.pre` cuts the text into words;
 * 2. each word's UTF-8 bytes start as one symbol per byte (in the byte-level alphabet);
 * 3. the adjacent pair with the lowest merge rank is merged, the leftmost first on a tie,
 *    until no pair has a rank;
 * 4. each symbol becomes its token id; a symbol that is not a token (possible only with
 *    merges that produce non-tokens) falls back to the ids of its single ASCII bytes.
 * With `ignoreMerges` (llama3, tekken …) a word that is itself a token skips step 3.
 *
 * Raw-text BPE (`pre` gemma4, sarvam-moe: SentencePiece-style vocabularies with merges)
 * differs in three places, as in llama.cpp: spaces become "▁" first, symbols start as code
 * points rather than bytes, and the fallback is the `<0xAB>` byte tokens.
 *
 * Symbols are ids, not strings: a merge table maps the pair (left id, right id) to its rank,
 * and the rank to the merged id. It is built from the merges' UTF-16 units without making a
 * string per merge. Texts that merges mention but the vocabulary lacks get "virtual" ids
 * above the vocabulary. Words repeat a lot in text, so their ids are cached.
 *
 * @module
 */

import { TokenizerError } from "../errors.ts";
import type { GgufStringArray } from "../gguf/string_array.ts";
import { BYTE_TO_CHAR, byteLevelDecode, byteLevelEncode } from "./byte_level.ts";
import { createPreTokenizer, type PreTokenizer } from "./pre_tokenizer.ts";
import type { TokenTable } from "./token_table.ts";
import { type TokenizerModel, TokenType, type Vocab } from "./types.ts";
import { compactVocabTexts } from "./vocab.ts";
import { WordCache } from "./word_cache.ts";

/** Options of {@linkcode createBpeModel}. */
export interface BpeModelOptions {
  /** Pre-tokenizer name; defaults to `vocab.pre`. */
  pre?: string;
  /** Most words whose ids are cached; the cache is emptied when full. Default 65536, 0 = off. */
  cacheWordCount?: number;
}

/** A byte-level BPE model with its pre-tokenizer. */
export interface BpeModel extends TokenizerModel {
  readonly preTokenizer: PreTokenizer;
  /** Token ids of one word after pre-tokenization (no cache). */
  encodeWord(word: string): number[];
}

/**
 * Builds the byte-level BPE model of a `gpt2` vocabulary.
 *
 * @param vocab the vocabulary (`merges` as "left right" strings, rank = index)
 * @param options pre-tokenizer override and cache size
 * @returns the model; `encodeFragment` ignores `isFirst` (BPE adds no space prefix)
 * @throws {TokenizerError} when the pre-tokenizer is unknown or a merge has no space
 *
 * @example Merge "h e l l o" with a four-merge vocabulary
 * ```ts
 * import { createBpeModel } from "./bpe.ts";
 * const tokens = ["h", "e", "l", "o", "he", "ll", "llo", "hello", "Ġ", "Ġhello"];
 * const vocab = {
 *   model: "gpt2", pre: "gpt-2", tokens, scores: new Float32Array(),
 *   types: new Uint8Array(tokens.length).fill(1),
 *   merges: ["h e", "l l", "ll o", "he llo", "Ġ hello"],
 *   tokenToId: new Map(tokens.map((t, i) => [t, i])),
 *   addBos: false, addEos: false, addSpacePrefix: false,
 * };
 * const ids = createBpeModel(vocab).encodeFragment("hello hello", true);
 * if (ids.join() !== "7,9") throw new Error(ids.join());
 * ```
 */
export function createBpeModel(vocab: Vocab, options: BpeModelOptions = {}): BpeModel {
  const preTokenizer = createPreTokenizer(options.pre ?? vocab.pre);
  const { tokenTable: tokens, mergeTexts } = compactVocabTexts(vocab);
  const merges = new _MergeTable(tokens, mergeTexts);
  const encodeWord = (word: string) => _encodeWord(word, merges, preTokenizer);
  const cacheLimit = options.cacheWordCount ?? 65536;
  const cache = cacheLimit > 0 ? new WordCache(cacheLimit) : undefined;
  const pieces: (Uint8Array | undefined)[] = new Array(tokens.size);
  return {
    preTokenizer,
    encodeWord,
    encodeFragment(fragment: string): number[] {
      // SentencePiece-style BPE (gemma4) sees spaces as "▁" before anything else.
      const text = preTokenizer.escapeWhitespace ? fragment.replaceAll(" ", "\u2581") : fragment;
      const bounds = preTokenizer.splitRanges(text);
      const ids: number[] = [];
      for (let i = 0; i < bounds.length; i += 2) {
        const start = bounds[i];
        const end = bounds[i + 1];
        if (cache?.appendIds(text, start, end, ids)) continue;
        const wordIds = encodeWord(text.slice(start, end));
        for (let j = 0; j < wordIds.length; j++) ids.push(wordIds[j]);
        cache?.add(text, start, end, wordIds);
      }
      return ids;
    },
    tokenBytes(id: number): Uint8Array {
      if (!(id >= 0 && id < tokens.size)) {
        throw new RangeError(`Cannot decode token ${id}: the vocabulary has ${tokens.size}`);
      }
      pieces[id] ??= _tokenBytes(tokens.text(id), vocab.types[id], preTokenizer.escapeWhitespace);
      return pieces[id];
    },
  };
}

/**
 * Merge ranks over symbol ids; symbol ids ≥ the vocabulary size are "virtual" (texts that
 * merges mention or produce but the vocabulary lacks). Built in one pass over the merges'
 * code units: each side is looked up in the token table as a range, so no string is made
 * unless a side is not a token. Merged ids are resolved on first use and cached.
 */
class _MergeTable {
  /** symbol id of each byte's alphabet character: `[256]` */
  readonly byteSymbols: Int32Array;
  readonly tokens: TokenTable;
  /** (left id, right id) → rank; the first of repeated merges wins, as in llama.cpp */
  readonly #rankByPair: _PairTable;
  /** rank → merged symbol id, -1 until first used */
  readonly #mergedByRank: Int32Array;
  readonly #virtualIds = new Map<string, number>();
  readonly #virtualTexts: string[] = [];

  constructor(tokens: TokenTable, merges: GgufStringArray) {
    this.tokens = tokens;
    this.#rankByPair = new _PairTable(merges.length);
    for (let rank = 0; rank < merges.length; rank++) this.#addMerge(merges, rank);
    this.#mergedByRank = new Int32Array(merges.length).fill(-1);
    this.byteSymbols = Int32Array.from(BYTE_TO_CHAR, (char) => this.symbolId(char));
  }

  /** The rank of merging two adjacent symbols, or -1. */
  pairRank(left: number, right: number): number {
    const rank = this.#rankByPair.get(left, right);
    return rank === _PairTable.ABSENT ? -1 : rank;
  }

  /** The symbol a merge of rank `rank` produces from `left` and `right`. */
  merged(rank: number, left: number, right: number): number {
    let id = this.#mergedByRank[rank];
    if (id < 0) id = this.#mergedByRank[rank] = this.symbolId(this.text(left) + this.text(right));
    return id;
  }

  /** The text of a symbol. */
  text(id: number): string {
    const vocabSize = this.tokens.size;
    return id < vocabSize ? this.tokens.text(id) : this.#virtualTexts[id - vocabSize];
  }

  /** The symbol id of a text: its token id, else a virtual id made on first use. */
  symbolId(text: string): number {
    const id = this.tokens.idOf(text) ?? this.#virtualIds.get(text);
    if (id !== undefined) return id;
    const virtualId = this.tokens.size + this.#virtualTexts.length;
    this.#virtualIds.set(text, virtualId);
    this.#virtualTexts.push(text);
    return virtualId;
  }

  // A merge is "left right", split at its first space after the first code unit, as
  // llama.cpp splits it: the left side may be or start with a space, the right may hold one.
  #addMerge(merges: GgufStringArray, rank: number): void {
    const { units, offsets } = merges;
    const start = offsets[rank];
    const end = offsets[rank + 1];
    let space = start + 1;
    while (space < end && units[space] !== 0x20) space++;
    if (space >= end) {
      throw new TokenizerError(
        `Cannot load merge ${rank} "${merges.at(rank)}": it has no space between its two parts`,
      );
    }
    const left = this.#symbolIdOfUnits(units, start, space);
    const right = this.#symbolIdOfUnits(units, space + 1, end);
    if (this.#rankByPair.get(left, right) === _PairTable.ABSENT) {
      this.#rankByPair.set(left, right, rank);
    }
  }

  #symbolIdOfUnits(units: Uint16Array, start: number, end: number): number {
    const id = this.tokens.idOfUnits(units, start, end);
    if (id >= 0) return id;
    return this.symbolId(String.fromCharCode.apply(null, units.subarray(start, end) as never));
  }
}

/**
 * (left, right) → value over typed arrays: open addressing with linear probing, at most half
 * full. Numeric Map keys above 2^31 are heap numbers, which made pair lookups the slowest
 * part of encoding a new word.
 */
class _PairTable {
  /** What `get` returns for a pair never set. */
  static readonly ABSENT = -2;
  #lefts: Int32Array;
  #rights: Int32Array;
  #values: Int32Array;
  #count = 0;

  /** A table sized for `expectedCount` pairs (it grows past them). */
  constructor(expectedCount: number) {
    let capacity = 1 << 12;
    while (capacity < expectedCount * 2) capacity *= 2;
    this.#lefts = new Int32Array(capacity).fill(-1);
    this.#rights = new Int32Array(capacity);
    this.#values = new Int32Array(capacity);
  }

  get(left: number, right: number): number {
    const mask = this.#lefts.length - 1;
    for (let slot = _pairHash(left, right) & mask;; slot = (slot + 1) & mask) {
      const stored = this.#lefts[slot];
      if (stored === -1) return _PairTable.ABSENT;
      if (stored === left && this.#rights[slot] === right) return this.#values[slot];
    }
  }

  /** Stores a pair that is not yet in the table. */
  set(left: number, right: number, value: number): void {
    if ((this.#count + 1) * 2 > this.#lefts.length) this.#grow();
    this.#insert(left, right, value);
    this.#count++;
  }

  #insert(left: number, right: number, value: number): void {
    const mask = this.#lefts.length - 1;
    let slot = _pairHash(left, right) & mask;
    while (this.#lefts[slot] !== -1) slot = (slot + 1) & mask;
    this.#lefts[slot] = left;
    this.#rights[slot] = right;
    this.#values[slot] = value;
  }

  #grow(): void {
    const [lefts, rights, values] = [this.#lefts, this.#rights, this.#values];
    this.#lefts = new Int32Array(lefts.length * 2).fill(-1);
    this.#rights = new Int32Array(lefts.length * 2);
    this.#values = new Int32Array(lefts.length * 2);
    for (let slot = 0; slot < lefts.length; slot++) {
      if (lefts[slot] !== -1) this.#insert(lefts[slot], rights[slot], values[slot]);
    }
  }
}

function _pairHash(left: number, right: number): number {
  const hash = Math.imul(left, 0x9e3779b1) ^ Math.imul(right + 0x7f4a7c15, 0x85ebca77);
  return hash ^ (hash >>> 15);
}

const _UTF8 = new TextEncoder();

function _encodeWord(word: string, table: _MergeTable, pre: PreTokenizer): number[] {
  const tokens = table.tokens;
  if (pre.ignoreMerges || (pre.wholeNewlineRuns && /^\n+$/.test(word))) {
    const whole = tokens.idOf(pre.byteEncode ? byteLevelEncode(_UTF8.encode(word)) : word);
    if (whole !== undefined) return [whole];
  }
  const symbols = _mergeSymbols(
    pre.byteEncode ? _byteSymbols(word, table) : _charSymbols(word, table),
    table,
  );
  const ids: number[] = [];
  for (const symbol of symbols) {
    if (symbol < tokens.size) {
      ids.push(symbol);
    } else if (pre.byteEncode) {
      _pushAsciiFallback(table.text(symbol), tokens, ids);
    } else {
      _pushByteTokenFallback(table.text(symbol), tokens, ids);
    }
  }
  return ids;
}

/** One symbol per UTF-8 byte, in the byte-level alphabet. */
function _byteSymbols(word: string, table: _MergeTable): Int32Array {
  const bytes = _UTF8.encode(word);
  const symbols = new Int32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) symbols[i] = table.byteSymbols[bytes[i]];
  return symbols;
}

/** One symbol per code point, as raw text (SentencePiece-style BPE). */
function _charSymbols(word: string, table: _MergeTable): Int32Array {
  const chars = Array.from(word);
  return Int32Array.from(chars, (char) => table.symbolId(char));
}

/** The fallback of raw-text BPE: the `<0xAB>` token of each UTF-8 byte, when present. */
function _pushByteTokenFallback(text: string, tokens: TokenTable, ids: number[]): void {
  for (const byte of _UTF8.encode(text)) {
    const hex = byte.toString(16).toUpperCase().padStart(2, "0");
    const id = tokens.idOf(`<0x${hex}>`);
    if (id !== undefined) ids.push(id);
  }
}

/** llama.cpp's fallback for a symbol that is not a token: the ids of its ASCII characters. */
function _pushAsciiFallback(text: string, tokens: TokenTable, ids: number[]): void {
  for (const byte of _UTF8.encode(text)) {
    const id = byte < 0x80 ? tokens.idOf(String.fromCharCode(byte)) : undefined;
    if (id !== undefined) ids.push(id);
  }
}

// Scratch space reused across words: symbol ids and a doubly linked list over positions.
let _symbol = new Int32Array(256);
let _next = new Int32Array(256);
let _prev = new Int32Array(256);

/**
 * Merges one word's byte symbols. Candidate pairs wait in a min-heap keyed by
 * `rank * 2^32 + left position`, which orders by rank, then leftmost: llama.cpp's order. A
 * popped pair is stale when the pair now at its left position has another rank.
 */
function _mergeSymbols(initial: Int32Array, table: _MergeTable): number[] {
  const n = initial.length;
  if (_symbol.length < n) {
    _symbol = new Int32Array(n * 2);
    _next = new Int32Array(n * 2);
    _prev = new Int32Array(n * 2);
  }
  for (let i = 0; i < n; i++) {
    _symbol[i] = initial[i];
    _prev[i] = i - 1;
    _next[i] = i + 1 < n ? i + 1 : -1;
  }
  const heap = new _MinHeap();
  for (let i = 0; i + 1 < n; i++) _pushPair(heap, table, i, i + 1);
  while (heap.size > 0) {
    const key = heap.pop();
    const left = key % _TWO_POW_32;
    const rank = (key - left) / _TWO_POW_32;
    const right = _symbol[left] < 0 ? -1 : _next[left];
    if (right < 0 || _pairRank(table, left, right) !== rank) continue;
    _symbol[left] = table.merged(rank, _symbol[left], _symbol[right]);
    _symbol[right] = -1;
    _next[left] = _next[right];
    if (_next[right] >= 0) _prev[_next[right]] = left;
    if (_prev[left] >= 0) _pushPair(heap, table, _prev[left], left);
    if (_next[left] >= 0) _pushPair(heap, table, left, _next[left]);
  }
  const symbols: number[] = [];
  for (let i = n > 0 ? 0 : -1; i >= 0; i = _next[i]) symbols.push(_symbol[i]);
  return symbols;
}

const _TWO_POW_32 = 2 ** 32;

function _pairRank(table: _MergeTable, left: number, right: number): number {
  return table.pairRank(_symbol[left], _symbol[right]);
}

function _pushPair(heap: _MinHeap, table: _MergeTable, left: number, right: number): void {
  const rank = _pairRank(table, left, right);
  if (rank >= 0) heap.push(rank * _TWO_POW_32 + left);
}

/** A binary min-heap of exact doubles. */
class _MinHeap {
  #keys: number[] = [];
  get size(): number {
    return this.#keys.length;
  }
  push(key: number): void {
    const keys = this.#keys;
    let i = keys.length;
    keys.push(key);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (keys[parent] <= key) break;
      keys[i] = keys[parent];
      i = parent;
    }
    keys[i] = key;
  }
  pop(): number {
    const keys = this.#keys;
    const top = keys[0];
    const last = keys.pop()!;
    const n = keys.length;
    if (n === 0) return top;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && keys[child + 1] < keys[child]) child++;
      if (keys[child] >= last) break;
      keys[i] = keys[child];
      i = child;
    }
    keys[i] = last;
    return top;
  }
}

/**
 * The bytes of a token as llama.cpp prints it with `special = true`: normal tokens are
 * byte-level decoded (or, for raw-text BPE, their text with "▁" as a space); control,
 * user-defined and unknown tokens are their text; byte tokens `<0xAB>` are one byte; unused
 * tokens are empty.
 */
function _tokenBytes(text: string, type: number, escapedWhitespace: boolean): Uint8Array {
  switch (type) {
    case TokenType.CONTROL:
    case TokenType.USER_DEFINED:
    case TokenType.UNKNOWN:
      return _UTF8.encode(text);
    case TokenType.UNUSED:
      return new Uint8Array(0);
    case TokenType.BYTE:
      return /^<0x[0-9A-Fa-f]{2}>$/.test(text)
        ? new Uint8Array([parseInt(text.slice(3, 5), 16)])
        : byteLevelDecode(text);
    default:
      return escapedWhitespace
        ? _UTF8.encode(text.replaceAll("\u2581", " "))
        : byteLevelDecode(text);
  }
}
