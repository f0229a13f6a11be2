/**
 * Opens the model a command names: an alias (pulled on first use) or a path, loaded on the best
 * backend, with one line on stderr saying what was loaded, where, and how long it took.
 *
 * @module
 */

import { basename } from "node:path";
import "../backends/mod.ts";
import { resolveModel } from "../core/hub/mod.ts";
import { loadModel, type Model } from "../core/model.ts";
import { compact } from "./options.ts";

/** The model `zeno run`/`chat` use when no `-m` is given. */
export const DEFAULT_MODEL_ALIAS = "smollm2-135m-instruct";

/** Resolves, pulls if needed, and loads a model for a command. */
export async function openModel(spec: string | undefined, options: { threads?: number; backend?: string }): Promise<Model> {
  const path = await resolveModel(spec ?? DEFAULT_MODEL_ALIAS, { pull: true });
  const started = performance.now();
  const model = await loadModel(path, compact(options));
  const hp = model.hparams;
  const ms = (performance.now() - started).toFixed(0);
  console.error(
    `zeno: loaded ${basename(path)} (${hp.arch}, ${hp.nLayer} layers, dim ${hp.nEmbd}, vocab ${hp.nVocab}) on ${model.backend.device.name} in ${ms} ms`,
  );
  return model;
}
