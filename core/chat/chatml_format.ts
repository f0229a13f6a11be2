/**
 * The ChatML format (`<|im_start|>role\n…<|im_end|>\n`), used by SmolLM, Qwen and many
 * others, and llama.cpp's default when a file has no template. Tools follow the Hermes/Qwen
 * 2.5 convention: definitions as one JSON object per line inside `<tools></tools>` in the
 * system turn, calls as `<tool_call>{"name", "arguments"}</tool_call>`, and results as
 * `<tool_response>` blocks in a user turn (consecutive results share one turn).
 *
 * @module
 */

import { toolCallArguments } from "./messages.ts";
import { pythonJson } from "./python_json.ts";
import type { ChatMessage, ChatTool, FormatRenderOptions } from "./types.ts";

function _turn(role: string, content: string): string {
  return `<|im_start|>${role}\n${content}<|im_end|>\n`;
}

function _toolsSection(tools: readonly ChatTool[]): string {
  const definitions = tools.map((tool) => pythonJson(tool)).join("\n");
  return "# Tools\n\nYou can call the functions described inside <tools></tools>:\n" +
    `<tools>\n${definitions}\n</tools>\n\n` +
    "To call one, reply with a JSON object inside <tool_call></tool_call> tags:\n" +
    '<tool_call>\n{"name": "<function name>", "arguments": {<argument values>}}\n</tool_call>';
}

function _assistantBody(message: ChatMessage): string {
  const calls = (message.tool_calls ?? []).map((call) => {
    const body = pythonJson({ name: call.function.name, arguments: toolCallArguments(call) });
    return `<tool_call>\n${body}\n</tool_call>`;
  });
  return [message.content, ...calls].filter((part) => part !== "").join("\n");
}

/**
 * Renders messages as ChatML.
 *
 * @param messages validated messages
 * @param options generation prompt and tools
 * @returns the prompt text
 *
 * @example One user turn
 * ```ts
 * import { renderChatml } from "./chatml_format.ts";
 * const text = renderChatml([{ role: "user", content: "Hi" }], {
 *   addGenerationPrompt: true, tools: [], bosToken: "",
 * });
 * if (text !== "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n") throw new Error(text);
 * ```
 */
export function renderChatml(
  messages: readonly ChatMessage[],
  options: FormatRenderOptions,
): string {
  let text = "";
  let rest = messages;
  if (options.tools.length > 0) {
    const hasSystem = messages[0]?.role === "system";
    const system = hasSystem ? `${messages[0].content}\n\n` : "";
    text += _turn("system", system + _toolsSection(options.tools));
    if (hasSystem) rest = messages.slice(1);
  }
  for (let i = 0; i < rest.length; i++) {
    const message = rest[i];
    if (message.role === "tool") {
      const results: string[] = [];
      for (; i < rest.length && rest[i].role === "tool"; i++) {
        results.push(`<tool_response>\n${rest[i].content}\n</tool_response>`);
      }
      i--;
      text += _turn("user", results.join("\n"));
    } else if (message.role === "assistant") {
      text += _turn("assistant", _assistantBody(message));
    } else {
      text += _turn(message.role, message.content);
    }
  }
  if (options.addGenerationPrompt) text += "<|im_start|>assistant\n";
  return text;
}
