/**
 * Compiles a grammar (rules of regular expressions with references) into the tables a
 * pushdown automaton runs on: one byte-level DFA per rule that is still called, with "call"
 * edges for the references that stay calls. References to rules outside the caller's
 * recursion cycle are inlined, so a non-recursive grammar becomes a single DFA and a
 * recursive one keeps a call only where the recursion is.
 *
 * Shapes: gstate = a global DFA state id in [0, stateCount); the byte alphabet is reduced to
 * `classCount` byte classes (intervals of bytes no edge tells apart); `next[gstate *
 * classCount + class]` is the next gstate or -1.
 *
 * @module
 */

import { byteClassTable } from "./byte_classes.ts";
import { collectRefs, type Expr, type Grammar } from "./grammar.ts";
import { SchemaCompileError } from "./errors.ts";
import { encodeCodePoint, utf8Sequences } from "./utf8_ranges.ts";

/** The automaton tables of a compiled grammar. Immutable once built. */
export interface CompiledGrammar {
  /** Names of the rules that kept a DFA (the root first). */
  readonly ruleNames: readonly string[];
  /** Start gstate of each kept rule, `[ruleNames.length]`. */
  readonly ruleStart: Int32Array;
  /** Start gstate of the root rule. */
  readonly rootStart: number;
  /** Number of states. */
  readonly stateCount: number;
  /** Byte → class, `[256]`. */
  readonly byteClass: Uint8Array;
  /** Number of byte classes (columns of the transition table). */
  readonly classCount: number;
  /** `[stateCount * classCount]`: next gstate, or -1 (dead). */
  readonly next: Int32Array;
  /** `[stateCount]`: 1 where the rule may end. */
  readonly accepting: Uint8Array;
  /** `[stateCount]`: 1 where some byte moves on. */
  readonly hasByteOut: Uint8Array;
  /** `[stateCount + 1]`: calls of gstate g are `callOffset[g] .. callOffset[g + 1]`. */
  readonly callOffset: Int32Array;
  /** Start gstate of the called rule, `[callCount]`. */
  readonly callStart: Int32Array;
  /** Gstate the caller continues at when the call returns, `[callCount]`. */
  readonly callReturn: Int32Array;
}

/** Options of `compileGrammar`. */
export interface CompileGrammarOptions {
  /** Largest NFA (states) of a rule that is inlined at its call sites. Default 20000. */
  inlineLimit?: number;
  /** Largest total DFA state count before compiling fails. Default 200000. */
  maxStates?: number;
}

interface _Nfa {
  eps: number[][];
  /** Byte edges per state: flat [lo, hi, to, lo, hi, to, …]. */
  bytes: number[][];
  /** Call edges per state: flat [ruleIndex, to, …]. */
  calls: number[][];
}

const DEFAULT_INLINE_LIMIT = 20000;
const DEFAULT_MAX_STATES = 200000;

/**
 * Builds the automaton tables of `grammar`.
 * @param grammar rules and root
 * @param options inlining and size limits
 * @returns the tables
 * @throws SchemaCompileError for an undefined rule, left recursion, an empty language or a
 *   grammar past the size limit
 */
export function compileGrammar(
  grammar: Grammar,
  options: CompileGrammarOptions = {},
): CompiledGrammar {
  const inlineLimit = options.inlineLimit ?? DEFAULT_INLINE_LIMIT;
  const maxStates = options.maxStates ?? DEFAULT_MAX_STATES;
  if (!grammar.rules.has(grammar.root)) {
    throw new SchemaCompileError(`Cannot compile grammar: the root rule "${grammar.root}" is not defined`);
  }
  const inlined = _chooseInlined(grammar, inlineLimit);
  const kept: string[] = [grammar.root];
  const keptIndex = new Map<string, number>([[grammar.root, 0]]);
  const nfas: { nfa: _Nfa; start: number; final: number }[] = [];
  for (let r = 0; r < kept.length; r++) {
    nfas.push(_buildRuleNfa(grammar, kept[r], inlined, (name) => {
      let index = keptIndex.get(name);
      if (index === undefined) {
        index = kept.length;
        kept.push(name);
        keptIndex.set(name, index);
      }
      return index;
    }));
  }
  const { byteClass, classCount } = _byteClasses(nfas.map((n) => n.nfa));
  return _assemble(kept, nfas, byteClass, classCount, maxStates);
}

/** Rules to inline: not on a cycle with their caller, and small enough. */
function _chooseInlined(grammar: Grammar, inlineLimit: number): Map<string, Set<string>> {
  for (const [name, expr] of grammar.rules) {
    for (const target of collectRefs(expr)) {
      if (!grammar.rules.has(target)) {
        throw new SchemaCompileError(
          `Cannot compile grammar: rule "${name}" refers to undefined rule "${target}"`,
        );
      }
    }
  }
  const scc = _stronglyConnected(grammar);
  const size = new Map<string, number>();
  // Tarjan's order lists callees' components before callers'.
  for (const component of scc.order) {
    for (const name of component) size.set(name, _exprSize(grammar.rules.get(name)!, (t) => {
      if (scc.id.get(t) === scc.id.get(name)) return 1;
      const s = size.get(t)!;
      return s <= inlineLimit ? s : 1;
    }));
  }
  // For each caller, the set of callee names to inline.
  const inlined = new Map<string, Set<string>>();
  for (const [name, expr] of grammar.rules) {
    const set = new Set<string>();
    for (const target of collectRefs(expr)) {
      if (scc.id.get(target) !== scc.id.get(name) && size.get(target)! <= inlineLimit) {
        set.add(target);
      }
    }
    inlined.set(name, set);
  }
  return inlined;
}

function _exprSize(expr: Expr, refSize: (name: string) => number): number {
  switch (expr.kind) {
    case "literal":
      return expr.text.length * 2 + 1;
    case "chars":
      return expr.ranges.length * 4 + 1;
    case "bytes":
      return 2;
    case "seq":
    case "alt": {
      let total = 1;
      for (const item of expr.items) total += _exprSize(item, refSize);
      return total;
    }
    case "repeat": {
      const copies = expr.max === Infinity ? expr.min + 1 : Math.max(expr.max, 1);
      return _exprSize(expr.item, refSize) * copies + 2;
    }
    case "ref":
      return refSize(expr.name);
  }
}

function _stronglyConnected(grammar: Grammar): { id: Map<string, number>; order: string[][] } {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const id = new Map<string, number>();
  const order: string[][] = [];
  let counter = 0;
  const visit = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of new Set(collectRefs(grammar.rules.get(v)!))) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        id.set(w, order.length);
        component.push(w);
      } while (w !== v);
      order.push(component);
    }
  };
  for (const name of grammar.rules.keys()) if (!index.has(name)) visit(name);
  return { id, order };
}

function _buildRuleNfa(
  grammar: Grammar,
  name: string,
  inlined: Map<string, Set<string>>,
  ruleIndexOf: (name: string) => number,
): { nfa: _Nfa; start: number; final: number } {
  const nfa: _Nfa = { eps: [], bytes: [], calls: [] };
  const newState = (): number => {
    nfa.eps.push([]);
    nfa.bytes.push([]);
    nfa.calls.push([]);
    return nfa.eps.length - 1;
  };
  const start = newState();
  const final = newState();
  // Invariant: build(expr, from, to) adds edges out of `from` and into `to`, never into
  // `from` or out of `to`, so fragments may share their end states.
  const build = (expr: Expr, from: number, to: number, owner: string): void => {
    switch (expr.kind) {
      case "literal": {
        const bytes = _utf8(expr.text);
        if (bytes.length === 0) {
          nfa.eps[from].push(to);
          return;
        }
        let cur = from;
        for (let i = 0; i < bytes.length; i++) {
          const nxt = i === bytes.length - 1 ? to : newState();
          nfa.bytes[cur].push(bytes[i], bytes[i], nxt);
          cur = nxt;
        }
        return;
      }
      case "bytes":
        for (let i = 0; i < expr.ranges.length; i += 2) {
          nfa.bytes[from].push(expr.ranges[i], expr.ranges[i + 1], to);
        }
        return;
      case "chars":
        _buildChars(nfa, expr.ranges, from, to, newState);
        return;
      case "seq": {
        if (expr.items.length === 0) {
          nfa.eps[from].push(to);
          return;
        }
        let cur = from;
        expr.items.forEach((item, i) => {
          const nxt = i === expr.items.length - 1 ? to : newState();
          build(item, cur, nxt, owner);
          cur = nxt;
        });
        return;
      }
      case "alt":
        for (const item of expr.items) build(item, from, to, owner);
        return;
      case "repeat": {
        let cur = from;
        for (let i = 0; i < expr.min; i++) {
          const nxt = newState();
          build(expr.item, cur, nxt, owner);
          cur = nxt;
        }
        if (expr.max === Infinity) {
          const loop = newState();
          const back = newState();
          nfa.eps[cur].push(loop);
          build(expr.item, loop, back, owner);
          nfa.eps[back].push(loop);
          nfa.eps[loop].push(to);
          return;
        }
        for (let i = expr.min; i < expr.max; i++) {
          nfa.eps[cur].push(to);
          const nxt = newState();
          build(expr.item, cur, nxt, owner);
          cur = nxt;
        }
        nfa.eps[cur].push(to);
        return;
      }
      case "ref":
        if (inlined.get(owner)!.has(expr.name)) {
          build(grammar.rules.get(expr.name)!, from, to, expr.name);
        } else {
          nfa.calls[from].push(ruleIndexOf(expr.name), to);
        }
        return;
    }
  };
  build(grammar.rules.get(name)!, start, final, name);
  return { nfa, start, final };
}

function _buildChars(
  nfa: _Nfa,
  ranges: readonly number[],
  from: number,
  to: number,
  newState: () => number,
): void {
  // Sequences sharing a leading byte range share its state, which keeps classes like
  // [^"\\] (one 1-byte range, a few multi-byte shapes) small.
  const prefixState = new Map<string, number>();
  for (let i = 0; i < ranges.length; i += 2) {
    for (const sequence of utf8Sequences(ranges[i], ranges[i + 1])) {
      let cur = from;
      let key = "";
      sequence.forEach(([lo, hi], j) => {
        if (j === sequence.length - 1) {
          nfa.bytes[cur].push(lo, hi, to);
          return;
        }
        key += `${lo}-${hi},`;
        let nxt = prefixState.get(key);
        if (nxt === undefined) {
          nxt = newState();
          prefixState.set(key, nxt);
          nfa.bytes[cur].push(lo, hi, nxt);
        }
        cur = nxt;
      });
    }
  }
}

function _utf8(text: string): number[] {
  const out: number[] = [];
  for (const ch of text) out.push(...encodeCodePoint(ch.codePointAt(0)!));
  return out;
}

function _byteClasses(nfas: _Nfa[]): { byteClass: Uint8Array; classCount: number } {
  const boundary = new Uint8Array(257);
  boundary[0] = 1;
  for (const nfa of nfas) {
    for (const edges of nfa.bytes) {
      for (let i = 0; i < edges.length; i += 3) {
        boundary[edges[i]] = 1;
        boundary[edges[i + 1] + 1] = 1;
      }
    }
  }
  const { classOf, count } = byteClassTable(boundary);
  return { byteClass: classOf, classCount: count };
}

interface _RuleDfa {
  /** Per DFA state: next local state per class (-1 none). */
  next: Int32Array[];
  accepting: boolean[];
  /** Per DFA state: flat [ruleIndex, returnLocalState, …]. */
  calls: number[][];
}

function _determinize(
  built: { nfa: _Nfa; start: number; final: number },
  byteClass: Uint8Array,
  classCount: number,
  budget: number,
): _RuleDfa {
  const { nfa, final } = built;
  const dfa: _RuleDfa = { next: [], accepting: [], calls: [] };
  const index = new Map<string, number>();
  const sets: number[][] = [];
  const intern = (set: number[]): number => {
    const key = set.join(",");
    let id = index.get(key);
    if (id === undefined) {
      id = sets.length;
      if (id >= budget) {
        throw new SchemaCompileError(
          `Cannot compile grammar: the automaton needs more than ${budget} states`,
        );
      }
      index.set(key, id);
      sets.push(set);
    }
    return id;
  };
  intern(_closure(nfa, [built.start]));
  for (let d = 0; d < sets.length; d++) {
    const set = sets[d];
    dfa.next.push(_byteStep(nfa, set, byteClass, classCount, intern));
    dfa.accepting.push(set.includes(final));
    dfa.calls.push(_callStep(nfa, set, intern));
  }
  return dfa;
}

/**
 * The next local state per byte class from the NFA state set `set` (-1 none). Only classes
 * where some edge starts, or ends just before, are resolved: any other class has the edges
 * of the class before it, so a range over many classes (like [^"\\]) costs one closure,
 * not one per class it spans.
 */
function _byteStep(
  nfa: _Nfa,
  set: number[],
  byteClass: Uint8Array,
  classCount: number,
  intern: (set: number[]) => number,
): Int32Array {
  // The set's edges in class space: flat [firstClass, lastClass, to, …].
  const edges: number[] = [];
  const changes = new Uint8Array(classCount + 1);
  for (const s of set) {
    const bytes = nfa.bytes[s];
    for (let i = 0; i < bytes.length; i += 3) {
      const first = byteClass[bytes[i]];
      const last = byteClass[bytes[i + 1]];
      edges.push(first, last, bytes[i + 2]);
      changes[first] = 1;
      changes[last + 1] = 1;
    }
  }
  const next = new Int32Array(classCount).fill(-1);
  const targets: number[] = [];
  for (let c = 0; c < classCount; c++) {
    if (changes[c] === 0) {
      if (c > 0) next[c] = next[c - 1];
      continue;
    }
    targets.length = 0;
    for (let i = 0; i < edges.length; i += 3) {
      if (edges[i] <= c && c <= edges[i + 1]) targets.push(edges[i + 2]);
    }
    if (targets.length > 0) next[c] = intern(_closure(nfa, targets));
  }
  return next;
}

/** The call edges of the NFA state set `set`: flat [ruleIndex, returnLocalState, …]. */
function _callStep(nfa: _Nfa, set: number[], intern: (set: number[]) => number): number[] {
  const callTargets = new Map<number, number[]>();
  for (const s of set) {
    const calls = nfa.calls[s];
    for (let i = 0; i < calls.length; i += 2) {
      const list = callTargets.get(calls[i]) ?? [];
      list.push(calls[i + 1]);
      callTargets.set(calls[i], list);
    }
  }
  const out: number[] = [];
  for (const [rule, targets] of callTargets) out.push(rule, intern(_closure(nfa, targets)));
  return out;
}

function _closure(nfa: _Nfa, seeds: number[]): number[] {
  const seen = new Set<number>();
  const stack = [...seeds];
  while (stack.length > 0) {
    const s = stack.pop()!;
    if (seen.has(s)) continue;
    seen.add(s);
    for (const t of nfa.eps[s]) if (!seen.has(t)) stack.push(t);
  }
  // Keep only states that matter for the DFA: those with byte or call edges, or the final
  // (the final state has none).
  const kept: number[] = [];
  for (const s of seen) {
    if (nfa.bytes[s].length > 0 || nfa.calls[s].length > 0 || nfa.eps[s].length === 0) kept.push(s);
  }
  return kept.sort((a, b) => a - b);
}

function _assemble(
  kept: string[],
  nfas: { nfa: _Nfa; start: number; final: number }[],
  byteClass: Uint8Array,
  classCount: number,
  maxStates: number,
): CompiledGrammar {
  const dfas: _RuleDfa[] = [];
  let total = 0;
  for (const built of nfas) {
    const dfa = _determinize(built, byteClass, classCount, maxStates - total);
    total += dfa.next.length;
    dfas.push(dfa);
  }
  const ruleStart = new Int32Array(kept.length);
  let offset = 0;
  dfas.forEach((dfa, r) => {
    ruleStart[r] = offset;
    offset += dfa.next.length;
  });
  const stateCount = offset;
  const next = new Int32Array(stateCount * classCount).fill(-1);
  const accepting = new Uint8Array(stateCount);
  const callLists: number[][] = [];
  dfas.forEach((dfa, r) => {
    const base = ruleStart[r];
    dfa.next.forEach((row, d) => {
      const g = base + d;
      for (let c = 0; c < classCount; c++) next[g * classCount + c] = row[c] < 0 ? -1 : base + row[c];
      accepting[g] = dfa.accepting[d] ? 1 : 0;
      const calls: number[] = [];
      for (let i = 0; i < dfa.calls[d].length; i += 2) {
        calls.push(ruleStart[dfa.calls[d][i]], base + dfa.calls[d][i + 1]);
      }
      callLists.push(calls);
    });
  });
  const live = _trim(stateCount, classCount, next, accepting, callLists);
  if (!live[0]) {
    throw new SchemaCompileError(`Cannot compile grammar: rule "${kept[0]}" matches no text`);
  }
  const callOffset = new Int32Array(stateCount + 1);
  const callStart: number[] = [];
  const callReturn: number[] = [];
  const hasByteOut = new Uint8Array(stateCount);
  for (let g = 0; g < stateCount; g++) {
    callOffset[g] = callStart.length;
    if (!live[g]) continue;
    const calls = callLists[g];
    for (let i = 0; i < calls.length; i += 2) {
      if (live[calls[i]] && live[calls[i + 1]]) {
        callStart.push(calls[i]);
        callReturn.push(calls[i + 1]);
      }
    }
    for (let c = 0; c < classCount; c++) if (next[g * classCount + c] >= 0) hasByteOut[g] = 1;
  }
  callOffset[stateCount] = callStart.length;
  const compiled: CompiledGrammar = {
    ruleNames: kept,
    ruleStart,
    rootStart: 0,
    stateCount,
    byteClass,
    classCount,
    next,
    accepting,
    hasByteOut,
    callOffset,
    callStart: Int32Array.from(callStart),
    callReturn: Int32Array.from(callReturn),
  };
  _rejectLeftRecursion(compiled);
  return compiled;
}

/** Marks states from which the rule can still end; cuts edges into the others. */
function _trim(
  stateCount: number,
  classCount: number,
  next: Int32Array,
  accepting: Uint8Array,
  callLists: number[][],
): Uint8Array {
  const live = new Uint8Array(stateCount);
  let changed = true;
  while (changed) {
    changed = false;
    for (let g = stateCount - 1; g >= 0; g--) {
      if (live[g]) continue;
      let ok = accepting[g] === 1;
      for (let c = 0; c < classCount && !ok; c++) {
        const t = next[g * classCount + c];
        if (t >= 0 && live[t]) ok = true;
      }
      const calls = callLists[g];
      for (let i = 0; i < calls.length && !ok; i += 2) {
        if (live[calls[i]] && live[calls[i + 1]]) ok = true;
      }
      if (ok) {
        live[g] = 1;
        changed = true;
      }
    }
  }
  for (let i = 0; i < next.length; i++) if (next[i] >= 0 && !live[next[i]]) next[i] = -1;
  return live;
}

/** A rule that can reach a call of itself without reading a byte would loop forever. */
function _rejectLeftRecursion(g: CompiledGrammar): void {
  const ruleCount = g.ruleNames.length;
  const ruleOfStart = new Map<number, number>();
  for (let r = 0; r < ruleCount; r++) ruleOfStart.set(g.ruleStart[r], r);
  const nullable = new Uint8Array(ruleCount);
  const reachEmpty = (r: number, visit: (state: number) => void): void => {
    const seen = new Set<number>();
    const stack = [g.ruleStart[r]];
    while (stack.length > 0) {
      const s = stack.pop()!;
      if (seen.has(s)) continue;
      seen.add(s);
      visit(s);
      for (let k = g.callOffset[s]; k < g.callOffset[s + 1]; k++) {
        if (nullable[ruleOfStart.get(g.callStart[k])!]) stack.push(g.callReturn[k]);
      }
    }
  };
  let changed = true;
  while (changed) {
    changed = false;
    for (let r = 0; r < ruleCount; r++) {
      if (nullable[r]) continue;
      reachEmpty(r, (s) => {
        if (g.accepting[s] && !nullable[r]) {
          nullable[r] = 1;
          changed = true;
        }
      });
    }
  }
  const leftCalls: Set<number>[] = [];
  for (let r = 0; r < ruleCount; r++) {
    const callees = new Set<number>();
    reachEmpty(r, (s) => {
      for (let k = g.callOffset[s]; k < g.callOffset[s + 1]; k++) {
        callees.add(ruleOfStart.get(g.callStart[k])!);
      }
    });
    leftCalls.push(callees);
  }
  const state = new Uint8Array(ruleCount); // 0 new, 1 on path, 2 done
  const visit = (r: number): void => {
    state[r] = 1;
    for (const c of leftCalls[r]) {
      if (state[c] === 1) {
        throw new SchemaCompileError(
          `Cannot compile grammar: rule "${g.ruleNames[c]}" is left-recursive`,
        );
      }
      if (state[c] === 0) visit(c);
    }
    state[r] = 2;
  };
  for (let r = 0; r < ruleCount; r++) if (state[r] === 0) visit(r);
}
