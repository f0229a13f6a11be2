/**
 * Test helpers of the schema plugin: the real tokenizers (loaded once) and a brute-force
 * mask that steps every token's bytes through the automaton, the oracle of the mask engine.
 *
 * @module
 */

import { readGgufFile } from "../../core/gguf/reader.ts";
import { createTokenizer } from "../../core/tokenizer/mod.ts";
import { type Tokenizer, TokenType } from "../../core/tokenizer/types.ts";
import { type TEST_MODEL_FILES, testModelPath } from "../../tests/testdata.ts";
import type { CompiledGrammar } from "./automaton.ts";
import { pdaOf } from "./matcher.ts";
import { DEAD } from "./pda.ts";

const _tokenizers = new Map<string, Promise<Tokenizer>>();
const _tokenBytes = new WeakMap<Tokenizer, Uint8Array[]>();

/** The tokenizer of a cached test model (loaded once per process). */
export function loadTestTokenizer(alias: keyof typeof TEST_MODEL_FILES): Promise<Tokenizer> {
  let tokenizer = _tokenizers.get(alias);
  if (tokenizer === undefined) {
    tokenizer = readGgufFile(testModelPath(alias)).then((file) => createTokenizer(file.metadata));
    _tokenizers.set(alias, tokenizer);
  }
  return tokenizer;
}

/** Ids allowed after `state` by stepping each token's bytes (EOG included when the grammar can end). */
export function bruteForceAllowed(
  grammar: CompiledGrammar,
  state: number,
  tokenizer: Tokenizer,
): number[] {
  const pda = pdaOf(grammar);
  const out: number[] = [];
  const excluded = new Set<number>([TokenType.CONTROL, TokenType.UNKNOWN, TokenType.UNUSED]);
  let allBytes = _tokenBytes.get(tokenizer);
  if (allBytes === undefined) {
    allBytes = Array.from({ length: tokenizer.vocabSize }, (_, id) => tokenizer.tokenBytes(id));
    _tokenBytes.set(tokenizer, allBytes);
  }
  for (let id = 0; id < tokenizer.vocabSize; id++) {
    if (tokenizer.isEog(id)) {
      if (pda.canEnd(state)) out.push(id);
      continue;
    }
    if (excluded.has(tokenizer.vocab.types[id])) continue;
    const bytes = allBytes[id];
    if (bytes.length === 0) continue;
    let s = state;
    for (let i = 0; i < bytes.length && s !== DEAD; i++) s = pda.stepByte(s, bytes[i]);
    if (s !== DEAD) out.push(id);
  }
  return out;
}

/** The ids set in a bit set. */
export function idsOfBits(bits: Uint32Array): number[] {
  const out: number[] = [];
  for (let w = 0; w < bits.length; w++) {
    for (let b = 0; b < 32; b++) if (bits[w] & (1 << b)) out.push(w * 32 + b);
  }
  return out;
}

/** A seeded generator of floats in [0, 1) (mulberry32). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One random walk: the tokens picked and their text. */
export interface RandomWalk {
  ids: number[];
  text: string;
  ended: boolean;
}

/**
 * Picks allowed tokens at random until an EOG token is picked or `maxSteps` pass. After
 * `budget` steps the walk leans towards closing (`"`, `]`, `}`, one-byte tokens, EOG) so that
 * open-ended grammars end.
 */
export function randomWalk(
  constraint: { allowedTokens(): Uint32Array; accept(id: number): void; canEnd(): boolean },
  tokenizer: Tokenizer,
  random: () => number,
  options: { budget?: number; maxSteps?: number; onStep?: (id: number) => void } = {},
): RandomWalk {
  const budget = options.budget ?? 40;
  const maxSteps = options.maxSteps ?? 2000;
  const ids: number[] = [];
  const kinds = _tokenKinds(tokenizer);
  for (let step = 0; step < maxSteps; step++) {
    // Candidates are counted and picked by scanning the allowed bits against the kind table
    // (no id arrays, no token bytes per step: the bench times mask calls along this walk, and
    // garbage made here lands there as GC pauses).
    const bits = constraint.allowedTokens();
    const eogCount = _countIds(bits, kinds, KIND_EOG);
    const textCount = _countIds(bits, kinds, KIND_TEXT);
    if (eogCount + textCount === 0) {
      throw new Error(`Random walk stuck after ${JSON.stringify(ids)}`);
    }
    let id: number;
    if (eogCount > 0 && (textCount === 0 || random() < (step > budget ? 0.8 : 0.1))) {
      id = _nthId(bits, kinds, KIND_EOG, 0);
    } else if (step > budget) {
      const closers = _countIds(bits, kinds, KIND_CLOSER);
      const oneBytes = _countIds(bits, kinds, KIND_ONE_BYTE);
      if (closers > 0 && random() < 0.7) {
        id = _nthId(bits, kinds, KIND_CLOSER, Math.floor(random() * closers));
      } else if (oneBytes > 0) {
        id = _nthId(bits, kinds, KIND_ONE_BYTE, Math.floor(random() * oneBytes));
      } else id = _nthId(bits, kinds, KIND_TEXT, Math.floor(random() * textCount));
    } else id = _nthId(bits, kinds, KIND_TEXT, Math.floor(random() * textCount));
    options.onStep?.(id);
    constraint.accept(id);
    if (tokenizer.isEog(id)) return { ids, text: _decode(tokenizer, ids), ended: true };
    ids.push(id);
  }
  return { ids, text: _decode(tokenizer, ids), ended: false };
}

/** Kind bits of a token: EOG, text (not EOG), one byte of text, one closing byte `"`, `]`, `}`. */
const KIND_EOG = 1;
const KIND_TEXT = 2;
const KIND_ONE_BYTE = 4;
const KIND_CLOSER = 8;
const _kindTables = new WeakMap<Tokenizer, Uint8Array>();

/** `[vocabSize]` kind bits of every token (computed once per tokenizer). */
function _tokenKinds(tokenizer: Tokenizer): Uint8Array {
  let kinds = _kindTables.get(tokenizer);
  if (kinds !== undefined) return kinds;
  kinds = new Uint8Array(tokenizer.vocabSize);
  for (let id = 0; id < tokenizer.vocabSize; id++) {
    if (tokenizer.isEog(id)) {
      kinds[id] = KIND_EOG;
      continue;
    }
    const bytes = tokenizer.tokenBytes(id);
    const oneByte = bytes.length === 1;
    const closer = oneByte && (bytes[0] === 0x22 || bytes[0] === 0x5d || bytes[0] === 0x7d);
    kinds[id] = KIND_TEXT | (oneByte ? KIND_ONE_BYTE : 0) | (closer ? KIND_CLOSER : 0);
  }
  _kindTables.set(tokenizer, kinds);
  return kinds;
}

/** How many set ids of `bits` have `kind` in `kinds`. */
function _countIds(bits: Uint32Array, kinds: Uint8Array, kind: number): number {
  let count = 0;
  for (let w = 0; w < bits.length; w++) {
    let word = bits[w];
    while (word !== 0) {
      const low = word & -word;
      if (kinds[w * 32 + 31 - Math.clz32(low)] & kind) count++;
      word ^= low;
    }
  }
  return count;
}

/** The `n`-th (from 0, in id order) set id of `bits` that has `kind`, or -1. */
function _nthId(bits: Uint32Array, kinds: Uint8Array, kind: number, n: number): number {
  let left = n;
  for (let w = 0; w < bits.length; w++) {
    let word = bits[w];
    while (word !== 0) {
      const low = word & -word;
      const id = w * 32 + 31 - Math.clz32(low);
      if ((kinds[id] & kind) && left-- === 0) return id;
      word ^= low;
    }
  }
  return -1;
}

function _decode(tokenizer: Tokenizer, ids: number[]): string {
  const parts = ids.map((id) => tokenizer.tokenBytes(id));
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.length;
  }
  return new TextDecoder().decode(bytes);
}
