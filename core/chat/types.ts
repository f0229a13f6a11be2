/**
 * Chat data model: messages in OpenAI's shape (the names templates expect: `role`, `content`,
 * `tool_calls`, `name`), tool definitions, and the rendered-template contract.
 *
 * @module
 */

/** Who wrote a message. */
export type ChatRole = "system" | "user" | "assistant" | "tool";

/**
 * One tool call made by the assistant, in OpenAI's shape. `arguments` may be a JSON string (as
 * the OpenAI API sends it) or an object; templates receive an object when the string parses.
 */
export interface ChatToolCall {
  /** The call's id, echoed by the tool result. */
  readonly id?: string;
  /** Always "function". */
  readonly type?: "function";
  /** The function called and its arguments. */
  readonly function: {
    readonly name: string;
    readonly arguments: string | Record<string, unknown>;
  };
}

/** One conversation turn. */
export interface ChatMessage {
  /** Who speaks. */
  readonly role: ChatRole;
  /** What was said. */
  readonly content: string;
  /** Calls made by an assistant turn. */
  readonly tool_calls?: readonly ChatToolCall[];
  /** The tool's name on a `tool` turn (or a participant name). */
  readonly name?: string;
  /** The call a `tool` turn answers. */
  readonly tool_call_id?: string;
}

/** A tool the model may call, in OpenAI's shape (`parameters` is a JSON Schema). */
export interface ChatTool {
  /** Always "function". */
  readonly type: "function";
  /** The function's name, description and JSON Schema parameters. */
  readonly function: {
    readonly name: string;
    readonly description?: string;
    readonly parameters?: Record<string, unknown>;
  };
}

/** Options of `ChatTemplate.render`. */
export interface RenderOptions {
  /** End with the header of an assistant turn so the model writes the reply. Default true. */
  addGenerationPrompt?: boolean;
  /** Tools the model may call; omitted or empty renders no tool section. */
  tools?: readonly ChatTool[];
  /** Extra template variables (for example `enable_thinking`); they cannot replace ours. */
  variables?: Record<string, unknown>;
}

/** Where a template came from: the file's own Jinja template or one of the built-in formats. */
export type ChatTemplateSource = "gguf" | "chatml" | "gemma" | "llama3";

/** A built-in format, used when a file carries no `tokenizer.chat_template`. */
export type ChatFormat = Exclude<ChatTemplateSource, "gguf">;

/** A chat template ready to render prompts. */
export interface ChatTemplate {
  /** "gguf" when the file's template is used, else the built-in format chosen. */
  readonly source: ChatTemplateSource;
  /** Text of the BOS token, as templates see it (`bos_token`); "" when the vocab has none. */
  readonly bosToken: string;
  /** Text of the EOS token (`eos_token`); "" when the vocab has none. */
  readonly eosToken: string;
  /** Whether rendering `tools` changes the prompt (the template reads the `tools` variable). */
  readonly supportsTools: boolean;
  /**
   * Renders a conversation to the prompt text. The text may start with `bosToken` (Gemma and
   * Llama 3 templates write it): tokenize it with special tokens parsed and do not add a
   * second BOS.
   */
  render(messages: readonly ChatMessage[], options?: RenderOptions): string;
}

/** What every built-in format renders from: the options resolved, plus the BOS text. */
export interface FormatRenderOptions {
  /** Whether to end with the assistant's turn header. */
  readonly addGenerationPrompt: boolean;
  /** Tools offered to the model. */
  readonly tools: readonly ChatTool[];
  /** The BOS token's text, for templates that write it. */
  readonly bosToken: string;
}
