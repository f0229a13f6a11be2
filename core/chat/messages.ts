/**
 * Checks and normalizes chat messages before any template sees them, so every format gets the
 * same shapes: a known role, string content, and tool-call arguments as objects.
 *
 * @module
 */

import type { ChatMessage, ChatToolCall } from "./types.ts";

const ROLES = new Set(["system", "user", "assistant", "tool"]);

/**
 * Throws when a message has an unknown role or non-string content.
 *
 * @param messages the conversation
 * @throws {TypeError} naming the message index and the bad value
 */
export function validateMessages(messages: readonly ChatMessage[]): void {
  if (!Array.isArray(messages)) {
    throw new TypeError(`Cannot render chat: messages is ${typeof messages}, expected an array`);
  }
  messages.forEach((message, index) => {
    if (!ROLES.has(message?.role)) {
      throw new TypeError(
        `Cannot render chat: message ${index} has role "${message?.role}", expected "system", ` +
          `"user", "assistant" or "tool"`,
      );
    }
    if (typeof message.content !== "string") {
      throw new TypeError(
        `Cannot render chat: message ${index} (${message.role}) has content of type ` +
          `${typeof message.content}, expected a string`,
      );
    }
  });
}

/**
 * The arguments of a tool call as an object: OpenAI sends a JSON string, templates want a
 * mapping (`tool_call.arguments | tojson`). A string that is not a JSON object stays a string.
 *
 * @param call one tool call
 * @returns the parsed object, or the original string
 */
export function toolCallArguments(call: ChatToolCall): string | Record<string, unknown> {
  const args = call.function.arguments;
  if (typeof args !== "string") return args;
  try {
    const parsed = JSON.parse(args);
    return parsed !== null && typeof parsed === "object" && !Array.isArray(parsed) ? parsed : args;
  } catch {
    return args;
  }
}

/**
 * Messages as plain template variables: absent fields omitted (so `is defined` tests work)
 * and tool-call arguments parsed.
 *
 * @param messages the validated conversation
 * @returns objects for the Jinja context
 */
export function messagesForTemplate(
  messages: readonly ChatMessage[],
): Record<string, unknown>[] {
  return messages.map((message) => {
    const plain: Record<string, unknown> = { role: message.role, content: message.content };
    if (message.name !== undefined) plain.name = message.name;
    if (message.tool_call_id !== undefined) plain.tool_call_id = message.tool_call_id;
    if (message.tool_calls !== undefined) {
      plain.tool_calls = message.tool_calls.map((call) => ({
        ...(call.id === undefined ? {} : { id: call.id }),
        type: call.type ?? "function",
        function: { name: call.function.name, arguments: toolCallArguments(call) },
      }));
    }
    return plain;
  });
}
