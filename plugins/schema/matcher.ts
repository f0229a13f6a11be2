/**
 * A byte-level cursor over a compiled grammar: feed bytes or text, ask whether the text so
 * far can end here. Token-level constraints build on it; tests use it to check strings.
 *
 * @module
 */

import type { CompiledGrammar } from "./automaton.ts";
import { DEAD, Pda } from "./pda.ts";

const _encoder = new TextEncoder();
const _pdas = new WeakMap<CompiledGrammar, Pda>();

/** The shared automaton runtime of a compiled grammar (one per grammar, cached). */
export function pdaOf(grammar: CompiledGrammar): Pda {
  let pda = _pdas.get(grammar);
  if (pda === undefined) {
    pda = new Pda(grammar);
    _pdas.set(grammar, pda);
  }
  return pda;
}

/** Where a parse stands after some bytes of input. */
export class GrammarMatcher {
  /** The automaton runtime. */
  readonly pda: Pda;
  #state: number;

  /**
   * Creates a matcher at the grammar's start, or at `state`.
   *
   * @param grammar the compiled grammar
   * @param state a state id of the grammar's runtime; the start state when absent
   */
  constructor(grammar: CompiledGrammar, state?: number) {
    this.pda = pdaOf(grammar);
    this.#state = state ?? this.pda.startState;
  }

  /** The current state id (interned in `pda`). */
  get state(): number {
    return this.#state;
  }

  /**
   * Reads `bytes`; on failure the matcher is left unchanged.
   * @returns true when the grammar allows every byte here
   */
  acceptBytes(bytes: Uint8Array): boolean {
    let state = this.#state;
    for (let i = 0; i < bytes.length && state !== DEAD; i++) state = this.pda.stepByte(state, bytes[i]);
    if (state === DEAD) return false;
    this.#state = state;
    return true;
  }

  /** Reads the UTF-8 bytes of `text`; see `acceptBytes`. */
  acceptText(text: string): boolean {
    return this.acceptBytes(_encoder.encode(text));
  }

  /** True when the input so far is a complete match. */
  canEnd(): boolean {
    return this.pda.canEnd(this.#state);
  }

  /** True when no byte may follow (the match is complete and cannot grow). */
  isFinal(): boolean {
    return this.pda.isFinal(this.#state);
  }

  /** An independent matcher at the same position. */
  clone(): GrammarMatcher {
    return new GrammarMatcher(this.pda.grammar, this.#state);
  }
}

/** True when the whole of `text` matches `grammar`. */
export function matchesGrammar(grammar: CompiledGrammar, text: string): boolean {
  const matcher = new GrammarMatcher(grammar);
  return matcher.acceptText(text) && matcher.canEnd();
}
