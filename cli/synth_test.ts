import { deepStrictEqual, strictEqual } from "node:assert";
import { join } from "node:path";
import { readGgufFile } from "../core/gguf/reader.ts";
import { testdataPath } from "../tests/testdata.ts";
import { main } from "./synth.ts";

Deno.test("zeno synth --like tiny writes the same bytes for the same seed", async () => {
  testdataPath("tokenizers/llama3.2/encoder.json");
  const dir = await Deno.makeTempDir();
  try {
    const [a, b, c] = ["a", "b", "c"].map((n) => join(dir, `${n}.gguf`));
    strictEqual(
      await main(["--like", "tiny", "--type", "Q4_0", "-o", a, "--seed", "9", "--quiet"]),
      0,
    );
    strictEqual(
      await main(["--like", "tiny", "--type", "Q4_0", "-o", b, "--seed", "9", "--quiet"]),
      0,
    );
    strictEqual(
      await main(["--like", "tiny", "--type", "Q4_0", "-o", c, "--seed", "10", "--quiet"]),
      0,
    );
    const [bytesA, bytesB, bytesC] = await Promise.all([a, b, c].map((p) => Deno.readFile(p)));
    deepStrictEqual(bytesA, bytesB);
    strictEqual(bytesA.length, bytesC.length);
    strictEqual(bytesA.some((byte, i) => byte !== bytesC[i]), true);
    const gguf = await readGgufFile(a);
    deepStrictEqual(
      [
        gguf.metadata.get("general.architecture"),
        gguf.metadata.get("general.file_type"),
        gguf.tensors.length,
      ],
      ["llama", 2, 20],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("zeno synth rejects missing flags and unknown models", async () => {
  strictEqual(await main(["--like", "tiny"]), 2);
  strictEqual(await main(["--like", "gpt-5", "--type", "Q4_0", "-o", "/tmp/never.gguf"]), 1);
});
