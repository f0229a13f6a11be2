/**
 * The Hono app of `zeno serve`: OpenAI-compatible routes over one model, plus health, metrics
 * and tokenizer routes.
 *
 * | route | answer |
 * |---|---|
 * | `GET /health` | 200 `{status: "ok"}`; 503 `{status: "loading"}` or `{status: "error"}` |
 * | `GET /metrics` | Prometheus text (tokens, tokens/s, queue depth, sequences, KV cells) |
 * | `GET /v1/models`, `GET /v1/models/:id` | the one model |
 * | `POST /v1/chat/completions`, `POST /v1/completions` | OpenAI's shapes, JSON or SSE |
 * | `POST /tokenize` | `{content, add_special?, parse_special?}` → `{tokens}` |
 * | `POST /detokenize` | `{tokens}` → `{content}` |
 *
 * With an API key, every route but `/health` wants `Authorization: Bearer <key>`. Every error
 * is OpenAI-shaped JSON, made in one `onError`.
 *
 * @module
 */

import { Hono } from "hono";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { createHash, timingSafeEqual } from "node:crypto";
import { ApiError, errorResponse } from "./api_error.ts";
import { METRICS_CONTENT_TYPE, renderMetrics } from "./metrics.ts";
import { chatCompletions, completions, type LoadedModel, readJsonBody } from "./openai_routes.ts";
import { RequestFields } from "./request_fields.ts";

/** What the app serves; `loaded` is set once the model is ready. */
export interface ServerContext {
  /** The model and scheduler, once loaded (undefined while loading). */
  loaded?: LoadedModel;
  /** Why loading failed (health reports it). */
  loadError?: Error;
  /** Clients must send `Authorization: Bearer <apiKey>` when set. */
  readonly apiKey?: string;
}

/**
 * Creates the app.
 * @param context the model (once loaded) and the API key; read on every request
 * @returns a Hono app; serve it with `Deno.serve(app.fetch)`
 */
export function createServerApp(context: ServerContext): Hono {
  const app = new Hono();
  app.onError((error, c) => {
    if (error instanceof HTTPException) {
      return c.json(
        errorResponse(new ApiError(error.message, { status: error.status })).body,
        error.status,
      );
    }
    const { status, body } = errorResponse(error);
    return c.json(body, status as 400);
  });
  app.notFound((c) => {
    const error = new ApiError(`Cannot ${c.req.method} ${c.req.path}: no such route`, {
      status: 404,
      code: "not_found",
    });
    return c.json(errorResponse(error).body, 404);
  });
  app.get("/health", (c) => {
    if (context.loaded !== undefined) return c.json({ status: "ok" });
    if (context.loadError !== undefined) {
      return c.json({ status: "error", message: context.loadError.message }, 503);
    }
    return c.json({ status: "loading" }, 503);
  });
  app.use("*", async (c, next) => {
    if (context.apiKey !== undefined && c.req.path !== "/health") _checkApiKey(c, context.apiKey);
    await next();
  });
  app.get(
    "/metrics",
    (c) =>
      c.body(renderMetrics(_ready(context).scheduler.stats()), 200, {
        "content-type": METRICS_CONTENT_TYPE,
      }),
  );
  app.get("/v1/models", (c) => c.json({ object: "list", data: [_modelCard(_ready(context))] }));
  app.get("/v1/models/:id", (c) => {
    const loaded = _ready(context);
    if (c.req.param("id") !== loaded.id) {
      throw new ApiError(
        `Cannot find model "${c.req.param("id")}": this server runs "${loaded.id}"`,
        {
          status: 404,
          param: "model",
          code: "model_not_found",
        },
      );
    }
    return c.json(_modelCard(loaded));
  });
  app.post("/v1/chat/completions", (c) => chatCompletions(c, _ready(context)));
  app.post("/v1/completions", (c) => completions(c, _ready(context)));
  app.post("/tokenize", (c) => _tokenize(c, _ready(context)));
  app.post("/detokenize", (c) => _detokenize(c, _ready(context)));
  return app;
}

function _ready(context: ServerContext): LoadedModel {
  if (context.loaded !== undefined) return context.loaded;
  const state = context.loadError === undefined
    ? "is still loading"
    : `failed to load (${context.loadError.message})`;
  throw new ApiError(`Cannot serve the request: the model ${state}`, {
    status: 503,
    type: "unavailable_error",
  });
}

function _checkApiKey(c: Context, apiKey: string): void {
  const header = c.req.header("authorization") ?? "";
  const given = header.startsWith("Bearer ") ? header.slice("Bearer ".length) : "";
  // Compare digests so the time taken says nothing about the key.
  const digest = (text: string) => createHash("sha256").update(text).digest();
  if (given === "" || !timingSafeEqual(digest(given), digest(apiKey))) {
    throw new ApiError("Cannot authorize the request: the API key is missing or wrong", {
      status: 401,
      code: "invalid_api_key",
    });
  }
}

function _modelCard(loaded: LoadedModel) {
  return { id: loaded.id, object: "model", created: loaded.createdSeconds, owned_by: "zeno" };
}

async function _tokenize(c: Context, loaded: LoadedModel): Promise<Response> {
  const fields = new RequestFields(await readJsonBody(c), [
    "content",
    "add_special",
    "parse_special",
  ]);
  const content = fields.string("content", true);
  const tokens = loaded.model.tokenizer.encode(content, {
    addSpecial: fields.boolean("add_special") ?? false,
    parseSpecial: fields.boolean("parse_special") ?? true,
  });
  return c.json({ tokens });
}

async function _detokenize(c: Context, loaded: LoadedModel): Promise<Response> {
  const fields = new RequestFields(await readJsonBody(c), ["tokens"]);
  const tokens = fields.raw("tokens");
  const vocabSize = loaded.model.tokenizer.vocabSize;
  if (
    !Array.isArray(tokens) ||
    tokens.some((id) => !Number.isInteger(id) || id < 0 || id >= vocabSize)
  ) {
    throw fields.typeError("tokens", `an array of token ids below ${vocabSize}`, tokens);
  }
  return c.json({ content: loaded.model.tokenizer.decode(tokens) });
}
