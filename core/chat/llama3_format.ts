/**
 * The Llama 3 header format (`<|start_header_id|>role<|end_header_id|>\n\n…<|eot_id|>`), BOS
 * first and contents trimmed, as Meta's Llama 3 template renders it. Tools follow Llama 3.1:
 * definitions (`tojson(indent=4)`) in the system turn, a call is the assistant turn
 * `{"name": …, "parameters": …}`, and a tool result is an `ipython` turn.
 *
 * @module
 */

import { toolCallArguments } from "./messages.ts";
import { pythonJson } from "./python_json.ts";
import type { ChatMessage, ChatTool, FormatRenderOptions } from "./types.ts";

function _turn(role: string, content: string): string {
  return `<|start_header_id|>${role}<|end_header_id|>\n\n${content}<|eot_id|>`;
}

function _toolsSection(tools: readonly ChatTool[]): string {
  const definitions = tools.map((tool) => pythonJson(tool, 4)).join("\n\n");
  return "You can call the functions below. To call one, reply with only a JSON object of " +
    'the form {"name": function name, "parameters": object of argument names and values}.' +
    `\n\n${definitions}`;
}

function _body(message: ChatMessage): string {
  const calls = message.tool_calls ?? [];
  if (message.role !== "assistant" || calls.length === 0) return message.content.trim();
  return calls
    .map((call) => pythonJson({ name: call.function.name, parameters: toolCallArguments(call) }))
    .join("\n");
}

/**
 * Renders messages in the Llama 3 format.
 *
 * @param messages validated messages
 * @param options generation prompt, tools and the BOS text
 * @returns the prompt text
 *
 * @example
 * ```ts
 * import { renderLlama3 } from "./llama3_format.ts";
 * const text = renderLlama3([{ role: "user", content: "Hi" }], {
 *   addGenerationPrompt: false, tools: [], bosToken: "<|begin_of_text|>",
 * });
 * const expected = "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>";
 * if (text !== expected) throw new Error(text);
 * ```
 */
export function renderLlama3(
  messages: readonly ChatMessage[],
  options: FormatRenderOptions,
): string {
  const hasSystem = messages[0]?.role === "system";
  const sections = hasSystem ? [messages[0].content.trim()] : [];
  if (options.tools.length > 0) sections.push(_toolsSection(options.tools));
  let text = options.bosToken;
  if (sections.length > 0) text += _turn("system", sections.join("\n\n"));
  for (const message of hasSystem ? messages.slice(1) : messages) {
    text += _turn(message.role === "tool" ? "ipython" : message.role, _body(message));
  }
  if (options.addGenerationPrompt) text += "<|start_header_id|>assistant<|end_header_id|>\n\n";
  return text;
}
