// llama.cpp's top logits after each of a sequence of batches (one sequence, one thread): the
// tool for finding where zeno's numerics first part from llama.cpp's.
//
//   node logits.mjs --model m.gguf --batches '[[1, 2, 3], [4], [5]]' [--top 8] [--context 256]
//
// Prints one line per batch: [[id, logit], ...] for the last token of the batch, best first.
import { argValue, loadLlama } from "./llama.mjs";

const modelPath = argValue("--model");
const batches = JSON.parse(argValue("--batches"));
const top = Number(argValue("--top", "8"));
const llama = await loadLlama();
const model = await llama.loadModel({ modelPath });
const context = await model.createContext({
  contextSize: Number(argValue("--context", "256")),
  threads: 1,
  flashAttention: false,
});
const sequence = context.getSequence();
const next = {
  token: true,
  options: { temperature: 0 },
  logits: { filter: { includeTop: top } },
};
for (const batch of batches) {
  const items = batch.map((
    t,
    i,
  ) => (i === batch.length - 1 ? [t, { generateNext: next }] : t));
  const [out] = (await sequence.controlledEvaluate(items)).slice(-1);
  console.log(JSON.stringify([...out.next.logits.entries()]));
}
await context.dispose();
await model.dispose();
