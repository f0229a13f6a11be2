/**
 * The `deno run` flags of the `zeno` task in deno.json (`-A`, the V8 heap flags), the one place
 * they are written: a benchmark that spawns zeno measures the process a user of
 * `deno task zeno` gets.
 *
 * @module
 */

/**
 * Reads the flags between `deno run` and `cli.ts` in deno.json's `zeno` task.
 *
 * @param denoJson the text of deno.json; the project's own by default
 * @returns the flags, e.g. `["-A", "--v8-flags=--max-semi-space-size=1"]`
 * @throws Error when the task is not `deno run <flags> cli.ts ...`
 */
export async function zenoTaskRunFlags(denoJson?: string): Promise<string[]> {
  const text = denoJson ?? await Deno.readTextFile(new URL("../deno.json", import.meta.url));
  const task: unknown = JSON.parse(text).tasks?.zeno;
  const words = typeof task === "string" ? task.trim().split(/\s+/) : [];
  const script = words.indexOf("cli.ts");
  if (words[0] !== "deno" || words[1] !== "run" || script < 0) {
    throw new Error(`bench: cannot read the flags of the zeno task ${JSON.stringify(task)}`);
  }
  return words.slice(2, script);
}
