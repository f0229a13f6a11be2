/**
 * `POST /v1/completions` bodies: a prompt (a string, or an array of token ids) continued as
 * plain text, with the sampling fields; `max_tokens` defaults to 16 as in OpenAI's API.
 * `echo`, `suffix`, `logprobs` and `best_of` are refused by name.
 *
 * @module
 */

import { ApiError } from "./api_error.ts";
import { readStreamOptions } from "./chat_request.ts";
import { RequestFields } from "./request_fields.ts";
import { type GenerationParams, readSampling, SAMPLING_FIELDS } from "./sampling_fields.ts";

/** A validated text completion request. */
export interface CompletionRequest {
  readonly model?: string;
  /** Text (tokenized with BOS as the vocabulary asks) or token ids used as they are. */
  readonly prompt: string | number[];
  readonly stream: boolean;
  readonly includeUsage: boolean;
  readonly params: GenerationParams;
}

/** OpenAI's default `max_tokens` for text completions. */
export const DEFAULT_COMPLETION_TOKENS = 16;

const COMPLETION_FIELDS = [
  "model",
  "prompt",
  "stream",
  "stream_options",
  "max_tokens",
  "user",
  ...SAMPLING_FIELDS,
];

/**
 * Reads and checks a text completion body.
 * @param body the parsed JSON
 * @param vocabSize bounds token ids in the prompt and in `logit_bias`
 */
export function parseCompletionRequest(body: unknown, vocabSize: number): CompletionRequest {
  const fields = new RequestFields(body, COMPLETION_FIELDS);
  fields.string("user");
  const stream = fields.boolean("stream") ?? false;
  const params = readSampling(fields, vocabSize, ["max_tokens"]);
  return {
    model: fields.string("model"),
    prompt: _readPrompt(fields, vocabSize),
    stream,
    includeUsage: readStreamOptions(fields, stream),
    params: { ...params, maxTokens: params.maxTokens ?? DEFAULT_COMPLETION_TOKENS },
  };
}

/** A string, a one-string array, or an array of token ids. */
function _readPrompt(fields: RequestFields, vocabSize: number): string | number[] {
  const value = fields.raw("prompt");
  if (typeof value === "string") return value;
  if (Array.isArray(value) && value.length === 1 && typeof value[0] === "string") return value[0];
  if (Array.isArray(value) && value.length > 0 && value.every((id) => typeof id === "number")) {
    const bad = value.find((id) => !Number.isInteger(id) || id < 0 || id >= vocabSize);
    if (bad !== undefined) {
      throw new ApiError(`Cannot use prompt token ${bad}: the vocabulary has ${vocabSize} tokens`, {
        param: "prompt",
        code: "invalid_value",
      });
    }
    return value;
  }
  if (value === undefined) {
    throw new ApiError(`Cannot read the request: field "prompt" is required`, {
      param: "prompt",
      code: "missing_required_parameter",
    });
  }
  throw fields.typeError(
    "prompt",
    "a string, one string in an array, or an array of token ids",
    value,
  );
}
