// llama.cpp's token ids for the same texts under several vocabularies, in one process:
// reads { "models": ["a.gguf", …], "texts": ["…", …] } on stdin and prints
// { "a.gguf": [[ids of text 0], …], … }, or { "a.gguf": { "error": "…" } } for a file
// llama.cpp refuses. add_special=false, parse_special=false.
//   node tests/oracle/tokenize_many.mjs < request.json
import { loadVocabModel, readStdin } from "./llama.mjs";

const { models, texts } = JSON.parse(await readStdin());
if (!Array.isArray(models) || !Array.isArray(texts)) {
  console.error('tokenize_many.mjs: stdin must be { "models": [...], "texts": [...] }');
  process.exit(2);
}
const result = {};
for (const modelPath of models) {
  try {
    const model = await loadVocabModel(modelPath);
    result[modelPath] = texts.map((text) => Array.from(model.tokenize(text, false)));
    await model.dispose();
  } catch (error) {
    result[modelPath] = { error: String(error?.message ?? error) };
  }
}
process.stdout.write(JSON.stringify(result) + "\n");
