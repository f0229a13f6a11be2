/**
 * GBNF, llama.cpp's grammar syntax, parsed into the grammar IR:
 *
 * ```
 * root   ::= item+                 # rules: name ::= alternatives; "root" is the start
 * item   ::= "- " [^\n]+ "\n"      # literals, [classes], [^negated], . (any character)
 * list   ::= (a | b)* c? d{2,5}    # groups, * + ? {m} {m,} {m,n} {,n}
 * ```
 *
 * Literals and classes are over Unicode code points with the escapes \n \r \t \\ \" \[ \]
 * \xHH \uHHHH \UHHHHHHHH. A rule ends at a newline outside parentheses; `#` starts a comment.
 *
 * @module
 */

import {
  alt,
  chars,
  type Expr,
  type Grammar,
  lit,
  MAX_CODE_POINT,
  normalizeRanges,
  complementRanges,
  ref,
  repeat,
  seq,
} from "./grammar.ts";
import { SchemaCompileError } from "./errors.ts";

/**
 * Parses GBNF text into a grammar whose root is the rule "root".
 * @param text the grammar source
 * @returns the grammar IR
 * @throws SchemaCompileError with the line and column of a syntax error, or when "root" or a
 *   referenced rule is missing
 */
export function parseGbnf(text: string): Grammar {
  const parser = new _GbnfParser(text);
  const rules = parser.parseRules();
  if (!rules.has("root")) {
    throw new SchemaCompileError(`Cannot parse GBNF grammar: no rule named "root"`);
  }
  return { rules, root: "root" };
}

class _GbnfParser {
  #text: string;
  #pos = 0;

  constructor(text: string) {
    this.#text = text;
  }

  parseRules(): Map<string, Expr> {
    const rules = new Map<string, Expr>();
    this.#skipSpace(true);
    while (this.#pos < this.#text.length) {
      const name = this.#parseName();
      this.#skipSpace(false);
      this.#expect("::=");
      this.#skipSpace(true);
      const body = this.#parseAlternates(false);
      if (rules.has(name)) this.#fail(`rule "${name}" is defined twice`);
      rules.set(name, body);
      this.#skipSpace(true);
    }
    return rules;
  }

  #parseAlternates(nested: boolean): Expr {
    const items = [this.#parseSequence(nested)];
    while (this.#peek() === "|") {
      this.#pos++;
      this.#skipSpace(true);
      items.push(this.#parseSequence(nested));
    }
    return alt(...items);
  }

  #parseSequence(nested: boolean): Expr {
    const items: Expr[] = [];
    for (;;) {
      const c = this.#peek();
      let item: Expr;
      if (c === '"') item = this.#parseLiteral();
      else if (c === "[") item = this.#parseClass();
      else if (c === ".") {
        this.#pos++;
        item = chars(0, MAX_CODE_POINT);
      } else if (c === "(") {
        this.#pos++;
        this.#skipSpace(true);
        item = this.#parseAlternates(true);
        this.#expect(")");
      } else if (c !== undefined && _isWordChar(c)) item = ref(this.#parseName());
      else break;
      this.#skipSpace(nested);
      item = this.#parsePostfix(item, nested);
      items.push(item);
    }
    return seq(...items);
  }

  #parsePostfix(item: Expr, nested: boolean): Expr {
    for (;;) {
      const c = this.#peek();
      if (c === "*") item = repeat(item, 0);
      else if (c === "+") item = repeat(item, 1);
      else if (c === "?") item = repeat(item, 0, 1);
      else if (c === "{") item = this.#parseBraces(item);
      else return item;
      if (c !== "{") this.#pos++;
      this.#skipSpace(nested);
    }
  }

  #parseBraces(item: Expr): Expr {
    this.#pos++;
    this.#skipSpace(false);
    const min = this.#parseInt() ?? 0;
    this.#skipSpace(false);
    let max = min;
    if (this.#peek() === ",") {
      this.#pos++;
      this.#skipSpace(false);
      max = this.#parseInt() ?? Infinity;
      this.#skipSpace(false);
    }
    this.#expect("}");
    if (max < min) this.#fail(`repetition {${min},${max}} has max below min`);
    return repeat(item, min, max);
  }

  #parseInt(): number | undefined {
    const start = this.#pos;
    while (/[0-9]/.test(this.#peek() ?? "")) this.#pos++;
    return this.#pos > start ? Number(this.#text.slice(start, this.#pos)) : undefined;
  }

  #parseLiteral(): Expr {
    this.#pos++;
    let text = "";
    while (this.#peek() !== '"') {
      if (this.#peek() === undefined) this.#fail("unterminated literal");
      text += String.fromCodePoint(this.#parseChar());
    }
    this.#pos++;
    return lit(text);
  }

  #parseClass(): Expr {
    this.#pos++;
    const negated = this.#peek() === "^";
    if (negated) this.#pos++;
    const ranges: number[] = [];
    while (this.#peek() !== "]") {
      if (this.#peek() === undefined) this.#fail("unterminated character class");
      const lo = this.#parseChar();
      let hi = lo;
      if (this.#peek() === "-" && this.#text[this.#pos + 1] !== "]") {
        this.#pos++;
        hi = this.#parseChar();
      }
      ranges.push(lo, hi);
    }
    this.#pos++;
    const normalized = normalizeRanges(ranges);
    return { kind: "chars", ranges: negated ? complementRanges(normalized) : normalized };
  }

  #parseChar(): number {
    const c = this.#text.codePointAt(this.#pos)!;
    if (c !== 0x5c) {
      this.#pos += c > 0xffff ? 2 : 1;
      return c;
    }
    const e = this.#text[this.#pos + 1];
    this.#pos += 2;
    const hexLength = e === "x" ? 2 : e === "u" ? 4 : e === "U" ? 8 : 0;
    if (hexLength > 0) {
      const hex = this.#text.slice(this.#pos, this.#pos + hexLength);
      if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== hexLength) this.#fail(`bad escape "\\${e}${hex}"`);
      this.#pos += hexLength;
      return parseInt(hex, 16);
    }
    const simple: Record<string, number> = { n: 10, r: 13, t: 9 };
    if (e === undefined) this.#fail("escape at end of input");
    return simple[e] ?? e.codePointAt(0)!;
  }

  #parseName(): string {
    const start = this.#pos;
    while (_isWordChar(this.#peek() ?? "")) this.#pos++;
    if (this.#pos === start) this.#fail(`expected a rule name, found ${JSON.stringify(this.#peek() ?? "end")}`);
    return this.#text.slice(start, this.#pos);
  }

  #skipSpace(newlines: boolean): void {
    while (this.#pos < this.#text.length) {
      const c = this.#text[this.#pos];
      if (c === "#") {
        while (this.#pos < this.#text.length && this.#text[this.#pos] !== "\n") this.#pos++;
      } else if (c === " " || c === "\t" || (newlines && (c === "\n" || c === "\r"))) {
        this.#pos++;
      } else {
        return;
      }
    }
  }

  #expect(token: string): void {
    if (!this.#text.startsWith(token, this.#pos)) {
      this.#fail(`expected "${token}", found ${JSON.stringify(this.#text.slice(this.#pos, this.#pos + 10))}`);
    }
    this.#pos += token.length;
  }

  #peek(): string | undefined {
    return this.#text[this.#pos];
  }

  #fail(what: string): never {
    const before = this.#text.slice(0, this.#pos);
    const line = before.split("\n").length;
    const column = this.#pos - before.lastIndexOf("\n");
    throw new SchemaCompileError(`Cannot parse GBNF grammar at line ${line}, column ${column}: ${what}`);
  }
}

function _isWordChar(c: string): boolean {
  return /^[a-zA-Z0-9_-]$/.test(c);
}
