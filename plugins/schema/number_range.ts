/**
 * Exact digit grammars for numeric bounds. Integers in [lo, hi] become alternations of fixed
 * length digit ranges (e.g. [7, 123] → [7-9] | [1-9][0-9] | 1[01][0-9] | 12[0-3]); bounded
 * real numbers are split at their integer parts, and the fractions at the bounds are compared
 * digit by digit. Bounded numbers are written without an exponent; unbounded ones may use one.
 *
 * @module
 */

import { alt, chars, EMPTY, type Expr, lit, opt, repeat, seq } from "./grammar.ts";

const DIGIT = chars(0x30, 0x39);
const NOTHING: Expr = { kind: "chars", ranges: [] };

function _digits(lo: number, hi: number): Expr {
  return lo > hi ? NOTHING : lo === hi ? lit(String(lo)) : chars(0x30 + lo, 0x30 + hi);
}

/** A JSON integer with optional bounds (inclusive, as bigints; undefined = unbounded). */
export function integerRange(lo: bigint | undefined, hi: bigint | undefined): Expr {
  if (lo !== undefined && hi !== undefined && lo > hi) return NOTHING;
  const parts: Expr[] = [];
  // Negative part: "-" n for n in [max(1, -hi), -lo].
  if (lo === undefined || lo < 0n) {
    const nLo = hi === undefined || hi >= -1n ? 1n : -hi;
    parts.push(seq(lit("-"), _naturalRange(nLo, lo === undefined ? undefined : -lo)));
  }
  if (hi === undefined || hi >= 0n) {
    parts.push(_naturalRange(lo === undefined || lo < 0n ? 0n : lo, hi));
  }
  return alt(...parts);
}

/** Naturals in [lo, hi] written without leading zeros (hi undefined = unbounded). */
function _naturalRange(lo: bigint, hi: bigint | undefined): Expr {
  if (hi !== undefined && lo > hi) return NOTHING;
  const parts: Expr[] = [];
  const loLength = String(lo).length;
  const hiLength = hi === undefined ? loLength : String(hi).length;
  for (let length = loLength; length <= hiLength; length++) {
    const first = length === 1 ? 0n : 10n ** BigInt(length - 1);
    const last = 10n ** BigInt(length) - 1n;
    const a = lo > first ? lo : first;
    const b = hi !== undefined && hi < last ? hi : last;
    if (a <= b) parts.push(_fixedLength(String(a), String(b).padStart(length, "0")));
  }
  if (hi === undefined) parts.push(seq(chars(0x31, 0x39), repeat(DIGIT, loLength)));
  return alt(...parts);
}

/** Digit strings of equal length between `a` and `b` (inclusive, as strings). */
function _fixedLength(a: string, b: string): Expr {
  if (a.length === 0) return EMPTY;
  if (a === b) return lit(a);
  const da = Number(a[0]);
  const db = Number(b[0]);
  const rest = a.length - 1;
  if (da === db) return seq(lit(a[0]), _fixedLength(a.slice(1), b.slice(1)));
  const allZero = /^0*$/.test(a.slice(1));
  const allNine = /^9*$/.test(b.slice(1));
  const parts: Expr[] = [];
  const midLo = allZero ? da : da + 1;
  const midHi = allNine ? db : db - 1;
  if (!allZero) parts.push(seq(lit(a[0]), _fixedLength(a.slice(1), "9".repeat(rest))));
  if (midLo <= midHi) parts.push(seq(_digits(midLo, midHi), repeat(DIGIT, rest, rest)));
  if (!allNine) parts.push(seq(lit(b[0]), _fixedLength("0".repeat(rest), b.slice(1))));
  return alt(...parts);
}

/** A bound of a real range: a decimal and whether it is excluded. */
export interface RealBound {
  value: number;
  exclusive: boolean;
}

/** A JSON number in the given bounds (no exponent when bounded). */
export function numberRange(lo: RealBound | undefined, hi: RealBound | undefined): Expr {
  if (lo === undefined && hi === undefined) return anyNumber();
  if (lo !== undefined && hi !== undefined) {
    if (lo.value > hi.value || (lo.value === hi.value && (lo.exclusive || hi.exclusive))) return NOTHING;
  }
  const parts: Expr[] = [];
  // Negative numbers: "-" x with x > 0 in [-hi, -lo].
  if (lo === undefined || lo.value < 0) {
    const nLo: RealBound = hi !== undefined && hi.value < 0
      ? { value: -hi.value, exclusive: hi.exclusive }
      : { value: 0, exclusive: true };
    const nHi = lo === undefined ? undefined : { value: -lo.value, exclusive: lo.exclusive };
    parts.push(seq(lit("-"), _positiveRange(_decimal(nLo), nHi && _decimal(nHi))));
  }
  if (hi === undefined || hi.value > 0 || (hi.value === 0 && !hi.exclusive)) {
    const pLo: RealBound = lo !== undefined && lo.value >= 0 ? lo : { value: 0, exclusive: false };
    parts.push(_positiveRange(_decimal(pLo), hi && _decimal(hi)));
  }
  return alt(...parts);
}

/** Any JSON number. */
export function anyNumber(): Expr {
  return seq(
    opt(lit("-")),
    alt(lit("0"), seq(chars(0x31, 0x39), repeat(DIGIT, 0))),
    opt(seq(lit("."), repeat(DIGIT, 1))),
    opt(seq(chars(0x45, 0x45, 0x65, 0x65), opt(chars(0x2b, 0x2b, 0x2d, 0x2d)), repeat(DIGIT, 1))),
  );
}

interface _Decimal {
  int: bigint;
  /** Fraction digits without trailing zeros. */
  frac: string;
  exclusive: boolean;
}

function _decimal(bound: RealBound): _Decimal {
  const text = _plainDecimal(bound.value);
  const [int, frac = ""] = text.split(".");
  return { int: BigInt(int), frac: frac.replace(/0+$/, ""), exclusive: bound.exclusive };
}

function _plainDecimal(value: number): string {
  const text = String(value);
  if (!/e/i.test(text)) return text;
  const [mantissa, exponentText] = text.toLowerCase().split("e");
  const exponent = Number(exponentText);
  const [i, f = ""] = mantissa.split(".");
  const digits = i + f;
  const point = i.length + exponent;
  if (point <= 0) return "0." + "0".repeat(-point) + digits;
  if (point >= digits.length) return digits + "0".repeat(point - digits.length);
  return digits.slice(0, point) + "." + digits.slice(point);
}

/** Numbers x ≥ 0 with lo ≤ x ≤ hi (bounds possibly exclusive; hi undefined = unbounded). */
function _positiveRange(lo: _Decimal, hi: _Decimal | undefined): Expr {
  if (hi !== undefined && lo.int === hi.int) {
    return seq(lit(String(lo.int)), _fractionPart(lo.frac, lo.exclusive, hi.frac, hi.exclusive));
  }
  const parts: Expr[] = [seq(lit(String(lo.int)), _fractionPart(lo.frac, lo.exclusive, null, false))];
  const midHi = hi === undefined ? undefined : hi.int - 1n;
  if (midHi === undefined || lo.int + 1n <= midHi) {
    parts.push(seq(_naturalRange(lo.int + 1n, midHi), _fractionPart(null, false, null, false)));
  }
  if (hi !== undefined) parts.push(seq(lit(String(hi.int)), _fractionPart(null, false, hi.frac, hi.exclusive)));
  return alt(...parts);
}

/** "" or "." digits, where 0.digits lies within the bounds (null = unbounded). */
function _fractionPart(lo: string | null, loStrict: boolean, hi: string | null, hiStrict: boolean): Expr {
  const { empty, nonEmpty } = _fraction(lo, loStrict, hi, hiStrict);
  const dotted = nonEmpty === NOTHING ? NOTHING : seq(lit("."), nonEmpty);
  return empty ? alt(EMPTY, dotted) : dotted;
}

/**
 * Digit strings F (0.F as a fraction) within the bounds: whether F = "" fits, and the
 * grammar of the non-empty ones.
 */
function _fraction(
  lo: string | null,
  loStrict: boolean,
  hi: string | null,
  hiStrict: boolean,
): { empty: boolean; nonEmpty: Expr } {
  if (lo === "" && !loStrict) lo = null;
  const empty = (lo === null || (lo === "" && !loStrict)) && !(hi === "" && hiStrict);
  if (hi === "") {
    // 0.F ≤ 0 (or < 0): only zeros, and only when zero fits the lower bound.
    return { empty, nonEmpty: empty && !hiStrict ? repeat(lit("0"), 1) : NOTHING };
  }
  if (lo === "" && loStrict && hi === null) {
    return { empty: false, nonEmpty: seq(repeat(DIGIT, 0), chars(0x31, 0x39), repeat(DIGIT, 0)) };
  }
  if (lo === null && hi === null) return { empty: true, nonEmpty: repeat(DIGIT, 1) };
  // Group first digits by the bounds the rest must meet.
  const groups = new Map<string, { from: number; to: number; rest: Expr }>();
  const parts: Expr[] = [];
  for (let d = 0; d <= 9; d++) {
    const next = _nextBounds(d, lo, loStrict, hi, hiStrict);
    if (next === undefined) continue;
    const key = JSON.stringify(next);
    const group = groups.get(key);
    if (group !== undefined && group.to === d - 1) {
      group.to = d;
      continue;
    }
    const sub = _fraction(next.lo, next.loStrict, next.hi, next.hiStrict);
    const rest = sub.empty ? alt(EMPTY, sub.nonEmpty) : sub.nonEmpty;
    groups.set(key, { from: d, to: d, rest });
  }
  for (const { from, to, rest } of groups.values()) parts.push(seq(_digits(from, to), rest));
  return { empty, nonEmpty: parts.length === 0 ? NOTHING : alt(...parts) };
}

function _nextBounds(
  d: number,
  lo: string | null,
  loStrict: boolean,
  hi: string | null,
  hiStrict: boolean,
): { lo: string | null; loStrict: boolean; hi: string | null; hiStrict: boolean } | undefined {
  let nextLo: string | null = null;
  let nextLoStrict = false;
  if (lo !== null) {
    const l = lo === "" ? 0 : Number(lo[0]);
    if (d < l) return undefined;
    if (d === l) {
      if (lo === "") {
        if (loStrict) {
          nextLo = "";
          nextLoStrict = true;
        }
      } else {
        nextLo = lo.slice(1);
        nextLoStrict = loStrict;
      }
    }
  }
  let nextHi: string | null = null;
  let nextHiStrict = false;
  if (hi !== null) {
    const h = Number(hi[0]);
    if (d > h) return undefined;
    if (d === h) {
      nextHi = hi.slice(1);
      nextHiStrict = hiStrict;
    }
  }
  return { lo: nextLo, loStrict: nextLoStrict, hi: nextHi, hiStrict: nextHiStrict };
}
