import { deepStrictEqual, strictEqual } from "node:assert";
import { testdataPath } from "../tests/testdata.ts";

const CLI = new URL("../cli.ts", import.meta.url).pathname;
const STORIES = testdataPath("models/stories260K.gguf");
const GOLDEN = JSON.parse(await Deno.readTextFile(testdataPath("models/stories260K.goldens.json")));

async function zeno(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code, stdout: new TextDecoder().decode(stdout), stderr: new TextDecoder().decode(stderr) };
}

Deno.test("zeno run --ids prints only the greedy ids, which equal the stories260K goldens", async () => {
  const { code, stdout, stderr } = await zeno("run", "-m", STORIES, "-p", "Once upon a time", "-n", "32", "--temp", "0", "--ids");
  strictEqual(code, 0, stderr);
  deepStrictEqual(stdout, GOLDEN.cases[0].generated_ids.join(" ") + "\n");
});

Deno.test("zeno run --schema prints only the JSON value, valid for the schema", async () => {
  const schema = {
    type: "object",
    properties: { name: { type: "string", maxLength: 12 }, age: { type: "integer", minimum: 0, maximum: 99 } },
    required: ["name", "age"],
    additionalProperties: false,
  };
  const path = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(path, JSON.stringify(schema));
  const { code, stdout, stderr } = await zeno("run", "-m", STORIES, "-p", "Once upon a time", "-n", "60", "--temp", "0", "--schema", path);
  strictEqual(code, 0, stderr);
  deepStrictEqual(stdout, '{"name":"I can help m","age":30}\n');
  await Deno.remove(path);
});
