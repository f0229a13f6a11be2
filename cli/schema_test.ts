import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const CLI = new URL("../cli.ts", import.meta.url).pathname;

async function run(schema: unknown): Promise<{ code: number; stdout: string; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), "zeno-schema-"));
  const path = join(dir, "schema.json");
  writeFileSync(path, JSON.stringify(schema));
  const output = await new Deno.Command(Deno.execPath(), { args: ["run", "-A", CLI, "schema", "check", path] }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

Deno.test("zeno schema check exits 0 for a schema that compiles", async () => {
  const result = await run({ type: "object", properties: { id: { type: "string", format: "uuid" } }, required: ["id"] });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^ok: ".*schema\.json" compiles \(\d+ automaton states\)\n$/);
});

Deno.test("zeno schema check exits 1 naming the keyword and JSON pointer", async () => {
  const result = await run({ type: "object", properties: { tags: { type: "array", uniqueItems: true } } });
  assert.equal(result.code, 1);
  assert.match(result.stderr, /keyword "uniqueItems" cannot be enforced by a grammar \(at "\/properties\/tags\/uniqueItems"\)/);
  assert.match(result.stderr, /keyword: uniqueItems\npointer: \/properties\/tags\n/);
});
