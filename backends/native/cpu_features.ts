/**
 * Names of the CPU feature bits reported by the native library (`cpu.Feature` in
 * zig/src/cpu.zig: bit index = enum value; values are stable).
 *
 * @module
 */

/** Bit index of each feature in the mask of `zeno_cpu_features()`. */
export const CPU_FEATURE_BITS = {
  // x86-64
  sse4_2: 0,
  popcnt: 1,
  avx: 2,
  avx2: 3,
  fma: 4,
  f16c: 5,
  bmi1: 6,
  bmi2: 7,
  lzcnt: 8,
  movbe: 9,
  avx512f: 10,
  avx512bw: 11,
  avx512vl: 12,
  avx512dq: 13,
  avx512cd: 14,
  avx512vnni: 15,
  avx512bf16: 16,
  avx512vbmi: 17,
  // aarch64
  neon: 32,
  dotprod: 33,
  i8mm: 34,
} as const;

/** A feature name ("avx2"). */
export type CpuFeature = keyof typeof CPU_FEATURE_BITS;

/**
 * The names of the bits set in `mask`, in bit order.
 *
 * @example Decode a mask
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { cpuFeatureNames } from "./cpu_features.ts";
 * deepStrictEqual(cpuFeatureNames(0b1100n), ["avx", "avx2"]);
 * ```
 */
export function cpuFeatureNames(mask: bigint): CpuFeature[] {
  const names = Object.keys(CPU_FEATURE_BITS) as CpuFeature[];
  return names.filter((name) => (mask >> BigInt(CPU_FEATURE_BITS[name])) & 1n);
}
