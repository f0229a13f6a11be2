import { strictEqual } from "node:assert";
import { minPFloor, truncateMinP } from "./min_p.ts";

Deno.test("minPFloor() is max + ln(p), or -Infinity when min-p is off", () => {
  strictEqual(minPFloor(3, 0.5), 3 + Math.log(0.5));
  strictEqual(minPFloor(3, 0), -Infinity);
  strictEqual(minPFloor(3, 1), 3);
});

Deno.test("truncateMinP() cuts sorted candidates below p times the top probability", () => {
  // Probabilities 0.6, 0.25, 0.1, 0.05; p = 0.15 keeps probability >= 0.09.
  const logits = Float32Array.from([0.6, 0.25, 0.1, 0.05], Math.log);
  const ids = Int32Array.from([0, 1, 2, 3]);
  strictEqual(truncateMinP(ids, 4, logits, minPFloor(logits[0], 0.15)), 3);
  strictEqual(truncateMinP(ids, 4, logits, minPFloor(logits[0], 0.5)), 1);
  strictEqual(truncateMinP(ids, 4, logits, minPFloor(logits[0], 0)), 4);
});
