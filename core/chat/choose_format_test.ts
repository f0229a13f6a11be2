import { strictEqual } from "node:assert";
import { GgufValueType } from "../gguf/types.ts";
import type { GgufValue } from "../gguf/types.ts";
import { chooseChatFormat } from "./choose_format.ts";

function _metadata(architecture: string, tokens: string[]): Map<string, GgufValue> {
  return new Map<string, GgufValue>([
    ["general.architecture", architecture],
    ["tokenizer.ggml.tokens", { type: GgufValueType.STRING, values: tokens }],
  ]);
}

Deno.test("chooseChatFormat() follows the documented rule", () => {
  const cases: [string, string[], string][] = [
    ["gemma3", ["<pad>"], "gemma"],
    ["gemma2", [], "gemma"],
    ["llama", ["<start_of_turn>", "<end_of_turn>"], "gemma"],
    ["llama", ["<|begin_of_text|>", "<|start_header_id|>", "<|eot_id|>"], "llama3"],
    ["llama", ["<|start_header_id|>"], "chatml"],
    ["qwen2", ["<|im_start|>", "<|im_end|>"], "chatml"],
    ["llama", ["<s>", "</s>"], "chatml"],
  ];
  for (const [architecture, tokens, expected] of cases) {
    strictEqual(chooseChatFormat(_metadata(architecture, tokens)), expected, architecture);
  }
  strictEqual(chooseChatFormat(new Map()), "chatml");
});
