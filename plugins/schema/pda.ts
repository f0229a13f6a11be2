/**
 * The pushdown automaton that runs a compiled grammar, with every configuration interned so
 * that stepping is a table look-up after the first time.
 *
 * - A frame is (gstate, parent frame): the top of a call stack. Frame 0 is the empty stack
 *   (the root rule has ended); frame 1 is `UNKNOWN_PARENT`, a stand-in for "whatever called
 *   this rule", used to precompute token masks that hold in every context.
 * - A state is a set of frames (the parser may be in several places at once). States are
 *   interned, and each state's successor per byte class is cached in `transitions`.
 * - The closure of a state adds the frames reachable without reading a byte (calls pushed,
 *   ended rules popped); only frames whose gstate reads bytes, and the markers 0 and 1, stay.
 *
 * @module
 */

import type { CompiledGrammar } from "./automaton.ts";

/** The state id of "no parse left". */
export const DEAD = -1;
/** Frame id of the empty stack: the whole grammar has matched. */
export const EMPTY_STACK = 0;
/** Frame id that stands for an unknown caller (used by context-free mask precomputation). */
export const UNKNOWN_PARENT = 1;

const UNKNOWN = -2;

/** Interned frames and states of one compiled grammar, shared by all its matchers. */
export class Pda {
  /** The grammar's tables. */
  readonly grammar: CompiledGrammar;
  /** `[frameCount]`: gstate of each frame (-1 for the two markers). */
  frameState: Int32Array = new Int32Array(1024);
  /** `[frameCount]`: parent frame id. */
  frameParent: Int32Array = new Int32Array(1024);
  /** Frames in use (two markers at start). */
  frameCount = 2;
  #frameIndex = new Map<number, number>();
  /** Frames of each state, sorted. */
  readonly stateFrames: Int32Array[] = [];
  #stateIndex = new Map<string, number>();
  /** `[frameCount]`: the state holding just this frame, or -1 (most states are one frame). */
  #singleState: Int32Array = new Int32Array(1024).fill(-1);
  /** `[stateCount * classCount]`: successor state per byte class, -1 dead, -2 not computed. */
  transitions: Int32Array;
  #closures: (Int32Array | undefined)[] = [];
  /** The state the root rule starts in. */
  readonly startState: number;

  /**
   * Creates the runtime of a compiled grammar.
   * @param grammar the compiled grammar to run
   */
  constructor(grammar: CompiledGrammar) {
    this.grammar = grammar;
    this.frameState[0] = -1;
    this.frameState[1] = -1;
    this.transitions = new Int32Array(64 * grammar.classCount).fill(UNKNOWN);
    this.startState = this.stateOf([this.frame(grammar.rootStart, EMPTY_STACK)]);
  }

  /** The interned frame (gstate on top of `parent`). */
  frame(gstate: number, parent: number): number {
    const key = parent * this.grammar.stateCount + gstate;
    let id = this.#frameIndex.get(key);
    if (id !== undefined) return id;
    id = this.frameCount++;
    if (id >= this.frameState.length) {
      this.frameState = _grow(this.frameState, -1);
      this.frameParent = _grow(this.frameParent, -1);
    }
    this.frameState[id] = gstate;
    this.frameParent[id] = parent;
    this.#frameIndex.set(key, id);
    return id;
  }

  /** The interned state holding exactly `frames` (any order, duplicates allowed). */
  stateOf(frames: number[]): number {
    if (frames.length === 0) return DEAD;
    if (frames.length === 1) return this.singleStateOf(frames[0]);
    const sorted = Int32Array.from(new Set(frames)).sort();
    if (sorted.length === 1) return this.singleStateOf(sorted[0]);
    const key = sorted.join(",");
    const id = this.#stateIndex.get(key);
    return id ?? this.#newState(sorted, key);
  }

  /** The interned state holding just `frame` (indexed by frame id: no key is built). */
  singleStateOf(frame: number): number {
    while (frame >= this.#singleState.length) this.#singleState = _grow(this.#singleState, -1);
    const id = this.#singleState[frame];
    return id >= 0 ? id : this.#newState(Int32Array.of(frame), undefined);
  }

  #newState(sorted: Int32Array, key: string | undefined): number {
    const id = this.stateFrames.length;
    this.stateFrames.push(sorted);
    if (key === undefined) this.#singleState[sorted[0]] = id;
    else this.#stateIndex.set(key, id);
    const classCount = this.grammar.classCount;
    if ((id + 1) * classCount > this.transitions.length) {
      this.transitions = _grow(this.transitions, UNKNOWN);
    }
    return id;
  }

  /**
   * The successor of `state` shared by every byte class in `classes`, `DEAD` when all die, or
   * `undefined` when they differ. A state with one byte-reading frame answers from the DFA
   * table without interning a successor per class.
   */
  uniformStep(state: number, classes: Int32Array): number | undefined {
    const frame = this.#onlyReadingFrame(state);
    if (frame < 0) return this.#uniformStepGeneral(state, classes);
    const { next, classCount } = this.grammar;
    const row = this.frameState[frame] * classCount;
    const target = next[row + classes[0]];
    for (let i = 1; i < classes.length; i++) {
      if (next[row + classes[i]] !== target) return undefined;
    }
    return target < 0 ? DEAD : this.singleStateOf(this.frame(target, this.frameParent[frame]));
  }

  #uniformStepGeneral(state: number, classes: Int32Array): number | undefined {
    const first = this.step(state, classes[0]);
    for (let i = 1; i < classes.length; i++) {
      if (this.step(state, classes[i]) !== first) return undefined;
    }
    return first;
  }

  /** The one frame of `state`'s closure that reads bytes, or -1 when there are several. */
  #onlyReadingFrame(state: number): number {
    const frames = this.closure(state);
    let only = -1;
    for (const f of frames) {
      if (f <= UNKNOWN_PARENT) continue;
      if (only >= 0) return -1;
      only = f;
    }
    return only;
  }

  /** The successor of `state` after one byte of class `cls`, or `DEAD`. */
  step(state: number, cls: number): number {
    const index = state * this.grammar.classCount + cls;
    const cached = this.transitions[index];
    if (cached !== UNKNOWN) return cached;
    const result = this.#computeStep(state, cls);
    this.transitions[index] = result;
    return result;
  }

  /** The successor of `state` after `byte`, or `DEAD`. */
  stepByte(state: number, byte: number): number {
    return this.step(state, this.grammar.byteClass[byte]);
  }

  /** The frames of `state` after calls are pushed and ended rules popped, sorted. */
  closure(state: number): Int32Array {
    let result = this.#closures[state];
    if (result === undefined) {
      result = this.#computeClosure(state);
      this.#closures[state] = result;
    }
    return result;
  }

  /** True when the whole grammar may end in `state`. */
  canEnd(state: number): boolean {
    return state !== DEAD && this.closure(state)[0] === EMPTY_STACK;
  }

  /** True when `state` reads no more bytes (only the end is left). */
  isFinal(state: number): boolean {
    const frames = this.closure(state);
    return frames.length === 1 && frames[0] === EMPTY_STACK;
  }

  #computeStep(state: number, cls: number): number {
    const { next, classCount } = this.grammar;
    const only = this.#onlyReadingFrame(state);
    if (only >= 0) {
      // One frame reads bytes (every state of a grammar without recursion): no frame list.
      const target = next[this.frameState[only] * classCount + cls];
      return target < 0 ? DEAD : this.singleStateOf(this.frame(target, this.frameParent[only]));
    }
    const out: number[] = [];
    for (const f of this.closure(state)) {
      if (f <= UNKNOWN_PARENT) continue;
      const target = next[this.frameState[f] * classCount + cls];
      if (target >= 0) out.push(this.frame(target, this.frameParent[f]));
    }
    return this.stateOf(out);
  }

  #computeClosure(state: number): Int32Array {
    const g = this.grammar;
    const seen = new Set<number>();
    const out: number[] = [];
    const stack = Array.from(this.stateFrames[state]);
    while (stack.length > 0) {
      const f = stack.pop()!;
      if (seen.has(f)) continue;
      seen.add(f);
      if (f <= UNKNOWN_PARENT) {
        out.push(f);
        continue;
      }
      const gstate = this.frameState[f];
      const parent = this.frameParent[f];
      if (g.hasByteOut[gstate]) out.push(f);
      if (g.accepting[gstate]) stack.push(parent);
      for (let k = g.callOffset[gstate]; k < g.callOffset[gstate + 1]; k++) {
        stack.push(this.frame(g.callStart[k], this.frame(g.callReturn[k], parent)));
      }
    }
    return Int32Array.from(out).sort();
  }
}

function _grow(array: Int32Array, fill: number): Int32Array {
  const grown = new Int32Array(array.length * 2).fill(fill);
  grown.set(array);
  return grown;
}
