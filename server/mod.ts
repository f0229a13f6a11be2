/**
 * The OpenAI-compatible server: a Hono app over one model with continuous batching.
 *
 * @module
 */

export * from "./api_error.ts";
export type { ServerContext } from "./app.ts";
export * from "./metrics.ts";
export type { LoadedModel, Usage } from "./openai_routes.ts";
export * from "./serve.ts";
