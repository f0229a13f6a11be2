/**
 * From an expression over a string's characters to one over its JSON spelling: `"` and `\`
 * become `\"` and `\\`, control characters their short escapes (\b \f \n \r \t) or `\u00XX`,
 * as `JSON.stringify` writes them; every other character stays raw UTF-8.
 *
 * @module
 */

import { alt, type Expr, lit } from "./grammar.ts";

const MUST_ESCAPE = [0x00, 0x1f, 0x22, 0x22, 0x5c, 0x5c];

/** The JSON-string spelling of the texts `expr` matches. */
export function jsonEncodeChars(expr: Expr): Expr {
  switch (expr.kind) {
    case "literal":
      return lit(JSON.stringify(expr.text).slice(1, -1));
    case "chars":
      return _encodeRanges(expr.ranges);
    case "seq":
    case "alt":
      return { kind: expr.kind, items: expr.items.map(jsonEncodeChars) };
    case "repeat":
      return { ...expr, item: jsonEncodeChars(expr.item) };
    default:
      return expr;
  }
}

function _encodeRanges(ranges: readonly number[]): Expr {
  const raw: number[] = [];
  const escaped: Expr[] = [];
  for (let i = 0; i < ranges.length; i += 2) {
    let lo = ranges[i];
    const hi = ranges[i + 1];
    for (let j = 0; j < MUST_ESCAPE.length && lo <= hi; j += 2) {
      const [elo, ehi] = [MUST_ESCAPE[j], MUST_ESCAPE[j + 1]];
      if (hi < elo || lo > ehi) continue;
      if (lo < elo) raw.push(lo, elo - 1);
      for (let cp = Math.max(lo, elo); cp <= Math.min(hi, ehi); cp++) {
        escaped.push(lit(JSON.stringify(String.fromCodePoint(cp)).slice(1, -1)));
      }
      lo = ehi + 1;
    }
    if (lo <= hi) raw.push(lo, hi);
  }
  const rawExpr: Expr = { kind: "chars", ranges: raw };
  return escaped.length === 0 ? rawExpr : alt(rawExpr, ...escaped);
}
