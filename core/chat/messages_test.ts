import { deepStrictEqual, throws } from "node:assert";
import { messagesForTemplate, validateMessages } from "./messages.ts";
import type { ChatMessage } from "./types.ts";

Deno.test("messagesForTemplate() omits absent fields and parses call arguments", () => {
  const messages: ChatMessage[] = [
    { role: "user", content: "x" },
    {
      role: "assistant",
      content: "",
      tool_calls: [
        { id: "c1", function: { name: "f", arguments: '{"a":1}' } },
        { function: { name: "g", arguments: "not json" } },
      ],
    },
    { role: "tool", content: "1", name: "f", tool_call_id: "c1" },
  ];
  deepStrictEqual(messagesForTemplate(messages), [
    { role: "user", content: "x" },
    {
      role: "assistant",
      content: "",
      tool_calls: [
        { id: "c1", type: "function", function: { name: "f", arguments: { a: 1 } } },
        { type: "function", function: { name: "g", arguments: "not json" } },
      ],
    },
    { role: "tool", content: "1", name: "f", tool_call_id: "c1" },
  ]);
});

Deno.test("validateMessages() names a message whose content is not a string", () => {
  const messages = [{ role: "user", content: null }] as unknown as ChatMessage[];
  throws(() => validateMessages(messages), {
    name: "TypeError",
    message: "Cannot render chat: message 0 (user) has content of type object, expected a string",
  });
});
