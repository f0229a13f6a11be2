// llama.cpp's greedy continuations of several prompts on several models in one process (one
// context per model, one sequence per prompt), with the first step's top logits:
//
//   echo '{"models": [{"path": "a.gguf", "prompts": [[1, 2]]}], "steps": 24, "top": 3}' \
//     | node greedy_models.mjs [--threads 2]
//
// Prints {"models": [{"results": [{"tokens": [...], "top": [[id, logit], ...]}]}]}. Flash
// attention is off, as in greedy.mjs.
import { argValue, loadLlama, readStdin } from "./llama.mjs";

const request = JSON.parse(await readStdin());
const llama = await loadLlama();
const threads = Number(argValue("--threads", "2"));
const top = request.top ?? 3;
const greedy = { token: true, options: { temperature: 0 } };
const models = [];
for (const entry of request.models) {
  const model = await llama.loadModel({ modelPath: entry.path });
  const longest = Math.max(...entry.prompts.map((p) => p.length));
  const context = await model.createContext({
    contextSize: (longest + request.steps + 8) * entry.prompts.length,
    sequences: entry.prompts.length,
    threads,
    flashAttention: false,
  });
  const results = [];
  for (const prompt of entry.prompts) {
    const sequence = context.getSequence();
    const items = prompt.map((token, i) =>
      i === prompt.length - 1
        ? [token, { generateNext: { ...greedy, logits: { filter: { includeTop: top } } } }]
        : token
    );
    const [first] = (await sequence.controlledEvaluate(items)).slice(-1);
    const tokens = [first.next.token];
    while (tokens.length < request.steps) {
      const [out] = await sequence.controlledEvaluate([[tokens.at(-1), { generateNext: greedy }]]);
      tokens.push(out.next.token);
    }
    results.push({ tokens, top: [...first.next.logits.entries()].slice(0, top) });
  }
  await context.dispose();
  await model.dispose();
  models.push({ results });
}
process.stdout.write(JSON.stringify({ models }) + "\n");
