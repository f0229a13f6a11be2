/**
 * The subset of ECMAScript regular expressions that `pattern` supports, parsed into the
 * grammar IR over code points: literals, escapes (\d \w \s and their negations, \t \n \r \f
 * \v \0 \xHH \uHHHH \u{H…}), classes, `.`, groups (capturing, `(?:…)`, named), alternation,
 * and the quantifiers * + ? {m} {m,} {m,n} (lazy or not: the language is the same). `^` may
 * only open the pattern and `$` only close it; an unanchored side matches any text there, as
 * JSON Schema's search semantics ask. Back-references, lookaround and \b are not supported.
 *
 * @module
 */

import {
  alt,
  chars,
  complementRanges,
  EMPTY,
  type Expr,
  lit,
  MAX_CODE_POINT,
  normalizeRanges,
  repeat,
  seq,
} from "./grammar.ts";

/** A pattern this parser cannot turn into a grammar; the message says why. */
export class RegexSubsetError extends Error {}

const DIGITS = [0x30, 0x39];
const WORD = [0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a];
const SPACE = [
  0x09, 0x0d, 0x20, 0x20, 0xa0, 0xa0, 0x1680, 0x1680, 0x2000, 0x200a, 0x2028, 0x2029,
  0x202f, 0x202f, 0x205f, 0x205f, 0x3000, 0x3000, 0xfeff, 0xfeff,
];
const LINE_TERMINATORS = [0x0a, 0x0a, 0x0d, 0x0d, 0x2028, 0x2029];

/**
 * The texts a JSON Schema `pattern` accepts (search semantics) as an expression over code
 * points.
 * @throws RegexSubsetError for syntax outside the subset
 */
export function patternToExpr(pattern: string): Expr {
  const parser = new _RegexParser(pattern);
  return parser.parse();
}

class _RegexParser {
  #src: string;
  #pos = 0;

  constructor(src: string) {
    this.#src = src;
  }

  parse(): Expr {
    let anchoredStart = false;
    let anchoredEnd = false;
    let body = this.#src;
    if (body.startsWith("^")) {
      anchoredStart = true;
      this.#pos = 1;
    }
    if (body.endsWith("$") && !body.endsWith("\\$")) {
      anchoredEnd = true;
      body = body.slice(0, -1);
      this.#src = body;
    }
    const expr = this.#alternation();
    if (this.#pos < this.#src.length) this.#fail(`unexpected "${this.#src[this.#pos]}"`);
    const any = repeat(chars(0, MAX_CODE_POINT), 0);
    return seq(anchoredStart ? EMPTY : any, expr, anchoredEnd ? EMPTY : any);
  }

  #alternation(): Expr {
    const items = [this.#sequence()];
    while (this.#src[this.#pos] === "|") {
      this.#pos++;
      items.push(this.#sequence());
    }
    return alt(...items);
  }

  #sequence(): Expr {
    const items: Expr[] = [];
    while (this.#pos < this.#src.length && this.#src[this.#pos] !== "|" && this.#src[this.#pos] !== ")") {
      items.push(this.#quantified(this.#atom()));
    }
    return seq(...items);
  }

  #quantified(atom: Expr): Expr {
    const c = this.#src[this.#pos];
    let result: Expr | undefined;
    if (c === "*") result = repeat(atom, 0);
    else if (c === "+") result = repeat(atom, 1);
    else if (c === "?") result = repeat(atom, 0, 1);
    else if (c === "{") {
      const match = /^\{(\d+)(,(\d*))?\}/.exec(this.#src.slice(this.#pos));
      if (match === null) return atom;
      const min = Number(match[1]);
      const max = match[2] === undefined ? min : match[3] === "" ? Infinity : Number(match[3]);
      if (max < min) this.#fail(`repetition {${min},${max}} has max below min`);
      this.#pos += match[0].length - 1;
      result = repeat(atom, min, max);
    }
    if (result === undefined) return atom;
    this.#pos++;
    if (this.#src[this.#pos] === "?") this.#pos++;
    return this.#quantified(result);
  }

  #atom(): Expr {
    const c = this.#src[this.#pos];
    if (c === "(") return this.#group();
    if (c === "[") return this.#class();
    if (c === ".") {
      this.#pos++;
      return { kind: "chars", ranges: complementRanges(normalizeRanges(LINE_TERMINATORS)) };
    }
    if (c === "\\") return this.#escapeAtom();
    if (c === "^" || c === "$") this.#fail(`anchor "${c}" inside the pattern`);
    if (c === "*" || c === "+" || c === "?") this.#fail(`nothing to repeat before "${c}"`);
    const cp = this.#src.codePointAt(this.#pos)!;
    this.#pos += cp > 0xffff ? 2 : 1;
    return lit(String.fromCodePoint(cp));
  }

  #group(): Expr {
    this.#pos++;
    if (this.#src.startsWith("?:", this.#pos)) this.#pos += 2;
    else if (/^\?<[A-Za-z_$][\w$]*>/.test(this.#src.slice(this.#pos))) {
      this.#pos = this.#src.indexOf(">", this.#pos) + 1;
    } else if (this.#src[this.#pos] === "?") this.#fail("lookaround");
    const expr = this.#alternation();
    if (this.#src[this.#pos] !== ")") this.#fail("unclosed group");
    this.#pos++;
    return expr;
  }

  #class(): Expr {
    this.#pos++;
    const negated = this.#src[this.#pos] === "^";
    if (negated) this.#pos++;
    const ranges: number[] = [];
    let first = true;
    while (this.#src[this.#pos] !== "]" || (first && false)) {
      if (this.#pos >= this.#src.length) this.#fail("unclosed class");
      first = false;
      const lo = this.#classAtom();
      if (typeof lo !== "number") {
        ranges.push(...lo);
        continue;
      }
      if (this.#src[this.#pos] === "-" && this.#src[this.#pos + 1] !== "]" && this.#pos + 1 < this.#src.length) {
        this.#pos++;
        const hi = this.#classAtom();
        if (typeof hi !== "number") this.#fail("class range ends in a set");
        if (hi < lo) this.#fail("class range out of order");
        ranges.push(lo, hi);
      } else {
        ranges.push(lo, lo);
      }
    }
    this.#pos++;
    const normalized = normalizeRanges(ranges);
    return { kind: "chars", ranges: negated ? complementRanges(normalized) : normalized };
  }

  /** One class member: a code point, or a set (`\d` …) as ranges. */
  #classAtom(): number | number[] {
    if (this.#src[this.#pos] !== "\\") {
      const cp = this.#src.codePointAt(this.#pos)!;
      this.#pos += cp > 0xffff ? 2 : 1;
      return cp;
    }
    if (this.#src[this.#pos + 1] === "b") {
      this.#pos += 2;
      return 0x08;
    }
    return this.#escape();
  }

  #escapeAtom(): Expr {
    const e = this.#src[this.#pos + 1];
    if (e === "b" || e === "B") this.#fail(`word boundary "\\${e}"`);
    if (e !== undefined && /[1-9]/.test(e)) this.#fail("back-reference");
    const value = this.#escape();
    return typeof value === "number" ? lit(String.fromCodePoint(value)) : { kind: "chars", ranges: normalizeRanges(value) };
  }

  #escape(): number | number[] {
    const e = this.#src[this.#pos + 1];
    this.#pos += 2;
    switch (e) {
      case "d":
        return DIGITS;
      case "D":
        return complementRanges(DIGITS);
      case "w":
        return WORD;
      case "W":
        return complementRanges(WORD);
      case "s":
        return normalizeRanges(SPACE);
      case "S":
        return complementRanges(normalizeRanges(SPACE));
      case "t":
        return 0x09;
      case "n":
        return 0x0a;
      case "r":
        return 0x0d;
      case "f":
        return 0x0c;
      case "v":
        return 0x0b;
      case "0":
        return 0;
      case "x":
        return this.#hex(2);
      case "u":
        if (this.#src[this.#pos] === "{") {
          const end = this.#src.indexOf("}", this.#pos);
          const value = parseInt(this.#src.slice(this.#pos + 1, end), 16);
          this.#pos = end + 1;
          return value;
        }
        return this.#hex(4);
      case undefined:
        return this.#fail("escape at end of pattern");
      default:
        if (/[a-zA-Z]/.test(e)) this.#fail(`escape "\\${e}"`);
        return e.codePointAt(0)!;
    }
  }

  #hex(length: number): number {
    const hex = this.#src.slice(this.#pos, this.#pos + length);
    if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== length) this.#fail(`bad hex escape "${hex}"`);
    this.#pos += length;
    return parseInt(hex, 16);
  }

  #fail(what: string): never {
    throw new RegexSubsetError(`${what} at offset ${this.#pos}`);
  }
}
