/**
 * Stop strings over streamed text: text is released only when it can no longer be the start of
 * a stop string, and generation ends at the first stop string (which is not emitted).
 *
 * @module
 */

/** Result of feeding text. */
export interface StopScan {
  /** Text safe to emit now. */
  readonly emit: string;
  /** True when a stop string was found (everything from it on is dropped). */
  readonly stopped: boolean;
}

/** Holds back streamed text that might begin a stop string. */
export class StopStringMatcher {
  #pending = "";
  readonly #stops: readonly string[];

  /** @param stops strings that end generation; empty strings are ignored */
  constructor(stops: readonly string[]) {
    this.#stops = stops.filter((s) => s.length > 0);
  }

  /** Adds text; returns what can be emitted and whether a stop string was hit. */
  push(text: string): StopScan {
    this.#pending += text;
    let first = -1;
    for (const stop of this.#stops) {
      const at = this.#pending.indexOf(stop);
      if (at !== -1 && (first === -1 || at < first)) first = at;
    }
    if (first !== -1) {
      const emit = this.#pending.slice(0, first);
      this.#pending = "";
      return { emit, stopped: true };
    }
    const keep = this.#heldBack();
    const emit = this.#pending.slice(0, this.#pending.length - keep);
    this.#pending = this.#pending.slice(this.#pending.length - keep);
    return { emit, stopped: false };
  }

  /** Releases what is held back (generation ended for another reason). */
  flush(): string {
    const rest = this.#pending;
    this.#pending = "";
    return rest;
  }

  /** Length of the longest suffix of the pending text that is a proper prefix of a stop. */
  #heldBack(): number {
    let longest = 0;
    for (const stop of this.#stops) {
      const max = Math.min(stop.length - 1, this.#pending.length);
      for (let len = max; len > longest; len--) {
        if (this.#pending.endsWith(stop.slice(0, len))) {
          longest = len;
          break;
        }
      }
    }
    return longest;
  }
}
