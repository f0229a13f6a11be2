/**
 * The JSR package's public API passes `deno doc --lint`: every export documented, every type its
 * signatures name exported (the schema plugin names zod only structurally, through
 * `ZodSchemaLike`, so no foreign type leaks into the docs). Any diagnostic fails the test.
 */

import { deepStrictEqual, strictEqual } from "node:assert";

const ROOT = new URL("../", import.meta.url).pathname;
const ENTRY_POINTS = ["mod.ts", "server/mod.ts", "plugins/schema/mod.ts"];

Deno.test("deno doc --lint reports nothing on the public API", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--lint", ...ENTRY_POINTS],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stderr) + new TextDecoder().decode(output.stdout);
  const diagnostics = text.split("\n").filter((line) => /^error\[[\w-]+\]/.test(line));
  deepStrictEqual(diagnostics, [], text);
  strictEqual(output.code, 0, text);
});
