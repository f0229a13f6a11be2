import { deepStrictEqual, strictEqual } from "node:assert";
import "../backends/reference/mod.ts";
import { testdataPath } from "../tests/testdata.ts";
import { loadModel } from "./model.ts";
import { chatPromptTokens } from "./prompt_tokens.ts";

Deno.test("chatPromptTokens() renders the ChatML fallback of stories260K with one BOS", async () => {
  const model = await loadModel(testdataPath("models/stories260K.gguf"), {
    backend: "reference",
    openBytes: (path) => ({ path, bytes: Deno.readFileSync(path) }),
  });
  const ids = chatPromptTokens(model, [{ role: "user", content: "Hi" }]);
  // The vocabulary has no ChatML markers: they are spelled out in pieces after BOS (id 1).
  deepStrictEqual(ids.slice(0, 6), [1, 410, 504, 506, 288, 98]);
  strictEqual(ids.length, 42);
  strictEqual(ids.filter((id) => id === 1).length, 1);
  strictEqual(model.tokenizer.decode(ids), "<s> <|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  model.dispose();
});
