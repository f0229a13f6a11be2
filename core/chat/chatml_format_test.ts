import { strictEqual } from "node:assert";
import { renderChatml } from "./chatml_format.ts";
import type { ChatMessage, ChatTool } from "./types.ts";

const TOOL: ChatTool = {
  type: "function",
  function: { name: "add", parameters: { type: "object" } },
};

Deno.test("renderChatml() writes no system turn when there is none", () => {
  const text = renderChatml([{ role: "user", content: "Hi" }], {
    addGenerationPrompt: false,
    tools: [],
    bosToken: "",
  });
  strictEqual(text, "<|im_start|>user\nHi<|im_end|>\n");
});

Deno.test("renderChatml() renders tools, a call and grouped results", () => {
  const messages: ChatMessage[] = [
    { role: "system", content: "Be exact." },
    { role: "user", content: "1+2 and 3+4?" },
    {
      role: "assistant",
      content: "",
      tool_calls: [
        { function: { name: "add", arguments: '{"a":1,"b":2}' } },
        { function: { name: "add", arguments: { a: 3, b: 4 } } },
      ],
    },
    { role: "tool", content: "3", name: "add" },
    { role: "tool", content: "7", name: "add" },
  ];
  const text = renderChatml(messages, { addGenerationPrompt: true, tools: [TOOL], bosToken: "" });
  strictEqual(
    text,
    "<|im_start|>system\nBe exact.\n\n# Tools\n\n" +
      "You can call the functions described inside <tools></tools>:\n<tools>\n" +
      '{"type": "function", "function": {"name": "add", "parameters": {"type": "object"}}}\n' +
      "</tools>\n\nTo call one, reply with a JSON object inside <tool_call></tool_call> tags:\n" +
      '<tool_call>\n{"name": "<function name>", "arguments": {<argument values>}}\n</tool_call>' +
      "<|im_end|>\n" +
      "<|im_start|>user\n1+2 and 3+4?<|im_end|>\n" +
      '<|im_start|>assistant\n<tool_call>\n{"name": "add", "arguments": {"a": 1, "b": 2}}\n' +
      '</tool_call>\n<tool_call>\n{"name": "add", "arguments": {"a": 3, "b": 4}}\n</tool_call>' +
      "<|im_end|>\n" +
      "<|im_start|>user\n<tool_response>\n3\n</tool_response>\n<tool_response>\n7\n" +
      "</tool_response><|im_end|>\n" +
      "<|im_start|>assistant\n",
  );
});
