import { deepStrictEqual, throws } from "node:assert";
import { applyLogitBias, createLogitBias } from "./logit_bias.ts";

Deno.test("createLogitBias() sorts ids and applyLogitBias() adds each bias", () => {
  const table = createLogitBias({ 3: -Infinity, 0: 1.5, 2: -0.25 });
  deepStrictEqual(Array.from(table.ids), [0, 2, 3]);
  const logits = new Float32Array([1, 1, 1, 1]);
  applyLogitBias(logits, table);
  deepStrictEqual(Array.from(logits), [2.5, 1, 0.75, -Infinity]);
});

Deno.test("createLogitBias() rejects keys that are not token ids and non-finite biases", () => {
  throws(() => createLogitBias({ [-1]: 1 }), {
    name: "RangeError",
    message: 'Cannot use logit bias key "-1": expected a token id',
  });
  throws(() => createLogitBias({ "01": 1 } as unknown as Record<number, number>), RangeError);
  throws(() => createLogitBias({ 1.5: 1 }), RangeError);
  throws(() => createLogitBias({ 2: Infinity }), {
    name: "RangeError",
    message: "Cannot use logit bias Infinity for token 2: expected a finite number or -Infinity",
  });
});
