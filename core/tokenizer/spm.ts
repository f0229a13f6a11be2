/**
 * SentencePiece tokenizer (`tokenizer.ggml.model = "llama"`: Llama 1/2, Mistral, Phi-3,
 * Gemma …), the way llama.cpp runs it: spaces become "▁", the text is split into characters,
 * and the adjacent pair whose concatenation is the best-scoring vocabulary piece is merged,
 * again and again (ties go to the leftmost pair). A character left without a piece falls back
 * to its UTF-8 bytes as `<0xAB>` tokens, or to UNK when the vocabulary has no byte tokens.
 *
 * Merging uses a binary heap of candidate pairs with lazy deletion: a popped pair whose sides
 * changed since it was pushed is skipped, so a fragment of n characters costs O(n log n).
 *
 * Long texts are cut into words first, without changing the result: a merge only ever makes a
 * vocabulary piece, so no merge can cross a "▁" whose left neighbour never precedes "▁" inside
 * any piece. Words on either side of such a cut merge independently, and each word's ids are
 * cached (text repeats its words).
 *
 * @module
 */

import { TokenizerError } from "../errors.ts";
import type { TokenTable } from "./token_table.ts";
import type { TokenizerModel, Vocab } from "./types.ts";
import { compactVocabTexts } from "./vocab.ts";

/** The piece SentencePiece uses for a space (U+2581 LOWER ONE EIGHTH BLOCK). */
export const SPM_SPACE = "\u2581";

const ENCODER = new TextEncoder();
const BYTE_PIECE = /^<0x[0-9A-Fa-f]{2}>$/;
/** Most words whose ids are kept; the cache is emptied when full. */
const WORD_CACHE_SIZE = 1 << 17;

/**
 * Creates the SentencePiece algorithm over a vocabulary.
 *
 * @param vocab a vocabulary with scores (`tokenizer.ggml.scores`)
 * @returns the model the `Tokenizer` facade hands plain-text fragments to
 *
 * @example Merge by score, fall back to bytes
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { createSpmModel } from "./spm.ts";
 * const tokens = ["<unk>", "▁", "a", "b", "▁a", "ab", "▁ab", "<0xC3>", "<0xA9>"];
 * const model = createSpmModel({
 *   model: "llama", pre: "default", tokens, merges: [],
 *   scores: new Float32Array([0, -1, -1, -1, -2, -3, -4, 0, 0]),
 *   types: new Uint8Array([2, 1, 1, 1, 1, 1, 1, 6, 6]),
 *   tokenToId: new Map(tokens.map((t, i) => [t, i])),
 *   addBos: false, addEos: false, addSpacePrefix: true,
 * });
 * deepStrictEqual(model.encodeFragment("ab é", true), [6, 1, 7, 8]);
 * ```
 */
export function createSpmModel(vocab: Vocab): TokenizerModel {
  return new _SpmModel(vocab);
}

class _SpmModel implements TokenizerModel {
  readonly #vocab: Vocab;
  readonly #tokens: TokenTable;
  readonly #scores: Float32Array;
  /** Token id of each byte value: `<0xAB>`, else the one-character piece, else UNK, else -1. */
  readonly #byteToId: Int32Array;
  /** UTF-16 units that some piece has right before a "▁" (no cut is safe after them). */
  readonly #joinsSpace: Uint8Array;
  readonly #wordCache = new Map<string, number[]>();
  readonly #symbols = new _Symbols();
  readonly #heap = new _PairHeap();

  constructor(vocab: Vocab) {
    this.#vocab = vocab;
    this.#tokens = compactVocabTexts(vocab).tokenTable;
    const tokenCount = this.#tokens.size;
    this.#scores = vocab.scores.length === tokenCount ? vocab.scores : new Float32Array(tokenCount);
    this.#byteToId = _byteTokenIds(this.#tokens, vocab.unk);
    this.#joinsSpace = _unitsBeforeSpace(this.#tokens);
  }

  encodeFragment(text: string, isFirst: boolean): number[] {
    const prefixed = this.#vocab.addSpacePrefix && isFirst ? " " + text : text;
    const escaped = prefixed.replaceAll(" ", SPM_SPACE);
    const output: number[] = [];
    let start = 0;
    for (let p = escaped.indexOf(SPM_SPACE, 1); p > 0; p = escaped.indexOf(SPM_SPACE, p + 1)) {
      if (this.#joinsSpace[escaped.charCodeAt(p - 1)] === 1) continue;
      this.#tokenizeWord(escaped.substring(start, p), output);
      start = p;
    }
    if (start < escaped.length) this.#tokenizeWord(escaped.substring(start), output);
    return output;
  }

  tokenBytes(id: number): Uint8Array {
    if (!(Number.isInteger(id) && id >= 0 && id < this.#tokens.size)) {
      throw new RangeError(`Cannot decode token ${id}: it is not in the vocabulary`);
    }
    const piece = this.#tokens.text(id);
    const byte = _parseByteToken(piece);
    if (byte >= 0) return Uint8Array.of(byte);
    return ENCODER.encode(piece.replaceAll(SPM_SPACE, " "));
  }

  #tokenizeWord(word: string, output: number[]): void {
    let ids = this.#wordCache.get(word);
    if (ids === undefined) {
      ids = [];
      this.#tokenize(word, ids);
      if (this.#wordCache.size >= WORD_CACHE_SIZE) this.#wordCache.clear();
      this.#wordCache.set(word, ids);
    }
    for (let i = 0; i < ids.length; i++) output.push(ids[i]);
  }

  #tokenize(text: string, output: number[]): void {
    // One workspace per model, reused by every word (tokenizing is never reentrant).
    const symbols = this.#symbols.split(text);
    const heap = this.#heap;
    heap.size = 0;
    for (let i = 1; i < symbols.count; i++) this.#addPair(text, symbols, heap, i - 1, i);
    while (heap.size > 0) {
      const { left, right, length } = heap.pop();
      const leftLength = symbols.length[left];
      const rightLength = symbols.length[right];
      // Skip a pair whose sides were merged into something else since it was pushed.
      if (leftLength === 0 || rightLength === 0 || leftLength + rightLength !== length) continue;
      symbols.length[left] = length;
      symbols.length[right] = 0;
      const next = symbols.next[right];
      symbols.next[left] = next;
      if (next >= 0) symbols.prev[next] = left;
      this.#addPair(text, symbols, heap, symbols.prev[left], left);
      this.#addPair(text, symbols, heap, left, next);
    }
    for (let i = 0; i !== -1; i = symbols.next[i]) this.#emitSymbol(text, symbols, i, output);
  }

  #addPair(text: string, symbols: _Symbols, heap: _PairHeap, left: number, right: number): void {
    if (left < 0 || right < 0) return;
    const start = symbols.start[left];
    const length = symbols.length[left] + symbols.length[right];
    const id = this.#tokens.idOfRange(text, start, start + length);
    if (id < 0) return;
    heap.push(this.#scores[id], left, right, length);
  }

  #emitSymbol(text: string, symbols: _Symbols, index: number, output: number[]): void {
    const start = symbols.start[index];
    const end = start + symbols.length[index];
    const id = this.#tokens.idOfRange(text, start, end);
    if (id >= 0) {
      output.push(id);
      return;
    }
    const piece = text.substring(start, end);
    for (const byte of ENCODER.encode(piece)) {
      const byteId = this.#byteToId[byte];
      if (byteId < 0) {
        throw new TokenizerError(
          `Cannot tokenize "${piece}": the vocabulary has no piece, no byte token <0x${
            _hex(byte)
          }> and no UNK token for it`,
        );
      }
      output.push(byteId);
    }
  }
}

/** Characters of a fragment as a doubly linked list over UTF-16 offsets (reused buffers). */
class _Symbols {
  count = 0;
  start = new Int32Array(64);
  /** Length in UTF-16 code units; 0 once merged into its left neighbour. */
  length = new Int32Array(64);
  prev = new Int32Array(64);
  next = new Int32Array(64);

  split(text: string): this {
    if (text.length > this.start.length) this.#grow(text.length);
    let count = 0;
    for (let offset = 0; offset < text.length; count++) {
      const unit = text.charCodeAt(offset);
      const isPair = unit >= 0xD800 && unit <= 0xDBFF && offset + 1 < text.length;
      this.start[count] = offset;
      this.length[count] = isPair ? 2 : 1;
      offset += this.length[count];
    }
    for (let i = 0; i < count; i++) {
      this.prev[i] = i - 1;
      this.next[i] = i + 1 < count ? i + 1 : -1;
    }
    this.count = count;
    return this;
  }

  #grow(capacity: number): void {
    this.start = new Int32Array(capacity);
    this.length = new Int32Array(capacity);
    this.prev = new Int32Array(capacity);
    this.next = new Int32Array(capacity);
  }
}

/**
 * Max-heap of candidate pairs: higher score first, then the smaller left index (the same
 * order as llama.cpp's priority queue, so equal scores merge left to right).
 */
class _PairHeap {
  #score = new Float64Array(64);
  #left = new Int32Array(64);
  #right = new Int32Array(64);
  #length = new Int32Array(64);
  size = 0;

  push(score: number, left: number, right: number, length: number): void {
    if (this.size === this.#score.length) this.#grow();
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#before(score, left, parent)) break;
      this.#move(parent, i);
      i = parent;
    }
    this.#set(i, score, left, right, length);
  }

  pop(): { left: number; right: number; length: number } {
    const top = { left: this.#left[0], right: this.#right[0], length: this.#length[0] };
    const last = --this.size;
    const score = this.#score[last];
    const left = this.#left[last];
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= last) break;
      if (child + 1 < last && this.#beforeIndex(child + 1, child)) child++;
      if (this.#before(score, left, child)) break;
      this.#move(child, i);
      i = child;
    }
    this.#set(i, score, left, this.#right[last], this.#length[last]);
    return top;
  }

  #before(score: number, left: number, index: number): boolean {
    const other = this.#score[index];
    return score > other || (score === other && left < this.#left[index]);
  }

  #beforeIndex(a: number, b: number): boolean {
    return this.#before(this.#score[a], this.#left[a], b);
  }

  #move(from: number, to: number): void {
    this.#set(to, this.#score[from], this.#left[from], this.#right[from], this.#length[from]);
  }

  #set(index: number, score: number, left: number, right: number, length: number): void {
    this.#score[index] = score;
    this.#left[index] = left;
    this.#right[index] = right;
    this.#length[index] = length;
  }

  #grow(): void {
    const capacity = this.#score.length * 2;
    const score = new Float64Array(capacity);
    const left = new Int32Array(capacity);
    const right = new Int32Array(capacity);
    const length = new Int32Array(capacity);
    score.set(this.#score);
    left.set(this.#left);
    right.set(this.#right);
    length.set(this.#length);
    [this.#score, this.#left, this.#right, this.#length] = [score, left, right, length];
  }
}

function _unitsBeforeSpace(tokens: TokenTable): Uint8Array {
  const before = new Uint8Array(65536);
  const { units, offsets } = tokens.texts;
  const space = SPM_SPACE.charCodeAt(0);
  for (let id = 0; id < tokens.size; id++) {
    // A "▁" at the token's first unit has nothing before it.
    for (let at = offsets[id] + 1; at < offsets[id + 1]; at++) {
      if (units[at] === space) before[units[at - 1]] = 1;
    }
  }
  return before;
}

function _byteTokenIds(tokens: TokenTable, unk: number | undefined): Int32Array {
  const ids = new Int32Array(256);
  for (let byte = 0; byte < 256; byte++) {
    const hexId = tokens.idOf(`<0x${_hex(byte)}>`);
    // llama.cpp falls back to the byte as a one-character piece; only ASCII bytes can be one.
    const charId = byte < 0x80 ? tokens.idOf(String.fromCharCode(byte)) : undefined;
    ids[byte] = hexId ?? charId ?? unk ?? -1;
  }
  return ids;
}

/** The byte value of a `<0xAB>` piece, or -1 for any other piece. */
function _parseByteToken(piece: string): number {
  return BYTE_PIECE.test(piece) ? parseInt(piece.substring(3, 5), 16) : -1;
}

function _hex(byte: number): string {
  return byte.toString(16).toUpperCase().padStart(2, "0");
}
