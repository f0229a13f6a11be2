/**
 * Chat templates: turn a conversation into the prompt text a model was trained on.
 *
 * @module
 */

export * from "./chat_template.ts";
export * from "./chat_template_error.ts";
export * from "./choose_format.ts";
export * from "./types.ts";
