/**
 * Paths to test data written by others, under `sharedTestdataDir()` (`$ZENO_TESTDATA`, else
 * `../shared/testdata` beside the project root); real instruct models live in zeno's model cache, put there by
 * `deno task zeno pull <alias>` (the test task pulls them first).
 *
 * @module
 */

import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { sharedTestdataDir } from "../core/shared_testdata.ts";

/** Absolute path of a file under the test-data folder; throws naming it when absent. */
export function testdataPath(relative: string): string {
  const path = join(sharedTestdataDir(), relative);
  if (!existsSync(path)) {
    throw new Error(
      `Cannot find test data "${relative}": expected it at ${path} (set ZENO_TESTDATA to the folder holding it)`,
    );
  }
  return path;
}

/** File names of the real models in the cache, by alias. */
export const TEST_MODEL_FILES = {
  "smollm2-135m-instruct": "smollm2-135m-instruct-q4_1.gguf",
  "gemma3-270m": "gemma3-270m-q4_k_m.gguf",
} as const;

/** Absolute path of a cached real model; throws with the pull command when it is absent. */
export function testModelPath(alias: keyof typeof TEST_MODEL_FILES): string {
  const dir = Deno.env.get("ZENO_MODELS") ?? join(homedir(), ".cache", "zeno", "models");
  const path = join(dir, TEST_MODEL_FILES[alias]);
  if (!existsSync(path)) {
    throw new Error(
      `Cannot find model "${alias}" at ${path}: run \`deno task zeno pull ${alias}\` first`,
    );
  }
  return path;
}
