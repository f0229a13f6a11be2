/**
 * Time to parse GGUF headers held in memory (the runtime hands the reader a mapped view):
 * `deno bench -A core/gguf/reader_bench.ts`. Gemma 3's header holds 262144 tokens, scores and
 * types; the tensor data is never touched. Real models are skipped when absent from the cache.
 *
 * @module
 */

import { existsSync } from "node:fs";
import { testdataPath, testModelPath } from "../../tests/testdata.ts";
import { parseGguf, readGgufFile } from "./reader.ts";

async function _headerBytes(path: string): Promise<Uint8Array> {
  const { dataOffset, fileSize } = await readGgufFile(path);
  using file = await Deno.open(path);
  const bytes = new Uint8Array(Math.min(dataOffset, fileSize));
  let filled = 0;
  while (filled < bytes.length) filled += (await file.read(bytes.subarray(filled))) ?? bytes.length;
  return bytes;
}

const CASES: [string, () => string][] = [
  ["stories260K (512 tokens)", () => testdataPath("models/stories260K.gguf")],
  ["gpt-2 vocab (50257 tokens, 50000 merges)", () => testdataPath("vocab/ggml-vocab-gpt-2.gguf")],
  ["smollm2-135m (49152 tokens, 48900 merges)", () => testModelPath("smollm2-135m-instruct")],
  ["gemma3-270m (262144 tokens)", () => testModelPath("gemma3-270m")],
];

for (const [name, pathOf] of CASES) {
  let path: string;
  try {
    path = pathOf();
  } catch {
    continue;
  }
  if (!existsSync(path)) continue;
  const header = await _headerBytes(path);
  // Tensors are checked against the length of the bytes, so hand over a file-sized buffer:
  // its zero pages past the header are never touched, so they never become resident.
  const { fileSize } = await readGgufFile(path);
  const whole = new Uint8Array(fileSize);
  whole.set(header);
  Deno.bench(`parseGguf ${name}`, { group: "parse header" }, () => {
    parseGguf(whole);
  });
}
