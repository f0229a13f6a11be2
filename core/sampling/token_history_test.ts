import { deepStrictEqual, throws } from "node:assert";
import { TokenHistory } from "./token_history.ts";

function countsOf(history: TokenHistory): [number, number][] {
  return [...history.counts].sort((a, b) => a[0] - b[0]);
}

Deno.test("TokenHistory counts only the last windowLength tokens", () => {
  const history = new TokenHistory(3);
  for (const id of [4, 4, 9, 4, 2]) history.push(id);
  deepStrictEqual(history.tokens, [4, 4, 9, 4, 2]);
  deepStrictEqual(countsOf(history), [[2, 1], [4, 1], [9, 1]]);
});

Deno.test("TokenHistory with window 0 counts nothing and -1 counts everything", () => {
  const none = new TokenHistory(0);
  const all = new TokenHistory(-1);
  for (const id of [1, 1, 2]) {
    none.push(id);
    all.push(id);
  }
  deepStrictEqual(countsOf(none), []);
  deepStrictEqual(countsOf(all), [[1, 2], [2, 1]]);
  throws(() => new TokenHistory(-2), RangeError);
});

Deno.test("TokenHistory.clone() is independent and clear() forgets everything", () => {
  const history = new TokenHistory(2);
  history.push(5);
  const copy = history.clone();
  copy.push(6);
  copy.push(6);
  deepStrictEqual(countsOf(history), [[5, 1]]);
  deepStrictEqual(countsOf(copy), [[6, 2]]);
  history.clear();
  deepStrictEqual(history.tokens, []);
  deepStrictEqual(countsOf(history), []);
});
