/**
 * `zeno pull <alias|path|url>...`: download models into the cache (`$ZENO_MODELS`, else the
 * platform cache directory) and print one path per model on stdout. Progress and notes go to
 * stderr, so `path=$(zeno pull x)` works.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { PullError } from "../core/errors.ts";
import { MODEL_CATALOG, modelCacheDir, pullModel } from "../core/hub/mod.ts";

const USAGE = `usage: zeno pull [--dir <cache dir>] [--quiet] <alias|path|url>...

Downloads each model into the cache and prints its path. Aliases:
${MODEL_CATALOG.map((model) => `  ${model.alias.padEnd(24)} ${model.fileName}`).join("\n")}
`;

/**
 * Runs `zeno pull`.
 *
 * @param args the arguments after "pull"
 * @returns 0 when every model is available, 1 when one failed, 2 for bad usage
 */
export async function main(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        dir: { type: "string" },
        quiet: { type: "boolean", short: "q" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    console.error(`zeno pull: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (parsed.values.help) {
    console.log(USAGE);
    return 0;
  }
  if (parsed.positionals.length === 0) {
    console.error(USAGE);
    return 2;
  }
  const cacheDir = parsed.values.dir ?? modelCacheDir();
  let status = 0;
  for (const spec of parsed.positionals) {
    try {
      const path = await pullModel(spec, {
        cacheDir,
        progress: parsed.values.quiet ? null : undefined,
      });
      console.log(path);
    } catch (error) {
      if (!(error instanceof PullError)) throw error;
      console.error(`zeno pull: ${error.message}`);
      status = 1;
    }
  }
  return status;
}
