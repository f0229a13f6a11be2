/**
 * JSON Schema (2020-12; draft-07/06/04 spellings too) → grammar IR, as compact JSON text.
 *
 * Policies (documented in the plugin's mod.ts):
 * - Whitespace: "bounded" (default) allows, after `{ [ , :` and before `} ]`, nothing, one
 *   space, or a newline plus up to 20 spaces/tabs; "none" allows no whitespace at all. The
 *   value itself never starts or ends with whitespace.
 * - Objects: properties come in the order of `properties`, then `required` names not listed
 *   there, then additional properties (allowed unless `additionalProperties: false`, or
 *   `closedObjects: true`); additional keys never repeat a known name and use no `\u` escapes.
 * - A keyword that cannot be enforced fails the compile with its keyword and JSON pointer,
 *   or becomes a warning with `lenient: true`. `oneOf` is enforced as `anyOf` (with a warning).
 * - Bounded numbers are written without exponent; strings count code points, an escape being
 *   one character.
 *
 * @module
 */

import { alt, chars, EMPTY, type Expr, type Grammar, lit, MAX_CODE_POINT, opt, ref, repeat, seq } from "./grammar.ts";
import { SchemaCompileError } from "./errors.ts";
import { formatExpr } from "./formats.ts";
import { integerRange, numberRange, type RealBound } from "./number_range.ts";
import { patternToExpr, RegexSubsetError } from "./regex.ts";
import { jsonEncodeChars } from "./json_text.ts";
import { compileGrammar } from "./automaton.ts";
import { matchesGrammar } from "./matcher.ts";

/** A JSON Schema: an object or a boolean. */
export type JsonSchema = boolean | { readonly [keyword: string]: unknown };

/** Options of `schemaToGrammar`. */
export interface SchemaGrammarOptions {
  /** List keywords that cannot be enforced as warnings instead of failing. Default false. */
  lenient?: boolean;
  /** Whitespace policy between tokens. Default "bounded". */
  whitespace?: "bounded" | "none";
  /** Treat a missing `additionalProperties` as false. Default false (JSON Schema's rule). */
  closedObjects?: boolean;
}

/** The grammar of a schema and the keywords that were not enforced (lenient mode). */
export interface SchemaGrammar {
  readonly grammar: Grammar;
  readonly warnings: readonly string[];
}

const NOTHING: Expr = { kind: "chars", ranges: [] };
const ANNOTATIONS = new Set([
  "title", "description", "examples", "default", "$comment", "$schema", "$id", "id", "deprecated",
  "readOnly", "writeOnly", "$defs", "definitions", "contentMediaType", "contentEncoding",
  "$anchor", "discriminator", "example", "x-",
]);
const ALL_TYPES = ["null", "boolean", "object", "array", "string", "number"] as const;
const HEX = chars(0x30, 0x39, 0x41, 0x46, 0x61, 0x66);

/**
 * Builds the grammar of JSON texts valid against `schema`.
 * @param schema a JSON Schema (object or boolean)
 * @param options strictness and whitespace policy
 * @throws SchemaCompileError naming the keyword and JSON pointer of what cannot be enforced
 */
export function schemaToGrammar(schema: JsonSchema, options: SchemaGrammarOptions = {}): SchemaGrammar {
  const compiler = new _SchemaCompiler(schema, options);
  const root = compiler.visit(schema, "");
  compiler.rules.set("root", root);
  return { grammar: { rules: compiler.rules, root: "root" }, warnings: compiler.warnings };
}

type _Obj = Record<string, unknown>;

class _SchemaCompiler {
  readonly rules = new Map<string, Expr>();
  readonly warnings: string[] = [];
  #root: JsonSchema;
  #options: SchemaGrammarOptions;
  #refRules = new Map<string, string>();
  #ws: Expr;
  #legacyRefs: boolean;

  constructor(root: JsonSchema, options: SchemaGrammarOptions) {
    this.#root = root;
    this.#options = options;
    this.#ws = options.whitespace === "none"
      ? EMPTY
      : opt(alt(lit(" "), seq(lit("\n"), repeat(chars(0x20, 0x20, 0x09, 0x09), 0, 20))));
    const dialect = typeof root === "object" ? String(root.$schema ?? "") : "";
    this.#legacyRefs = /draft-0[3467]/.test(dialect);
  }

  visit(schema: unknown, pointer: string): Expr {
    if (schema === true) return this.#anyValue();
    if (schema === false) return NOTHING;
    if (typeof schema !== "object" || schema === null || Array.isArray(schema)) {
      this.#unsupported("", pointer, `the schema is ${JSON.stringify(schema)}, not an object or boolean`);
      return this.#anyValue();
    }
    const s = schema as _Obj;
    if (typeof s.$ref === "string") return this.#visitRef(s, pointer);
    if (Array.isArray(s.allOf)) return this.visit(this.#mergeAllOf(s, pointer), pointer);
    for (const key of ["anyOf", "oneOf"] as const) {
      if (!Array.isArray(s[key])) continue;
      if (key === "oneOf") this.warnings.push(`${pointer}/oneOf: enforced as anyOf`);
      const { [key]: branches, ...siblings } = s;
      const branchList = branches as unknown[];
      if (_meaningful(siblings)) {
        return alt(...branchList.map((b, i) => this.visit(this.#merge(siblings, b, `${pointer}/${key}/${i}`), `${pointer}/${key}/${i}`)));
      }
      return alt(...branchList.map((b, i) => this.visit(b, `${pointer}/${key}/${i}`)));
    }
    this.#checkKeywords(s, pointer);
    if ("const" in s || Array.isArray(s.enum)) return this.#visitEnum(s, pointer);
    return alt(...this.#types(s, pointer).map((type) => this.#visitType(type, s, pointer)));
  }

  #visitRef(s: _Obj, pointer: string): Expr {
    const target = String(s.$ref);
    const { $ref: _ref, ...siblings } = s;
    if (_meaningful(siblings) && !this.#legacyRefs) {
      return this.visit({ allOf: [{ $ref: target }, siblings] }, pointer);
    }
    let name = this.#refRules.get(target);
    if (name === undefined) {
      name = `ref${this.#refRules.size}`;
      this.#refRules.set(target, name);
      this.rules.set(name, NOTHING);
      this.rules.set(name, this.visit(this.#resolve(target, pointer), _refPointer(target)));
    }
    return ref(name);
  }

  #resolve(target: string, pointer: string): unknown {
    if (!target.startsWith("#")) {
      this.#unsupported("$ref", pointer, `"${target}" is not a reference inside this schema`);
      return true;
    }
    if (target !== "#" && !target.startsWith("#/")) {
      this.#unsupported("$ref", pointer, `anchor reference "${target}" is not supported`);
      return true;
    }
    let node: unknown = this.#root;
    for (const raw of target.slice(2).split("/").filter((p, i) => p !== "" || i > 0)) {
      const part = decodeURIComponent(raw).replaceAll("~1", "/").replaceAll("~0", "~");
      if (typeof node !== "object" || node === null || !(part in (node as _Obj))) {
        throw new SchemaCompileError(`Cannot compile schema: $ref "${target}" at "${pointer}" points at nothing`, { keyword: "$ref", pointer });
      }
      node = (node as _Obj)[part];
    }
    return node;
  }

  #checkKeywords(s: _Obj, pointer: string): void {
    const handled = new Set([
      "type", "enum", "const", "nullable", "properties", "required", "additionalProperties",
      "items", "prefixItems", "additionalItems", "minItems", "maxItems", "minLength", "maxLength",
      "pattern", "format", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
    ]);
    for (const [key, value] of Object.entries(s)) {
      if (handled.has(key) || ANNOTATIONS.has(key) || key.startsWith("x-")) continue;
      if (_isNoOp(key, value)) continue;
      this.#unsupported(key, pointer, `keyword "${key}" cannot be enforced by a grammar`);
    }
  }

  #unsupported(keyword: string, pointer: string, why: string): void {
    const where = `${pointer}${keyword === "" ? "" : "/" + keyword}`;
    if (this.#options.lenient) {
      this.warnings.push(`${where}: ${why}; not enforced`);
      return;
    }
    throw new SchemaCompileError(`Cannot compile schema: ${why} (at "${where || "/"}")`, { keyword, pointer: pointer || "" });
  }

  #types(s: _Obj, pointer: string): string[] {
    let types: string[] = s.type === undefined ? [...ALL_TYPES] : Array.isArray(s.type) ? s.type.map(String) : [String(s.type)];
    for (const t of types) {
      if (![...ALL_TYPES, "integer"].includes(t as never)) this.#unsupported("type", pointer, `type "${t}" is not a JSON Schema type`);
    }
    if (types.includes("number")) types = types.filter((t) => t !== "integer");
    if (s.nullable === true && !types.includes("null")) types.push("null");
    return types;
  }

  #visitType(type: string, s: _Obj, pointer: string): Expr {
    switch (type) {
      case "null":
        return lit("null");
      case "boolean":
        return alt(lit("true"), lit("false"));
      case "integer":
        return this.#integer(s, pointer);
      case "number":
        return this.#number(s, pointer);
      case "string":
        return this.#string(s, pointer);
      case "array":
        return this.#array(s, pointer);
      case "object":
        return this.#object(s, pointer);
    }
    return NOTHING;
  }

  #visitEnum(s: _Obj, pointer: string): Expr {
    const values = "const" in s ? [s.const] : (s.enum as unknown[]);
    const { const: _c, enum: _e, ...rest } = s;
    let kept = values;
    if (_meaningful(rest)) {
      // Keep the values the other keywords accept: each value's text must match their grammar.
      const sub = new _SchemaCompiler(this.#root, { ...this.#options, whitespace: "none" });
      for (const [k, v] of this.rules) sub.rules.set(k, v);
      const restExpr = sub.visit(rest, pointer);
      kept = values.filter((v) => _matchesExpr(sub.rules, restExpr, JSON.stringify(v)));
    }
    return alt(NOTHING, ...kept.map((v) => lit(JSON.stringify(v))));
  }

  #integer(s: _Obj, pointer: string): Expr {
    const { lo, hi } = this.#bounds(s, pointer);
    const toLo = (b: RealBound | undefined) => b === undefined ? undefined : BigInt(b.exclusive ? Math.floor(b.value) + 1 : Math.ceil(b.value));
    const toHi = (b: RealBound | undefined) => b === undefined ? undefined : BigInt(b.exclusive ? Math.ceil(b.value) - 1 : Math.floor(b.value));
    return integerRange(toLo(lo), toHi(hi));
  }

  #number(s: _Obj, pointer: string): Expr {
    const { lo, hi } = this.#bounds(s, pointer);
    return numberRange(lo, hi);
  }

  #bounds(s: _Obj, pointer: string): { lo?: RealBound; hi?: RealBound } {
    let lo: RealBound | undefined;
    let hi: RealBound | undefined;
    const tighterLo = (b: RealBound) => {
      if (lo === undefined || b.value > lo.value || (b.value === lo.value && b.exclusive)) lo = b;
    };
    const tighterHi = (b: RealBound) => {
      if (hi === undefined || b.value < hi.value || (b.value === hi.value && b.exclusive)) hi = b;
    };
    for (const key of ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"]) {
      const v = s[key];
      if (v === undefined || typeof v === "boolean") continue;
      if (typeof v !== "number" || !Number.isFinite(v)) {
        this.#unsupported(key, pointer, `${key} ${JSON.stringify(v)} is not a finite number`);
        continue;
      }
      // draft-04 spells exclusive bounds as booleans beside minimum/maximum.
      if (key === "minimum") tighterLo({ value: v, exclusive: s.exclusiveMinimum === true });
      if (key === "maximum") tighterHi({ value: v, exclusive: s.exclusiveMaximum === true });
      if (key === "exclusiveMinimum") tighterLo({ value: v, exclusive: true });
      if (key === "exclusiveMaximum") tighterHi({ value: v, exclusive: true });
    }
    return { lo, hi };
  }

  #string(s: _Obj, pointer: string): Expr {
    const minLength = typeof s.minLength === "number" ? Math.max(0, Math.ceil(s.minLength)) : 0;
    const maxLength = typeof s.maxLength === "number" ? Math.floor(s.maxLength) : Infinity;
    const lengthBound = minLength > 0 || maxLength !== Infinity;
    let content: Expr | undefined;
    if (typeof s.format === "string") {
      content = formatExpr(s.format);
      if (content === undefined) this.#unsupported("format", pointer, `format "${s.format}" is not supported`);
    }
    if (typeof s.pattern === "string") {
      if (content !== undefined) this.#unsupported("pattern", pointer, "pattern together with format is not supported");
      try {
        content = patternToExpr(s.pattern);
      } catch (error) {
        if (!(error instanceof RegexSubsetError)) throw error;
        this.#unsupported("pattern", pointer, `pattern ${JSON.stringify(s.pattern)} is outside the supported subset: ${error.message}`);
      }
    }
    if (content !== undefined) {
      if (lengthBound) this.#unsupported(minLength > 0 ? "minLength" : "maxLength", pointer, "length bounds together with pattern or format are not supported");
      return seq(lit('"'), jsonEncodeChars(content), lit('"'));
    }
    return seq(lit('"'), repeat(this.#jsonChar(), minLength, maxLength), lit('"'));
  }

  #jsonChar(): Expr {
    return alt(
      chars(0x20, 0x21, 0x23, 0x5b, 0x5d, MAX_CODE_POINT),
      seq(lit("\\"), alt(chars(0x22, 0x22, 0x5c, 0x5c, 0x2f, 0x2f, 0x62, 0x62, 0x66, 0x66, 0x6e, 0x6e, 0x72, 0x72, 0x74, 0x74), seq(lit("u"), repeat(HEX, 4, 4)))),
    );
  }

  #array(s: _Obj, pointer: string): Expr {
    let prefix: unknown[] = [];
    let rest: unknown = true;
    let restPointer = `${pointer}/items`;
    if (Array.isArray(s.prefixItems)) {
      prefix = s.prefixItems;
      if (s.items !== undefined) rest = s.items;
    } else if (Array.isArray(s.items)) {
      prefix = s.items;
      if (s.additionalItems !== undefined) rest = s.additionalItems;
      restPointer = `${pointer}/additionalItems`;
    } else if (s.items !== undefined) {
      rest = s.items;
    }
    const minItems = typeof s.minItems === "number" ? Math.ceil(s.minItems) : 0;
    const maxItems = typeof s.maxItems === "number" ? Math.floor(s.maxItems) : Infinity;
    const prefixPointer = Array.isArray(s.prefixItems) ? `${pointer}/prefixItems` : `${pointer}/items`;
    const prefixExprs = prefix.map((p, i) => this.visit(p, `${prefixPointer}/${i}`));
    const restExpr = this.visit(rest, restPointer);
    const sep = seq(lit(","), this.#ws);
    const item = (i: number) => (i < prefixExprs.length ? prefixExprs[i] : restExpr);
    // items(i): the elements from index i on, each preceded by a separator when i > 0.
    const items = (i: number): Expr => {
      if (i >= maxItems) return EMPTY;
      if (i >= prefixExprs.length && i >= minItems) {
        const more = maxItems === Infinity ? Infinity : maxItems - i;
        if (i === 0) return opt(seq(restExpr, repeat(seq(sep, restExpr), 0, more - 1)));
        return repeat(seq(sep, restExpr), 0, more);
      }
      const one = seq(i > 0 ? sep : EMPTY, item(i), items(i + 1));
      return i >= minItems ? opt(one) : one;
    };
    if (minItems > maxItems) return NOTHING;
    return seq(lit("["), this.#ws, items(0), this.#ws, lit("]"));
  }

  #object(s: _Obj, pointer: string): Expr {
    const properties = (typeof s.properties === "object" && s.properties !== null ? s.properties : {}) as _Obj;
    const required = new Set(Array.isArray(s.required) ? s.required.map(String) : []);
    const names = [...Object.keys(properties), ...[...required].filter((n) => !Object.hasOwn(properties, n))];
    const additional = s.additionalProperties ?? (this.#options.closedObjects ? false : true);
    const ws = this.#ws;
    const sep = seq(lit(","), ws);
    const member = (name: string): Expr => {
      const value = Object.hasOwn(properties, name)
        ? this.visit(properties[name], `${pointer}/properties/${_escapePointer(name)}`)
        : this.#anyValue();
      return seq(lit(JSON.stringify(name)), ws, lit(":"), ws, value);
    };
    const members = names.map(member);
    const extraMember = additional === false
      ? NOTHING
      : seq(_keyNotIn(names), ws, lit(":"), ws, this.visit(additional, `${pointer}/additionalProperties`));
    const hasExtra = additional !== false;
    // after(i): members from i on once one was written; first(i): none written yet.
    const after = (i: number): Expr => {
      if (i === names.length) return hasExtra ? repeat(seq(sep, extraMember), 0) : EMPTY;
      const one = seq(sep, members[i]);
      return seq(required.has(names[i]) ? one : opt(one), after(i + 1));
    };
    const first = (i: number): Expr => {
      if (i === names.length) return hasExtra ? opt(seq(extraMember, repeat(seq(sep, extraMember), 0))) : EMPTY;
      const taken = seq(members[i], after(i + 1));
      return required.has(names[i]) ? taken : alt(taken, first(i + 1));
    };
    return seq(lit("{"), ws, first(0), ws, lit("}"));
  }

  #anyValue(): Expr {
    if (!this.rules.has("value")) {
      const ws = this.#ws;
      const value = ref("value");
      const str = seq(lit('"'), repeat(this.#jsonChar(), 0), lit('"'));
      const number = numberRange(undefined, undefined);
      const array = seq(lit("["), ws, opt(seq(value, repeat(seq(lit(","), ws, value), 0))), ws, lit("]"));
      const kv = seq(str, ws, lit(":"), ws, value);
      const object = seq(lit("{"), ws, opt(seq(kv, repeat(seq(lit(","), ws, kv), 0))), ws, lit("}"));
      this.rules.set("value", alt(lit("null"), lit("true"), lit("false"), number, str, array, object));
    }
    return ref("value");
  }

  #mergeAllOf(s: _Obj, pointer: string): unknown {
    const { allOf, ...siblings } = s;
    let merged: unknown = siblings;
    (allOf as unknown[]).forEach((branch, i) => {
      merged = this.#merge(merged, branch, `${pointer}/allOf/${i}`);
    });
    return merged;
  }

  /** One schema accepting what both accept, for the keywords this compiler knows. */
  #merge(a: unknown, b: unknown, pointer: string, depth = 0): unknown {
    if (a === true || (typeof a === "object" && a !== null && !_meaningful(a as _Obj))) return b;
    if (b === true || (typeof b === "object" && b !== null && !_meaningful(b as _Obj))) return a;
    if (a === false || b === false) return false;
    if (depth > 16) {
      this.#unsupported("allOf", pointer, "allOf over recursive references cannot be merged");
      return a;
    }
    let x = a as _Obj;
    let y = b as _Obj;
    if (typeof x.$ref === "string") x = this.#deref(x, pointer);
    if (typeof y.$ref === "string") y = this.#deref(y, pointer);
    if (Array.isArray(x.allOf)) x = this.#mergeAllOf(x, pointer) as _Obj;
    if (Array.isArray(y.allOf)) y = this.#mergeAllOf(y, pointer) as _Obj;
    if (typeof x !== "object" || typeof y !== "object") return this.#merge(x, y, pointer, depth + 1);
    const out: _Obj = { ...x };
    for (const [key, value] of Object.entries(y)) {
      if (!(key in out) || ANNOTATIONS.has(key)) {
        if (!ANNOTATIONS.has(key) || !(key in out)) out[key] = value;
        continue;
      }
      if (key === "const" && JSON.stringify(out[key]) !== JSON.stringify(value)) return false;
      out[key] = this.#mergeKeyword(key, out[key], value, pointer, depth);
    }
    if (("properties" in x || "properties" in y) && ("additionalProperties" in x || "additionalProperties" in y)) {
      Object.assign(out, this.#mergeProperties(x, y, pointer, depth));
    }
    return out;
  }

  #deref(s: _Obj, pointer: string): _Obj {
    const { $ref, ...siblings } = s;
    const target = this.#resolve(String($ref), pointer);
    if (!_meaningful(siblings)) return (typeof target === "object" ? target : { allOf: [target] }) as _Obj;
    return { allOf: [target, siblings] };
  }

  #mergeProperties(x: _Obj, y: _Obj, pointer: string, depth: number): _Obj {
    const px = (x.properties ?? {}) as _Obj;
    const py = (y.properties ?? {}) as _Obj;
    const ax = x.additionalProperties ?? true;
    const ay = y.additionalProperties ?? true;
    const properties: _Obj = {};
    for (const k of new Set([...Object.keys(px), ...Object.keys(py)])) {
      properties[k] = this.#merge(k in px ? px[k] : ax, k in py ? py[k] : ay, pointer, depth + 1);
    }
    return { properties, additionalProperties: this.#merge(ax, ay, pointer, depth + 1) };
  }

  #mergeKeyword(key: string, u: unknown, v: unknown, pointer: string, depth: number): unknown {
    const same = JSON.stringify(u) === JSON.stringify(v);
    switch (key) {
      case "type": {
        const tu = new Set(Array.isArray(u) ? u : [u]);
        const tv = Array.isArray(v) ? v : [v];
        const both = tv.filter((t) => tu.has(t) || (t === "integer" && tu.has("number")));
        if (tu.has("integer") && tv.includes("number")) both.push("integer");
        return [...new Set(both)];
      }
      case "required":
        return [...new Set([...(u as string[]), ...(v as string[])])];
      case "properties": {
        const out: _Obj = { ...(u as _Obj) };
        for (const [k, s] of Object.entries(v as _Obj)) out[k] = k in out ? this.#merge(out[k], s, pointer, depth + 1) : s;
        return out;
      }
      case "items":
      case "additionalProperties":
        if (!Array.isArray(u) && !Array.isArray(v)) return this.#merge(u, v, pointer, depth + 1);
        break;
      case "minimum":
      case "exclusiveMinimum":
      case "minLength":
      case "minItems":
        if (typeof u === "number" && typeof v === "number") return Math.max(u, v);
        break;
      case "maximum":
      case "exclusiveMaximum":
      case "maxLength":
      case "maxItems":
        if (typeof u === "number" && typeof v === "number") return Math.min(u, v);
        break;
      case "enum": {
        const keys = new Set((v as unknown[]).map((e) => JSON.stringify(e)));
        return (u as unknown[]).filter((e) => keys.has(JSON.stringify(e)));
      }
      case "anyOf":
      case "oneOf":
        return same ? u : this.#crossAnyOf(u as unknown[], v as unknown[], pointer, depth);
    }
    if (same) return u;
    this.#unsupported("allOf", pointer, `two "${key}" values cannot be merged`);
    return u;
  }

  #crossAnyOf(u: unknown[], v: unknown[], pointer: string, depth: number): unknown[] {
    const out: unknown[] = [];
    for (const a of u) for (const b of v) out.push(this.#merge(a, b, pointer, depth + 1));
    return out;
  }
}

function _meaningful(s: _Obj): boolean {
  return Object.entries(s).some(([k, v]) => !ANNOTATIONS.has(k) && !k.startsWith("x-") && !_isNoOp(k, v));
}

function _isNoOp(key: string, value: unknown): boolean {
  return (key === "uniqueItems" && value === false) ||
    ((key === "minProperties" || key === "minContains") && value === 0) ||
    (key === "not" && value === false) ||
    ((key === "patternProperties" || key === "dependentRequired" || key === "dependentSchemas" || key === "dependencies") &&
      typeof value === "object" && value !== null && Object.keys(value).length === 0);
}

function _escapePointer(name: string): string {
  return name.replaceAll("~", "~0").replaceAll("/", "~1");
}

function _refPointer(target: string): string {
  return target === "#" ? "" : decodeURIComponent(target.slice(1));
}

/** A JSON string key (no `\u` escapes) whose text is none of `names`. */
function _keyNotIn(names: string[]): Expr {
  const keyChar = alt(
    chars(0x20, 0x21, 0x23, 0x5b, 0x5d, MAX_CODE_POINT),
    seq(lit("\\"), chars(0x22, 0x22, 0x5c, 0x5c, 0x2f, 0x2f, 0x62, 0x62, 0x66, 0x66, 0x6e, 0x6e, 0x72, 0x72, 0x74, 0x74)),
  );
  // Walk a trie of the names: at each node the key may end (unless a name ends there), go on
  // along a child, or leave the trie with any other character and then continue freely.
  interface Node { end: boolean; children: Map<number, Node> }
  const root: Node = { end: false, children: new Map() };
  for (const name of names) {
    let node = root;
    for (const ch of name) {
      const cp = ch.codePointAt(0)!;
      let child = node.children.get(cp);
      if (child === undefined) {
        child = { end: false, children: new Map() };
        node.children.set(cp, child);
      }
      node = child;
    }
    node.end = true;
  }
  const free = repeat(keyChar, 0);
  const build = (node: Node): Expr => {
    const parts: Expr[] = [];
    if (!node.end) parts.push(EMPTY);
    const excluded: number[] = [];
    for (const [cp, child] of node.children) {
      excluded.push(cp, cp);
      parts.push(seq(jsonEncodeChars(lit(String.fromCodePoint(cp))), build(child)));
    }
    // Escapes whose character is a child go down the trie (jsonEncodeChars spells them).
    const escapes = Object.entries(_ESCAPED).filter(([, cp]) => !node.children.has(cp)).map(([e]) => e.codePointAt(0)!);
    const others = alt(
      { kind: "chars", ranges: _subtract([0x20, 0x21, 0x23, 0x5b, 0x5d, MAX_CODE_POINT], excluded) },
      seq(lit("\\"), chars(...escapes.flatMap((e) => [e, e]))),
    );
    parts.push(seq(others, free));
    return alt(...parts);
  };
  return seq(lit('"'), build(root), lit('"'));
}

/** JSON short escapes: the letter after the backslash → the character it stands for. */
const _ESCAPED: Record<string, number> = { '"': 0x22, "\\": 0x5c, "/": 0x2f, b: 0x08, f: 0x0c, n: 0x0a, r: 0x0d, t: 0x09 };

function _subtract(ranges: number[], remove: number[]): number[] {
  let out = ranges;
  for (let i = 0; i < remove.length; i += 2) {
    const next: number[] = [];
    for (let j = 0; j < out.length; j += 2) {
      const [lo, hi] = [out[j], out[j + 1]];
      if (remove[i + 1] < lo || remove[i] > hi) next.push(lo, hi);
      else {
        if (lo < remove[i]) next.push(lo, remove[i] - 1);
        if (hi > remove[i + 1]) next.push(remove[i + 1] + 1, hi);
      }
    }
    out = next;
  }
  return out;
}

function _matchesExpr(rules: Map<string, Expr>, expr: Expr, text: string): boolean {
  const all = new Map(rules);
  all.set("__enum_check", expr);
  return matchesGrammar(compileGrammar({ rules: all, root: "__enum_check" }), text);
}
