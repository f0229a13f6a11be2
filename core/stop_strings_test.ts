import { deepStrictEqual } from "node:assert";
import { StopStringMatcher } from "./stop_strings.ts";

Deno.test("StopStringMatcher holds back a possible stop prefix and drops the stop", () => {
  const m = new StopStringMatcher(["\nUser:"]);
  deepStrictEqual(m.push("Hello"), { emit: "Hello", stopped: false });
  deepStrictEqual(m.push(" there\nUs"), { emit: " there", stopped: false });
  deepStrictEqual(m.push("er: next"), { emit: "", stopped: true });
});

Deno.test("StopStringMatcher releases held text when it stops matching", () => {
  const m = new StopStringMatcher(["END"]);
  deepStrictEqual(m.push("aEN"), { emit: "a", stopped: false });
  deepStrictEqual(m.push("x"), { emit: "ENx", stopped: false });
  deepStrictEqual(m.push("E"), { emit: "", stopped: false });
  deepStrictEqual(m.flush(), "E");
});

Deno.test("StopStringMatcher stops at the earliest of several stops", () => {
  const m = new StopStringMatcher(["bb", "a"]);
  deepStrictEqual(m.push("xbbya"), { emit: "x", stopped: true });
});

Deno.test("StopStringMatcher with no stops emits everything", () => {
  const m = new StopStringMatcher(["", ""]);
  deepStrictEqual(m.push("abc"), { emit: "abc", stopped: false });
});
