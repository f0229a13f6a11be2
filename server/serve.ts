/**
 * `startServer`: listens at once (so `/health` answers 503 while the model loads), loads the
 * model, then serves it through one engine and a continuous-batching scheduler.
 *
 * Sizes: `parallel` sequences of `contextSize` cells each, so the engine's KV cache holds
 * `parallel × contextSize` cells (SmolLM2-135M: 23 KiB per cell in F16, 4 × 2048 cells = 184 MiB).
 *
 * @module
 */

import type { Model } from "../core/model.ts";
import { Scheduler } from "../core/scheduler.ts";
import { createServerApp, type ServerContext } from "./app.ts";

/** Options of `startServer`. */
export interface StartServerOptions {
  /** Loads the model; called once the server listens. */
  load: () => Promise<Model>;
  /** The model's name in `/v1/models` and responses. */
  modelId: string;
  /** Default 127.0.0.1 (loopback only). */
  hostname?: string;
  /** Default 8080; 0 picks a free port. */
  port?: number;
  /** Sequences decoded together; default 4. */
  parallel?: number;
  /** Tokens per sequence (prompt + reply); default min(2048, the trained context). */
  contextSize?: number;
  /** Clients must send `Authorization: Bearer <apiKey>` (every route but /health). */
  apiKey?: string;
}

/** A running server. */
export interface RunningServer {
  /** `http://host:port`. */
  readonly url: string;
  /** The app's state: the loaded model and scheduler, the API key. */
  readonly context: ServerContext;
  /** Resolves once the model serves; rejects when loading failed. */
  readonly ready: Promise<void>;
  /** Aborts every generation, stops listening, frees the model. */
  shutdown(): Promise<void>;
  /** Resolves when the server has stopped. */
  readonly finished: Promise<void>;
}

/**
 * Starts the server.
 * @param options model loader and name, address, parallel sequences, context, API key
 */
export function startServer(options: StartServerOptions): Promise<RunningServer> {
  const context: ServerContext = { apiKey: options.apiKey };
  const app = createServerApp(context);
  const hostname = options.hostname ?? "127.0.0.1";
  const { promise: listening, resolve: onListen } = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve({ hostname, port: options.port ?? 8080, onListen }, app.fetch);
  const ready = _load(context, options);
  ready.catch(() => {});
  return listening.then((address) => ({
    url: `http://${_host(address.hostname)}:${address.port}`,
    context,
    ready,
    finished: server.finished,
    async shutdown() {
      await ready.catch(() => {});
      await context.loaded?.scheduler.close();
      await server.shutdown();
      context.loaded?.model.dispose();
    },
  }));
}

async function _load(context: ServerContext, options: StartServerOptions): Promise<void> {
  try {
    const model = await options.load();
    const parallel = options.parallel ?? 4;
    const contextSize = options.contextSize ?? Math.min(2048, model.hparams.nCtxTrain);
    const engine = model.createEngine({ contextSize: contextSize * parallel });
    const scheduler = new Scheduler(engine, model.tokenizer, { parallel, contextSize });
    context.loaded = {
      id: options.modelId,
      model,
      scheduler,
      createdSeconds: Math.floor(Date.now() / 1000),
    };
  } catch (error) {
    context.loadError = error instanceof Error ? error : new Error(String(error));
    throw error;
  }
}

function _host(hostname: string): string {
  return hostname.includes(":") ? `[${hostname}]` : hostname;
}
