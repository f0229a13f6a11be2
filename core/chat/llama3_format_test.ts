import { strictEqual } from "node:assert";
import { renderLlama3 } from "./llama3_format.ts";

const BOS = "<|begin_of_text|>";

Deno.test("renderLlama3() renders system + user with the assistant header", () => {
  const text = renderLlama3([
    { role: "system", content: "Be brief. " },
    { role: "user", content: "Hi" },
  ], { addGenerationPrompt: true, tools: [], bosToken: BOS });
  strictEqual(
    text,
    BOS + "<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>" +
      "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>" +
      "<|start_header_id|>assistant<|end_header_id|>\n\n",
  );
});

Deno.test("renderLlama3() renders tools, a call and an ipython result", () => {
  const text = renderLlama3([
    { role: "user", content: "1+2?" },
    {
      role: "assistant",
      content: "",
      tool_calls: [{ function: { name: "add", arguments: '{"a":1,"b":2}' } }],
    },
    { role: "tool", content: "3" },
  ], {
    addGenerationPrompt: false,
    tools: [{ type: "function", function: { name: "add" } }],
    bosToken: BOS,
  });
  strictEqual(
    text,
    BOS + "<|start_header_id|>system<|end_header_id|>\n\n" +
      "You can call the functions below. To call one, reply with only a JSON object of the " +
      'form {"name": function name, "parameters": object of argument names and values}.\n\n' +
      '{\n    "type": "function",\n    "function": {\n        "name": "add"\n    }\n}<|eot_id|>' +
      "<|start_header_id|>user<|end_header_id|>\n\n1+2?<|eot_id|>" +
      '<|start_header_id|>assistant<|end_header_id|>\n\n{"name": "add", "parameters": ' +
      '{"a": 1, "b": 2}}<|eot_id|>' +
      "<|start_header_id|>ipython<|end_header_id|>\n\n3<|eot_id|>",
  );
});
