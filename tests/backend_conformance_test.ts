/**
 * One table of op cases, run on every registered backend and compared with the reference
 * backend (backends/reference, plain TypeScript) by normalized mean squared error:
 * NMSE = Σ(out − ref)² / Σ ref². Each case states its threshold; a NaN or ±Inf where the
 * reference has none (or the reverse) fails. An op a backend refuses (`supportsOp`) is a skip
 * with the reason printed.
 *
 * Inputs are random and seeded per case, so both backends see the same bytes; quantized
 * weights are made from random f32 rows by the native quant module (`zeno_quant_quantize_row`).
 * Needs the native libraries built (`deno task build`).
 */

import { ok, strictEqual } from "node:assert";
import "../backends/mod.ts";
import { createReferenceBackend } from "../backends/reference/backend.ts";
import { f16ToF32, f32ToF16 } from "../backends/reference/half.ts";
import { loadNativeLibrary } from "../backends/native/library.ts";
import type { Backend, BackendBuffer } from "../core/backend.ts";
import { listBackends } from "../core/backend.ts";
import { ggmlByteLength, ggmlTypeName, ggmlTypeTraits } from "../core/gguf/ggml_types.ts";
import { GgmlType } from "../core/gguf/types.ts";
import type { Graph, GraphTensor } from "../core/graph.ts";
import { llama3RopeFactors } from "../core/synth/synth_model.ts";
import { synthSpec } from "../core/synth/synth_specs.ts";
import {
  elementCount,
  F32,
  GraphBuilder,
  I32,
  Op,
  ROPE_MODE_NEOX,
  ROPE_MODE_NORMAL,
} from "../core/graph.ts";

/** A deterministic generator (mulberry32), so every backend gets the same inputs. */
function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Builds one case's graph on one backend: inputs become buffers of that backend. */
class CaseBuilder {
  readonly g: GraphBuilder;
  readonly random: () => number;
  readonly #buffers: BackendBuffer[] = [];

  constructor(readonly backend: Backend, seed: number) {
    this.random = createRandom(seed);
    this.g = new GraphBuilder(backend.allocate(64, "unused arena"), ggmlByteLength);
  }

  /** A tensor over a new buffer holding `bytes`. */
  input(name: string, type: GgmlType, shape: number[], bytes: Uint8Array): GraphTensor {
    const buffer = this.backend.allocate(bytes.byteLength, name);
    this.#buffers.push(buffer);
    this.backend.write(buffer, 0, bytes);
    return this.g.external(name, type, shape, buffer, 0);
  }

  /** Random f32 values in [-range, range). */
  values(count: number, range = 1): Float32Array {
    return Float32Array.from({ length: count }, () => (this.random() * 2 - 1) * range);
  }

  f32(name: string, shape: number[], range = 1): GraphTensor {
    return this.input(name, F32, shape, _bytes(this.values(elementCount(shape), range)));
  }

  i32(name: string, values: number[]): GraphTensor {
    return this.input(name, I32, [values.length], _bytes(Int32Array.from(values)));
  }

  /** Random f32 rows stored as `type` (quantized by the native quant module). */
  weights(name: string, type: GgmlType, shape: number[]): GraphTensor {
    const [rowLength, rows = 1] = shape;
    const values = this.values(rowLength * rows);
    return this.input(name, type, shape, _quantize(type, values, rowLength, rows));
  }

  /** A KV cache of random rows, F32 or F16. */
  cache(name: string, type: GgmlType, shape: number[]): GraphTensor {
    const values = this.values(elementCount(shape));
    const bytes = type === GgmlType.F16
      ? _bytes(Uint16Array.from(values, (v) => f32ToF16(v)))
      : _bytes(values);
    return this.input(name, type, shape, bytes);
  }

  /** A zero-filled output tensor. */
  output(name: string, shape: number[], type: GgmlType = F32): GraphTensor {
    return this.input(
      name,
      type,
      shape,
      new Uint8Array(ggmlByteLength(type, shape[0]) * (elementCount(shape) / shape[0])),
    );
  }
}

function _bytes(values: Float32Array | Int32Array | Uint16Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

function _quantize(
  type: GgmlType,
  values: Float32Array,
  rowLength: number,
  rows: number,
): Uint8Array {
  if (type === GgmlType.F32) return _bytes(values);
  const { symbols } = loadNativeLibrary();
  const rowBytes = ggmlByteLength(type, rowLength);
  const out = new Uint8Array(rowBytes * rows);
  for (let r = 0; r < rows; r++) {
    const status = symbols.zeno_quant_quantize_row(
      type,
      values.subarray(r * rowLength, (r + 1) * rowLength),
      out.subarray(r * rowBytes, (r + 1) * rowBytes),
      BigInt(rowLength),
    );
    strictEqual(status, 0, `Cannot quantize a row to ${ggmlTypeName(type)}: status ${status}`);
  }
  return out;
}

/** One op case: a graph whose last node writes `output`. */
interface OpCase {
  readonly name: string;
  /** Largest normalized MSE against the reference. */
  readonly nmseMax: number;
  build(b: CaseBuilder): GraphTensor;
}

const WEIGHT_TYPES = [
  GgmlType.F32,
  GgmlType.F16,
  GgmlType.BF16,
  GgmlType.Q4_0,
  GgmlType.Q4_1,
  GgmlType.Q5_0,
  GgmlType.Q5_1,
  GgmlType.Q8_0,
  GgmlType.Q2_K,
  GgmlType.Q3_K,
  GgmlType.Q4_K,
  GgmlType.Q5_K,
  GgmlType.Q6_K,
];

/** A row length that is a few whole blocks, odd in blocks or values where the type allows. */
function rowLengthFor(type: GgmlType): number {
  const block = ggmlTypeTraits(type)!.blockSize;
  return block === 1 ? 83 : block === 32 ? 96 : 512;
}

function getRowsCases(): OpCase[] {
  const noKernel: OpCase = {
    name: "get_rows IQ4_NL (no backend has a kernel: a skip with its reason)",
    nmseMax: 0,
    build(b) {
      // IQ4_NL blocks: f16 scale 1.0, then 16 bytes of 4-bit indices.
      const block = [0x00, 0x3c, ...Array.from({ length: 16 }, (_, i) => i * 17)];
      const table = b.input(
        "table",
        GgmlType.IQ4_NL,
        [32, 2],
        new Uint8Array([...block, ...block]),
      );
      const out = b.output("rows", [32, 1]);
      b.g.node(Op.GET_ROWS, out, [table, b.i32("indices", [1])]);
      return out;
    },
  };
  return [
    noKernel,
    ...WEIGHT_TYPES.map((type): OpCase => ({
      name: `get_rows ${ggmlTypeName(type)} of 7 rows`,
      nmseMax: 1e-12, // both dequantize the same bytes exactly
      build(b) {
        const dim = rowLengthFor(type);
        const table = b.weights("table", type, [dim, 7]);
        const indices = b.i32("indices", [3, 0, 6, 3, 1]);
        const out = b.output("rows", [dim, 5]);
        b.g.node(Op.GET_ROWS, out, [table, indices]);
        return out;
      },
    })),
  ];
}

function mulMatCases(): OpCase[] {
  const cases: OpCase[] = [];
  for (const type of WEIGHT_TYPES) {
    for (const n of [1, 7]) {
      const k = rowLengthFor(type);
      cases.push({
        name: `mul_mat ${ggmlTypeName(type)} k=${k} rows=37 n=${n}`,
        // Same weight bytes, same quantized activations: only summation order differs.
        nmseMax: 1e-10,
        build(b) {
          const w = b.weights("w", type, [k, 37]);
          const x = b.f32("x", [k, n]);
          const out = b.output("out", [37, n]);
          b.g.node(Op.MUL_MAT, out, [w, x]);
          return out;
        },
      });
    }
  }
  // Large enough that the native backend splits the rows over its threads.
  for (
    const [type, k, rows, n] of [[GgmlType.Q8_0, 1024, 256, 3], [GgmlType.Q4_K, 2048, 130, 2], [
      GgmlType.F32,
      256,
      300,
      5,
    ]]
  ) {
    cases.push({
      name: `mul_mat ${ggmlTypeName(type)} k=${k} rows=${rows} n=${n} (threaded)`,
      nmseMax: 1e-10,
      build(b) {
        const w = b.weights("w", type, [k, rows]);
        const x = b.f32("x", [k, n]);
        const out = b.output("out", [rows, n]);
        b.g.node(Op.MUL_MAT, out, [w, x]);
        return out;
      },
    });
  }
  return cases;
}

function normCases(): OpCase[] {
  const rmsNorm = (name: string, shape: number[], withWeight: boolean): OpCase => ({
    name,
    nmseMax: 1e-10,
    build(b) {
      const x = b.f32("x", shape, 3);
      const src = withWeight ? [x, b.f32("w", [shape[0]])] : [x];
      const out = b.output("out", shape);
      b.g.node(Op.RMS_NORM, out, src, [], [1e-5]);
      return out;
    },
  });
  return [
    rmsNorm("rms_norm [67, 5] with weight", [67, 5], true),
    rmsNorm("rms_norm [64, 1] without weight", [64, 1], false),
    rmsNorm("rms_norm per head [16, 4, 3] with a head weight", [16, 4, 3], true),
    rmsNorm("rms_norm [4096, 40] (threaded)", [4096, 40], true),
  ];
}

function elementwiseCases(): OpCase[] {
  const binary = (op: Op, name: string, shape: number[], broadcast: boolean): OpCase => ({
    name,
    nmseMax: 1e-12,
    build(b) {
      const a = b.f32("a", shape, 2);
      const other = b.f32("b", broadcast ? [shape[0]] : shape, 2);
      b.g.node(op, a, [a, other]); // in place, as the graph builders do
      return a;
    },
  });
  const unary = (op: Op, name: string, value: number, range: number, nmseMax: number): OpCase => ({
    name,
    nmseMax,
    build(b) {
      const x = b.f32("x", [77, 3], range);
      b.g.node(op, x, [x], [], [value]);
      return x;
    },
  });
  const gated = (op: Op, name: string, shape: number[], nmseMax: number): OpCase => ({
    name,
    nmseMax,
    build(b) {
      const x = b.f32("x", shape, 12); // past ±10, where ggml's GELU clamps
      const g = b.f32("g", shape, 2);
      b.g.node(op, x, [x, g]);
      return x;
    },
  });
  const nonFinite: OpCase = {
    name: "add with ±Inf and NaN inputs (non-finite values must match exactly)",
    nmseMax: 1e-12,
    build(b) {
      const values = b.values(64, 2);
      values.set([Infinity, -Infinity, NaN, 1e38], 3);
      const a = b.input("a", F32, [64], _bytes(values));
      const other = b.input("b", F32, [64], _bytes(Float32Array.from(values, (v) => v * 0.5)));
      b.g.node(Op.ADD, a, [a, other]); // 1e38 + 5e37 overflows to Inf on both
      return a;
    },
  };
  return [
    nonFinite,
    binary(Op.ADD, "add same shape [33, 5]", [33, 5], false),
    binary(Op.ADD, "add one broadcast row [33, 5]", [33, 5], true),
    binary(Op.MUL, "mul same shape [64, 2]", [64, 2], false),
    binary(Op.MUL, "mul one broadcast row [70, 4]", [70, 4], true),
    binary(Op.ADD, "add [4096, 40] (threaded)", [4096, 40], false),
    unary(Op.SCALE, "scale by 0.125", 0.125, 4, 1e-12),
    unary(Op.SOFTCAP, "softcap at 30", 30, 100, 1e-10),
    gated(Op.SWIGLU, "swiglu [75, 3]", [75, 3], 1e-10),
    gated(Op.SWIGLU, "swiglu [8192, 8] (threaded)", [8192, 8], 1e-10),
    // ggml rounds GELU's input and output to f16; the reference computes it exactly.
    gated(Op.GEGLU, "geglu [75, 3]", [75, 3], 1e-6),
  ];
}

function ropeCases(): OpCase[] {
  // ggml builds the angles by repeated f32 multiplication; the reference uses the closed form,
  // so at position 4095 they differ by ~1e-7 relative.
  const rope = (
    name: string,
    mode: number,
    headDim: number,
    nRot: number,
    base: number,
    scale: number,
    factors?: Float32Array,
  ): OpCase => ({
    name,
    nmseMax: 1e-8,
    build(b) {
      const x = b.f32("x", [headDim, 3, 4]);
      const positions = b.i32("positions", [0, 1, 17, 4095]);
      const divisors = factors === undefined
        ? []
        : [b.input("factors", F32, [factors.length], _bytes(factors))];
      b.g.node(Op.ROPE, x, [x, positions, ...divisors], [mode, nRot], [base, scale]);
      return x;
    },
  });
  return [
    rope("rope normal hd=64", ROPE_MODE_NORMAL, 64, 64, 10000, 1),
    rope("rope neox hd=64 base 1e6", ROPE_MODE_NEOX, 64, 64, 1e6, 1),
    rope("rope normal hd=80 rotating 32, freq scale 0.25", ROPE_MODE_NORMAL, 80, 32, 10000, 0.25),
    rope("rope neox hd=8", ROPE_MODE_NEOX, 8, 8, 10000, 1),
    rope(
      "rope normal hd=64 base 5e5 with Llama 3.2's frequency factors",
      ROPE_MODE_NORMAL,
      64,
      64,
      500000,
      1,
      llama3RopeFactors(synthSpec("llama-3.2-1b").ropeScaling!, 500000, 64),
    ),
  ];
}

function setRowsCases(): OpCase[] {
  return [GgmlType.F16, GgmlType.F32].map((type) => ({
    name: `set_rows into an ${ggmlTypeName(type)} cache`,
    nmseMax: 0,
    build(b) {
      const cache = b.cache("cache", type, [48, 10]);
      const rows = b.f32("rows", [48, 3], 5);
      const cells = b.i32("cells", [7, 2, 9]);
      b.g.node(Op.SET_ROWS, cache, [rows, cells]);
      return cache;
    },
  }));
}

interface AttentionSetup {
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly cache: GgmlType;
  /** Token positions and sequence masks. */
  readonly tokens: readonly (readonly [number, number])[];
  readonly window?: number;
  readonly softcap?: number;
}

/**
 * 40 cells, 37 scanned: cells 0..19 hold sequence 0 (positions 0..19), 20..35 sequence 1
 * (positions 0..15), cells 3 and 4 are shared by both, cell 36 is empty.
 */
function attentionCase(name: string, s: AttentionSetup): OpCase {
  return {
    name,
    // The native kernel rounds q and the probabilities to f16 for an F16 cache, as ggml does.
    nmseMax: s.cache === GgmlType.F16 ? 1e-6 : 1e-10,
    build(b) {
      const cells = 40;
      const scan = 37;
      const cellPositions = Array.from(
        { length: cells },
        (_, c) => (c < 20 ? c : c < 36 ? c - 20 : -1),
      );
      const cellMasks = Array.from(
        { length: cells },
        (_, c) => (c === 3 || c === 4 ? 3 : c < 20 ? 1 : c < 36 ? 2 : 0),
      );
      const n = s.tokens.length;
      const q = b.f32("q", [s.headDim, s.heads, n], 2);
      const k = b.cache("k", s.cache, [s.kvHeads * s.headDim, cells]);
      const v = b.cache("v", s.cache, [s.kvHeads * s.headDim, cells]);
      const out = b.output("out", [s.heads * s.headDim, n]);
      const src = [
        q,
        k,
        v,
        b.i32("token_pos", s.tokens.map(([p]) => p)),
        b.i32("token_seq", s.tokens.map(([, m]) => m)),
        b.i32("cell_pos", cellPositions),
        b.i32("cell_seq", cellMasks),
      ];
      const ip = [s.heads, s.kvHeads, s.headDim, s.window ?? 0, scan];
      b.g.node(Op.ATTENTION, out, src, ip, [1 / Math.sqrt(s.headDim), s.softcap ?? 0]);
      return out;
    },
  };
}

function attentionCases(): OpCase[] {
  const one: AttentionSetup["tokens"] = [[19, 1]];
  const many: AttentionSetup["tokens"] = [[15, 1], [16, 1], [17, 1], [18, 1], [19, 1]];
  const twoSequences: AttentionSetup["tokens"] = [[18, 1], [19, 1], [14, 2], [15, 2], [4, 3]];
  const cases: OpCase[] = [];
  for (const cache of [GgmlType.F16, GgmlType.F32]) {
    const type = ggmlTypeName(cache);
    for (const [heads, kvHeads] of [[4, 4], [6, 2], [8, 2]]) {
      cases.push(
        attentionCase(`attention ${type} gqa ${heads / kvHeads} one token`, {
          heads,
          kvHeads,
          headDim: 64,
          cache,
          tokens: one,
        }),
      );
    }
    cases.push(
      attentionCase(`attention ${type} 5 tokens hd=80`, {
        heads: 6,
        kvHeads: 2,
        headDim: 80,
        cache,
        tokens: many,
      }),
    );
    cases.push(
      attentionCase(`attention ${type} two sequences in one batch`, {
        heads: 4,
        kvHeads: 1,
        headDim: 64,
        cache,
        tokens: twoSequences,
      }),
    );
    cases.push(
      attentionCase(`attention ${type} sliding window 4`, {
        heads: 4,
        kvHeads: 2,
        headDim: 32,
        cache,
        tokens: many,
        window: 4,
      }),
    );
    cases.push(
      attentionCase(`attention ${type} soft-cap 5`, {
        heads: 8,
        kvHeads: 4,
        headDim: 16,
        cache,
        tokens: many,
        softcap: 5,
      }),
    );
  }
  return cases;
}

const CASES: readonly OpCase[] = [
  ...getRowsCases(),
  ...mulMatCases(),
  ...normCases(),
  ...elementwiseCases(),
  ...ropeCases(),
  ...setRowsCases(),
  ...attentionCases(),
];

/** Runs a case on a backend and returns the output as f32 (or a skip reason). */
function runCase(backend: Backend, c: OpCase, seed: number): Float32Array | string {
  const b = new CaseBuilder(backend, seed);
  const output = c.build(b);
  const graph: Graph = b.g.build();
  for (const node of graph.nodes) {
    const verdict = backend.supportsOp(node.op, node.src.map((t) => t.type));
    if (verdict !== true) return verdict;
  }
  backend.compute(graph);
  const bytes = backend.read(output.buffer, output.offset, output.byteLength);
  if (output.type === GgmlType.F16) {
    return Float32Array.from(
      new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2),
      f16ToF32,
    );
  }
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

/** Σ(a−r)²/Σr², after checking that both have non-finite values at the same places. */
function normalizedMse(actual: Float32Array, reference: Float32Array): number {
  strictEqual(actual.length, reference.length);
  let error = 0;
  let norm = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const r = reference[i];
    if (!Number.isFinite(a) || !Number.isFinite(r)) {
      ok(Object.is(a, r), `element ${i}: ${a} where the reference has ${r}`);
      continue;
    }
    error += (a - r) ** 2;
    norm += r * r;
  }
  return norm === 0 ? error : error / norm;
}

const reference = createReferenceBackend();
const candidates = listBackends().filter((entry) => entry.name !== "reference");

Deno.test("conformance: backends under test", () => {
  for (const entry of candidates) {
    const verdict = entry.available();
    console.log(`${entry.name}: ${verdict === true ? "available" : `skipped (${verdict})`}`);
  }
  const reasons = candidates.map((e) => `${e.name}: ${e.available()}`).join("; ");
  ok(
    candidates.some((entry) => entry.available() === true),
    `no backend besides the reference can run here (${reasons || "none is registered"})`,
  );
});

const created: Backend[] = [];
for (const entry of candidates) {
  if (entry.available() !== true) continue;
  const backend = entry.create({});
  created.push(backend);
  CASES.forEach((c, index) => {
    Deno.test(`conformance on ${entry.name}: ${c.name}`, () => {
      const actual = runCase(backend, c, 1000 + index);
      if (typeof actual === "string") {
        console.log(`skip: ${entry.name} does not support it (${actual})`);
        return;
      }
      const expected = runCase(reference, c, 1000 + index);
      if (typeof expected === "string") {
        console.log(`skip: the reference cannot run it (${expected})`);
        return;
      }
      const nmse = normalizedMse(actual, expected);
      console.log(`nmse ${nmse.toExponential(2)} (threshold ${c.nmseMax.toExponential(0)})`);
      ok(nmse <= c.nmseMax, `NMSE ${nmse.toExponential(2)} is above ${c.nmseMax.toExponential(0)}`);
    });
  });
}

Deno.test("conformance: dispose() frees the backends under test", () => {
  for (const backend of created) backend.dispose();
  reference.dispose();
});
