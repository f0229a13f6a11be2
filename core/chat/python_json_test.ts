import { strictEqual } from "node:assert";
import { pythonJson } from "./python_json.ts";

Deno.test("pythonJson() spaces like json.dumps and drops undefined fields", () => {
  strictEqual(
    pythonJson({ a: [1, 2.5, "é\n"], b: { c: null, d: true }, e: undefined, f: [] }),
    '{"a": [1, 2.5, "é\\n"], "b": {"c": null, "d": true}, "f": []}',
  );
  strictEqual(pythonJson({ a: [1] }, 2), '{\n  "a": [\n    1\n  ]\n}');
});
