// llama.cpp's greedy continuation of prompts given as token ids, with the top logits of the
// first step: the oracle for zeno's token-for-token tests and its benchmarks.
//
//   echo '{"prompts": [[1, 2, 3]], "steps": 64, "top": 5}' | node greedy.mjs --model m.gguf
//
// Prints {"results": [{"tokens": [...], "top": [[id, logit], ...]}]}. Flash attention is off so
// llama.cpp takes the attention path zeno's kernel follows (F16 KV cache, Q and the softmax
// probabilities rounded to f16 for the products with F16 K and V).
import { argValue, loadLlama, readStdin } from "./llama.mjs";

const modelPath = argValue("--model");
const request = JSON.parse(await readStdin());
const llama = await loadLlama();
const model = await llama.loadModel({ modelPath });
// Every prompt gets its own sequence (a sequence's cells are not reusable after dispose).
const contextSize = (Math.max(...request.prompts.map((p) => p.length)) + request.steps + 8) *
  request.prompts.length;
const context = await model.createContext({
  contextSize,
  sequences: request.prompts.length,
  threads: Number(argValue("--threads", "2")),
  flashAttention: false,
});
const results = [];
for (const prompt of request.prompts) {
  const sequence = context.getSequence();
  const greedy = { token: true, options: { temperature: 0 } };
  const firstItems = prompt.map((token, i) =>
    i === prompt.length - 1
      ? [token, { generateNext: { ...greedy, logits: { filter: { includeTop: request.top ?? 5 } } } }]
      : token
  );
  const [first] = (await sequence.controlledEvaluate(firstItems)).slice(-1);
  const tokens = [first.next.token];
  const top = [...first.next.logits.entries()].slice(0, request.top ?? 5);
  while (tokens.length < request.steps) {
    const [out] = await sequence.controlledEvaluate([[tokens.at(-1), { generateNext: greedy }]]);
    tokens.push(out.next.token);
  }
  results.push({ tokens, top });
}
await context.dispose();
await model.dispose();
process.stdout.write(JSON.stringify({ results }) + "\n");
