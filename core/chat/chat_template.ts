/**
 * `createChatTemplate`: the prompt renderer of a model. It uses the file's Jinja template
 * (`tokenizer.chat_template`) when there is one, else a built-in format chosen by
 * `chooseChatFormat` (see choose_format.ts for the rule).
 *
 * @module
 */

import type { GgufValue } from "../gguf/types.ts";
import { renderChatml } from "./chatml_format.ts";
import { chooseChatFormat, vocabularyTexts } from "./choose_format.ts";
import { renderGemma } from "./gemma_format.ts";
import { compileJinjaTemplate } from "./jinja_template.ts";
import { renderLlama3 } from "./llama3_format.ts";
import { messagesForTemplate, validateMessages } from "./messages.ts";
import type {
  ChatFormat,
  ChatMessage,
  ChatTemplate,
  FormatRenderOptions,
  RenderOptions,
} from "./types.ts";

/** Options of `createChatTemplate`. */
export interface ChatTemplateOptions {
  /** A Jinja template used instead of the file's (e.g. from a `tokenizer_config.json`). */
  template?: string;
  /** Use this built-in format, ignoring the file's template. */
  format?: ChatFormat;
  /** Clock for the templates' `strftime_now`; default `() => new Date()`. */
  now?: () => Date;
}

const BUILTIN_FORMATS: Record<
  ChatFormat,
  (messages: readonly ChatMessage[], options: FormatRenderOptions) => string
> = { chatml: renderChatml, gemma: renderGemma, llama3: renderLlama3 };

/**
 * Creates the chat template of a model from its GGUF metadata.
 *
 * @param metadata GGUF metadata (`GgufFile.metadata`)
 * @param options a template or format to force, and the clock
 * @returns a template whose `render(messages, { addGenerationPrompt, tools })` gives the prompt
 * @throws {ChatTemplateError} when the Jinja template does not parse
 *
 * @example A model without a template gets the format its vocabulary implies
 * ```ts
 * import { createChatTemplate } from "./chat_template.ts";
 * const tokens = { type: 8, values: ["<|endoftext|>", "<|im_start|>", "<|im_end|>"] };
 * const template = createChatTemplate(new Map([["tokenizer.ggml.tokens", tokens]]));
 * const text = template.render([{ role: "user", content: "Hi" }]);
 * if (template.source !== "chatml") throw new Error(template.source);
 * if (text !== "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n") throw new Error(text);
 * ```
 */
export function createChatTemplate(
  metadata: ReadonlyMap<string, GgufValue>,
  options: ChatTemplateOptions = {},
): ChatTemplate {
  const bosToken = _tokenText(metadata, "tokenizer.ggml.bos_token_id");
  const eosToken = _tokenText(metadata, "tokenizer.ggml.eos_token_id");
  const fileTemplate = metadata.get("tokenizer.chat_template");
  const source = options.template ??
    (options.format === undefined && typeof fileTemplate === "string" && fileTemplate !== ""
      ? fileTemplate
      : undefined);
  if (source !== undefined) {
    const label = options.template !== undefined
      ? "from options.template"
      : `tokenizer.chat_template of "${metadata.get("general.name") ?? "model"}"`;
    return _jinjaChatTemplate(source, label, { bosToken, eosToken, metadata, now: options.now });
  }
  const format = options.format ?? chooseChatFormat(metadata);
  return {
    source: format,
    bosToken,
    eosToken,
    supportsTools: format !== "gemma",
    render(messages, renderOptions = {}) {
      validateMessages(messages);
      return BUILTIN_FORMATS[format](messages, {
        addGenerationPrompt: renderOptions.addGenerationPrompt ?? true,
        tools: renderOptions.tools ?? [],
        bosToken,
      });
    },
  };
}

interface _JinjaContext {
  bosToken: string;
  eosToken: string;
  metadata: ReadonlyMap<string, GgufValue>;
  now?: () => Date;
}

function _jinjaChatTemplate(source: string, label: string, context: _JinjaContext): ChatTemplate {
  const render = compileJinjaTemplate(source, { label, now: context.now });
  const specialTokens = {
    bos_token: context.bosToken,
    eos_token: context.eosToken,
    unk_token: _tokenText(context.metadata, "tokenizer.ggml.unknown_token_id"),
    pad_token: _tokenText(context.metadata, "tokenizer.ggml.padding_token_id"),
  };
  return {
    source: "gguf",
    bosToken: context.bosToken,
    eosToken: context.eosToken,
    // A template that never names `tools` renders the same prompt with or without them.
    supportsTools: /\btools\b/.test(source),
    render(messages: readonly ChatMessage[], options: RenderOptions = {}) {
      validateMessages(messages);
      const tools = options.tools ?? [];
      return render({
        ...options.variables,
        ...specialTokens,
        messages: messagesForTemplate(messages),
        // `transformers` passes None when there are no tools; templates test `tools is not none`.
        tools: tools.length > 0 ? tools : null,
        add_generation_prompt: options.addGenerationPrompt ?? true,
      });
    },
  };
}

function _tokenText(metadata: ReadonlyMap<string, GgufValue>, idKey: string): string {
  const id = metadata.get(idKey);
  if (typeof id !== "number") return "";
  const texts = vocabularyTexts(metadata);
  return Number.isInteger(id) && id >= 0 && id < texts.length ? texts.at(id) : "";
}
