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
  const merges = _buildMergeTable(vocab);
  const encodeWord = (word: string) => _encodeWord(word, vocab, merges, preTokenizer.ignoreMerges);
  const cacheLimit = options.cacheWordCount ?? 65536;
  const cache = new Map<string, number[]>();
  const pieces: (Uint8Array | undefined)[] = new Array(vocab.tokens.length);
  return {
    preTokenizer,
    encodeWord,
    encodeFragment(text: string): number[] {
      const ids: number[] = [];
      for (const word of preTokenizer.split(text)) {
        let wordIds = cache.get(word);
        if (wordIds === undefined) {
          wordIds = encodeWord(word);
          if (cache.size >= cacheLimit) cache.clear();
          if (cacheLimit > 0) cache.set(word, wordIds);
        }
        for (let i = 0; i < wordIds.length; i++) ids.push(wordIds[i]);
      }
      return ids;
    },
    tokenBytes(id: number): Uint8Array {
      if (!(id >= 0 && id < vocab.tokens.length)) {
        throw new RangeError(
          `Cannot decode token ${id}: the vocabulary has ${vocab.tokens.length}`,
        );
      }
      return pieces[id] ??= _tokenBytes(vocab, id);
    },
  };
}

/** Merge ranks over symbol ids; symbol ids ≥ the vocabulary size are virtual. */
interface _MergeTable {
  /** (left * symbolCount + right) → rank */
  readonly rankByPair: Map<number, number>;
  /** rank → merged symbol id */
  readonly resultByRank: Int32Array;
  /** virtual symbol texts, index = id - vocabulary size */
  readonly virtualTexts: string[];
  readonly symbolCount: number;
  /** symbol id of each byte's alphabet character: `[256]` */
  readonly byteSymbols: Int32Array;
}

// Pair keys must stay exact doubles: symbolCount² < 2^53 holds up to ~94 million symbols.
function _buildMergeTable(vocab: Vocab): _MergeTable {
  const vocabSize = vocab.tokens.length;
  const virtualIds = new Map<string, number>();
  const virtualTexts: string[] = [];
  const symbolIdByText = (text: string): number => {
    const id = vocab.tokenToId.get(text) ?? virtualIds.get(text);
    if (id !== undefined) return id;
    virtualIds.set(text, vocabSize + virtualTexts.length);
    virtualTexts.push(text);
    return vocabSize + virtualTexts.length - 1;
  };
  const byteSymbols = Int32Array.from(BYTE_TO_CHAR, symbolIdByText);
  const pairs = _splitMerges(vocab.merges);
  const sides = new Int32Array(pairs.length * 3);
  for (let rank = 0; rank < pairs.length; rank++) {
    const [left, right] = pairs[rank];
    sides[rank * 3] = symbolIdByText(left);
    sides[rank * 3 + 1] = symbolIdByText(right);
    sides[rank * 3 + 2] = symbolIdByText(left + right);
  }
  const symbolCount = vocabSize + virtualTexts.length;
  const rankByPair = new Map<number, number>();
  const resultByRank = new Int32Array(pairs.length);
  for (let rank = 0; rank < pairs.length; rank++) {
    const key = sides[rank * 3] * symbolCount + sides[rank * 3 + 1];
    if (!rankByPair.has(key)) rankByPair.set(key, rank);
    resultByRank[rank] = sides[rank * 3 + 2];
  }
  return { rankByPair, resultByRank, virtualTexts, symbolCount, byteSymbols };
}

/** "left right" → [left, right]; the separator is the first space after the first character. */
function _splitMerges(merges: readonly string[]): [string, string][] {
  return merges.map((merge, rank) => {
    const space = merge.indexOf(" ", 1);
    if (space < 0) {
      throw new TokenizerError(
        `Cannot load merge ${rank} "${merge}": it has no space between its two parts`,
      );
    }
    return [merge.slice(0, space), merge.slice(space + 1)];
  });
}

const _UTF8 = new TextEncoder();

function _encodeWord(
  word: string,
  vocab: Vocab,
  table: _MergeTable,
  ignoreMerges: boolean,
): number[] {
  const bytes = _UTF8.encode(word);
  if (ignoreMerges) {
    const whole = vocab.tokenToId.get(byteLevelEncode(bytes));
    if (whole !== undefined) return [whole];
  }
  const symbols = _mergeSymbols(bytes, table);
  const ids: number[] = [];
  for (const symbol of symbols) {
    if (symbol < vocab.tokens.length) {
      ids.push(symbol);
    } else {
      _pushAsciiFallback(table.virtualTexts[symbol - vocab.tokens.length], vocab, ids);
    }
  }
  return ids;
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
function _mergeSymbols(bytes: Uint8Array, table: _MergeTable): number[] {
  const n = bytes.length;
  if (_symbol.length < n) {
    _symbol = new Int32Array(n * 2);
    _next = new Int32Array(n * 2);
    _prev = new Int32Array(n * 2);
  }
  for (let i = 0; i < n; i++) {
    _symbol[i] = table.byteSymbols[bytes[i]];
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
    _symbol[left] = table.resultByRank[rank];
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
  return table.rankByPair.get(_symbol[left] * table.symbolCount + _symbol[right]) ?? -1;
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
 * byte-level decoded; control, user-defined and unknown tokens are their text; byte tokens
 * `<0xAB>` are one byte; unused tokens are empty.
 */
function _tokenBytes(vocab: Vocab, id: number): Uint8Array {
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
      return byteLevelDecode(text);
  }
}
