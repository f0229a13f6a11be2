/**
 * The models `deno task bench` measures: two real ones from the model cache (pulled on first
 * use) and synthetic Llama-3.2-1B and Qwen2.5-0.5B in Q4_0, Q8_0 and Q4_K_M, written by
 * `zeno synth` into `<model cache>/synthetic/` on first use and reused after (seed 1). A
 * synthetic file's name carries the fingerprint of its spec, type, seed and writer version, so
 * a change to any of them writes a new file (and removes the stale one).
 *
 * @module
 */

import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { modelCacheDir, resolveModel } from "../core/hub/mod.ts";
import { quantTarget } from "../core/quantize/quant_targets.ts";
import { synthFingerprint, writeSynthModel } from "../core/synth/synth_model.ts";
import { synthSpec } from "../core/synth/synth_specs.ts";

/** Seed of the suite's synthetic weights. */
const SUITE_SEED = 1;

/** One entry of the suite. */
export interface SuiteModel {
  /** Short name for filters and logs ("llama-3.2-1b-q4_0"). */
  readonly name: string;
  /** A model alias for the cache, or a synthetic spec and type. */
  readonly source: { readonly alias: string } | { readonly like: string; readonly type: string };
}

/** The suite, in the order it runs. */
export const BENCH_SUITE: readonly SuiteModel[] = [
  { name: "smollm2-135m-q4_1", source: { alias: "smollm2-135m-instruct" } },
  { name: "gemma3-270m-q4_k_m", source: { alias: "gemma3-270m" } },
  ...["qwen2.5-0.5b", "llama-3.2-1b"].flatMap((like) =>
    ["Q4_0", "Q8_0", "Q4_K_M"].map((type) => ({
      name: `${like}-${type.toLowerCase()}`,
      source: { like, type },
    }))
  ),
];

/**
 * The file of a suite model: the cached real model (pulled if absent) or the synthetic file
 * (written if absent).
 *
 * @param model the suite entry
 * @param log progress messages
 * @returns the path
 */
export async function suiteModelPath(
  model: SuiteModel,
  log: (message: string) => void = () => {},
): Promise<string> {
  if ("alias" in model.source) return await resolveModel(model.source.alias, { pull: true });
  const { like, type } = model.source;
  const spec = synthSpec(like);
  const dir = join(modelCacheDir(), "synthetic");
  const fingerprint = await synthFingerprint(spec, type, SUITE_SEED);
  const path = join(dir, `synthetic-${model.name}-${fingerprint}.gguf`);
  if (existsSync(path)) return path;
  await Deno.mkdir(dir, { recursive: true });
  removeStaleSynthFiles(dir, model.name, log);
  log(`synth: writing ${path}`);
  const started = performance.now();
  const partial = `${path}.partial`;
  await writeSynthModel(partial, spec, { target: quantTarget(type), seed: SUITE_SEED });
  await Deno.rename(partial, path);
  log(`synth: wrote ${path} in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  return path;
}

/** Removes `synthetic-<name>.gguf` and `synthetic-<name>-<other fingerprint>.gguf` files. */
function removeStaleSynthFiles(dir: string, name: string, log: (message: string) => void): void {
  const stale = new RegExp(`^synthetic-${name.replaceAll(".", "\\.")}(-[0-9a-f]{8})?\\.gguf$`);
  for (const file of readdirSync(dir)) {
    if (!stale.test(file)) continue;
    log(`synth: removing ${join(dir, file)} (written for another spec or writer version)`);
    rmSync(join(dir, file));
  }
}
