/**
 * The generating routes: `POST /v1/chat/completions` and `POST /v1/completions`. Both read and
 * check the body, tokenize the prompt, refuse one that does not fit a sequence's context,
 * submit `n` choices to the scheduler and answer one JSON or an SSE stream of chunks. The
 * request's abort signal (the client went away) and a cancelled stream both abort the choices,
 * which frees their KV sequences.
 *
 * @module
 */

import type { Context } from "hono";
import type { Generation, GenerationResult } from "../core/generation.ts";
import { chatPromptTokens } from "../core/prompt_tokens.ts";
import type { Model } from "../core/model.ts";
import type { Scheduler } from "../core/scheduler.ts";
import { ApiError } from "./api_error.ts";
import { SchemaCompileError } from "../plugins/schema/errors.ts";
import { schemaConstraint } from "../plugins/schema/session_options.ts";
import { parseChatRequest } from "./chat_request.ts";
import { mergeChoices, openAIFinishReason, submitChoices } from "./choices.ts";
import { parseCompletionRequest } from "./completion_request.ts";
import type { GenerationParams } from "./sampling_fields.ts";
import { sseResponse } from "./sse.ts";

/** The model a server runs, with its scheduler. */
export interface LoadedModel {
  /** The name clients see in `/v1/models` and in responses. */
  readonly id: string;
  /** The loaded model. */
  readonly model: Model;
  /** The continuous-batching scheduler over the model's engine. */
  readonly scheduler: Scheduler;
  /** Unix seconds when it was loaded. */
  readonly createdSeconds: number;
}

/** Token counts in OpenAI's shape. */
export interface Usage {
  /** Tokens in the prompt. */
  prompt_tokens: number;
  /** Tokens generated. */
  completion_tokens: number;
  /** Prompt and completion tokens together. */
  total_tokens: number;
}

/** Fields every response and chunk carries. */
interface _Meta {
  readonly id: string;
  readonly created: number;
  readonly model: string;
}

/** `POST /v1/chat/completions`. */
export async function chatCompletions(c: Context, loaded: LoadedModel): Promise<Response> {
  const request = parseChatRequest(await readJsonBody(c), loaded.model.hparams.nVocab);
  const prompt = chatPromptTokens(loaded.model, request.messages);
  const meta = _meta("chatcmpl", loaded);
  const params = _withResponseSchema(request.params, request.responseSchema, loaded);
  const run = _start(c, loaded, prompt, params, "messages");
  if (!request.stream) {
    const results = await _results(run);
    return c.json({
      ...meta,
      object: "chat.completion",
      choices: results.map((r, index) => ({
        index,
        message: { role: "assistant", content: r.text },
        logprobs: null,
        finish_reason: openAIFinishReason(r.finishReason),
      })),
      usage: _usage(prompt.length, results.reduce((sum, r) => sum + r.tokens.length, 0)),
    });
  }
  const chunk = (choices: unknown[]) => ({ ...meta, object: "chat.completion.chunk", choices });
  async function* chunks() {
    for (let index = 0; index < request.params.n; index++) {
      yield chunk([{
        index,
        delta: { role: "assistant", content: "" },
        logprobs: null,
        finish_reason: null,
      }]);
    }
    let completionTokens = 0;
    for await (const event of mergeChoices(run.generations)) {
      if ("text" in event) {
        yield chunk([{
          index: event.index,
          delta: { content: event.text },
          logprobs: null,
          finish_reason: null,
        }]);
        continue;
      }
      completionTokens += event.result.tokens.length;
      const reason = openAIFinishReason(event.result.finishReason);
      yield chunk([{ index: event.index, delta: {}, logprobs: null, finish_reason: reason }]);
    }
    if (request.includeUsage) {
      yield { ...chunk([]), usage: _usage(prompt.length, completionTokens) };
    }
  }
  run.detach();
  return sseResponse(chunks(), () => run.abort());
}

/** `POST /v1/completions`. */
export async function completions(c: Context, loaded: LoadedModel): Promise<Response> {
  const request = parseCompletionRequest(await readJsonBody(c), loaded.model.hparams.nVocab);
  const prompt = typeof request.prompt === "string"
    ? loaded.model.tokenizer.encode(request.prompt, { addSpecial: true, parseSpecial: false })
    : request.prompt;
  const meta = _meta("cmpl", loaded);
  const run = _start(c, loaded, prompt, request.params, "prompt");
  const chunk = (choices: unknown[]) => ({ ...meta, object: "text_completion", choices });
  if (!request.stream) {
    const results = await _results(run);
    return c.json({
      ...chunk(results.map((r, index) => ({
        index,
        text: r.text,
        logprobs: null,
        finish_reason: openAIFinishReason(r.finishReason),
      }))),
      usage: _usage(prompt.length, results.reduce((sum, r) => sum + r.tokens.length, 0)),
    });
  }
  async function* chunks() {
    let completionTokens = 0;
    for await (const event of mergeChoices(run.generations)) {
      if ("text" in event) {
        yield chunk([{
          index: event.index,
          text: event.text,
          logprobs: null,
          finish_reason: null,
        }]);
        continue;
      }
      completionTokens += event.result.tokens.length;
      const reason = openAIFinishReason(event.result.finishReason);
      yield chunk([{ index: event.index, text: "", logprobs: null, finish_reason: reason }]);
    }
    if (request.includeUsage) {
      yield { ...chunk([]), usage: _usage(prompt.length, completionTokens) };
    }
  }
  run.detach();
  return sseResponse(chunks(), () => run.abort());
}

/** The parsed JSON body, or a 400 naming the problem. */
export async function readJsonBody(c: Context): Promise<unknown> {
  try {
    return await c.req.json();
  } catch (error) {
    throw new ApiError(`Cannot parse the request body: ${(error as Error).message}`, {
      code: "invalid_json",
      cause: error,
    });
  }
}

/** Checks the prompt's length, then submits the choices tied to the client's connection. */
function _start(
  c: Context,
  loaded: LoadedModel,
  prompt: number[],
  params: GenerationParams,
  param: string,
) {
  _checkPromptLength(prompt.length, loaded.scheduler, param);
  const controller = new AbortController();
  const clientSignal = c.req.raw.signal;
  const abort = () => controller.abort();
  // A client that leaves before the JSON answer aborts the signal; a stream's cancel covers SSE.
  clientSignal.addEventListener("abort", abort, { once: true });
  const detach = () => clientSignal.removeEventListener("abort", abort);
  try {
    const generations = submitChoices(loaded.scheduler, prompt, params, controller.signal);
    return { generations, abort, detach };
  } catch (error) {
    abort();
    detach();
    throw error;
  }
}

/** Every choice's result; the client's signal is let go once they are in. */
async function _results(
  run: { generations: Generation[]; detach: () => void },
): Promise<GenerationResult[]> {
  try {
    return await Promise.all(run.generations.map((g) => g.result()));
  } finally {
    run.detach();
  }
}

function _checkPromptLength(promptTokens: number, scheduler: Scheduler, param: string): void {
  if (promptTokens === 0) {
    throw new ApiError(`Cannot generate from "${param}": the prompt has no tokens`, {
      param,
      code: "invalid_value",
    });
  }
  if (promptTokens + 1 > scheduler.contextSize) {
    throw new ApiError(
      `Cannot evaluate a prompt of ${promptTokens} tokens: the context size is ${scheduler.contextSize} tokens per sequence, and at least one must be left to generate`,
      { param, code: "context_length_exceeded" },
    );
  }
}

function _meta(prefix: string, loaded: LoadedModel): _Meta {
  return {
    id: `${prefix}-${crypto.randomUUID()}`,
    created: Math.floor(Date.now() / 1000),
    model: loaded.id,
  };
}

function _usage(promptTokens: number, completionTokens: number): Usage {
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  };
}

/**
 * Adds the constraint of a `response_format` schema: compiled (and cached) now, so a schema
 * zeno cannot enforce is a 400 naming its keyword and JSON pointer before anything runs.
 */
function _withResponseSchema(
  params: GenerationParams,
  schema: Record<string, unknown> | undefined,
  loaded: LoadedModel,
): GenerationParams {
  if (schema === undefined) return params;
  const tokenizer = loaded.model.tokenizer;
  try {
    schemaConstraint(schema, tokenizer);
  } catch (error) {
    if (!(error instanceof SchemaCompileError)) throw error;
    throw new ApiError(error.message, {
      param: `response_format.json_schema.schema${error.pointer}`,
      code: "invalid_value",
      cause: error,
    });
  }
  return { ...params, constraint: () => schemaConstraint(schema, tokenizer) };
}
