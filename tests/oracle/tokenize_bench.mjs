// Times llama.cpp's tokenizer on a whole text file and prints JSON:
// { "bytes", "tokenCount", "runsMs": [...], "medianMs", "megabytesPerSecond" }.
//   node tests/oracle/tokenize_bench.mjs <model.gguf> <text file> [--runs 5] [--ids-out ids.u32]
// --ids-out writes the ids of the last run as little-endian u32, for comparing with zeno's.
// Ids are add_special=false, parse_special=false; the time covers llama_tokenize on the
// whole text, including node-llama-cpp's string conversion.
import { readFileSync, writeFileSync } from "node:fs";
import { argValue, loadVocabModel } from "./llama.mjs";

const [modelPath, textPath] = process.argv.slice(2);
if (!modelPath || !textPath || textPath.startsWith("--")) {
  console.error("usage: node tests/oracle/tokenize_bench.mjs <model.gguf> <text> [--runs N] [--ids-out f]");
  process.exit(2);
}
const runs = Number(argValue("--runs", "5"));
const idsOut = argValue("--ids-out", undefined);
const text = readFileSync(textPath, "utf8");
const bytes = Buffer.byteLength(text, "utf8");
const model = await loadVocabModel(modelPath);
model.tokenize("warm up", false);
const runsMs = [];
let ids = [];
for (let run = 0; run < runs; run++) {
  const start = performance.now();
  ids = model.tokenize(text, false);
  runsMs.push(performance.now() - start);
}
const sorted = [...runsMs].sort((a, b) => a - b);
const medianMs = sorted[Math.floor(sorted.length / 2)];
if (idsOut) writeFileSync(idsOut, new Uint8Array(Uint32Array.from(ids).buffer));
const result = {
  bytes,
  tokenCount: ids.length,
  runsMs: runsMs.map((ms) => Math.round(ms * 10) / 10),
  medianMs: Math.round(medianMs * 10) / 10,
  megabytesPerSecond: Math.round((bytes / 1e6 / (medianMs / 1000)) * 100) / 100,
};
process.stdout.write(JSON.stringify(result) + "\n");
await model.dispose();
