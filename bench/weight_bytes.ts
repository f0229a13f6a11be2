/**
 * Bytes of weights one decoded token reads: every tensor once, except the token embedding,
 * of which a token reads one row — unless the output head is tied to it (no `output.weight`),
 * in which case the head's matrix-vector product reads all of it.
 *
 * @module
 */

import type { GgufFile } from "../core/gguf/types.ts";

/**
 * Weight bytes read per decoded token.
 *
 * @param gguf the model's header
 * @returns bytes
 *
 * @example Tied embeddings are read whole
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { weightBytesPerToken } from "./weight_bytes.ts";
 * const t = (name: string, dims: number[], byteLength: number) =>
 *   ({ name, dims, type: 0, offset: 0, byteLength, fileOffset: 0 });
 * const gguf = { tensors: [t("token_embd.weight", [4, 10], 160), t("blk.0.attn_q.weight", [4, 4], 64)] };
 * strictEqual(weightBytesPerToken(gguf as never), 224);
 * ```
 */
export function weightBytesPerToken(gguf: GgufFile): number {
  const tied = !gguf.tensors.some((t) => t.name === "output.weight");
  let bytes = 0;
  for (const tensor of gguf.tensors) {
    if (tensor.name === "token_embd.weight" && !tied) {
      const rows = tensor.dims.slice(1).reduce((a, b) => a * b, 1);
      bytes += tensor.byteLength / rows;
    } else {
      bytes += tensor.byteLength;
    }
  }
  return bytes;
}
