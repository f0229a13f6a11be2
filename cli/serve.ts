/**
 * `zeno serve [-m <model.gguf|alias>] [--host 127.0.0.1] [--port 8080] [--parallel N]
 * [--ctx N] [--api-key K] [--threads N] [--backend NAME]`: the OpenAI-compatible server.
 * It listens at once (`/health` says 503 until the model is loaded), binds to loopback unless
 * `--host` says otherwise, and stops on Ctrl-C. `--api-key` (or `$ZENO_API_KEY`) is required
 * from clients on every route but `/health`.
 *
 * @module
 */

import { basename } from "node:path";
import { parseArgs } from "node:util";
import { startServer } from "../server/serve.ts";
import { DEFAULT_MODEL_ALIAS, openModel } from "./open_model.ts";
import { compact, numberOption } from "./options.ts";

const USAGE =
  `usage: zeno serve [-m <model.gguf|alias>] [--host 127.0.0.1] [--port 8080] [--parallel N]
                  [--ctx N] [--api-key K] [--threads N] [--backend NAME]`;

/** Entry point of `zeno serve`. */
export async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      model: { type: "string", short: "m" },
      host: { type: "string", default: "127.0.0.1" },
      port: { type: "string", default: "8080" },
      parallel: { type: "string", default: "4" },
      ctx: { type: "string", short: "c" },
      "api-key": { type: "string" },
      threads: { type: "string", short: "t" },
      backend: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.error(USAGE);
    return 0;
  }
  const spec = values.model ?? DEFAULT_MODEL_ALIAS;
  const server = await startServer({
    modelId: basename(spec).replace(/\.gguf$/i, ""),
    load: () =>
      openModel(
        spec,
        compact({ threads: numberOption(values.threads, "--threads"), backend: values.backend }),
      ),
    hostname: values.host,
    port: numberOption(values.port, "--port"),
    parallel: numberOption(values.parallel, "--parallel"),
    contextSize: numberOption(values.ctx, "--ctx"),
    apiKey: values["api-key"] ?? Deno.env.get("ZENO_API_KEY"),
  });
  console.error(`zeno: serving on ${server.url} (loading ${spec})`);
  const stop = () => void server.shutdown();
  Deno.addSignalListener("SIGINT", stop);
  try {
    await server.ready;
    console.error(`zeno: ready on ${server.url}/v1`);
  } catch (error) {
    console.error(`zeno: ${(error as Error).message}`);
    await server.shutdown();
    return 1;
  } finally {
    await server.finished.finally(() => Deno.removeSignalListener("SIGINT", stop));
  }
  return 0;
}
