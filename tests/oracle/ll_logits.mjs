import { argValue, loadLlama } from "./llama.mjs";
const modelPath = argValue("--model");
const batches = JSON.parse(argValue("--batches"));
const llama = await loadLlama();
const model = await llama.loadModel({ modelPath });
const context = await model.createContext({ contextSize: 256, threads: 1, flashAttention: false });
const sequence = context.getSequence();
for (const b of batches) {
  const items = b.map((t, i) => i === b.length - 1 ? [t, { generateNext: { token: true, options: { temperature: 0 }, logits: { filter: { includeTop: 8 } } } }] : t);
  const [out] = (await sequence.controlledEvaluate(items)).slice(-1);
  console.log(JSON.stringify([...out.next.logits.entries()]));
}
