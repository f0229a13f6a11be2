/**
 * The accepted-token history of a sampler, with per-token counts over the last N tokens (the
 * penalty window) kept up to date on every push, so penalties cost O(distinct tokens in the
 * window) per step instead of a scan.
 *
 * @module
 */

/** Accepted tokens, oldest first, plus counts of the tokens in the trailing window. */
export class TokenHistory {
  /** Every pushed token since creation or `clear()`, oldest first. */
  readonly tokens: number[] = [];
  /** Window length in tokens; -1 means the whole history. */
  readonly windowLength: number;
  readonly #counts = new Map<number, number>();

  /**
   * @param windowLength how many trailing tokens `counts` covers: 0 none, -1 all
   * @example Counts cover only the window
   * ```ts
   * import { TokenHistory } from "./token_history.ts";
   * const history = new TokenHistory(2);
   * for (const id of [5, 5, 7]) history.push(id);
   * if (history.counts.get(5) !== 1) throw new Error("token 5 should be counted once");
   * ```
   */
  constructor(windowLength: number) {
    if (!Number.isInteger(windowLength) || windowLength < -1) {
      throw new RangeError(
        `Cannot create a token history with window ${windowLength}: expected an integer >= -1`,
      );
    }
    this.windowLength = windowLength;
  }

  /** Token id → how many times it occurs in the window. */
  get counts(): ReadonlyMap<number, number> {
    return this.#counts;
  }

  /** Appends `id` and slides the window. */
  push(id: number): void {
    this.tokens.push(id);
    this.#counts.set(id, (this.#counts.get(id) ?? 0) + 1);
    if (this.windowLength >= 0 && this.tokens.length > this.windowLength) {
      this.#decrement(this.tokens[this.tokens.length - 1 - this.windowLength]);
    }
  }

  /** Forgets every token. */
  clear(): void {
    this.tokens.length = 0;
    this.#counts.clear();
  }

  /** An independent copy. */
  clone(): TokenHistory {
    const copy = new TokenHistory(this.windowLength);
    copy.tokens.push(...this.tokens);
    for (const [id, count] of this.#counts) copy.#counts.set(id, count);
    return copy;
  }

  #decrement(id: number): void {
    const count = this.#counts.get(id)! - 1;
    if (count === 0) this.#counts.delete(id);
    else this.#counts.set(id, count);
  }
}
