/**
 * The native quant kernels (zig/src/quant through `zeno_quant_*`) against the TypeScript
 * reference backend: same dequantized values bit for bit, same activation bytes, dot products
 * within rounding. Needs the libraries built (`deno task build`).
 */

import { deepStrictEqual, ok, strictEqual } from "node:assert";
import { ggmlTypeName } from "../core/gguf/ggml_types.ts";
import { GgmlType } from "../core/gguf/types.ts";
import { loadNativeLibrary } from "../backends/native/library.ts";
import { NATIVE_STATUS } from "../backends/native/status.ts";
import { dequantizeRow, rowByteLength } from "../backends/reference/quant.ts";
import { quantizeRow } from "../backends/reference/quantize.ts";
import { activationType, vecDot } from "../backends/reference/vec_dot.ts";

const { symbols } = loadNativeLibrary();

/** Every type the native library implements, with its values per dot-product block. */
const TYPES: readonly GgmlType[] = [
  GgmlType.F32,
  GgmlType.F16,
  GgmlType.BF16,
  GgmlType.Q4_0,
  GgmlType.Q4_1,
  GgmlType.Q5_0,
  GgmlType.Q5_1,
  GgmlType.Q8_0,
  GgmlType.Q8_1,
  GgmlType.Q2_K,
  GgmlType.Q3_K,
  GgmlType.Q4_K,
  GgmlType.Q5_K,
  GgmlType.Q6_K,
  GgmlType.Q8_K,
];

/** Types with a dot product (Q8_1 and Q8_K are activation-only). */
const WEIGHT_TYPES = TYPES.filter((t) => t !== GgmlType.Q8_1 && t !== GgmlType.Q8_K);

/** Byte offsets of the f16 scale fields in one block, for rows of random bytes. */
const SCALE_OFFSETS: Partial<Record<GgmlType, number[]>> = {
  [GgmlType.Q4_0]: [0],
  [GgmlType.Q4_1]: [0, 2],
  [GgmlType.Q5_0]: [0],
  [GgmlType.Q5_1]: [0, 2],
  [GgmlType.Q8_0]: [0],
  [GgmlType.Q8_1]: [0, 2],
  [GgmlType.Q2_K]: [80, 82],
  [GgmlType.Q3_K]: [108],
  [GgmlType.Q4_K]: [0, 2],
  [GgmlType.Q5_K]: [0, 2],
  [GgmlType.Q6_K]: [208],
};

/** A small seeded generator (mulberry32), so failures reproduce. */
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

function normalValues(random: () => number, n: number): Float32Array {
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    values[i] = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  }
  return values;
}

function nativeQuantize(type: GgmlType, values: Float32Array): Uint8Array {
  const bytes = new Uint8Array(Number(symbols.zeno_quant_row_bytes(type, BigInt(values.length))));
  strictEqual(symbols.zeno_quant_quantize_row(type, values, bytes, BigInt(values.length)), 0);
  return bytes;
}

function nativeDequantize(type: GgmlType, bytes: Uint8Array, n: number): Float32Array {
  const values = new Float32Array(n);
  strictEqual(symbols.zeno_quant_dequantize_row(type, bytes, values, BigInt(n)), 0);
  return values;
}

function referenceDequantize(type: GgmlType, bytes: Uint8Array, n: number): Float32Array {
  const values = new Float32Array(n);
  dequantizeRow(type, bytes, values);
  return values;
}

/** Random quant bytes with f16 scales in [-0.01, 0.01): every bit pattern of the quants. */
function randomBlocks(random: () => number, type: GgmlType, n: number): Uint8Array {
  const bytes = new Uint8Array(rowByteLength(type, n));
  for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(random() * 256);
  const blockBytes = Number(
    symbols.zeno_quant_row_bytes(type, BigInt(symbols.zeno_quant_block_size(type))),
  );
  const scaleValues = new Float32Array(2 * bytes.length / blockBytes);
  for (let i = 0; i < scaleValues.length; i++) scaleValues[i] = (random() - 0.5) * 0.02;
  const scales = nativeQuantize(GgmlType.F16, scaleValues);
  let next = 0;
  for (let at = 0; at < bytes.length; at += blockBytes) {
    for (const offset of SCALE_OFFSETS[type]!) {
      bytes.set(scales.subarray(2 * next, 2 * next + 2), at + offset);
      next++;
    }
  }
  return bytes;
}

Deno.test("zeno_quant_block_size() and zeno_quant_row_bytes() agree with the reference", () => {
  for (const type of TYPES) {
    for (const blocks of [1, 3]) {
      const n = blocks * symbols.zeno_quant_block_size(type);
      strictEqual(Number(symbols.zeno_quant_row_bytes(type, BigInt(n))), rowByteLength(type, n));
    }
  }
  strictEqual(symbols.zeno_quant_block_size(GgmlType.IQ2_XXS), 0);
  strictEqual(symbols.zeno_quant_vec_dot_type(GgmlType.Q8_K), -1);
});

Deno.test("zeno_quant_dequantize_row() equals the reference dequantizer bit for bit", () => {
  const random = createRandom(1);
  for (const type of TYPES) {
    const n = 4 * 256;
    const quantized = nativeQuantize(type, normalValues(random, n));
    const rows = SCALE_OFFSETS[type] ? [quantized, randomBlocks(random, type, n)] : [quantized];
    for (const row of rows) {
      deepStrictEqual(
        nativeDequantize(type, row, n),
        referenceDequantize(type, row, n),
        ggmlTypeName(type),
      );
    }
  }
});

Deno.test("zeno_quant_quantize_row() writes the reference's activation bytes", () => {
  const random = createRandom(2);
  for (const type of [GgmlType.Q8_0, GgmlType.Q8_1, GgmlType.Q8_K]) {
    const values = normalValues(random, 8 * 256);
    values.fill(0, 256, 512); // an all-zero Q8_K block and eight all-zero Q8_0 blocks
    const expected = new Uint8Array(rowByteLength(type, values.length));
    quantizeRow(type, values, expected);
    deepStrictEqual(nativeQuantize(type, values), expected, ggmlTypeName(type));
  }
});

Deno.test("zeno_quant_vec_dot() equals the reference dot product within rounding", () => {
  const random = createRandom(3);
  for (const type of WEIGHT_TYPES) {
    const pair = activationType(type);
    strictEqual(symbols.zeno_quant_vec_dot_type(type), pair, ggmlTypeName(type));
    for (const n of [256, 7 * 256]) {
      const weights = SCALE_OFFSETS[type]
        ? randomBlocks(random, type, n)
        : nativeQuantize(type, normalValues(random, n));
      const values = normalValues(random, n);
      const activations = pair === GgmlType.F32
        ? new Uint8Array(values.buffer)
        : nativeQuantize(pair, values);
      const reference = vecDot(
        type,
        n,
        weights,
        pair === GgmlType.F32 ? values : activations,
      );
      const native = symbols.zeno_quant_vec_dot(type, BigInt(n), weights, activations);
      // Rounding scale: Σ|w·x| of the dequantized rows.
      const w = referenceDequantize(type, weights, n);
      const x = pair === GgmlType.F32 ? values : referenceDequantize(pair, activations, n);
      let magnitude = 0;
      for (let i = 0; i < n; i++) magnitude += Math.abs(w[i] * x[i]);
      ok(
        Math.abs(native - reference) <= 1e-5 * magnitude,
        `${ggmlTypeName(type)} n=${n}: native ${native}, reference ${reference}`,
      );
    }
  }
});

Deno.test("zeno_quant_*() return statuses for unsupported types and ragged rows", () => {
  const values = new Float32Array(32);
  const bytes = new Uint8Array(64);
  strictEqual(
    symbols.zeno_quant_quantize_row(GgmlType.IQ4_NL, values, bytes, 32n),
    NATIVE_STATUS.unsupported,
  );
  strictEqual(
    symbols.zeno_quant_dequantize_row(GgmlType.Q4_0, bytes, values, 31n),
    NATIVE_STATUS.invalid_argument,
  );
  ok(Number.isNaN(symbols.zeno_quant_vec_dot(GgmlType.Q8_1, 32n, bytes, bytes)));
});
