import { deepStrictEqual, strictEqual } from "node:assert";
import { GgufStringArray } from "../gguf/string_array.ts";
import { TokenTable } from "./token_table.ts";

function _table(texts: string[]): TokenTable {
  return new TokenTable(GgufStringArray.fromStrings(texts));
}

Deno.test("TokenTable.idOf() finds every token of a vocabulary and nothing else", () => {
  // 5000 texts put many of them in probe chains of the 16384-slot table.
  const texts = Array.from({ length: 5000 }, (_, i) => `t${i.toString(36)}`);
  texts.push("", "🦙", "Ġ▁");
  const table = _table(texts);
  strictEqual(table.size, 5003);
  strictEqual(table.duplicate, undefined);
  for (let id = 0; id < texts.length; id++) strictEqual(table.idOf(texts[id]), id, texts[id]);
  for (const absent of ["t", "T0", "t0 ", "🦙🦙", "Ġ"]) strictEqual(table.idOf(absent), undefined);
  strictEqual(table.text(5001), "🦙");
});

Deno.test("TokenTable.idOfRange() and idOfUnits() look a range up without a substring", () => {
  const table = _table(["a", "ab", "b", "▁ab"]);
  strictEqual(table.idOfRange("xaby", 1, 3), 1);
  strictEqual(table.idOfRange("xaby", 1, 2), 0);
  strictEqual(table.idOfRange("xaby", 0, 2), -1);
  strictEqual(table.idOfRange("xaby", 2, 2), -1);
  const units = GgufStringArray.fromStrings(["q▁abq"]).units;
  strictEqual(table.idOfUnits(units, 1, 4), 3);
  strictEqual(table.idOfUnits(units, 2, 3), 0);
  strictEqual(table.idOfUnits(units, 0, 2), -1);
});

Deno.test("TokenTable keeps the first id of a repeated text and reports both ids", () => {
  const table = _table(["a", "b", "a", "b"]);
  deepStrictEqual(table.duplicate, [0, 2]);
  strictEqual(table.idOf("a"), 0);
  strictEqual(table.idOf("b"), 1);
});
