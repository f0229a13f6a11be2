/**
 * Token masks: which vocabulary tokens a grammar state allows next.
 *
 * Most of the work does not depend on the parse stack, so it is done once per DFA state
 * (gstate) and cached: walking the token trie from a frame whose caller is unknown gives the
 * tokens that stay inside the frame's rule (allowed whatever the caller is) and the trie
 * nodes where the rule has ended with bytes left ("escapes"). At run time a state's mask is
 * the union of its frames' cached masks, plus, for each escape, a walk of that node's
 * (small) subtree from the real caller. Whole state masks are cached too (LRU).
 *
 * @module
 */

import type { CompiledGrammar } from "./automaton.ts";
import { pdaOf } from "./matcher.ts";
import { DEAD, EMPTY_STACK, type Pda, UNKNOWN_PARENT } from "./pda.ts";
import type { TokenTrie } from "./token_trie.ts";

/** A set of token ids: a sorted id list when small, else a bit set `[ceil(vocabSize / 32)]`. */
export interface TokenSet {
  readonly ids: Int32Array | null;
  readonly bits: Uint32Array | null;
  readonly count: number;
}

interface _FrameMask {
  readonly set: TokenSet;
  /** Trie nodes where the frame's rule ended with bytes left, `[escapeCount]`. */
  readonly escapes: Int32Array;
}

const SPARSE_LIMIT = 2048;
const STATE_CACHE_LIMIT = 512;
const _engines = new WeakMap<CompiledGrammar, WeakMap<TokenTrie, MaskEngine>>();

/** The shared mask engine of a grammar over a vocabulary (cached per pair). */
export function maskEngineOf(grammar: CompiledGrammar, trie: TokenTrie): MaskEngine {
  let byTrie = _engines.get(grammar);
  if (byTrie === undefined) {
    byTrie = new WeakMap();
    _engines.set(grammar, byTrie);
  }
  let engine = byTrie.get(trie);
  if (engine === undefined) {
    engine = new MaskEngine(grammar, trie);
    byTrie.set(trie, engine);
  }
  return engine;
}

/** Computes and caches token masks of one grammar over one vocabulary. */
export class MaskEngine {
  /** The automaton runtime. */
  readonly pda: Pda;
  /** The vocabulary trie. */
  readonly trie: TokenTrie;
  readonly #nodeClass: Uint8Array;
  readonly #frameMasks: (_FrameMask | undefined)[];
  readonly #stateMasks = new Map<number, TokenSet>();
  #escapeFlag = new Int8Array(256).fill(-1);
  readonly #collected: Int32Array;
  readonly #walkStates: Int32Array;
  readonly #words: number;

  /**
   * @param grammar the compiled grammar
   * @param trie the vocabulary trie
   */
  constructor(grammar: CompiledGrammar, trie: TokenTrie) {
    this.pda = pdaOf(grammar);
    this.trie = trie;
    this.#nodeClass = new Uint8Array(trie.nodeCount);
    for (let n = 0; n < trie.nodeCount; n++) this.#nodeClass[n] = grammar.byteClass[trie.nodeByte[n]];
    this.#frameMasks = new Array(grammar.stateCount);
    this.#collected = new Int32Array(trie.tokenIds.length + 1);
    this.#walkStates = new Int32Array(trie.maxDepth + 2);
    this.#words = Math.ceil(trie.vocabSize / 32);
  }

  /** Computes the context-free masks of every gstate now (instead of on first use). */
  precomputeAll(): void {
    for (let g = 0; g < this.pda.grammar.stateCount; g++) this.#frameMask(g);
  }

  /**
   * The tokens (end-of-generation ones excluded) allowed in `state`.
   * @param state a state id of `pda`
   */
  mask(state: number): TokenSet {
    let set = this.#stateMasks.get(state);
    if (set !== undefined) {
      // Refresh its place in the LRU order.
      this.#stateMasks.delete(state);
      this.#stateMasks.set(state, set);
      return set;
    }
    set = this.#computeMask(state);
    this.#stateMasks.set(state, set);
    if (this.#stateMasks.size > STATE_CACHE_LIMIT) {
      this.#stateMasks.delete(this.#stateMasks.keys().next().value!);
    }
    return set;
  }

  #computeMask(state: number): TokenSet {
    if (state === DEAD) return _EMPTY_SET;
    const pda = this.pda;
    const parts: TokenSet[] = [];
    const walks: [node: number, parentState: number][] = [];
    for (const f of pda.closure(state)) {
      if (f <= UNKNOWN_PARENT) continue;
      const frameMask = this.#frameMask(pda.frameState[f]);
      parts.push(frameMask.set);
      const parent = pda.frameParent[f];
      if (parent === EMPTY_STACK || frameMask.escapes.length === 0) continue;
      const parentState = pda.stateOf([parent]);
      for (const node of frameMask.escapes) walks.push([node, parentState]);
    }
    if (parts.length === 0) return _EMPTY_SET;
    if (parts.length === 1 && walks.length === 0) return parts[0];
    const bits = new Uint32Array(this.#words);
    for (const part of parts) _orInto(bits, part);
    for (const [node, parentState] of walks) {
      const count = this.#walk(node, parentState, 0, false);
      for (let i = 0; i < count; i++) {
        const id = this.#collected[i];
        bits[id >>> 5] |= 1 << (id & 31);
      }
    }
    return _fromBits(bits);
  }

  #frameMask(gstate: number): _FrameMask {
    let frameMask = this.#frameMasks[gstate];
    if (frameMask === undefined) {
      const pda = this.pda;
      const start = pda.stateOf([pda.frame(gstate, UNKNOWN_PARENT)]);
      const escapes: number[] = [];
      const count = this.#walk(0, start, 0, true, escapes);
      frameMask = { set: this.#toSet(this.#collected, count), escapes: Int32Array.from(escapes) };
      this.#frameMasks[gstate] = frameMask;
    }
    return frameMask;
  }

  /**
   * Walks the subtree below `fromNode` starting in `fromState`, appending the ids of tokens
   * that stay alive to `#collected` from `count` on; returns the new count. With
   * `recordEscapes`, nodes where the unknown caller would continue are pushed to `escapes`.
   */
  #walk(fromNode: number, fromState: number, count: number, recordEscapes: boolean, escapes?: number[]): number {
    const trie = this.trie;
    const nodeEnd = trie.nodeEnd;
    const nodeDepth = trie.nodeDepth;
    const tokenOffset = trie.tokenOffset;
    const tokenIds = trie.tokenIds;
    const nodeClass = this.#nodeClass;
    const states = this.#walkStates;
    const collected = this.#collected;
    const pda = this.pda;
    const classCount = pda.grammar.classCount;
    states[nodeDepth[fromNode]] = fromState;
    const end = nodeEnd[fromNode];
    let n = fromNode + 1;
    while (n < end) {
      const depth = nodeDepth[n];
      const parentState = states[depth - 1];
      let next = pda.transitions[parentState * classCount + nodeClass[n]];
      if (next === -2) next = pda.step(parentState, nodeClass[n]);
      if (next === DEAD) {
        n = nodeEnd[n];
        continue;
      }
      states[depth] = next;
      for (let k = tokenOffset[n]; k < tokenOffset[n + 1]; k++) collected[count++] = tokenIds[k];
      if (recordEscapes && nodeEnd[n] > n + 1 && this.#hasUnknownParent(next)) escapes!.push(n);
      n++;
    }
    return count;
  }

  #hasUnknownParent(state: number): boolean {
    if (state >= this.#escapeFlag.length) {
      const grown = new Int8Array(Math.max(state + 1, this.#escapeFlag.length * 2)).fill(-1);
      grown.set(this.#escapeFlag);
      this.#escapeFlag = grown;
    }
    let flag = this.#escapeFlag[state];
    if (flag === -1) {
      const closure = this.pda.closure(state);
      flag = closure.includes(UNKNOWN_PARENT) ? 1 : 0;
      this.#escapeFlag[state] = flag;
    }
    return flag === 1;
  }

  #toSet(ids: Int32Array, count: number): TokenSet {
    if (count <= SPARSE_LIMIT) return { ids: ids.slice(0, count).sort(), bits: null, count };
    const bits = new Uint32Array(this.#words);
    for (let i = 0; i < count; i++) bits[ids[i] >>> 5] |= 1 << (ids[i] & 31);
    return { ids: null, bits, count };
  }
}

const _EMPTY_SET: TokenSet = { ids: new Int32Array(0), bits: null, count: 0 };

function _orInto(bits: Uint32Array, part: TokenSet): void {
  if (part.bits !== null) {
    for (let w = 0; w < bits.length; w++) bits[w] |= part.bits[w];
  } else {
    for (const id of part.ids!) bits[id >>> 5] |= 1 << (id & 31);
  }
}

function _fromBits(bits: Uint32Array): TokenSet {
  let count = 0;
  for (let w = 0; w < bits.length; w++) count += _popcount(bits[w]);
  if (count > SPARSE_LIMIT) return { ids: null, bits, count };
  const ids = new Int32Array(count);
  let i = 0;
  for (let w = 0; w < bits.length; w++) {
    let word = bits[w];
    while (word !== 0) {
      const low = word & -word;
      ids[i++] = w * 32 + 31 - Math.clz32(low);
      word ^= low;
    }
  }
  return { ids, bits: null, count };
}

function _popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/** True when `set` holds `id`. */
export function tokenSetHas(set: TokenSet, id: number): boolean {
  if (set.bits !== null) return (set.bits[id >>> 5] & (1 << (id & 31))) !== 0;
  const ids = set.ids!;
  let lo = 0;
  let hi = ids.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (ids[mid] === id) return true;
    if (ids[mid] < id) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}
