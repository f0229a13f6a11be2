import { deepStrictEqual, strictEqual, throws } from "node:assert";
import type { BackendBuffer } from "../backend.ts";
import { ModelError } from "../errors.ts";
import { ggmlByteLength } from "../gguf/ggml_types.ts";
import { type GgufFile, GgmlType } from "../gguf/types.ts";
import { GraphBuilder } from "../graph.ts";
import type { HParams } from "./hparams.ts";
import { ropeFactors } from "./llama.ts";
import { ModelWeights } from "./weights.ts";

/** A file table holding only `rope_freqs.weight` of `type` and `dims`; no bytes are read. */
function weightsWith(type: GgmlType, dims: number[]): ModelWeights {
  const byteLength = ggmlByteLength(type, dims[0]);
  const tensor = { name: "rope_freqs.weight", dims, type, offset: 0, byteLength, fileOffset: 64 };
  const gguf = { tensors: [tensor] } as unknown as GgufFile;
  return new ModelWeights(gguf, {} as BackendBuffer, "llama3.gguf");
}

const hp = { ropeDims: 64 } as HParams;
const graph = () => new GraphBuilder({} as BackendBuffer, ggmlByteLength, { measure: true });

Deno.test("ropeFactors() binds rope_freqs.weight as one F32 divisor per rotated pair", () => {
  const factors = ropeFactors(graph(), hp, weightsWith(GgmlType.F32, [32]));
  deepStrictEqual([factors?.type, factors?.shape], [GgmlType.F32, [32]]);
  const none = new ModelWeights({ tensors: [] } as unknown as GgufFile, {} as BackendBuffer, "a");
  strictEqual(ropeFactors(graph(), hp, none), undefined);
});

Deno.test("ropeFactors() names the file, the tensor and what it expected", () => {
  throws(() => ropeFactors(graph(), hp, weightsWith(GgmlType.F16, [32])), {
    name: ModelError.name,
    message:
      'Cannot load model "llama3.gguf": tensor "rope_freqs.weight" is F16, expected F32 (one divisor per rotated pair)',
  });
  throws(() => ropeFactors(graph(), hp, weightsWith(GgmlType.F32, [64])), {
    name: ModelError.name,
    message: 'Cannot load model "llama3.gguf": tensor "rope_freqs.weight" has shape [64], expected [32]',
  });
});
