/**
 * Special tokens the way llama.cpp treats them: per-token attribute flags derived from the
 * GGUF token types plus llama.cpp's text-based fix-ups (end-of-generation markers become
 * CONTROL, Phi-3's special tokens eat the whitespace after them …), the set of
 * end-of-generation ids, and the split of a text into plain fragments and special tokens
 * that happens before any tokenizer algorithm runs.
 *
 * The split gives the same result as llama.cpp's, which takes the special tokens longest
 * first and cuts every fragment at each leftmost non-overlapping match: all matches are found
 * in one pass with a trie, then accepted in that priority order unless they overlap a match
 * already taken. That keeps a 262144-token Gemma vocabulary (6400 special tokens) fast on
 * megabytes of text.
 *
 * @module
 */

import type { TokenTable } from "./token_table.ts";
import { TokenType, type Vocab } from "./types.ts";
import { compactVocabTexts } from "./vocab.ts";

/** llama.cpp's token attribute bits (`llama_token_attr`). */
export const TokenAttr = {
  UNDEFINED: 0,
  UNKNOWN: 1 << 0,
  UNUSED: 1 << 1,
  NORMAL: 1 << 2,
  CONTROL: 1 << 3,
  USER_DEFINED: 1 << 4,
  BYTE: 1 << 5,
  NORMALIZED: 1 << 6,
  LSTRIP: 1 << 7,
  RSTRIP: 1 << 8,
  SINGLE_WORD: 1 << 9,
} as const;

const TYPE_TO_ATTR: Record<number, number> = {
  [TokenType.UNDEFINED]: TokenAttr.UNDEFINED,
  [TokenType.NORMAL]: TokenAttr.NORMAL,
  [TokenType.UNKNOWN]: TokenAttr.UNKNOWN,
  [TokenType.CONTROL]: TokenAttr.CONTROL,
  [TokenType.USER_DEFINED]: TokenAttr.USER_DEFINED,
  [TokenType.UNUSED]: TokenAttr.UNUSED,
  [TokenType.BYTE]: TokenAttr.BYTE,
};

/** Texts llama.cpp marks as end of generation (and forces to CONTROL). */
export const EOG_TEXTS: readonly string[] = [
  "<|eot_id|>",
  "<|im_end|>",
  "<|end|>",
  "<|return|>",
  "<|call|>",
  "<|flush|>",
  "<|calls|>",
  "<end_of_turn>",
  "<|endoftext|>",
  "</s>",
  "<|eom_id|>",
  "<EOT>",
  "_<EOT>",
  "[EOT]",
  "[EOS]",
  "<|end_of_text|>",
  "<end_of_utterance>",
  "<eos>",
  "<turn|>",
  "<|tool_response>",
  "<｜end▁of▁sentence｜>",
  "[e~[",
];

/** Fill-in-the-middle markers llama.cpp also forces to CONTROL. */
const FIM_TEXTS: readonly string[] = [
  "<|fim_prefix|>",
  "<fim-prefix>",
  "<fim_prefix>",
  "<｜fim▁begin｜>",
  "<PRE>",
  "▁<PRE>",
  "<|code_prefix|>",
  "<|prefix|>",
  "<|fim_suffix|>",
  "<fim-suffix>",
  "<fim_suffix>",
  "<｜fim▁hole｜>",
  "<SUF>",
  "▁<SUF>",
  "<|code_suffix|>",
  "<|suffix|>",
  "<|fim_middle|>",
  "<fim-middle>",
  "<fim_middle>",
  "<｜fim▁end｜>",
  "<MID>",
  "▁<MID>",
  "<|code_middle|>",
  "<|middle|>",
  "<|fim_pad|>",
  "<fim-pad>",
  "<fim_pad>",
  "<PAD>",
  "[PAD]",
  "<|fim_repo|>",
  "<|repo_name|>",
  "<fim-repo>",
  "<REPO>",
  "<reponame>",
  "<|file_sep|>",
];

/** gpt-oss chat markers llama.cpp always renders (USER_DEFINED). */
const ALWAYS_RENDERED_TEXTS: readonly string[] = [
  "<|channel|>",
  "<|message|>",
  "<|start|>",
  "<|constrain|>",
];

/** Attribute flags and end-of-generation ids of a vocabulary, as llama.cpp derives them. */
export interface SpecialTokenInfo {
  /** One `TokenAttr` bit set per token id. */
  readonly attrs: Uint16Array;
  readonly eogIds: ReadonlySet<number>;
  /** CONTROL, USER_DEFINED and UNKNOWN ids, longest text (in UTF-8 bytes) first. */
  readonly specialIds: readonly number[];
}

/**
 * Derives llama.cpp's token attributes, EOG ids and special-token order from a vocabulary.
 *
 * @param vocab the vocabulary
 * @returns the attribute flags, EOG ids and the special tokens in matching order
 */
export function specialTokenInfo(vocab: Vocab): SpecialTokenInfo {
  const attrs = Uint16Array.from(vocab.types, (type) => TYPE_TO_ATTR[type] ?? 0);
  const idOf = (text: string) => _tokenTable(vocab).idOf(text);
  for (const text of [...EOG_TEXTS, ...FIM_TEXTS]) {
    const id = idOf(text);
    if (id !== undefined) attrs[id] |= TokenAttr.CONTROL;
  }
  const eogIds = _eogIds(vocab, attrs);
  for (const text of ALWAYS_RENDERED_TEXTS) {
    const id = idOf(text);
    if (id !== undefined) attrs[id] = TokenAttr.USER_DEFINED;
  }
  const specialIds = _specialIdsByLength(vocab, attrs);
  _applyStripQuirks(vocab, attrs, specialIds);
  return { attrs, eogIds, specialIds };
}

function _eogIds(vocab: Vocab, attrs: Uint16Array): Set<number> {
  const eogIds = new Set<number>();
  for (const text of EOG_TEXTS) {
    const id = _tokenTable(vocab).idOf(text);
    if (id !== undefined) eogIds.add(id);
  }
  for (const text of ["<|fim_pad|>", "<|fim_repo|>", "<|repo_name|>", "<|file_sep|>"]) {
    const id = _tokenTable(vocab).idOf(text);
    if (id !== undefined) eogIds.add(id);
  }
  for (const id of [vocab.eos, vocab.eot, vocab.eom]) if (id !== undefined) eogIds.add(id);
  const has = (text: string) => {
    const id = _tokenTable(vocab).idOf(text);
    return id !== undefined && eogIds.has(id) ? id : undefined;
  };
  // Harmony-style vocabularies end a turn with <|return|>/<|call|>; there <|end|> is text.
  const endId = has("<|end|>");
  const hasCall = has("<|call|>") !== undefined || has("<|calls|>") !== undefined;
  const harmony = hasCall && (has("<|return|>") !== undefined || has("<|flush|>") !== undefined);
  if (endId !== undefined && harmony) {
    eogIds.delete(endId);
    attrs[endId] = TokenAttr.USER_DEFINED;
  }
  // Gemma 4 uses </s> as ordinary text.
  const closeId = has("</s>");
  if (closeId !== undefined && has("<|tool_response>") !== undefined) {
    eogIds.delete(closeId);
    attrs[closeId] = TokenAttr.NORMAL;
  }
  return eogIds;
}

function _specialIdsByLength(vocab: Vocab, attrs: Uint16Array): number[] {
  const mask = TokenAttr.CONTROL | TokenAttr.USER_DEFINED | TokenAttr.UNKNOWN;
  const encoder = new TextEncoder();
  const entries: { id: number; byteLength: number }[] = [];
  for (let id = 0; id < attrs.length; id++) {
    if (attrs[id] & mask) {
      entries.push({ id, byteLength: encoder.encode(_tokenTable(vocab).text(id)).length });
    }
  }
  entries.sort((a, b) => b.byteLength - a.byteLength || a.id - b.id);
  return entries.map((entry) => entry.id);
}

function _applyStripQuirks(vocab: Vocab, attrs: Uint16Array, specialIds: readonly number[]): void {
  const set = (text: string, bit: number, on: boolean) => {
    const id = _tokenTable(vocab).idOf(text);
    if (id !== undefined) attrs[id] = on ? attrs[id] | bit : attrs[id] & ~bit;
  };
  const name = (vocab.modelName ?? "").toLowerCase();
  if (["jina-v2-de", "jina-v2-es", "jina-v2-code"].some((pre) => vocab.pre.includes(pre))) {
    set("<mask>", TokenAttr.LSTRIP, true);
  } else if (name.includes("phi-3") || name.includes("phi3")) {
    for (const id of specialIds) attrs[id] |= TokenAttr.RSTRIP;
    set("</s>", TokenAttr.RSTRIP, true);
    for (const text of ["<unk>", "<s>", "<|endoftext|>"]) set(text, TokenAttr.RSTRIP, false);
  } else if (name.includes("modern-bert")) {
    set("[MASK]", TokenAttr.LSTRIP, true);
  }
}

function _tokenTable(vocab: Vocab): TokenTable {
  return compactVocabTexts(vocab).tokenTable;
}

/** A piece of input: plain text for the tokenizer algorithm, or one special token id. */
export type Fragment = { readonly text: string } | { readonly id: number };

/**
 * Splits text at special tokens, as llama.cpp's `tokenizer_st_partition` does.
 *
 * @param text the input
 * @param matcher the special tokens to look for (see {@linkcode createSpecialMatcher})
 * @returns plain fragments and token ids in input order; no plain fragment is empty
 */
export function splitSpecialTokens(text: string, matcher: SpecialMatcher): Fragment[] {
  if (matcher.size === 0 || text.length === 0) return text.length > 0 ? [{ text }] : [];
  const matches = matcher.findAll(text);
  if (matches.length === 0) return [{ text }];
  const accepted = _acceptMatches(text, matches, matcher);
  return _fragments(text, accepted.covered, accepted.starts, matcher);
}

/** Special tokens compiled into a trie, with their priority and strip flags. */
export interface SpecialMatcher {
  readonly size: number;
  /** Every occurrence of every token as [start, rank] pairs, flattened; rank 0 = longest. */
  findAll(text: string): Int32Array;
  idOf(rank: number): number;
  lengthOf(rank: number): number;
  attrOf(rank: number): number;
}

/**
 * Compiles the special tokens that take part in splitting.
 *
 * @param vocab the vocabulary (token texts)
 * @param info its attributes and special ids ({@linkcode specialTokenInfo})
 * @param parseSpecial include CONTROL and UNKNOWN tokens (USER_DEFINED ones always take part)
 * @returns a matcher for {@linkcode splitSpecialTokens}
 */
export function createSpecialMatcher(
  vocab: Vocab,
  info: SpecialTokenInfo,
  parseSpecial: boolean,
): SpecialMatcher {
  const skipMask = TokenAttr.CONTROL | TokenAttr.UNKNOWN;
  const ids = info.specialIds.filter((id) => parseSpecial || (info.attrs[id] & skipMask) === 0);
  return new _TrieMatcher(ids.map((id) => _tokenTable(vocab).text(id)), ids, info.attrs);
}

class _TrieMatcher implements SpecialMatcher {
  readonly size: number;
  readonly #ids: readonly number[];
  readonly #lengths: Int32Array;
  readonly #attrs: Uint16Array;
  /** Trie nodes: children by UTF-16 code unit, and the rank of the token ending here or -1. */
  readonly #children: Map<number, number>[] = [new Map()];
  readonly #rankAt: number[] = [-1];
  /** Code units that start some token (a quick reject for the common case). */
  readonly #firstUnits = new Uint8Array(65536);

  constructor(texts: readonly string[], ids: readonly number[], attrs: Uint16Array) {
    this.size = ids.length;
    this.#ids = ids;
    this.#attrs = attrs;
    this.#lengths = Int32Array.from(texts, (text) => text.length);
    texts.forEach((text, rank) => this.#insert(text, rank));
  }

  findAll(text: string): Int32Array {
    const found: number[] = [];
    const children = this.#children;
    for (let start = 0; start < text.length; start++) {
      if (this.#firstUnits[text.charCodeAt(start)] === 0) continue;
      let node = 0;
      for (let i = start; i < text.length; i++) {
        const child = children[node].get(text.charCodeAt(i));
        if (child === undefined) break;
        node = child;
        if (this.#rankAt[node] >= 0) found.push(start, this.#rankAt[node]);
      }
    }
    return Int32Array.from(found);
  }

  idOf(rank: number): number {
    return this.#ids[rank];
  }

  lengthOf(rank: number): number {
    return this.#lengths[rank];
  }

  attrOf(rank: number): number {
    return this.#attrs[this.#ids[rank]];
  }

  #insert(text: string, rank: number): void {
    if (text.length === 0) return;
    this.#firstUnits[text.charCodeAt(0)] = 1;
    let node = 0;
    for (let i = 0; i < text.length; i++) {
      const unit = text.charCodeAt(i);
      let child = this.#children[node].get(unit);
      if (child === undefined) {
        child = this.#children.length;
        this.#children.push(new Map());
        this.#rankAt.push(-1);
        this.#children[node].set(unit, child);
      }
      node = child;
    }
    // Two tokens never share a text (the vocabulary rejects duplicates); keep the first rank.
    if (this.#rankAt[node] < 0) this.#rankAt[node] = rank;
  }
}

const COVERED_BY_TOKEN = 1;
const STRIPPED = 2;

/**
 * Accepts matches in llama.cpp's order (rank, then position) unless they overlap text already
 * taken, and removes the whitespace that LSTRIP/RSTRIP tokens eat.
 */
function _acceptMatches(text: string, matches: Int32Array, matcher: SpecialMatcher) {
  const order = Array.from({ length: matches.length / 2 }, (_, i) => i);
  order.sort((a, b) => matches[2 * a + 1] - matches[2 * b + 1] || matches[2 * a] - matches[2 * b]);
  const covered = new Uint8Array(text.length);
  const starts = new Map<number, number>();
  for (const i of order) {
    const start = matches[2 * i];
    const rank = matches[2 * i + 1];
    const end = start + matcher.lengthOf(rank);
    if (!_isFree(covered, start, end)) continue;
    covered.fill(COVERED_BY_TOKEN, start, end);
    starts.set(start, rank);
    const attr = matcher.attrOf(rank);
    if (attr & TokenAttr.LSTRIP) {
      for (let j = start - 1; j >= 0 && covered[j] === 0 && _isSpace(text, j); j--) {
        covered[j] = STRIPPED;
      }
    }
    if (attr & TokenAttr.RSTRIP) {
      for (let j = end; j < text.length && covered[j] === 0 && _isSpace(text, j); j++) {
        covered[j] = STRIPPED;
      }
    }
  }
  return { covered, starts };
}

function _isFree(covered: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (covered[i] !== 0) return false;
  return true;
}

/** C `isspace`: space, \t, \n, \v, \f, \r. */
function _isSpace(text: string, index: number): boolean {
  const unit = text.charCodeAt(index);
  return unit === 0x20 || (unit >= 0x09 && unit <= 0x0D);
}

function _fragments(
  text: string,
  covered: Uint8Array,
  starts: ReadonlyMap<number, number>,
  matcher: SpecialMatcher,
): Fragment[] {
  const fragments: Fragment[] = [];
  let rawStart = -1;
  for (let i = 0; i <= text.length; i++) {
    const isRaw = i < text.length && covered[i] === 0;
    if (isRaw) {
      if (rawStart < 0) rawStart = i;
      continue;
    }
    if (rawStart >= 0) fragments.push({ text: text.substring(rawStart, i) });
    rawStart = -1;
    const rank = starts.get(i);
    if (rank !== undefined) fragments.push({ id: matcher.idOf(rank) });
  }
  return fragments;
}
