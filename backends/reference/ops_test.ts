import { deepStrictEqual, throws } from "node:assert";
import {
  add,
  geglu,
  gelu,
  mul,
  rmsNorm,
  scale,
  silu,
  softmax,
  swiglu,
  tanhSoftcap,
} from "./ops.ts";

const f = Math.fround;

function run(op: (out: Float32Array, x: Float32Array) => void, values: number[]): number[] {
  const out = new Float32Array(values.length);
  op(out, new Float32Array(values));
  return [...out];
}

Deno.test("add() broadcasts a row over every row and adds same-size tensors elementwise", () => {
  const out = new Float32Array(6);
  add(out, new Float32Array([1, 2, 3, 4, 5, 6]), new Float32Array([10, 20, 30]));
  deepStrictEqual([...out], [11, 22, 33, 14, 25, 36]);
  add(out, out, new Float32Array([1, 1, 1, 1, 1, -36]));
  deepStrictEqual([...out], [12, 23, 34, 15, 26, 0]);
  throws(() => add(out, out, new Float32Array(4)), {
    name: "TypeError",
    message: "Cannot apply add: 4 values do not broadcast over 6",
  });
});

Deno.test("mul() scales each row by a weight row", () => {
  const out = new Float32Array(4);
  mul(out, new Float32Array([1, 2, 3, 4]), new Float32Array([0.5, -2]));
  deepStrictEqual([...out], [0.5, -4, 1.5, -8]);
});

Deno.test("scale() multiplies by a constant and rounds to F32", () => {
  deepStrictEqual(run((o, x) => scale(o, x, 0.1), [1, 3]), [f(0.1), f(f(3) * 0.1)]);
});

Deno.test("silu() is x·sigmoid(x)", () => {
  // sigmoid(1) = 0.7310585786300049, sigmoid(-1) = 0.2689414213699951
  deepStrictEqual(run(silu, [0, 1, -1, -1000]), [
    0,
    f(0.7310585786300049),
    f(-0.2689414213699951),
    -0,
  ]);
});

Deno.test("gelu() uses the tanh approximation", () => {
  // 0.5·x·(1 + tanh(0.7978845608028654·x·(1 + 0.044715·x²))) at x = 1, -1, 3
  deepStrictEqual(run(gelu, [0, 1, -1, 3]), [
    0,
    f(0.8411919906082768),
    f(-0.15880800939172324),
    f(2.996362607918227),
  ]);
});

Deno.test("swiglu() and geglu() gate the up projection", () => {
  const out = new Float32Array(2);
  swiglu(out, new Float32Array([1, -1]), new Float32Array([2, 3]));
  deepStrictEqual([...out], [f(f(0.7310585786300049) * 2), f(f(-0.2689414213699951) * 3)]);
  geglu(out, new Float32Array([1, 0]), new Float32Array([2, 3]));
  deepStrictEqual([...out], [f(f(0.8411919906082768) * 2), 0]);
});

Deno.test("softmax() normalizes each row after subtracting its maximum", () => {
  const out = new Float32Array(4);
  softmax(out, new Float32Array([0, Math.log(3), 1e30, -Infinity]), 2);
  deepStrictEqual([...out], [0.25, 0.75, 1, 0]);
  const wide = new Float32Array(3);
  softmax(wide, new Float32Array([-1e4, -1e4, -1e4]), 3);
  deepStrictEqual([...wide], [f(1 / 3), f(1 / 3), f(1 / 3)]);
  throws(() => softmax(out, new Float32Array(4), 3), {
    name: "TypeError",
    message: "Cannot apply softmax: 4 values are not whole rows of 3",
  });
});

Deno.test("tanhSoftcap() bounds values by the cap", () => {
  // 2·tanh(1) = 1.5231883119115296
  deepStrictEqual(run((o, x) => tanhSoftcap(o, x, 2), [0, 2, -2, 1e6]), [
    0,
    f(1.5231883119115296),
    f(-1.5231883119115296),
    2,
  ]);
  throws(() => tanhSoftcap(new Float32Array(1), new Float32Array(1), 0), {
    name: "RangeError",
    message: "Cannot soft-cap with cap 0: it must be positive",
  });
});

Deno.test("rmsNorm() divides each row by its root mean square plus eps, then applies the weight", () => {
  const out = new Float32Array(4);
  // row 0: mean(9, 16) = 12.5, + eps 3.5 = 16 → ×0.25; row 1: mean(4, 4) = 4 + 3.5 → 1/√7.5
  rmsNorm(out, new Float32Array([3, -4, 2, 2]), new Float32Array([2, 1]), 2, 3.5);
  const factor = f(1 / Math.sqrt(7.5));
  deepStrictEqual([...out], [1.5, -1, f(f(2 * factor) * 2), f(2 * factor)]);
  rmsNorm(out, new Float32Array([2, 2, 0, 0]), null, 2, 0);
  deepStrictEqual([...out.subarray(0, 2)], [1, 1]);
  throws(() => rmsNorm(out, new Float32Array(4), new Float32Array(3), 2, 0), {
    name: "TypeError",
    message: "Cannot apply rmsNorm: the weight has 3 values for rows of 2",
  });
});
