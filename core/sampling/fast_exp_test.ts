import { ok, strictEqual } from "node:assert";
import { expNonPositive } from "./fast_exp.ts";

Deno.test("expNonPositive() is within 1e-8 relative error of Math.exp on [-700, 0]", () => {
  let worst = 0;
  for (let i = 0; i <= 1_400_000; i++) {
    const x = -i / 2000;
    const error = Math.abs(expNonPositive(x) / Math.exp(x) - 1);
    if (error > worst) worst = error;
  }
  ok(worst < 1e-8, `worst relative error ${worst}`);
});

Deno.test("expNonPositive() returns 1 at 0 and 0 at -Infinity and below -708", () => {
  strictEqual(expNonPositive(0), 1);
  strictEqual(expNonPositive(-0), 1);
  strictEqual(expNonPositive(-Infinity), 0);
  strictEqual(expNonPositive(-800), 0);
});
