/**
 * Code point ranges as UTF-8 byte-range sequences, so a grammar over code points becomes one
 * over bytes (tokens are bytes, and a token may end inside a character). The split follows
 * the usual construction: cut at the encoded-length boundaries, then until every continuation
 * byte covers a full 0x80..0xBF run, so each sequence is a product of byte ranges.
 *
 * @module
 */

/** One UTF-8 sequence shape: `[lo, hi]` byte ranges per position. */
export type ByteRangeSequence = [number, number][];

const SURROGATE_LO = 0xd800;
const SURROGATE_HI = 0xdfff;
const LENGTH_LIMITS = [0x7f, 0x7ff, 0xffff, 0x10ffff];

/**
 * The byte-range sequences matching exactly the UTF-8 encodings of code points in [lo, hi]
 * (surrogates excluded).
 */
export function utf8Sequences(lo: number, hi: number): ByteRangeSequence[] {
  const out: ByteRangeSequence[] = [];
  if (lo <= SURROGATE_HI && hi >= SURROGATE_LO) {
    if (lo < SURROGATE_LO) _split(lo, SURROGATE_LO - 1, out);
    if (hi > SURROGATE_HI) _split(SURROGATE_HI + 1, hi, out);
  } else {
    _split(lo, hi, out);
  }
  return out;
}

function _split(lo: number, hi: number, out: ByteRangeSequence[]): void {
  if (lo > hi) return;
  for (const limit of LENGTH_LIMITS) {
    if (lo <= limit && hi > limit) {
      _split(lo, limit, out);
      _split(limit + 1, hi, out);
      return;
    }
  }
  if (hi <= 0x7f) {
    out.push([[lo, hi]]);
    return;
  }
  const length = _encodedLength(lo);
  for (let i = 1; i < length; i++) {
    const mask = (1 << (6 * i)) - 1;
    if ((lo & ~mask) !== (hi & ~mask)) {
      if ((lo & mask) !== 0) {
        _split(lo, lo | mask, out);
        _split((lo | mask) + 1, hi, out);
        return;
      }
      if ((hi & mask) !== mask) {
        _split(lo, (hi & ~mask) - 1, out);
        _split(hi & ~mask, hi, out);
        return;
      }
    }
  }
  const a = encodeCodePoint(lo);
  const b = encodeCodePoint(hi);
  out.push(a.map((byte, i) => [byte, b[i]]));
}

function _encodedLength(cp: number): number {
  return cp <= 0x7f ? 1 : cp <= 0x7ff ? 2 : cp <= 0xffff ? 3 : 4;
}

/** The UTF-8 bytes of one code point. */
export function encodeCodePoint(cp: number): number[] {
  if (cp <= 0x7f) return [cp];
  if (cp <= 0x7ff) return [0xc0 | (cp >> 6), 0x80 | (cp & 0x3f)];
  if (cp <= 0xffff) return [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)];
  return [
    0xf0 | (cp >> 18),
    0x80 | ((cp >> 12) & 0x3f),
    0x80 | ((cp >> 6) & 0x3f),
    0x80 | (cp & 0x3f),
  ];
}
