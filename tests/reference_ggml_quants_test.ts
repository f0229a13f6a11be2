/**
 * Checks the reference backend's quantizers, dequantizers and dot products against ggml's own C
 * code: the llama.cpp source that node-llama-cpp ships (tests/oracle, `llama/gitRelease.bundle`)
 * is checked out to a temporary folder, and three of its files (`ggml-quants.c` and the CPU
 * backend's generic and x86 `quants.c`) are compiled with Zig into a small shared library that
 * Deno loads. Nothing of ggml is copied into zeno; the stubs below are the few symbols those
 * files need from the rest of ggml.
 *
 * Expectations: `quantizeRow` equals ggml's `quantize_row_q8_*_ref` (default rounding) and its
 * AVX2 `quantize_row_q8_*` (`rounding: "x86"`) byte for byte; `dequantizeRow` equals
 * `dequantize_row_*` bit for bit; `vecDot` equals ggml's generic and AVX2 `ggml_vec_dot_*`
 * within 1e-7 of the sum of the terms' magnitudes (they sum the same integer block products in
 * another float order). The library is built for x86-64-v3 (AVX2, FMA, F16C), which this
 * machine and CI have.
 *
 * @module
 */

import { strictEqual } from "node:assert";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ggmlTypeTraits } from "../core/gguf/ggml_types.ts";
import { GgmlType } from "../core/gguf/types.ts";
import { f32ToF16 } from "../backends/reference/half.ts";
import { dequantizeRow } from "../backends/reference/quant.ts";
import { quantizeRow } from "../backends/reference/quantize.ts";
import { vecDot } from "../backends/reference/vec_dot.ts";

const BUNDLE =
  new URL("./oracle/node_modules/node-llama-cpp/llama/gitRelease.bundle", import.meta.url)
    .pathname;
const IS_X86_64 = Deno.build.arch === "x86_64";

// Symbols ggml-quants.c and quants.c use from the rest of ggml. The F16 table is filled by
// gq_init() with the exact half values (ggml fills it the same way at ggml_init()).
const STUBS_C = `
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
void ggml_abort(const char * file, int line, const char * fmt, ...) {
  fprintf(stderr, "ggml_abort at %s:%d\\n", file, line);
  abort();
}
float ggml_table_f32_f16[1 << 16];
float ggml_table_f32_e8m0_half[1 << 8];
float ggml_table_f32_ue4m3[1 << 8];
size_t ggml_row_size(int type, int64_t ne) { abort(); }
const char * ggml_type_name(int type) { return "?"; }
size_t ggml_type_size(int type) { abort(); }
static float gq_half(uint16_t h) {
  uint32_t exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
  float magnitude;
  if (exponent == 0) magnitude = mantissa * (1.0f / 16777216.0f);
  else if (exponent == 31) magnitude = mantissa ? __builtin_nanf("") : __builtin_inff();
  else {
    uint32_t bits = ((exponent + 112) << 23) | (mantissa << 13);
    memcpy(&magnitude, &bits, 4);
  }
  return (h & 0x8000) ? -magnitude : magnitude;
}
void gq_init(void) {
  for (int i = 0; i < 65536; i++) ggml_table_f32_f16[i] = gq_half((uint16_t)i);
}
`;

const SOURCES = [
  "ggml/src/ggml-quants.c",
  "ggml/src/ggml-cpu/quants.c",
  "ggml/src/ggml-cpu/arch/x86/quants.c",
];

async function run(command: string, args: string[], cwd?: string): Promise<void> {
  const result = await new Deno.Command(command, { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  if (!result.success) {
    const stderr = new TextDecoder().decode(result.stderr);
    throw new Error(`Cannot run ${command} ${args.join(" ")}: ${stderr.slice(0, 2000)}`);
  }
}

// Only the ggml sources are checked out of the bundle (a full checkout is ~200 MB).
const CHECKOUT_ARGS = ["-c", "advice.detachedHead=false", "checkout", "--quiet", "HEAD", "--"];
const CHECKOUT_PATHS = ["ggml/include", "ggml/src"];
const INCLUDE_PATHS = ["ggml/include", "ggml/src", "ggml/src/ggml-cpu"];
const ZIG_CC = ["-m", "ziglang", "cc", "-shared", "-O2", "-march=x86_64_v3", "-lm"];

/** Builds (once per bundle) and returns the path of the ggml quants library. */
async function buildGgmlQuants(): Promise<string> {
  if (!existsSync(BUNDLE)) {
    throw new Error(`Cannot find "${BUNDLE}": install tests/oracle first (see .ci/run)`);
  }
  const bundleHash = createHash("sha256").update(Deno.readFileSync(BUNDLE)).digest("hex");
  const dir = join(tmpdir(), `zeno-ggml-quants-${bundleHash.slice(0, 16)}`);
  const library = join(dir, "libggml_quants.so");
  if (existsSync(library)) return library;
  // Build in a private folder, then move the library into place: concurrent runs never see a
  // partial file.
  const work = await Deno.makeTempDir({ prefix: "zeno-ggml-quants-build-" });
  try {
    const source = join(work, "src");
    await run("git", ["clone", "--quiet", "--no-checkout", BUNDLE, source]);
    await run("git", [...CHECKOUT_ARGS, ...CHECKOUT_PATHS], source);
    await Deno.writeTextFile(join(work, "stubs.c"), STUBS_C);
    const includes = INCLUDE_PATHS.map((path) => `-I${join(source, path)}`);
    const inputs = [...SOURCES.map((path) => join(source, path)), join(work, "stubs.c")];
    const built = join(work, "libggml_quants.so");
    await run("python3", [...ZIG_CC, ...includes, ...inputs, "-o", built]);
    await Deno.mkdir(dir, { recursive: true });
    await Deno.rename(built, library);
  } finally {
    await Deno.remove(work, { recursive: true });
  }
  return library;
}

const QUANTIZE = { parameters: ["buffer", "buffer", "i64"], result: "void" } as const;
const VEC_DOT = {
  parameters: ["i32", "buffer", "usize", "buffer", "usize", "buffer", "usize", "i32"],
  result: "void",
} as const;

const DEQUANTIZED: [GgmlType, string][] = [
  [GgmlType.Q4_0, "q4_0"],
  [GgmlType.Q4_1, "q4_1"],
  [GgmlType.Q5_0, "q5_0"],
  [GgmlType.Q5_1, "q5_1"],
  [GgmlType.Q8_0, "q8_0"],
  [GgmlType.Q2_K, "q2_K"],
  [GgmlType.Q3_K, "q3_K"],
  [GgmlType.Q4_K, "q4_K"],
  [GgmlType.Q5_K, "q5_K"],
  [GgmlType.Q6_K, "q6_K"],
];
const ACTIVATIONS: [GgmlType, string][] = [[GgmlType.Q8_0, "q8_0"], [GgmlType.Q8_1, "q8_1"], [
  GgmlType.Q8_K,
  "q8_K",
]];
const PAIRS: [GgmlType, GgmlType, string][] = [
  [GgmlType.Q4_0, GgmlType.Q8_0, "q4_0_q8_0"],
  [GgmlType.Q4_1, GgmlType.Q8_1, "q4_1_q8_1"],
  [GgmlType.Q5_0, GgmlType.Q8_0, "q5_0_q8_0"],
  [GgmlType.Q5_1, GgmlType.Q8_1, "q5_1_q8_1"],
  [GgmlType.Q8_0, GgmlType.Q8_0, "q8_0_q8_0"],
  [GgmlType.Q2_K, GgmlType.Q8_K, "q2_K_q8_K"],
  [GgmlType.Q3_K, GgmlType.Q8_K, "q3_K_q8_K"],
  [GgmlType.Q4_K, GgmlType.Q8_K, "q4_K_q8_K"],
  [GgmlType.Q5_K, GgmlType.Q8_K, "q5_K_q8_K"],
  [GgmlType.Q6_K, GgmlType.Q8_K, "q6_K_q8_K"],
];

// deno-lint-ignore no-explicit-any
type Symbols = Record<string, (...args: any[]) => void>;

function openGgmlQuants(path: string): { symbols: Symbols; close: () => void } {
  const definitions: Record<string, Deno.ForeignFunction> = {
    gq_init: { parameters: [], result: "void" },
  };
  for (const [, name] of ACTIVATIONS) {
    definitions[`quantize_row_${name}_ref`] = QUANTIZE;
    definitions[`quantize_row_${name}`] = QUANTIZE;
  }
  for (const [, name] of [...DEQUANTIZED, [GgmlType.Q8_K, "q8_K"] as const]) {
    definitions[`dequantize_row_${name}`] = QUANTIZE;
  }
  for (const [, , name] of PAIRS) {
    definitions[`ggml_vec_dot_${name}`] = VEC_DOT;
    definitions[`ggml_vec_dot_${name}_generic`] = VEC_DOT;
  }
  const library = Deno.dlopen(path, definitions);
  const symbols = library.symbols as unknown as Symbols;
  symbols.gq_init();
  return { symbols, close: () => library.close() };
}

/** A seeded generator of floats in [0, 1). */
function random(seed: number): () => number {
  let state = seed;
  return () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

function byteLength(type: GgmlType, length: number): number {
  const { blockSize, bytesPerBlock } = ggmlTypeTraits(type)!;
  return (length / blockSize) * bytesPerBlock;
}

/**
 * Activations that stress rounding: smooth values, outliers, and blocks whose maximum is 127
 * (scale exactly 1) holding integers and exact halves (ties).
 */
function activations(next: () => number, length: number): Float32Array {
  const x = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    const r = next();
    if (r < 0.1) x[i] = Math.round(next() * 254 - 127) + 0.5;
    else if (r < 0.15) x[i] = (next() - 0.5) * 400;
    else x[i] = (next() - 0.5) * 8;
  }
  for (let block = 0; block < length; block += 32) {
    if (next() >= 0.3) continue;
    x[block] = 127;
    for (let j = 1; j < 32; j++) {
      x[block + j] = Math.round(x[block + j] / 4) + (next() < 0.5 ? 0.5 : 0);
    }
  }
  return x;
}

// Offsets of the f16 scale fields per block; random bytes there would often be NaN or infinite.
const HALF_FIELDS: Partial<Record<GgmlType, number[]>> = {
  [GgmlType.Q4_0]: [0],
  [GgmlType.Q4_1]: [0, 2],
  [GgmlType.Q5_0]: [0],
  [GgmlType.Q5_1]: [0, 2],
  [GgmlType.Q8_0]: [0],
  [GgmlType.Q2_K]: [80, 82],
  [GgmlType.Q3_K]: [108],
  [GgmlType.Q4_K]: [0, 2],
  [GgmlType.Q5_K]: [0, 2],
  [GgmlType.Q6_K]: [208],
};

function randomBlocks(next: () => number, type: GgmlType, length: number): Uint8Array {
  const bytes = Uint8Array.from(
    { length: byteLength(type, length) },
    () => Math.floor(next() * 256),
  );
  const { bytesPerBlock } = ggmlTypeTraits(type)!;
  for (let at = 0; at < bytes.length; at += bytesPerBlock) {
    for (const field of HALF_FIELDS[type] ?? []) {
      const bits = f32ToF16((next() - 0.5) * 0.1);
      bytes[at + field] = bits & 0xff;
      bytes[at + field + 1] = bits >> 8;
    }
  }
  return bytes;
}

function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

Deno.test({
  name: "reference quantizers, dequantizers and vecDot agree with ggml's C code",
  ignore: !IS_X86_64, // the library is built for x86-64-v3
  async fn(t) {
    const { symbols, close } = openGgmlQuants(await buildGgmlQuants());
    try {
      await t.step(
        "quantizeRow() equals quantize_row_q8_*_ref and the AVX2 quantize_row_q8_*",
        () => {
          const next = random(1);
          const length = 256 * 64;
          for (let trial = 0; trial < 10; trial++) {
            const x = activations(next, length);
            for (const [type, name] of ACTIVATIONS) {
              for (const rounding of ["reference", "x86"] as const) {
                const ours = new Uint8Array(byteLength(type, length));
                const theirs = new Uint8Array(ours.length);
                quantizeRow(type, x, ours, { rounding });
                symbols[rounding === "x86" ? `quantize_row_${name}` : `quantize_row_${name}_ref`](
                  x,
                  theirs,
                  BigInt(length),
                );
                strictEqual(
                  firstDifference(ours, theirs),
                  -1,
                  `${GgmlType[type]} ${rounding}, trial ${trial}`,
                );
              }
            }
          }
        },
      );

      await t.step("dequantizeRow() equals dequantize_row_* bit for bit", () => {
        const next = random(2);
        const length = 256 * 64;
        for (const [type, name] of DEQUANTIZED) {
          const blocks = randomBlocks(next, type, length);
          const ours = new Float32Array(length);
          const theirs = new Float32Array(length);
          dequantizeRow(type, blocks, ours);
          symbols[`dequantize_row_${name}`](blocks, theirs, BigInt(length));
          strictEqual(firstDifference(ours, theirs), -1, GgmlType[type]);
        }
        const q8k = new Uint8Array(byteLength(GgmlType.Q8_K, length));
        symbols.quantize_row_q8_K_ref(activations(next, length), q8k, BigInt(length));
        const ours = new Float32Array(length);
        const theirs = new Float32Array(length);
        dequantizeRow(GgmlType.Q8_K, q8k, ours);
        symbols.dequantize_row_q8_K(q8k, theirs, BigInt(length));
        strictEqual(firstDifference(ours, theirs), -1, "Q8_K");
      });

      await t.step(
        "vecDot() equals ggml_vec_dot_* (generic and AVX2) within 1e-7 of Σ|terms|",
        () => {
          const next = random(3);
          const k = 4096;
          for (const [weightType, actType, name] of PAIRS) {
            let worst = 0;
            for (let row = 0; row < 20; row++) {
              const weights = randomBlocks(next, weightType, k);
              const quantized = new Uint8Array(byteLength(actType, k));
              quantizeRow(actType, activations(next, k), quantized, { rounding: "x86" });
              const ours = vecDot(weightType, k, weights, quantized);
              const w = new Float32Array(k);
              const x = new Float32Array(k);
              dequantizeRow(weightType, weights, w);
              dequantizeRow(actType, quantized, x);
              const magnitude = w.reduce((sum, value, i) => sum + Math.abs(value * x[i]), 0);
              for (const symbol of [`ggml_vec_dot_${name}_generic`, `ggml_vec_dot_${name}`]) {
                const theirs = new Float32Array(1);
                symbols[symbol](k, theirs, 0n, weights, 0n, quantized, 0n, 1);
                worst = Math.max(worst, Math.abs(ours - theirs[0]) / magnitude);
              }
            }
            console.log(`  ${name}: largest |ours - ggml| / Σ|terms| ${worst.toExponential(1)}`);
            if (!(worst <= 1e-7)) {
              throw new Error(`${name}: vecDot differs from ggml by ${worst} of Σ|terms|`);
            }
          }
        },
      );
    } finally {
      close();
    }
  },
});
