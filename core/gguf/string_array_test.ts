import { deepStrictEqual, strictEqual, throws } from "node:assert";
import { parseGguf } from "./reader.ts";
import { GgufStringArray } from "./string_array.ts";
import { type GgufArray, GgufValueType } from "./types.ts";
import { writeGguf } from "./writer.ts";

const STRINGS = ["", "a", "Ġthe", "▁漢字", "🦙x", "x".repeat(300) + "é"];

Deno.test("GgufStringArray.fromStrings() keeps units and offsets of every string", () => {
  const array = GgufStringArray.fromStrings(STRINGS);
  strictEqual(array.length, 6);
  strictEqual(array.type, GgufValueType.STRING);
  deepStrictEqual([...array.offsets], [0, 0, 1, 5, 8, 11, 312]);
  deepStrictEqual([...array.units.subarray(8, 11)], [0xd83e, 0xdd99, 0x78]);
  deepStrictEqual(STRINGS.map((_, i) => array.at(i)), STRINGS);
  deepStrictEqual(STRINGS.map((_, i) => array.unitLength(i)), [0, 1, 4, 3, 3, 301]);
  deepStrictEqual(array.values, STRINGS);
  strictEqual(array.at(5), STRINGS[5]);
});

Deno.test("GgufStringArray.indexOf() finds the first equal string by its units", () => {
  const array = GgufStringArray.fromStrings(["ab", "a", "ab", ""]);
  strictEqual(array.indexOf("ab"), 0);
  strictEqual(array.indexOf("a"), 1);
  strictEqual(array.indexOf(""), 3);
  strictEqual(array.indexOf("b"), -1);
  strictEqual(array.indexOf("abc"), -1);
});

Deno.test("GgufStringArray.at() rejects an index outside the array", () => {
  const array = GgufStringArray.fromStrings(["a"]);
  throws(() => array.at(1), { name: "RangeError", message: /string 1 of an array of 1/ });
  throws(() => array.at(-1), RangeError);
  throws(() => new GgufStringArray(new Uint16Array(1), Uint32Array.of(0, 2)), RangeError);
});

Deno.test("parseGguf() reads arrays of strings as GgufStringArray, decoding UTF-8 to units", () => {
  const bytes = writeGguf({
    kvs: [{ key: "s", type: GgufValueType.ARRAY, value: { type: 8, values: STRINGS } }],
    tensors: [],
  });
  const array = parseGguf(bytes).metadata.get("s") as GgufArray;
  strictEqual(array instanceof GgufStringArray, true);
  const strings = array as GgufStringArray;
  deepStrictEqual([...strings.offsets], [0, 0, 1, 5, 8, 11, 312]);
  strictEqual(strings.units.length, 312);
  deepStrictEqual(strings.values, STRINGS);
});

Deno.test("parseGguf() names an element of a string array that is not UTF-8", () => {
  const bytes = writeGguf({
    kvs: [{ key: "s", type: GgufValueType.ARRAY, value: { type: 8, values: ["ok", "é"] } }],
    tensors: [],
  });
  // "é" is C3 A9, the last two bytes; C3 28 is a lead byte without its continuation. The
  // offset is that of the element's length: 24 header + 13 key + 4 type + 12 array + 10 "ok".
  bytes[bytes.length - 1] = 0x28;
  throws(() => parseGguf(bytes, { name: "bad.gguf" }), {
    name: "GgufError",
    message: 'Cannot read GGUF "bad.gguf": element of array "s" at offset 59 is not valid UTF-8',
  });
});
