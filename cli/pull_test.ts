import { strictEqual } from "node:assert";
import { testdataPath } from "../tests/testdata.ts";

const CLI = new URL("../cli.ts", import.meta.url).pathname;

Deno.test("zeno pull prints each path on stdout and each failure on stderr", async () => {
  const dir = await Deno.makeTempDir();
  const stories = testdataPath("models/stories260K.gguf");
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, "pull", "--dir", dir, stories, "nope"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  strictEqual(decoder.decode(stdout), `${stories}\n`);
  strictEqual(
    decoder.decode(stderr),
    'zeno pull: Cannot pull "nope": it is not a known alias (known: smollm2-135m-instruct, ' +
      "gemma3-270m), an existing file or an http(s) URL\n",
  );
  strictEqual(code, 1);
  await Deno.remove(dir, { recursive: true });
});
