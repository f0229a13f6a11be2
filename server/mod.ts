/**
 * The OpenAI-compatible server: a Hono app over one model with continuous batching.
 *
 * @module
 */

export * from "./api_error.ts";
export * from "./app.ts";
export * from "./metrics.ts";
export * from "./openai_routes.ts";
export * from "./serve.ts";
