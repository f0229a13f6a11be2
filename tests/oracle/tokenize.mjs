// llama.cpp's token ids for texts: reads a JSON array of strings on stdin, prints a JSON array
// with one array of ids per text.
//   echo '["Hello world"]' | node tests/oracle/tokenize.mjs <model.gguf> [--special]
// --special parses special-token text (parse_special=true); BOS/EOS are never added
// (add_special=false), as in llama.cpp's tokenizer test vectors.
import { loadVocabModel, readStdin } from "./llama.mjs";

const modelPath = process.argv[2];
if (!modelPath || modelPath.startsWith("--")) {
  console.error("usage: node tests/oracle/tokenize.mjs <model.gguf> [--special] < texts.json");
  process.exit(2);
}
const parseSpecial = process.argv.includes("--special");
const texts = JSON.parse(await readStdin());
if (!Array.isArray(texts) || !texts.every((text) => typeof text === "string")) {
  console.error("tokenize.mjs: stdin must be a JSON array of strings");
  process.exit(2);
}
const model = await loadVocabModel(modelPath);
const ids = texts.map((text) => Array.from(model.tokenize(text, parseSpecial)));
process.stdout.write(JSON.stringify(ids) + "\n");
await model.dispose();
