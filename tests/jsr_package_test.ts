/**
 * The JSR package's public API passes `deno doc --lint` (every export documented, every type
 * its signatures name exported), except for zod's types in the schema plugin's signatures:
 * deno doc reports another package's types as private (denoland/deno#27364), which no edit
 * here can fix. Any other diagnostic fails the test.
 */

import { deepStrictEqual } from "node:assert";

const ROOT = new URL("../", import.meta.url).pathname;
const ENTRY_POINTS = ["mod.ts", "server/mod.ts", "plugins/schema/mod.ts"];

/** What deno doc --lint reports for zod's own types (npm:zod). */
const KNOWN_FOREIGN_TYPE_REFS = [
  "error[private-type-ref]: public type 'compileSchema' references private type 'ZodType'",
  "error[private-type-ref]: public type 'parseTyped' references private type 'ZodType'",
  "error[private-type-ref]: public type 'parseTyped' references private type 'output'",
];

Deno.test("deno doc --lint reports nothing on the public API but zod's types", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--lint", ...ENTRY_POINTS],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stderr) + new TextDecoder().decode(output.stdout);
  const diagnostics = text.split("\n").filter((line) => /^error\[[\w-]+\]/.test(line)).sort();
  deepStrictEqual(diagnostics, KNOWN_FOREIGN_TYPE_REFS, text);
});
