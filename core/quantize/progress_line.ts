/**
 * One stderr line per tensor written by the quantizer:
 * `[ 12/147] blk.0.attn_q.weight          [2048, 2048]  F32 -> Q4_K     2.25 MiB`.
 *
 * @module
 */

import { ggmlTypeName } from "../gguf/ggml_types.ts";
import type { QuantizeProgress } from "./write_quantized.ts";

/**
 * Formats a progress event.
 *
 * @param p the tensor just written
 * @returns one line, without a newline
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { formatProgress } from "./progress_line.ts";
 * const line = formatProgress({ index: 0, count: 3, name: "a.weight", dims: [32, 2], fromType: 0, toType: 8, byteLength: 68 });
 * strictEqual(line, "[1/3] a.weight                     [32, 2]          F32 -> Q8_0        0.00 MiB");
 * ```
 */
export function formatProgress(p: QuantizeProgress): string {
  const width = String(p.count).length;
  const position = `[${String(p.index + 1).padStart(width)}/${p.count}]`;
  const dims = `[${p.dims.join(", ")}]`.padEnd(16);
  const types = `${ggmlTypeName(p.fromType)} -> ${ggmlTypeName(p.toType)}`.padEnd(14);
  const mib = (p.byteLength / 2 ** 20).toFixed(2).padStart(8);
  return `${position} ${p.name.padEnd(28)} ${dims} ${types} ${mib} MiB`;
}
