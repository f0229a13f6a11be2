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
 * and the rank to the merged id. Texts that merges mention but the vocabulary lacks get
 * "virtual" ids above the vocabulary. Words repeat a lot in text, so their ids are cached.
 *
 * @module
 */

import { TokenizerError } from "../errors.ts";
import { BYTE_TO_CHAR, byteLevelDecode, byteLevelEncode } from "./byte_level.ts";
import { createPreTokenizer, type PreTokenizer } from "./pre_tokenizer.ts";
import { type TokenizerModel, TokenType, type Vocab } from "./types.ts";
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
  const merges = new _MergeTable(vocab);
  const encodeWord = (word: string) => _encodeWord(word, vocab, merges, preTokenizer);
  const cacheLimit = options.cacheWordCount ?? 65536;
  const cache = cacheLimit > 0 ? new WordCache(cacheLimit) : undefined;
  const pieces: (Uint8Array | undefined)[] = new Array(vocab.tokens.length);
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
      if (!(id >= 0 && id < vocab.tokens.length)) {
        throw new RangeError(
          `Cannot decode token ${id}: the vocabulary has ${vocab.tokens.length}`,
        );
      }
      return pieces[id] ??= _tokenBytes(vocab, id, preTokenizer.escapeWhitespace);
    },
  };
}

/**
 * Merge ranks over symbol ids; symbol ids ≥ the vocabulary size are "virtual" (texts that
 * merges produce but the vocabulary lacks). Built in one pass over the merge strings, which
 * are already the lookup keys; pair ids and merged ids are resolved lazily and cached, so a
 * 280k-merge vocabulary loads in tens of milliseconds.
 */
class _MergeTable {
  /** symbol id of each byte's alphabet character: `[256]` */
  readonly byteSymbols: Int32Array;
  readonly #vocab: Vocab;
  /** merge key (see `_mergeKey`) → rank; the first of repeated merges wins, as in llama.cpp */
  readonly #rankByKey = new Map<string, number>();
  /** (left id, right id) → rank, or -1 for "no merge" */
  readonly #rankByPair = new _PairTable();
  /** rank → merged symbol id, -1 until first used */
  readonly #mergedByRank: Int32Array;
  readonly #virtualIds = new Map<string, number>();
  readonly #virtualTexts: string[] = [];

  constructor(vocab: Vocab) {
    this.#vocab = vocab;
    vocab.merges.forEach((merge, rank) => {
      const key = _mergeKeyOf(merge, rank);
      if (!this.#rankByKey.has(key)) this.#rankByKey.set(key, rank);
    });
    this.#mergedByRank = new Int32Array(vocab.merges.length).fill(-1);
    this.byteSymbols = Int32Array.from(BYTE_TO_CHAR, (char) => this.symbolId(char));
  }

  /** The rank of merging two adjacent symbols, or -1. */
  pairRank(left: number, right: number): number {
    let rank = this.#rankByPair.get(left, right);
    if (rank === _PairTable.ABSENT) {
      rank = this.#rankByKey.get(_mergeKey(this.text(left), this.text(right))) ?? -1;
      this.#rankByPair.set(left, right, rank);
    }
    return rank;
  }

  /** The symbol a merge of rank `rank` produces from `left` and `right`. */
  merged(rank: number, left: number, right: number): number {
    let id = this.#mergedByRank[rank];
    if (id < 0) id = this.#mergedByRank[rank] = this.symbolId(this.text(left) + this.text(right));
    return id;
  }

  /** The text of a symbol. */
  text(id: number): string {
    const vocabSize = this.#vocab.tokens.length;
    return id < vocabSize ? this.#vocab.tokens[id] : this.#virtualTexts[id - vocabSize];
  }

  /** The symbol id of a text: its token id, else a virtual id made on first use. */
  symbolId(text: string): number {
    const id = this.#vocab.tokenToId.get(text) ?? this.#virtualIds.get(text);
    if (id !== undefined) return id;
    const virtualId = this.#vocab.tokens.length + this.#virtualTexts.length;
    this.#virtualIds.set(text, virtualId);
    this.#virtualTexts.push(text);
    return virtualId;
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
  #lefts = new Int32Array(1 << 12).fill(-1);
  #rights = new Int32Array(1 << 12);
  #values = new Int32Array(1 << 12);
  #count = 0;

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

/**
 * The lookup key of the pair (left, right): "left right", which is the merge string itself;
 * when a side holds a space, "left\0right" keeps the split unambiguous.
 */
function _mergeKey(left: string, right: string): string {
  return left.includes(" ") || right.includes(" ") ? `${left}\0${right}` : `${left} ${right}`;
}

/** The key of a merge string; it splits at the first space after its first character. */
function _mergeKeyOf(merge: string, rank: number): string {
  const space = merge.indexOf(" ", 1);
  if (space < 0) {
    throw new TokenizerError(
      `Cannot load merge ${rank} "${merge}": it has no space between its two parts`,
    );
  }
  if (merge.charCodeAt(0) !== 0x20 && merge.indexOf(" ", space + 1) < 0) return merge;
  return _mergeKey(merge.slice(0, space), merge.slice(space + 1));
}

const _UTF8 = new TextEncoder();

function _encodeWord(
  word: string,
  vocab: Vocab,
  table: _MergeTable,
  pre: PreTokenizer,
): number[] {
  if (pre.ignoreMerges || (pre.wholeNewlineRuns && /^\n+$/.test(word))) {
    const whole = vocab.tokenToId.get(pre.byteEncode ? byteLevelEncode(_UTF8.encode(word)) : word);
    if (whole !== undefined) return [whole];
  }
  const symbols = _mergeSymbols(
    pre.byteEncode ? _byteSymbols(word, table) : _charSymbols(word, table),
    table,
  );
  const ids: number[] = [];
  for (const symbol of symbols) {
    if (symbol < vocab.tokens.length) {
      ids.push(symbol);
    } else if (pre.byteEncode) {
      _pushAsciiFallback(table.text(symbol), vocab, ids);
    } else {
      _pushByteTokenFallback(table.text(symbol), vocab, ids);
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
function _pushByteTokenFallback(text: string, vocab: Vocab, ids: number[]): void {
  for (const byte of _UTF8.encode(text)) {
    const hex = byte.toString(16).toUpperCase().padStart(2, "0");
    const id = vocab.tokenToId.get(`<0x${hex}>`);
    if (id !== undefined) ids.push(id);
  }
}

/** llama.cpp's fallback for a symbol that is not a token: the ids of its ASCII characters. */
function _pushAsciiFallback(text: string, vocab: Vocab, ids: number[]): void {
  for (const byte of _UTF8.encode(text)) {
    const id = byte < 0x80 ? vocab.tokenToId.get(String.fromCharCode(byte)) : undefined;
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
function _tokenBytes(vocab: Vocab, id: number, escapedWhitespace: boolean): Uint8Array {
  const text = vocab.tokens[id];
  switch (vocab.types[id]) {
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
