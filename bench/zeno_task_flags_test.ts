import { deepStrictEqual, rejects } from "node:assert";
import { zenoTaskRunFlags } from "./zeno_task_flags.ts";

Deno.test("zenoTaskRunFlags() returns the flags between `deno run` and cli.ts", async () => {
  const denoJson = JSON.stringify({
    tasks: { zeno: "deno run -A --v8-flags=--max-semi-space-size=1 cli.ts" },
  });
  deepStrictEqual(await zenoTaskRunFlags(denoJson), ["-A", "--v8-flags=--max-semi-space-size=1"]);
});

Deno.test("zenoTaskRunFlags() reads the project's deno.json: -A first", async () => {
  const flags = await zenoTaskRunFlags();
  deepStrictEqual(flags[0], "-A");
});

Deno.test("zenoTaskRunFlags() refuses a task that is not `deno run ... cli.ts`", async () => {
  await rejects(
    zenoTaskRunFlags(JSON.stringify({ tasks: { zeno: "node cli.js" } })),
    /cannot read the flags of the zeno task "node cli.js"/,
  );
  await rejects(zenoTaskRunFlags(JSON.stringify({ tasks: {} })), /zeno task undefined/);
});
