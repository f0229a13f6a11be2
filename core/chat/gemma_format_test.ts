import { strictEqual, throws } from "node:assert";
import { renderGemma } from "./gemma_format.ts";

const OPTIONS = { addGenerationPrompt: false, tools: [], bosToken: "<bos>" };

Deno.test("renderGemma() calls the assistant 'model' and trims contents", () => {
  const text = renderGemma([
    { role: "user", content: "  Hi \n" },
    { role: "assistant", content: "Hello" },
  ], OPTIONS);
  strictEqual(
    text,
    "<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\nHello<end_of_turn>\n",
  );
});

Deno.test("renderGemma() rejects turns that do not alternate", () => {
  throws(
    () => renderGemma([{ role: "user", content: "a" }, { role: "user", content: "b" }], OPTIONS),
    {
      name: "ChatTemplateError",
      message: 'Cannot render chat with the gemma format: message 1 has role "user" where ' +
        '"assistant" was expected, turns must alternate user and assistant',
    },
  );
});

Deno.test("renderGemma() rejects a system message after the first", () => {
  throws(
    () =>
      renderGemma([
        { role: "user", content: "a" },
        { role: "assistant", content: "b" },
        { role: "system", content: "c" },
      ], OPTIONS),
    {
      name: "ChatTemplateError",
      message: 'Cannot render chat with the gemma format: message 2 has role "system" at ' +
        "position 2, which is not supported (only a first system message, then user and " +
        "assistant turns)",
    },
  );
});
