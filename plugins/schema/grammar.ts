/**
 * The grammar IR every front end produces (JSON Schema, zod, GBNF): named rules whose bodies
 * are regular expressions over Unicode code points with references to other rules. A reference
 * may be recursive; the automaton compiler inlines the non-recursive ones.
 *
 * @module
 */

/** One node of a rule body. */
export type Expr =
  /** One code point inside `ranges` (pairs `[lo0, hi0, lo1, hi1, …]`, inclusive, sorted). */
  | { readonly kind: "chars"; readonly ranges: readonly number[] }
  /** One raw byte inside `ranges` (pairs, inclusive); used for nothing that must be UTF-8. */
  | { readonly kind: "bytes"; readonly ranges: readonly number[] }
  /** The UTF-8 bytes of `text`, in order. */
  | { readonly kind: "literal"; readonly text: string }
  | { readonly kind: "seq"; readonly items: readonly Expr[] }
  | { readonly kind: "alt"; readonly items: readonly Expr[] }
  /** `item` repeated `min` to `max` times (`max` may be Infinity). */
  | { readonly kind: "repeat"; readonly item: Expr; readonly min: number; readonly max: number }
  /** The rule named `name`. */
  | { readonly kind: "ref"; readonly name: string };

/** A grammar: rules by name and the rule a whole text must match. */
export interface Grammar {
  /** Rule bodies by name. */
  readonly rules: ReadonlyMap<string, Expr>;
  /** The start rule's name. */
  readonly root: string;
}

/** The largest Unicode code point. */
export const MAX_CODE_POINT = 0x10ffff;

/** The empty sequence (matches ""). */
export const EMPTY: Expr = { kind: "seq", items: [] };

/** A literal text. */
export function lit(text: string): Expr {
  return { kind: "literal", text };
}

/** A sequence; flattens nested sequences and drops empty ones. */
export function seq(...items: Expr[]): Expr {
  const flat: Expr[] = [];
  for (const item of items) {
    if (item.kind === "seq") flat.push(...item.items);
    else flat.push(item);
  }
  return flat.length === 1 ? flat[0] : { kind: "seq", items: flat };
}

/** An alternation; a single item is returned as is. */
export function alt(...items: Expr[]): Expr {
  const flat: Expr[] = [];
  for (const item of items) {
    if (item.kind === "alt") flat.push(...item.items);
    else flat.push(item);
  }
  return flat.length === 1 ? flat[0] : { kind: "alt", items: flat };
}

/** `item` repeated `min` to `max` times. */
export function repeat(item: Expr, min: number, max = Infinity): Expr {
  return { kind: "repeat", item, min, max };
}

/** `item` or nothing. */
export function opt(item: Expr): Expr {
  return repeat(item, 0, 1);
}

/** A reference to a rule. */
export function ref(name: string): Expr {
  return { kind: "ref", name };
}

/** One code point in the given inclusive ranges (`[lo, hi, lo, hi, …]`, any order). */
export function chars(...ranges: number[]): Expr {
  return { kind: "chars", ranges: normalizeRanges(ranges) };
}

/** One code point not in the given ranges (surrogates are never matched). */
export function notChars(...ranges: number[]): Expr {
  return { kind: "chars", ranges: complementRanges(normalizeRanges(ranges)) };
}

/** Sorts and merges inclusive ranges `[lo, hi, …]`. */
export function normalizeRanges(ranges: readonly number[]): number[] {
  const pairs: [number, number][] = [];
  for (let i = 0; i < ranges.length; i += 2) {
    if (ranges[i] <= ranges[i + 1]) pairs.push([ranges[i], ranges[i + 1]]);
  }
  pairs.sort((a, b) => a[0] - b[0]);
  const out: number[] = [];
  for (const [lo, hi] of pairs) {
    const last = out.length - 1;
    if (last > 0 && lo <= out[last] + 1) out[last] = Math.max(out[last], hi);
    else out.push(lo, hi);
  }
  return out;
}

/** The code points in [0, MAX_CODE_POINT] outside normalized `ranges`. */
export function complementRanges(ranges: readonly number[]): number[] {
  const out: number[] = [];
  let next = 0;
  for (let i = 0; i < ranges.length; i += 2) {
    if (ranges[i] > next) out.push(next, ranges[i] - 1);
    next = ranges[i + 1] + 1;
  }
  if (next <= MAX_CODE_POINT) out.push(next, MAX_CODE_POINT);
  return out;
}

/** Every rule name `expr` refers to, in order of appearance. */
export function collectRefs(expr: Expr, out: string[] = []): string[] {
  switch (expr.kind) {
    case "ref":
      out.push(expr.name);
      break;
    case "seq":
    case "alt":
      for (const item of expr.items) collectRefs(item, out);
      break;
    case "repeat":
      collectRefs(expr.item, out);
      break;
  }
  return out;
}
