import { deepStrictEqual, strictEqual, throws } from "node:assert";
import { applyPenalties, penaltiesEnabled } from "./penalties.ts";

Deno.test("applyPenalties() divides positive, multiplies non-positive, then subtracts", () => {
  const logits = new Float32Array([4, -2, 0, 1, 7]);
  const counts = new Map([[0, 2], [1, 1], [2, 3]]);
  applyPenalties(logits, counts, {
    repeatPenalty: 2,
    presencePenalty: 0.5,
    frequencyPenalty: 0.25,
  });
  // token 0: 4 / 2 - (2 × 0.25 + 0.5) = 1; token 1: -2 × 2 - 0.75 = -4.75;
  // token 2: 0 × 2 - (3 × 0.25 + 0.5) = -1.25; tokens 3 and 4 are not in the window.
  deepStrictEqual(Array.from(logits), [1, -4.75, -1.25, 1, 7]);
});

Deno.test("applyPenalties() rejects a history token outside the vocabulary", () => {
  const strengths = { repeatPenalty: 1.1, presencePenalty: 0, frequencyPenalty: 0 };
  throws(() => applyPenalties(new Float32Array(3), new Map([[3, 1]]), strengths), {
    name: "RangeError",
    message: "Cannot apply penalties: token 3 is outside the vocabulary of 3 tokens",
  });
});

Deno.test("penaltiesEnabled() is false only for the neutral strengths", () => {
  strictEqual(
    penaltiesEnabled({ repeatPenalty: 1, presencePenalty: 0, frequencyPenalty: 0 }),
    false,
  );
  strictEqual(
    penaltiesEnabled({ repeatPenalty: 1, presencePenalty: 0.1, frequencyPenalty: 0 }),
    true,
  );
  strictEqual(
    penaltiesEnabled({ repeatPenalty: 0.9, presencePenalty: 0, frequencyPenalty: 0 }),
    true,
  );
});
