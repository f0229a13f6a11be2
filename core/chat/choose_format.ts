/**
 * Which built-in format a model without `tokenizer.chat_template` gets. The rule, first match
 * wins:
 * 1. `general.architecture` starts with "gemma", or the vocabulary has `<start_of_turn>`
 *    → "gemma";
 * 2. the vocabulary has both `<|start_header_id|>` and `<|eot_id|>` → "llama3";
 * 3. anything else → "chatml" (llama.cpp's default too).
 *
 * @module
 */

import { GgufStringArray } from "../gguf/string_array.ts";
import type { GgufValue } from "../gguf/types.ts";
import type { ChatFormat } from "./types.ts";

/**
 * Chooses the built-in chat format for a model from its architecture and vocabulary.
 *
 * @param metadata GGUF metadata
 * @returns "gemma", "llama3" or "chatml"
 *
 * @example
 * ```ts
 * import { chooseChatFormat } from "./choose_format.ts";
 * const format = chooseChatFormat(new Map([["general.architecture", "gemma3"]]));
 * if (format !== "gemma") throw new Error(format);
 * ```
 */
export function chooseChatFormat(metadata: ReadonlyMap<string, GgufValue>): ChatFormat {
  const architecture = metadata.get("general.architecture");
  const texts = vocabularyTexts(metadata);
  const has = (text: string) => texts.indexOf(text) >= 0;
  if (typeof architecture === "string" && architecture.startsWith("gemma")) return "gemma";
  if (has("<start_of_turn>")) return "gemma";
  if (has("<|start_header_id|>") && has("<|eot_id|>")) return "llama3";
  return "chatml";
}

/**
 * The token texts of `tokenizer.ggml.tokens` as a string array (the reader's own, so no
 * string is made per token), or an empty one when absent.
 *
 * @param metadata GGUF metadata
 * @returns token texts by id
 */
export function vocabularyTexts(metadata: ReadonlyMap<string, GgufValue>): GgufStringArray {
  const tokens = metadata.get("tokenizer.ggml.tokens");
  if (tokens instanceof GgufStringArray) return tokens;
  if (tokens === undefined || typeof tokens !== "object" || !("values" in tokens)) {
    return GgufStringArray.fromStrings([]);
  }
  return GgufStringArray.fromStrings(tokens.values as string[]);
}
