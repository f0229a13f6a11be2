import { ok, strictEqual } from "node:assert";
import { drawIndex, softmaxWithTemperature } from "./temperature.ts";

Deno.test("softmaxWithTemperature() normalizes exp(logit / T) over the candidates", () => {
  const logits = new Float32Array([2, 0, 1]);
  const probabilities = new Float64Array(2);
  softmaxWithTemperature(Int32Array.from([2, 0]), 2, logits, 0.5, probabilities);
  // exp(1 / 0.5) : exp(2 / 0.5) = e^2 : e^4
  const expected = Math.exp(2) / (Math.exp(2) + Math.exp(4));
  ok(Math.abs(probabilities[0] - expected) < 1e-9, `got ${probabilities[0]}`);
  ok(Math.abs(probabilities[0] + probabilities[1] - 1) < 1e-15);
});

Deno.test("drawIndex() inverts the cumulative distribution and skips zero mass", () => {
  const probabilities = Float64Array.from([0, 0.25, 0.5, 0.25, 0]);
  strictEqual(drawIndex(probabilities, 5, 0), 1);
  strictEqual(drawIndex(probabilities, 5, 0.2499), 1);
  strictEqual(drawIndex(probabilities, 5, 0.25), 2);
  strictEqual(drawIndex(probabilities, 5, 0.75), 3);
  strictEqual(drawIndex(probabilities, 5, 0.9999999999), 3);
  strictEqual(drawIndex(Float64Array.from([0.5, 0.4999999, 0]), 3, 0.99999999), 1);
});
