import { strictEqual, throws } from "node:assert";
import { ModelError } from "../errors.ts";
import type { GgufValue } from "../gguf/types.ts";
import { readHParams } from "./hparams.ts";

/** The metadata of a small llama, plus `extra`. */
function llamaMetadata(extra: Record<string, GgufValue> = {}): Map<string, GgufValue> {
  return new Map<string, GgufValue>(Object.entries({
    "general.architecture": "llama",
    "llama.embedding_length": 256,
    "llama.attention.head_count": 4,
    "llama.block_count": 2,
    "llama.feed_forward_length": 512,
    "llama.vocab_size": 1280,
    ...extra,
  }));
}

Deno.test("readHParams() takes linear RoPE scaling as a frequency scale", () => {
  const linear = { "llama.rope.scaling.type": "linear", "llama.rope.scaling.factor": 4 };
  strictEqual(readHParams(llamaMetadata(linear), "a.gguf").ropeFreqScale, 0.25);
  strictEqual(readHParams(llamaMetadata(), "a.gguf").ropeFreqScale, 1);
});

Deno.test("readHParams() refuses a RoPE scaling it does not compute, naming the key", () => {
  const yarn = { "llama.rope.scaling.type": "yarn", "llama.rope.scaling.factor": 4 };
  throws(() => readHParams(llamaMetadata(yarn), "long.gguf"), {
    name: ModelError.name,
    message: 'Cannot load model "long.gguf": RoPE scaling "yarn" (llama.rope.scaling.type) is ' +
      "not supported (supported: none, linear; Llama 3's scaling is its rope_freqs tensor, which is)",
  });
});
