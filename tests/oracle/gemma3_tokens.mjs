// Writes tests/fixtures/gemma3-270m.tokens.json: llama.cpp's token ids and detokenized text for
// Gemma 3 270M on a fixed set of texts, the expectation of tests/tokenizer_conformance_test.ts.
// Run once from the project root after `npm ci --prefix tests/oracle` (see package.json there):
//   node tests/oracle/gemma3_tokens.mjs "$HOME/.cache/zeno/models/gemma3-270m-q4_k_m.gguf"
// Texts: every text of ../shared/testdata/vocab/ggml-vocab-llama-spm.gguf.inp plus the extras
// below (special-token text, whitespace runs that Gemma has USER_DEFINED tokens for, CJK, emoji,
// the start of war-and-peace.txt).
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
// A long stretch of prose with dialogue, newlines and punctuation, stored by reference (the
// shared test data is not copied into the project): its first 16000 UTF-16 units.
const PROSE = { path: "text/war-and-peace.txt", length: 16000 };
const proseText = readFileSync(`../shared/testdata/${PROSE.path}`, "utf8").slice(0, PROSE.length);

const llama = await getLlama({
  gpu: false,
  build: "never",
  usePrebuiltBinaries: true,
  skipDownload: true,
});
const model = await llama.loadModel({ modelPath, vocabOnly: true });
const expectations = (text) => {
  const idsSpecial = Array.from(model.tokenize(text, true));
  return {
    ids: Array.from(model.tokenize(text, false)),
    idsSpecial,
    decoded: model.detokenize(idsSpecial, true),
    decodedSkip: model.detokenize(idsSpecial, false),
  };
};
const cases = texts.map((text) => ({ text, ...expectations(text) }));
// Only ids for the prose: its decoded text would copy the file.
const { ids, idsSpecial } = expectations(proseText);
cases.push({ testdata: PROSE, ids, idsSpecial });
const out = {
  note: "llama.cpp (node-llama-cpp 3.22.1) on gemma3-270m-q4_k_m.gguf: ids = tokenize(text, " +
    "add_special=false, parse_special=false), idsSpecial = same with parse_special=true, decoded/" +
    "decodedSkip = detokenize(idsSpecial, remove_special=false, unparse_special=true/false). " +
    "A case with `testdata` stands for the first `length` UTF-16 units of that file " +
    "under ../shared/testdata. Regenerate with tests/oracle/gemma3_tokens.mjs.",
  cases,
};
// One case per line keeps the file small and its diffs readable.
const json = `{"note": ${JSON.stringify(out.note)},\n"cases": [\n` +
  out.cases.map((c) => JSON.stringify(c)).join(",\n") + "\n]}\n";
writeFileSync("tests/fixtures/gemma3-270m.tokens.json", json);
console.log(`wrote ${cases.length} cases`);
await model.dispose();
