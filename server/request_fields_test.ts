import { deepStrictEqual, strictEqual, throws } from "node:assert";
import { ApiError } from "./api_error.ts";
import { RequestFields } from "./request_fields.ts";

function fails(run: () => unknown, param: string | null, code: string, message: string): void {
  throws(run, (error: unknown) => {
    strictEqual(error instanceof ApiError, true);
    const e = error as ApiError;
    deepStrictEqual([e.status, e.param, e.code, e.message], [400, param, code, message]);
    return true;
  });
}

Deno.test("RequestFields refuses a non-object and unknown fields by their path", () => {
  fails(
    () => new RequestFields([1], ["a"]),
    null,
    "invalid_type",
    "Cannot read the request body: expected a JSON object",
  );
  fails(
    () => new RequestFields("x", ["a"], "messages[1]"),
    "messages[1]",
    "invalid_type",
    `Cannot read "messages[1]": expected a JSON object`,
  );
  fails(
    () => new RequestFields({ a: 1, b: 2 }, ["a"], "stream_options"),
    "stream_options.b",
    "unsupported_parameter",
    `Cannot use field "stream_options.b": it is unknown or not supported`,
  );
});

Deno.test("RequestFields reads typed values; null is absent", () => {
  const fields = new RequestFields({ s: "x", b: true, n: 0.5, i: 3, z: null }, [
    "s",
    "b",
    "n",
    "i",
    "z",
  ]);
  deepStrictEqual(
    [
      fields.string("s"),
      fields.boolean("b"),
      fields.number("n", { min: 0, max: 1 }),
      fields.number("i", { integer: true }),
    ],
    ["x", true, 0.5, 3],
  );
  strictEqual(fields.number("z"), undefined);
  strictEqual(fields.raw("z"), undefined);
  fails(
    () => fields.string("z", true),
    "z",
    "missing_required_parameter",
    `Cannot read the request: field "z" is required`,
  );
  fails(
    () => fields.number("n", { integer: true }),
    "n",
    "invalid_type",
    "Cannot use n 0.5: expected an integer",
  );
  fails(
    () => fields.number("i", { max: 2 }),
    "i",
    "invalid_value",
    "Cannot use i 3: expected a value in [-Infinity, 2]",
  );
  fails(() => fields.boolean("s"), "s", "invalid_type", `Cannot use s "x": expected a boolean`);
  fails(() => fields.string("b"), "b", "invalid_type", "Cannot use b true: expected a string");
});
