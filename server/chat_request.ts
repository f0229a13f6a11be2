/**
 * `POST /v1/chat/completions` bodies: messages in OpenAI's shape (text content only; a content
 * array of `{type: "text", text}` parts is joined), `developer` read as `system`, and the
 * sampling fields, and `response_format` (`text`, `json_object`, `json_schema`). Tools,
 * logprobs and audio are refused by name.
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
  /** The JSON Schema the reply must match (`response_format`), or undefined for free text. */
  readonly responseSchema?: Record<string, unknown>;
}

const CHAT_FIELDS = [
  "model",
  "messages",
  "stream",
  "stream_options",
  "max_tokens",
  "max_completion_tokens",
  "user",
  "response_format",
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
    responseSchema: _readResponseFormat(fields),
  };
}

/** `response_format`: json_object is any JSON object; json_schema carries the schema. */
function _readResponseFormat(fields: RequestFields): Record<string, unknown> | undefined {
  if (fields.raw("response_format") === undefined) return undefined;
  const format = new RequestFields(fields.raw("response_format"), ["type", "json_schema"], fields.path("response_format"));
  const type = format.string("type", true);
  if (type === "text") return undefined;
  if (type === "json_object") return { type: "object" };
  if (type !== "json_schema") {
    throw new ApiError(
      `Cannot use ${format.path("type")} "${type}": expected "text", "json_object" or "json_schema"`,
      { param: format.path("type"), code: "invalid_value" },
    );
  }
  const spec = new RequestFields(
    format.raw("json_schema"),
    ["name", "description", "schema", "strict"],
    format.path("json_schema"),
  );
  spec.string("name", true);
  spec.string("description");
  spec.boolean("strict");
  const schema = spec.raw("schema");
  if (typeof schema !== "object" || schema === null || Array.isArray(schema)) {
    throw spec.typeError("schema", "a JSON Schema object", schema);
  }
  return schema as Record<string, unknown>;
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
