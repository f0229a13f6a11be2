import { deepStrictEqual, ok, strictEqual } from "node:assert";
import { benchPrompt, median } from "./engine_speed.ts";

Deno.test("benchPrompt() starts with BOS and stays inside the vocabulary", () => {
  const prompt = benchPrompt(512, 1280, 1024);
  strictEqual(prompt[0], 1024);
  ok(prompt.every((id) => id >= 0 && id < 1280));
  ok(new Set(prompt).size > 300);
  deepStrictEqual(benchPrompt(4, 100, undefined), benchPrompt(4, 100, undefined));
});

Deno.test("median() of odd and even counts, NaN when empty", () => {
  deepStrictEqual([median([5]), median([9, 1, 5]), median([1, 2, 3, 10])], [5, 5, 2.5]);
  ok(Number.isNaN(median([])));
});
