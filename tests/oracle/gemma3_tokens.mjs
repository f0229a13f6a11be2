// Writes tests/fixtures/gemma3-270m.tokens.json: llama.cpp's token ids and detokenized text for
// Gemma 3 270M on a fixed set of texts, the expectation of tests/tokenizer_conformance_test.ts.
// Run once from the project root after `npm ci --prefix tests/oracle` (see package.json there):
//   node tests/oracle/gemma3_tokens.mjs "$HOME/.cache/zeno/models/gemma3-270m-q4_k_m.gguf"
// Texts: every text of ../shared/testdata/vocab/ggml-vocab-llama-spm.gguf.inp plus the extras
// below (special-token text, whitespace runs that Gemma has USER_DEFINED tokens for, CJK, emoji).
import { readFileSync, writeFileSync } from "node:fs";
import { getLlama } from "node-llama-cpp";

const modelPath = process.argv[2];
if (!modelPath) throw new Error("usage: node tests/oracle/gemma3_tokens.mjs <gemma3-270m.gguf>");

const SEPARATOR = "\n__ggml_vocab_test__\n";
const raw = readFileSync("../shared/testdata/vocab/ggml-vocab-llama-spm.gguf.inp", "utf8");
const texts = [];
for (let pos = 0; pos < raw.length;) {
  const next = raw.indexOf(SEPARATOR, pos);
  if (next < 0) {
    texts.push(raw.slice(pos));
    break;
  }
  texts.push(raw.slice(pos, next));
  pos = next + SEPARATOR.length;
}
texts.push(
  "<start_of_turn>user\nHello<end_of_turn>\n<start_of_turn>model\n",
  "a<bos>b <eos> c<pad>",
  "x   y\n\n\nz \t\t w",
  "  leading and trailing  ",
  "<table><tr><td>1</td></tr></table>",
  "日本語のテキストと中文文本",
  "emoji 😀👍🏽🇫🇷 and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
  "Ünïcödé ñ ß ø å ç",
  "[multimodal] <unused0> <mask>",
);

const llama = await getLlama({
  gpu: false,
  build: "never",
  usePrebuiltBinaries: true,
  skipDownload: true,
});
const model = await llama.loadModel({ modelPath, vocabOnly: true });
const cases = texts.map((text) => {
  const ids = Array.from(model.tokenize(text, false));
  const idsSpecial = Array.from(model.tokenize(text, true));
  return {
    text,
    ids,
    idsSpecial,
    decoded: model.detokenize(idsSpecial, true),
    decodedSkip: model.detokenize(idsSpecial, false),
  };
});
const out = {
  note: "llama.cpp (node-llama-cpp 3.22.1) on gemma3-270m-q4_k_m.gguf: ids = tokenize(text, " +
    "add_special=false, parse_special=false), idsSpecial = same with parse_special=true, decoded/" +
    "decodedSkip = detokenize(idsSpecial, remove_special=false, unparse_special=true/false). " +
    "Regenerate with tests/oracle/gemma3_tokens.mjs.",
  cases,
};
writeFileSync("tests/fixtures/gemma3-270m.tokens.json", JSON.stringify(out, null, 1) + "\n");
console.log(`wrote ${cases.length} cases`);
await model.dispose();
