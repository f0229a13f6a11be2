/**
 * The models `deno task bench` measures: two real ones from the model cache (pulled on first
 * use) and synthetic Llama-3.2-1B and Qwen2.5-0.5B in Q4_0, Q8_0 and Q4_K_M, written by
 * `zeno synth` into `<model cache>/synthetic/` on first use and reused after (seed 1).
 *
 * @module
 */

import { existsSync } from "node:fs";
import { join } from "node:path";
import { modelCacheDir, resolveModel } from "../core/hub/mod.ts";
import { quantTarget } from "../core/quantize/quant_targets.ts";
import { writeSynthModel } from "../core/synth/synth_model.ts";
import { synthSpec } from "../core/synth/synth_specs.ts";

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
  const path = join(modelCacheDir(), "synthetic", `synthetic-${model.name}.gguf`);
  if (existsSync(path)) return path;
  await Deno.mkdir(join(modelCacheDir(), "synthetic"), { recursive: true });
  log(`synth: writing ${path}`);
  const started = performance.now();
  const partial = `${path}.partial`;
  await writeSynthModel(partial, synthSpec(model.source.like), {
    target: quantTarget(model.source.type),
    seed: 1,
  });
  await Deno.rename(partial, path);
  log(`synth: wrote ${path} in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  return path;
}
