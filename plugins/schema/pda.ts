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
    if (frames.length === 1 && frames[0] < this.#singleState.length) {
      const single = this.#singleState[frames[0]];
      if (single >= 0) return single;
    }
    const sorted = Int32Array.from(new Set(frames)).sort();
    const key = sorted.join(",");
    let id = this.#stateIndex.get(key);
    if (id !== undefined) return id;
    id = this.stateFrames.length;
    this.stateFrames.push(sorted);
    this.#stateIndex.set(key, id);
    if (sorted.length === 1) {
      while (sorted[0] >= this.#singleState.length) this.#singleState = _grow(this.#singleState, -1);
      this.#singleState[sorted[0]] = id;
    }
    const classCount = this.grammar.classCount;
    if ((id + 1) * classCount > this.transitions.length) {
      this.transitions = _grow(this.transitions, UNKNOWN);
    }
    return id;
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
