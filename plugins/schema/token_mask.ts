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
 * A frame's walk goes over the shape trie (`shape_trie.ts`): where the automaton treats
 * every byte of a shape alike (the common case inside string contents), one shape node
 * stands for all its token-trie nodes; where it does not, the walk drops to those token-trie
 * nodes. Two things keep a dense walk (~250k tokens, ~30k shape nodes on Gemma 3) near
 * 0.4 ms: gstates without calls are stepped on the DFA table itself (the caller being
 * unknown, no pda state is interned per byte depth), and alive shape nodes are recorded as
 * ranges of token positions, so the work follows nodes, not tokens, until the set is built.
 * `naiveMask()` walks the token trie from the real state with none of this (no frame
 * split, no shapes, no caches): the oracle the fast path is tested against.
 *
 * @module
 */

import type { CompiledGrammar } from "./automaton.ts";
import { pdaOf } from "./matcher.ts";
import { DEAD, EMPTY_STACK, type Pda, UNKNOWN_PARENT } from "./pda.ts";
import { type ShapeTrie, shapeTrieOf } from "./shape_trie.ts";
import type { TokenTrie } from "./token_trie.ts";

/**
 * A set of token ids, kept in the forms its uses need: `bits` for membership when the set is
 * large, and the id list that masks logits fastest. Keeping `ids` costs a gather, a fill and
 * a scatter (about three passes over `count` ids); writing `forbidden` costs one pass over
 * `vocabSize - count` ids. Measured on a 262k vocabulary the second wins above about a
 * quarter of the vocabulary (40 % allowed: 180 µs as ids, 95 µs as forbidden ids).
 */
export interface TokenSet {
  /** The ids, ascending, when `count <= vocabSize * FORBIDDEN_LIST_FROM`; else null. */
  readonly ids: Int32Array | null;
  /** `[ceil(vocabSize / 32)]` bit set when `count > SPARSE_LIMIT` (2048); else null. */
  readonly bits: Uint32Array | null;
  /** The ids in `[0, vocabSize)` not in the set, ascending, when `ids` is null. */
  readonly forbidden: Int32Array | null;
  readonly count: number;
}

interface _FrameMask {
  readonly set: TokenSet;
  /** Trie nodes where the frame's rule ended with bytes left, `[escapeCount]`. */
  readonly escapes: Int32Array;
}

const SPARSE_LIMIT = 2048;
/** Fraction of the vocabulary above which a set keeps its forbidden ids (see `TokenSet`). */
const FORBIDDEN_LIST_FROM = 0.25;
/** `#uniformNext` entries: not computed yet / bytes of the shape lead to different states. */
const UNIFORM_UNKNOWN = -2;
const NOT_UNIFORM = -3;
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
  readonly #shapes: ShapeTrie;
  /** Per shape: the distinct byte classes of its bytes. */
  readonly #shapeClasses: Int32Array[];
  /**
   * `[stateCapacity * shapeCount]`: the state every byte of the shape leads to, or DEAD,
   * NOT_UNIFORM, UNIFORM_UNKNOWN.
   */
  #uniformNext: Int32Array;
  /**
   * Frame walks run on walk codes: a code below `#gstateCount` is a gstate without calls under
   * the unknown caller (stepped with the DFA table, nothing interned), any other code is pda
   * state `code - #gstateCount`.
   */
  readonly #gstateCount: number;
  /** `[gstateCount]`: 1 where the gstate has no call edges (its frame alone reads bytes). */
  readonly #callFree: Uint8Array;
  /** `[gstateCount * shapeCount]`: like `#uniformNext`, from call-free gstate codes. */
  readonly #gstateUniform: Int32Array;
  readonly #walkCodes: Int32Array;
  readonly #frameMasks: (_FrameMask | undefined)[];
  readonly #stateMasks = new Map<number, TokenSet>();
  #escapeFlag = new Int8Array(256).fill(-1);
  readonly #collected: Int32Array;
  /**
   * `[2 * (shapeNodeCount + 1)]`: the last shape walk's alive tokens as [start, end) pairs of
   * positions in `shapes.tokenIds` (a subtree's tokens are contiguous there).
   */
  readonly #aliveRanges: Int32Array;
  #aliveRangeEnd = 0;
  /** `[ceil(vocabSize / 32)]`: every token of the trie (the starting point of dense masks). */
  readonly #trieBits: Uint32Array;
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
    for (let n = 0; n < trie.nodeCount; n++) {
      this.#nodeClass[n] = grammar.byteClass[trie.nodeByte[n]];
    }
    this.#shapes = shapeTrieOf(trie);
    const shapeCount = this.#shapes.shapeCount;
    const classSets: Set<number>[] = Array.from({ length: shapeCount }, () => new Set());
    for (let b = 0; b < 256; b++) classSets[this.#shapes.shapeOfByte[b]].add(grammar.byteClass[b]);
    this.#shapeClasses = classSets.map((set) => Int32Array.from(set));
    this.#uniformNext = new Int32Array(64 * shapeCount).fill(UNIFORM_UNKNOWN);
    this.#gstateCount = grammar.stateCount;
    this.#callFree = new Uint8Array(grammar.stateCount);
    for (let g = 0; g < grammar.stateCount; g++) {
      this.#callFree[g] = grammar.callOffset[g] === grammar.callOffset[g + 1] ? 1 : 0;
    }
    this.#gstateUniform = new Int32Array(grammar.stateCount * shapeCount).fill(UNIFORM_UNKNOWN);
    this.#walkCodes = new Int32Array(trie.maxDepth + 2);
    this.#frameMasks = new Array(grammar.stateCount);
    this.#collected = new Int32Array(trie.tokenIds.length + 1);
    this.#aliveRanges = new Int32Array(2 * (this.#shapes.nodeCount + 1));
    this.#trieBits = _bitsOf(trie.tokenIds, trie.tokenIds.length, Math.ceil(trie.vocabSize / 32));
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

  /**
   * The tokens allowed in `state`, by a walk of the whole token trie from the real state: no
   * frame split, no shapes, nothing cached. Slow; the oracle of `mask()`.
   * @param state a state id of `pda`
   * @returns the allowed token ids (end-of-generation ones excluded), ascending
   */
  naiveMask(state: number): Int32Array {
    if (state === DEAD) return new Int32Array(0);
    const trie = this.trie;
    const states = new Int32Array(trie.maxDepth + 1);
    const out: number[] = [];
    states[0] = state;
    let n = 1;
    while (n < trie.nodeCount) {
      const depth = trie.nodeDepth[n];
      const next = this.pda.stepByte(states[depth - 1], trie.nodeByte[n]);
      if (next === DEAD) {
        n = trie.nodeEnd[n];
        continue;
      }
      states[depth] = next;
      for (let k = trie.tokenOffset[n]; k < trie.tokenOffset[n + 1]; k++) {
        out.push(trie.tokenIds[k]);
      }
      n++;
    }
    return Int32Array.from(out).sort();
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
    return _fromBits(bits, this.trie.vocabSize);
  }

  #frameMask(gstate: number): _FrameMask {
    let frameMask = this.#frameMasks[gstate];
    if (frameMask === undefined) {
      const start = this.#callFree[gstate] === 1
        ? gstate
        : this.#gstateCount + this.pda.singleStateOf(this.pda.frame(gstate, UNKNOWN_PARENT));
      const escapes: number[] = [];
      const extraCount = this.#shapeWalk(start, escapes);
      frameMask = { set: this.#walkedSet(extraCount), escapes: Int32Array.from(escapes) };
      this.#frameMasks[gstate] = frameMask;
    }
    return frameMask;
  }

  /**
   * Walks the whole vocabulary from walk code `start` over the shape trie. Tokens of shape nodes that
   * stay alive go to `#aliveRanges` as position ranges (no per-token work: a dense mask is
   * ~250k tokens but ~30k shape nodes); tokens found where the walk drops to token-trie nodes
   * go to `#collected` as ids, and their count is returned. Token-trie nodes where the
   * unknown caller would continue are pushed to `escapes`.
   */
  #shapeWalk(start: number, escapes: number[]): number {
    const shapes = this.#shapes;
    const { nodeShape, nodeDepth, nodeEnd, byteOffset, byteNodes, tokenOffset } = shapes;
    const shapeCount = shapes.shapeCount;
    const gstateCount = this.#gstateCount;
    const gstateUniform = this.#gstateUniform;
    const codes = this.#walkCodes;
    const ranges = this.#aliveRanges;
    let rangeEnd = 0;
    let count = 0;
    codes[0] = start;
    let n = 1;
    while (n < shapes.nodeCount) {
      const parentCode = codes[nodeDepth[n] - 1];
      const shape = nodeShape[n];
      let next: number;
      if (parentCode < gstateCount) {
        next = gstateUniform[parentCode * shapeCount + shape];
        if (next === UNIFORM_UNKNOWN) next = this.#computeGstateUniform(parentCode, shape);
      } else next = this.#pdaNextCode(parentCode - gstateCount, shape);
      if (next === DEAD) {
        n = nodeEnd[n];
        continue;
      }
      if (next === NOT_UNIFORM) {
        const parentState = this.#pdaStateOfCode(parentCode);
        for (let k = byteOffset[n]; k < byteOffset[n + 1]; k++) {
          count = this.#walkNode(byteNodes[k], parentState, count, escapes);
        }
        n = nodeEnd[n];
        continue;
      }
      codes[nodeDepth[n]] = next;
      const from = tokenOffset[n];
      const to = tokenOffset[n + 1];
      if (from < to) {
        // Alive nodes that follow each other in preorder extend one range.
        if (rangeEnd > 0 && ranges[rangeEnd - 1] === from) ranges[rangeEnd - 1] = to;
        else {
          ranges[rangeEnd++] = from;
          ranges[rangeEnd++] = to;
        }
      }
      if (nodeEnd[n] > n + 1 && this.#callerMayContinue(next)) this.#pushEscapes(n, escapes);
      n++;
    }
    this.#aliveRangeEnd = rangeEnd;
    return count;
  }

  /** True when the unknown caller may read on from walk code `code` (its rule may end there). */
  #callerMayContinue(code: number): boolean {
    // A call-free gstate ends its rule (back to the unknown caller) where it accepts.
    if (code < this.#gstateCount) return this.pda.grammar.accepting[code] === 1;
    return this.#hasUnknownParent(code - this.#gstateCount);
  }

  /** Pushes the token-trie nodes of shape node `n` that have children to `escapes`. */
  #pushEscapes(n: number, escapes: number[]): void {
    const { byteOffset, byteNodes } = this.#shapes;
    const byteEnd = this.trie.nodeEnd;
    for (let k = byteOffset[n]; k < byteOffset[n + 1]; k++) {
      const node = byteNodes[k];
      if (byteEnd[node] > node + 1) escapes.push(node);
    }
  }

  /**
   * The set of the last shape walk: `#aliveRanges` plus the first `extraCount` ids of
   * `#collected`. A set of more than half the trie starts from all trie tokens and clears
   * the positions between ranges, so its cost follows the forbidden tokens, not the allowed.
   */
  #walkedSet(extraCount: number): TokenSet {
    const ranges = this.#aliveRanges;
    const rangeEnd = this.#aliveRangeEnd;
    const positionIds = this.#shapes.tokenIds;
    let rangeTokenCount = 0;
    for (let r = 0; r < rangeEnd; r += 2) rangeTokenCount += ranges[r + 1] - ranges[r];
    if (rangeTokenCount + extraCount <= SPARSE_LIMIT) {
      const ids = this.#collected.slice(0, rangeTokenCount + extraCount);
      let i = extraCount;
      for (let r = 0; r < rangeEnd; r += 2) {
        for (let p = ranges[r]; p < ranges[r + 1]; p++) ids[i++] = positionIds[p];
      }
      return { ids: ids.sort(), bits: null, forbidden: null, count: ids.length };
    }
    let bits: Uint32Array;
    if (rangeTokenCount > positionIds.length / 2) {
      bits = this.#trieBits.slice();
      let p = 0;
      for (let r = 0; r <= rangeEnd; r += 2) {
        const gapEnd = r < rangeEnd ? ranges[r] : positionIds.length;
        for (; p < gapEnd; p++) bits[positionIds[p] >>> 5] &= ~(1 << (positionIds[p] & 31));
        p = r < rangeEnd ? ranges[r + 1] : p;
      }
    } else {
      bits = new Uint32Array(this.#words);
      for (let r = 0; r < rangeEnd; r += 2) {
        for (let p = ranges[r]; p < ranges[r + 1]; p++) {
          bits[positionIds[p] >>> 5] |= 1 << (positionIds[p] & 31);
        }
      }
    }
    const extras = this.#collected;
    for (let i = 0; i < extraCount; i++) bits[extras[i] >>> 5] |= 1 << (extras[i] & 31);
    return _fromBits(bits, this.trie.vocabSize);
  }

  /**
   * The walk code all bytes of `shape` lead to from call-free `gstate` under the unknown
   * caller (DEAD when all die), or NOT_UNIFORM; read from the DFA table and cached.
   */
  #computeGstateUniform(gstate: number, shape: number): number {
    const { next, classCount } = this.pda.grammar;
    const classes = this.#shapeClasses[shape];
    const row = gstate * classCount;
    const target = next[row + classes[0]];
    let code = target < 0 ? DEAD : target;
    for (let i = 1; i < classes.length; i++) {
      if (next[row + classes[i]] !== target) code = NOT_UNIFORM;
    }
    if (code >= 0 && this.#callFree[code] === 0) {
      code = this.#gstateCount + this.pda.singleStateOf(this.pda.frame(target, UNKNOWN_PARENT));
    }
    this.#gstateUniform[gstate * this.#shapes.shapeCount + shape] = code;
    return code;
  }

  /** The walk code all bytes of `shape` lead to from pda `state`, or DEAD, NOT_UNIFORM. */
  #pdaNextCode(state: number, shape: number): number {
    const index = state * this.#shapes.shapeCount + shape;
    let next = index < this.#uniformNext.length ? this.#uniformNext[index] : UNIFORM_UNKNOWN;
    if (next === UNIFORM_UNKNOWN) next = this.#computeUniformNext(state, shape);
    return next < 0 ? next : this.#gstateCount + next;
  }

  /** The pda state a walk code stands for (interned on demand for gstate codes). */
  #pdaStateOfCode(code: number): number {
    if (code >= this.#gstateCount) return code - this.#gstateCount;
    return this.pda.singleStateOf(this.pda.frame(code, UNKNOWN_PARENT));
  }

  /** The state all bytes of `shape` lead to from `state` (DEAD when all die), or NOT_UNIFORM. */
  #computeUniformNext(state: number, shape: number): number {
    const shapeCount = this.#shapes.shapeCount;
    if ((state + 1) * shapeCount > this.#uniformNext.length) {
      const size = Math.max((state + 1) * shapeCount, this.#uniformNext.length * 2);
      const grown = new Int32Array(size).fill(UNIFORM_UNKNOWN);
      grown.set(this.#uniformNext);
      this.#uniformNext = grown;
    }
    const next = this.pda.uniformStep(state, this.#shapeClasses[shape]) ?? NOT_UNIFORM;
    this.#uniformNext[state * shapeCount + shape] = next;
    return next;
  }

  /**
   * Walks token-trie node `node` and its subtree, its parent being in `parentState`; appends
   * the alive tokens to `#collected` from `count` on and returns the new count.
   */
  #walkNode(node: number, parentState: number, count: number, escapes: number[]): number {
    const trie = this.trie;
    const next = this.pda.step(parentState, this.#nodeClass[node]);
    if (next === DEAD) return count;
    for (let k = trie.tokenOffset[node]; k < trie.tokenOffset[node + 1]; k++) {
      this.#collected[count++] = trie.tokenIds[k];
    }
    if (trie.nodeEnd[node] > node + 1 && this.#hasUnknownParent(next)) escapes.push(node);
    return this.#walk(node, next, count, true, escapes);
  }

  /**
   * Walks the subtree below `fromNode` starting in `fromState`, appending the ids of tokens
   * that stay alive to `#collected` from `count` on; returns the new count. With
   * `recordEscapes`, nodes where the unknown caller would continue are pushed to `escapes`.
   */
  #walk(
    fromNode: number,
    fromState: number,
    count: number,
    recordEscapes: boolean,
    escapes?: number[],
  ): number {
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
}

const _EMPTY_SET: TokenSet = { ids: new Int32Array(0), bits: null, forbidden: null, count: 0 };

/** A `[words]` bit set of the first `count` ids of `ids`. */
function _bitsOf(ids: Int32Array, count: number, words: number): Uint32Array {
  const bits = new Uint32Array(words);
  for (let i = 0; i < count; i++) bits[ids[i] >>> 5] |= 1 << (ids[i] & 31);
  return bits;
}

function _orInto(bits: Uint32Array, part: TokenSet): void {
  if (part.bits !== null) {
    for (let w = 0; w < bits.length; w++) bits[w] |= part.bits[w];
  } else {
    for (const id of part.ids!) bits[id >>> 5] |= 1 << (id & 31);
  }
}

/** The set of the ids in `bits` (which it keeps when the set is large). */
function _fromBits(bits: Uint32Array, vocabSize: number): TokenSet {
  let count = 0;
  for (let w = 0; w < bits.length; w++) count += _popcount(bits[w]);
  if (count > vocabSize * FORBIDDEN_LIST_FROM) {
    return { ids: null, bits, forbidden: _idsWhere(bits, vocabSize - count, vocabSize, -1), count };
  }
  return {
    ids: _idsWhere(bits, count, vocabSize, 0),
    bits: count > SPARSE_LIMIT ? bits : null,
    forbidden: null,
    count,
  };
}

/** The ids below `vocabSize` whose bit is set (`flip` 0) or clear (`flip` -1), ascending. */
function _idsWhere(bits: Uint32Array, count: number, vocabSize: number, flip: number): Int32Array {
  // The lowest-bit loop costs ~1.2-1.7 ns an id (a branch per id), the byte table ~20 ns a
  // word whatever its ids: the table wins above about 3/8 of the vocabulary. It reads whole
  // words (and `count` must be every id they hold), so it only serves whole-word vocabularies.
  if (count > bits.length * 12 && vocabSize % 32 === 0) return _idsWhereByBytes(bits, count, flip);
  const ids = new Int32Array(count);
  let i = 0;
  for (let w = 0; w < bits.length; w++) {
    let word = bits[w] ^ flip;
    while (word !== 0) {
      const low = word & -word;
      const id = w * 32 + 31 - Math.clz32(low);
      if (id >= vocabSize) break;
      ids[i++] = id;
      word ^= low;
    }
  }
  return ids;
}

/** Per byte value: its number of set bits, and their positions (8 slots, lowest first). */
const _BYTE_BIT_COUNT = new Uint8Array(256);
const _BYTE_BIT_POSITIONS = new Uint8Array(256 * 8);
for (let byte = 0; byte < 256; byte++) {
  for (let bit = 0; bit < 8; bit++) {
    if (byte & (1 << bit)) _BYTE_BIT_POSITIONS[byte * 8 + _BYTE_BIT_COUNT[byte]++] = bit;
  }
}

/**
 * `_idsWhere` for long lists over a whole-word vocabulary: each byte's eight slots are written
 * whatever its bits and the cursor moves by its bit count, so nothing branches per id. The
 * last byte writes up to 7 slots past `count`, hence `count + 8` (Gemma 3's dense masks,
 * 155k-191k of 262k ids listed: ~175-185 µs instead of ~270-320 µs).
 */
function _idsWhereByBytes(bits: Uint32Array, count: number, flip: number): Int32Array {
  const ids = new Int32Array(count + 8);
  let i = 0;
  for (let w = 0; w < bits.length; w++) {
    const word = bits[w] ^ flip;
    for (let shift = 0; shift < 32; shift += 8) {
      const byte = (word >>> shift) & 255;
      const base = w * 32 + shift;
      const slots = byte * 8;
      ids[i] = base + _BYTE_BIT_POSITIONS[slots];
      ids[i + 1] = base + _BYTE_BIT_POSITIONS[slots + 1];
      ids[i + 2] = base + _BYTE_BIT_POSITIONS[slots + 2];
      ids[i + 3] = base + _BYTE_BIT_POSITIONS[slots + 3];
      ids[i + 4] = base + _BYTE_BIT_POSITIONS[slots + 4];
      ids[i + 5] = base + _BYTE_BIT_POSITIONS[slots + 5];
      ids[i + 6] = base + _BYTE_BIT_POSITIONS[slots + 6];
      ids[i + 7] = base + _BYTE_BIT_POSITIONS[slots + 7];
      i += _BYTE_BIT_COUNT[byte];
    }
  }
  return ids.subarray(0, count);
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
