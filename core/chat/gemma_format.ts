/**
 * The Gemma turn format (`<start_of_turn>user\n…<end_of_turn>\n`, the assistant is "model"),
 * rendering what Gemma's own template renders: BOS first, contents trimmed, no system role
 * (a first system message becomes a prefix of the first user turn, followed by a blank line),
 * and strictly alternating user and model turns. Gemma has no tool-call format: `tools` is
 * ignored and a `tool` message is an error, so callers describe tools themselves.
 *
 * @module
 */

import { ChatTemplateError } from "./chat_template_error.ts";
import type { ChatMessage, FormatRenderOptions } from "./types.ts";

/**
 * Renders messages in the Gemma format.
 *
 * @param messages validated messages
 * @param options generation prompt and the BOS text
 * @returns the prompt text
 * @throws {ChatTemplateError} for a `tool` message, a system message that is not first, or
 *   turns that do not alternate user/assistant starting with user
 *
 * @example The system message folds into the first user turn
 * ```ts
 * import { renderGemma } from "./gemma_format.ts";
 * const text = renderGemma([
 *   { role: "system", content: "Be brief." },
 *   { role: "user", content: "Hi" },
 * ], { addGenerationPrompt: true, tools: [], bosToken: "<bos>" });
 * const expected = "<bos><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\n";
 * if (text !== expected) throw new Error(text);
 * ```
 */
export function renderGemma(
  messages: readonly ChatMessage[],
  options: FormatRenderOptions,
): string {
  const hasSystem = messages[0]?.role === "system";
  const prefix = hasSystem ? `${messages[0].content}\n\n` : "";
  const offset = hasSystem ? 1 : 0;
  let text = options.bosToken;
  for (let i = offset; i < messages.length; i++) {
    const message = messages[i];
    _checkTurn(message, i, (i - offset) % 2 === 0 ? "user" : "assistant");
    const role = message.role === "assistant" ? "model" : "user";
    const lead = i === offset ? prefix : "";
    text += `<start_of_turn>${role}\n${lead}${message.content.trim()}<end_of_turn>\n`;
  }
  if (options.addGenerationPrompt) text += "<start_of_turn>model\n";
  return text;
}

function _checkTurn(message: ChatMessage, index: number, expected: string): void {
  if (message.role === "tool" || message.role === "system") {
    const where = message.role === "system" ? ` at position ${index}` : "";
    throw new ChatTemplateError(
      `Cannot render chat with the gemma format: message ${index} has role "${message.role}"` +
        `${where}, which is not supported (only a first system message, then user and ` +
        `assistant turns)`,
    );
  }
  if (message.role !== expected) {
    throw new ChatTemplateError(
      `Cannot render chat with the gemma format: message ${index} has role ` +
        `"${message.role}" where "${expected}" was expected, turns must alternate user and ` +
        `assistant`,
    );
  }
}
