/**
 * A grammar constraint over a tokenizer: the logits processor that masks disallowed tokens,
 * and the state that follows the accepted tokens. End-of-generation tokens are allowed
 * exactly when the grammar can end; control tokens never are.
 *
 * @module
 */

import type { LogitsProcessor } from "../../core/sampling/types.ts";
import type { Tokenizer } from "../../core/tokenizer/types.ts";
import type { CompiledGrammar } from "./automaton.ts";
import { DEAD } from "./pda.ts";
import { type MaskEngine, maskEngineOf, type TokenSet, tokenSetHas } from "./token_mask.ts";
import { tokenTrieOf } from "./token_trie.ts";

/** The per-request state of constrained decoding. */
export interface GrammarConstraint {
  /** Sets the logits of disallowed tokens to -Infinity (`[vocabSize]`, in place). */
  readonly processor: LogitsProcessor;
  /**
   * Advances past a sampled token.
   * @throws RangeError when the grammar does not allow `id` here
   */
  accept(id: number): void;
  /** True when `id` may come next. */
  isAllowed(id: number): boolean;
  /** The allowed next tokens as a bit set `[ceil(vocabSize / 32)]` (EOG included when allowed). */
  allowedTokens(): Uint32Array;
  /** True when the output so far is complete (an EOG token may come next). */
  canEnd(): boolean;
  /** True after an EOG token was accepted, or when nothing but the end may follow. */
  isDone(): boolean;
  /** An independent constraint at the same position (shares the caches). */
  clone(): GrammarConstraint;
}

/** Options of `createGrammarConstraint`. */
export interface GrammarConstraintOptions {
  /** Compute every DFA state's token mask now instead of on first use. Default false. */
  precompute?: boolean;
}

/**
 * Constrains decoding with `tokenizer` to texts of `grammar`.
 * @param grammar a compiled grammar (`compileSchema(...).grammar`, `compileGbnf(...)`)
 * @param tokenizer the model's tokenizer
 * @param options precomputation
 * @returns the constraint at the start of the grammar
 * @example Mask logits step by step
 * ```ts ignore
 * const constraint = createGrammarConstraint(compileGbnf('root ::= "yes" | "no"'), tokenizer);
 * constraint.processor(logits, { history: [] });
 * constraint.accept(sampledId);
 * ```
 */
export function createGrammarConstraint(
  grammar: CompiledGrammar,
  tokenizer: Tokenizer,
  options: GrammarConstraintOptions = {},
): GrammarConstraint {
  const engine = maskEngineOf(grammar, tokenTrieOf(tokenizer));
  if (options.precompute) engine.precomputeAll();
  return new _Constraint(engine, tokenizer, engine.pda.startState, false);
}

class _Constraint implements GrammarConstraint {
  readonly processor: LogitsProcessor;
  #engine: MaskEngine;
  #tokenizer: Tokenizer;
  #state: number;
  #ended: boolean;

  constructor(engine: MaskEngine, tokenizer: Tokenizer, state: number, ended: boolean) {
    this.#engine = engine;
    this.#tokenizer = tokenizer;
    this.#state = state;
    this.#ended = ended;
    this.processor = (logits) => this.#apply(logits);
  }

  accept(id: number): void {
    if (!this.isAllowed(id)) {
      const text = new TextDecoder().decode(this.#tokenizer.tokenBytes(id));
      throw new RangeError(
        `Cannot accept token ${id} (${JSON.stringify(text)}): the grammar does not allow it here`,
      );
    }
    if (this.#tokenizer.isEog(id)) {
      this.#ended = true;
      return;
    }
    this.#state = this.#advance(id);
  }

  isAllowed(id: number): boolean {
    if (this.#ended) return false;
    if (this.#tokenizer.isEog(id)) return this.canEnd();
    if (this.#state === DEAD) return false;
    return tokenSetHas(this.#engine.mask(this.#state), id);
  }

  allowedTokens(): Uint32Array {
    const bits = new Uint32Array(Math.ceil(this.#tokenizer.vocabSize / 32));
    if (this.#ended) return bits;
    const set = this.#engine.mask(this.#state);
    if (set.bits !== null) bits.set(set.bits);
    else for (const id of set.ids!) bits[id >>> 5] |= 1 << (id & 31);
    if (this.canEnd()) for (const id of this.#engine.trie.eogIds) bits[id >>> 5] |= 1 << (id & 31);
    return bits;
  }

  canEnd(): boolean {
    return !this.#ended && this.#engine.pda.canEnd(this.#state);
  }

  isDone(): boolean {
    return this.#ended || this.#engine.pda.isFinal(this.#state);
  }

  clone(): GrammarConstraint {
    return new _Constraint(this.#engine, this.#tokenizer, this.#state, this.#ended);
  }

  #advance(id: number): number {
    const pda = this.#engine.pda;
    let state = this.#state;
    for (const byte of this.#tokenizer.tokenBytes(id)) {
      state = pda.stepByte(state, byte);
      if (state === DEAD) break;
    }
    return state;
  }

  #apply(logits: Float32Array): void {
    const eogIds = this.#engine.trie.eogIds;
    const keepEog = this.canEnd();
    const eogLogits = keepEog ? eogIds.map((id) => logits[id]) : null;
    const set: TokenSet = this.#ended ? { ids: new Int32Array(0), bits: null, count: 0 } : this.#engine.mask(this.#state);
    _applySet(logits, set);
    if (eogLogits !== null) eogIds.forEach((id, i) => logits[id] = eogLogits[i]);
  }
}

/** Writes -Infinity into every logit whose token is not in `set` (in place). */
function _applySet(logits: Float32Array, set: TokenSet): void {
  if (set.ids !== null) {
    const ids = set.ids;
    const kept = new Float32Array(ids.length);
    for (let i = 0; i < ids.length; i++) kept[i] = logits[ids[i]];
    logits.fill(-Infinity);
    for (let i = 0; i < ids.length; i++) logits[ids[i]] = kept[i];
    return;
  }
  const bits = set.bits!;
  for (let w = 0; w < bits.length; w++) {
    const word = bits[w] | 0;
    if (word === -1) continue;
    const base = w * 32;
    if (word === 0) {
      logits.fill(-Infinity, base, base + 32);
      continue;
    }
    for (let b = 0; b < 32; b++) if ((word & (1 << b)) === 0 && base + b < logits.length) logits[base + b] = -Infinity;
  }
  if (logits.length > bits.length * 32) logits.fill(-Infinity, bits.length * 32);
}
