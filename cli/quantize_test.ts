import { deepStrictEqual, strictEqual } from "node:assert";
import { join } from "node:path";
import { ggmlTypeName } from "../core/gguf/ggml_types.ts";
import { readGgufFile } from "../core/gguf/reader.ts";
import { testdataPath } from "../tests/testdata.ts";
import { main } from "./quantize.ts";

Deno.test("zeno quantize writes stories260K in Q4_K_M with llama.cpp's fallbacks for 64-wide rows", async () => {
  const source = testdataPath("models/stories260K.gguf");
  const dir = await Deno.makeTempDir();
  try {
    const out = join(dir, "q4km.gguf");
    strictEqual(await main([source, out, "--type", "q4_k_m", "--quiet"]), 0);
    const gguf = await readGgufFile(out);
    const typeOf = (name: string) => ggmlTypeName(gguf.tensors.find((t) => t.name === name)!.type);
    deepStrictEqual(
      [
        "token_embd.weight",
        "output.weight",
        "blk.0.attn_q.weight",
        "blk.0.ffn_down.weight",
        "blk.0.attn_norm.weight",
      ]
        .map(typeOf),
      ["Q5_0", "Q8_0", "Q5_0", "F16", "F32"], // Q4_K → Q5_0 (64 % 256), head → Q8_0, 172-wide rows → F16
    );
    strictEqual(gguf.metadata.get("general.file_type"), 15);
    // Requantizing is refused: the source is no longer F32.
    strictEqual(await main([out, join(dir, "again.gguf"), "--type", "Q8_0", "--quiet"]), 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("zeno quantize rejects a missing type and an unknown one", async () => {
  strictEqual(await main(["a.gguf", "b.gguf"]), 2);
  strictEqual(await main(["a.gguf", "b.gguf", "--type", "IQ2_XS"]), 1);
});
