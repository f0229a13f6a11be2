/**
 * Schema plugin benchmark: compile time per schema, and mask time per token (p50, p99) on
 * SmolLM2's (49152) and Gemma 3's (262144) vocabularies along seeded random walks. "cold" is
 * the first walk of a fresh grammar (masks computed on first use), "warm" the later walks.
 * Mask time = computing the allowed set and writing -Infinity into a logits array.
 * "precompute ms" is `createGrammarConstraint(..., { precompute: true })` on a freshly compiled
 * grammar: every DFA state's context-free mask computed at creation instead of on first use.
 * The token and shape tries are built once per tokenizer (trieBuildMs), not per schema.
 * Before the timed walks, one untimed walk (another seed) runs on that freshly compiled
 * grammar: it shares no mask with the timed grammar, but lets V8 optimize the mask code paths
 * first, so "cold" is masks computed on first use, not the engine's JIT tier-up (paid once
 * per process).
 * Logits are masked as a session does: through the native library's kernel when it loads (a
 * native backend installs it), else in JS; `maskKernel` in the JSON says which.
 * Writes bench/results/schema.json and prints a markdown table.
 *
 *   deno run -A bench/schema_bench.ts
 */

import { writeFileSync } from "node:fs";
import { createNativeBackend } from "../backends/native/backend.ts";
import { hasLogitsMaskKernel } from "../core/sampling/logits_mask.ts";
import { compileSchema } from "../plugins/schema/compile.ts";
import { createGrammarConstraint } from "../plugins/schema/constraint.ts";
import { shapeTrieOf } from "../plugins/schema/shape_trie.ts";
import { tokenTrieOf } from "../plugins/schema/token_trie.ts";
import { loadTestTokenizer, randomWalk, seededRandom } from "../plugins/schema/test_helpers.ts";
import { WALK_SCHEMAS } from "../plugins/schema/walk_schemas.ts";

const WALKS = 6;

try {
  createNativeBackend({ threads: 1 }).dispose(); // installs the logits mask kernel
} catch (error) {
  console.error(`schema bench: no native library, masking in JS (${error})`);
}
const maskKernel = hasLogitsMaskKernel() ? "native" : "js";

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

const rows: Record<string, unknown>[] = [];
for (const alias of ["smollm2-135m-instruct", "gemma3-270m"] as const) {
  const tokenizer = await loadTestTokenizer(alias);
  const trieStart = performance.now();
  shapeTrieOf(tokenTrieOf(tokenizer));
  const trieMs = performance.now() - trieStart;
  for (const [name, schema] of Object.entries(WALK_SCHEMAS)) {
    // Compile twice and time the second: the first pays for JIT warm-up.
    compileSchema(structuredClone(schema));
    const compileStart = performance.now();
    const { grammar } = compileSchema(structuredClone(schema));
    const compileMs = performance.now() - compileStart;
    const fresh = compileSchema(structuredClone(schema)).grammar;
    const precomputeStart = performance.now();
    const warmUp = createGrammarConstraint(fresh, tokenizer, { precompute: true });
    const precomputeMs = performance.now() - precomputeStart;
    randomWalk(warmUp, tokenizer, seededRandom(7), { budget: 30 });
    const logits = new Float32Array(tokenizer.vocabSize);
    // One sampler state for every call, as the sampler passes its own (nothing allocated in
    // the timed call but what the mask engine allocates).
    const samplerState = { history: [] };
    const random = seededRandom(42);
    const cold: number[] = [];
    const warm: number[] = [];
    for (let w = 0; w < WALKS; w++) {
      const constraint = createGrammarConstraint(grammar, tokenizer);
      const times = w === 0 ? cold : warm;
      const timed = {
        allowedTokens: () => {
          const t0 = performance.now();
          constraint.processor(logits, samplerState);
          times.push((performance.now() - t0) * 1000);
          return constraint.allowedTokens();
        },
        accept: (id: number) => constraint.accept(id),
        canEnd: () => constraint.canEnd(),
      };
      randomWalk(timed, tokenizer, random, { budget: 30 });
    }
    cold.sort((a, b) => a - b);
    warm.sort((a, b) => a - b);
    const all = [...cold, ...warm].sort((a, b) => a - b);
    rows.push({
      vocab: alias,
      vocabSize: tokenizer.vocabSize,
      schema: name,
      compileMs: +compileMs.toFixed(2),
      precomputeMs: +precomputeMs.toFixed(1),
      states: grammar.stateCount,
      steps: all.length,
      p50Us: +percentile(all, 0.5).toFixed(1),
      p99Us: +percentile(all, 0.99).toFixed(1),
      coldP99Us: +percentile(cold, 0.99).toFixed(1),
      warmP50Us: +percentile(warm, 0.5).toFixed(1),
      warmP99Us: +percentile(warm, 0.99).toFixed(1),
      trieBuildMs: +trieMs.toFixed(0),
    });
  }
}

console.log(
  "| vocab | schema | compile ms | precompute ms | states | steps | p50 µs | p99 µs | cold p99 µs | warm p50 µs | warm p99 µs |",
);
console.log("|---|---|---|---|---|---|---|---|---|---|---|");
for (const r of rows) {
  console.log(
    `| ${r.vocab} | ${r.schema} | ${r.compileMs} | ${r.precomputeMs} | ${r.states} | ${r.steps} | ${r.p50Us} | ${r.p99Us} | ${r.coldP99Us} | ${r.warmP50Us} | ${r.warmP99Us} |`,
  );
}
writeFileSync(
  new URL("./results/schema.json", import.meta.url),
  JSON.stringify({ date: new Date().toISOString(), maskKernel, rows }, null, 2) + "\n",
);
