/**
 * `POST /v1/chat/completions` bodies: messages in OpenAI's shape (text content only; a content
 * array of `{type: "text", text}` parts is joined), `developer` read as `system`, and the
 * sampling fields. Tools, response formats, logprobs and audio are refused by name.
 *
 * @module
 */

import type { ChatMessage, ChatRole } from "../core/chat/types.ts";
import { ApiError } from "./api_error.ts";
import { RequestFields } from "./request_fields.ts";
import { type GenerationParams, readSampling, SAMPLING_FIELDS } from "./sampling_fields.ts";

/** A validated chat completion request. */
export interface ChatRequest {
  readonly model?: string;
  readonly messages: ChatMessage[];
  readonly stream: boolean;
  /** `stream_options.include_usage`: a last chunk carries the usage. */
  readonly includeUsage: boolean;
  readonly params: GenerationParams;
}

const CHAT_FIELDS = [
  "model",
  "messages",
  "stream",
  "stream_options",
  "max_tokens",
  "max_completion_tokens",
  "user",
  ...SAMPLING_FIELDS,
];

const MESSAGE_FIELDS = ["role", "content", "name"];
const ROLES: Record<string, ChatRole> = {
  system: "system",
  developer: "system",
  user: "user",
  assistant: "assistant",
};

/**
 * Reads and checks a chat completion body.
 * @param body the parsed JSON
 * @param vocabSize bounds `logit_bias` ids
 */
export function parseChatRequest(body: unknown, vocabSize: number): ChatRequest {
  const fields = new RequestFields(body, CHAT_FIELDS);
  fields.string("user");
  const stream = fields.boolean("stream") ?? false;
  return {
    model: fields.string("model"),
    messages: _readMessages(fields),
    stream,
    includeUsage: readStreamOptions(fields, stream),
    params: readSampling(fields, vocabSize, ["max_completion_tokens", "max_tokens"]),
  };
}

/** `stream_options` (only with `stream: true`): whether the usage chunk is wanted. */
export function readStreamOptions(fields: RequestFields, stream: boolean): boolean {
  const value = fields.raw("stream_options");
  if (value === undefined) return false;
  if (!stream) {
    throw new ApiError(`Cannot use field "stream_options" without "stream": true`, {
      param: "stream_options",
      code: "invalid_value",
    });
  }
  return new RequestFields(value, ["include_usage"], "stream_options").boolean("include_usage") ??
    false;
}

function _readMessages(fields: RequestFields): ChatMessage[] {
  const value = fields.raw("messages");
  if (!Array.isArray(value) || value.length === 0) {
    throw new ApiError(`Cannot read "messages": expected a non-empty array of messages`, {
      param: "messages",
      code: value === undefined ? "missing_required_parameter" : "invalid_type",
    });
  }
  return value.map((message, i) =>
    _readMessage(new RequestFields(message, MESSAGE_FIELDS, `messages[${i}]`))
  );
}

function _readMessage(fields: RequestFields): ChatMessage {
  const roleName = fields.string("role", true);
  const role = ROLES[roleName];
  if (role === undefined) {
    throw new ApiError(
      `Cannot use ${fields.path("role")} "${roleName}": expected one of ${
        Object.keys(ROLES).join(", ")
      }`,
      { param: fields.path("role"), code: "invalid_value" },
    );
  }
  const name = fields.string("name");
  const content = _readContent(fields);
  return name === undefined ? { role, content } : { role, content, name };
}

/** A string, or an array of text parts joined. */
function _readContent(fields: RequestFields): string {
  const value = fields.raw("content");
  if (typeof value === "string") return value;
  if (!Array.isArray(value)) {
    throw fields.typeError("content", "a string or an array of text parts", value);
  }
  return value.map((part, i) => {
    const partFields = new RequestFields(part, ["type", "text"], `${fields.path("content")}[${i}]`);
    const type = partFields.string("type", true);
    if (type !== "text") {
      throw new ApiError(
        `Cannot use ${partFields.path("type")} "${type}": only "text" parts are supported`,
        {
          param: partFields.path("type"),
          code: "invalid_value",
        },
      );
    }
    return partFields.string("text", true);
  }).join("");
}
