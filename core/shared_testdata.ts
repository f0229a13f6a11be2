/**
 * Where the test data written by others lives: `$ZENO_TESTDATA` when set, else
 * `../shared/testdata` beside the project root. Tests, `zeno synth`'s default tokenizer files
 * and the summarize example's default text read it from here; `.ci/run` sets `ZENO_TESTDATA`
 * when a checkout does not sit beside the data.
 *
 * @module
 */

import { join } from "node:path";

const PROJECT_ROOT = new URL("../", import.meta.url).pathname;

/** The test-data folder (it may not exist: callers name the file they miss). */
export function sharedTestdataDir(): string {
  const fromEnv = Deno.env.get("ZENO_TESTDATA");
  return fromEnv !== undefined && fromEnv !== ""
    ? fromEnv
    : join(PROJECT_ROOT, "..", "shared", "testdata");
}
