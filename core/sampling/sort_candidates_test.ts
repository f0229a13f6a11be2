import { deepStrictEqual } from "node:assert";
import { sortCandidates } from "./sort_candidates.ts";

function sorted(logits: Float32Array, ids: number[]): number[] {
  const buffer = Int32Array.from(ids);
  sortCandidates(buffer, ids.length, logits, new Float64Array(ids.length));
  return Array.from(buffer);
}

Deno.test("sortCandidates() orders by logit descending, ties by ascending id", () => {
  const logits = new Float32Array([0, -1.5, 3, 3, -0, 1e-30, -1e30, 2.5e38]);
  deepStrictEqual(sorted(logits, [0, 1, 2, 3, 4, 5, 6, 7]), [7, 2, 3, 5, 0, 4, 1, 6]);
  deepStrictEqual(sorted(logits, [6, 3, 1]), [3, 1, 6]);
});

Deno.test("sortCandidates() sorts a prefix only and keeps large ids exact", () => {
  const logits = new Float32Array(2 ** 21);
  logits[2 ** 21 - 1] = 5;
  logits[1] = 5;
  logits[2 ** 20] = 6;
  deepStrictEqual(sorted(logits, [2 ** 21 - 1, 1, 2 ** 20]), [2 ** 20, 1, 2 ** 21 - 1]);
  const ids = Int32Array.from([3, 2, 1, 0]);
  sortCandidates(ids, 2, new Float32Array([0, 0, 0, 0]), new Float64Array(4));
  deepStrictEqual(Array.from(ids), [2, 3, 1, 0]);
});

Deno.test("sortCandidates() falls back to a comparator above 2^21 tokens", () => {
  const logits = new Float32Array(2 ** 21 + 2);
  logits[2 ** 21 + 1] = 1;
  deepStrictEqual(sorted(logits, [5, 2 ** 21 + 1, 3]), [2 ** 21 + 1, 3, 5]);
});
