/**
 * xoshiro128** (Blackman and Vigna), the sampler's pseudo-random generator: 128 bits of state,
 * 32-bit outputs, small and fast in plain 32-bit JavaScript arithmetic. A 32-bit seed is
 * expanded to the four state words with SplitMix64, as the generator's authors recommend.
 *
 * The stream does not reproduce llama.cpp's `std::mt19937`: the same seed gives the same tokens
 * in zeno, not the same tokens as llama.cpp.
 *
 * @module
 */

const MASK_64 = (1n << 64n) - 1n;
const TWO_POW_26 = 67108864;
const TWO_POW_53 = 9007199254740992;

/** A seeded xoshiro128** generator whose state can be forked with `clone()`. */
export class Xoshiro128 {
  /** The four 32-bit state words; never all zero. */
  readonly #state: Uint32Array;

  /**
   * @param seed an integer in [0, 2^32), expanded to 128 bits of state with SplitMix64
   * @example Two generators with one seed agree
   * ```ts
   * import { Xoshiro128 } from "./xoshiro128.ts";
   * const a = new Xoshiro128(42);
   * const b = new Xoshiro128(42);
   * if (a.nextUint32() !== b.nextUint32()) throw new Error("streams differ");
   * ```
   */
  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new RangeError(
        `Cannot seed the generator with ${seed}: expected an integer in [0, 2^32)`,
      );
    }
    this.#state = _expandSeed(seed);
  }

  /**
   * A generator that continues from the given state words (used by `clone()` and tests).
   *
   * @param state four 32-bit words, not all zero
   * @returns a generator that owns a copy of `state`
   */
  static fromState(state: ArrayLike<number>): Xoshiro128 {
    if (state.length !== 4) {
      throw new TypeError(
        `Cannot restore the generator: expected 4 state words, got ${state.length}`,
      );
    }
    const words = Uint32Array.from(state);
    if ((words[0] | words[1] | words[2] | words[3]) === 0) {
      throw new RangeError("Cannot restore the generator: the state is all zero");
    }
    const generator = new Xoshiro128(0);
    generator.#state.set(words);
    return generator;
  }

  /** A copy of the four state words. */
  get state(): Uint32Array {
    return this.#state.slice();
  }

  /** The next 32-bit output as an unsigned integer. */
  nextUint32(): number {
    const s = this.#state;
    const result = Math.imul(_rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = _rotl(s[3], 11);
    return result;
  }

  /** A uniform double in [0, 1) with 53 random bits (two outputs). */
  nextFloat(): number {
    const high = this.nextUint32() >>> 5; // 27 bits
    const low = this.nextUint32() >>> 6; // 26 bits
    return (high * TWO_POW_26 + low) / TWO_POW_53;
  }

  /** An independent generator at the same point of the stream. */
  clone(): Xoshiro128 {
    return Xoshiro128.fromState(this.#state);
  }
}

function _rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** SplitMix64 from `seed`: two 64-bit outputs, split low word first into four state words. */
function _expandSeed(seed: number): Uint32Array {
  let x = BigInt(seed);
  const state = new Uint32Array(4);
  for (let i = 0; i < 2; i++) {
    x = (x + 0x9e3779b97f4a7c15n) & MASK_64;
    let z = x;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK_64;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK_64;
    z ^= z >> 31n;
    state[2 * i] = Number(z & 0xffffffffn);
    state[2 * i + 1] = Number(z >> 32n);
  }
  return state;
}
