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
  const isText = (id: number) => !tokenizer.isEog(id);
  const oneByte = (id: number) => isText(id) && tokenizer.tokenBytes(id).length === 1;
  const closer = (id: number) =>
    oneByte(id) && [0x22, 0x5d, 0x7d].includes(tokenizer.tokenBytes(id)[0]);
  for (let step = 0; step < maxSteps; step++) {
    // Candidates are counted and picked by scanning the allowed bits (no id arrays: the bench
    // times mask calls along this walk, and 262k-id arrays per step made GC pauses land there).
    const bits = constraint.allowedTokens();
    const eogCount = _countIds(bits, tokenizer.isEog.bind(tokenizer));
    const textCount = _countIds(bits, isText);
    if (eogCount + textCount === 0) {
      throw new Error(`Random walk stuck after ${JSON.stringify(ids)}`);
    }
    let id: number;
    if (eogCount > 0 && (textCount === 0 || random() < (step > budget ? 0.8 : 0.1))) {
      id = _nthId(bits, tokenizer.isEog.bind(tokenizer), 0);
    } else if (step > budget) {
      const closers = _countIds(bits, closer);
      const oneBytes = _countIds(bits, oneByte);
      if (closers > 0 && random() < 0.7) id = _nthId(bits, closer, Math.floor(random() * closers));
      else if (oneBytes > 0) id = _nthId(bits, oneByte, Math.floor(random() * oneBytes));
      else id = _nthId(bits, isText, Math.floor(random() * textCount));
    } else id = _nthId(bits, isText, Math.floor(random() * textCount));
    options.onStep?.(id);
    constraint.accept(id);
    if (tokenizer.isEog(id)) return { ids, text: _decode(tokenizer, ids), ended: true };
    ids.push(id);
  }
  return { ids, text: _decode(tokenizer, ids), ended: false };
}

/** How many set ids of `bits` satisfy `keep`. */
function _countIds(bits: Uint32Array, keep: (id: number) => boolean): number {
  let count = 0;
  _forEachId(bits, (id) => {
    if (keep(id)) count++;
  });
  return count;
}

/** The `n`-th (from 0, in id order) set id of `bits` that satisfies `keep`. */
function _nthId(bits: Uint32Array, keep: (id: number) => boolean, n: number): number {
  let chosen = -1;
  let left = n;
  _forEachId(bits, (id) => {
    if (chosen < 0 && keep(id) && left-- === 0) chosen = id;
  });
  return chosen;
}

function _forEachId(bits: Uint32Array, visit: (id: number) => void): void {
  for (let w = 0; w < bits.length; w++) {
    let word = bits[w];
    while (word !== 0) {
      const low = word & -word;
      visit(w * 32 + 31 - Math.clz32(low));
      word ^= low;
    }
  }
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
