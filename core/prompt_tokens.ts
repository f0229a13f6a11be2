/**
 * The token ids of a chat prompt: the conversation rendered with the model's chat template and
 * tokenized with special tokens parsed. Shared by `LanguageModelSession.respond` and the
 * server, so both evaluate exactly the same prompt.
 *
 * @module
 */

import type { ChatMessage, ChatTemplate, RenderOptions } from "./chat/types.ts";
import type { Tokenizer } from "./tokenizer/types.ts";

/**
 * Renders `messages` (with the assistant's turn header) and tokenizes the text.
 *
 * @param model the tokenizer and chat template of a model
 * @param messages the conversation so far
 * @param options render options (tools, template variables)
 * @returns prompt token ids, with one BOS at most
 */
export function chatPromptTokens(
  model: { readonly tokenizer: Tokenizer; readonly chatTemplate: ChatTemplate },
  messages: readonly ChatMessage[],
  options: RenderOptions = {},
): number[] {
  const template = model.chatTemplate;
  const text = template.render(messages, { addGenerationPrompt: true, ...options });
  // Templates that write the BOS text themselves (Gemma, Llama 3) must not get a second one.
  const writesBos = template.bosToken !== "" && text.startsWith(template.bosToken);
  return model.tokenizer.encode(text, { addSpecial: !writesBos, parseSpecial: true });
}
