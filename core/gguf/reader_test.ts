import { deepStrictEqual, strictEqual, throws } from "node:assert";
import { GgufError } from "../errors.ts";
import { testdataPath } from "../../tests/testdata.ts";
import { parseGguf, readGgufFile } from "./reader.ts";
import { GgufStringArray } from "./string_array.ts";
import { GgmlType, type GgufArray, type GgufKv, type GgufValue, GgufValueType } from "./types.ts";
import { writeGguf } from "./writer.ts";

const STORIES = "models/stories260K.gguf";

Deno.test("readGgufFile() reads the stories260K header", async () => {
  const file = await readGgufFile(testdataPath(STORIES));
  strictEqual(file.name, "stories260K.gguf");
  strictEqual(file.version, 3);
  strictEqual(file.fileSize, 1185376);
  strictEqual(file.alignment, 32);
  strictEqual(file.dataOffset, 14176);
  strictEqual(file.kvs.length, 19);
  strictEqual(file.tensors.length, 48);
  strictEqual(file.metadata.get("general.architecture"), "llama");
  strictEqual(file.metadata.get("llama.embedding_length"), 64);
  strictEqual(file.metadata.get("llama.attention.head_count_kv"), 4);
  strictEqual(file.metadata.get("tokenizer.ggml.seperator_token_id"), 0xffffffff);
  strictEqual(file.metadata.get("llama.attention.layer_norm_rms_epsilon"), Math.fround(1e-5));
  const tokens = file.metadata.get("tokenizer.ggml.tokens") as GgufArray;
  strictEqual(tokens.type, GgufValueType.STRING);
  deepStrictEqual(tokens.values.slice(0, 4), ["<unk>", "<s>", "</s>", "<0x00>"]);
  strictEqual(tokens.values.length, 512);
  deepStrictEqual(file.tensors[0], {
    name: "token_embd.weight",
    dims: [64, 512],
    type: GgmlType.F32,
    offset: 0,
    byteLength: 131072,
    fileOffset: 14176,
  });
  deepStrictEqual(file.tensors[4], {
    name: "blk.0.attn_k.weight",
    dims: [64, 32],
    type: GgmlType.F32,
    offset: 278784,
    byteLength: 8192,
    fileOffset: 292960,
  });
  const last = file.tensors.at(-1)!;
  strictEqual(last.fileOffset + last.byteLength, file.fileSize);
});

Deno.test("parseGguf() and readGgufFile() agree on stories260K", async () => {
  const path = testdataPath(STORIES);
  const fromBytes = parseGguf(await Deno.readFile(path), { name: "stories260K.gguf" });
  deepStrictEqual(fromBytes, await readGgufFile(path));
});

Deno.test("readGgufFile() reads a vocab-only file that ends after its metadata", async () => {
  const file = await readGgufFile(testdataPath("vocab/ggml-vocab-llama-spm.gguf"));
  strictEqual(file.tensors.length, 0);
  strictEqual(file.fileSize, 723869);
  strictEqual(file.dataOffset, 723872);
  strictEqual(file.metadata.get("tokenizer.ggml.model"), "llama");
  strictEqual((file.metadata.get("tokenizer.ggml.tokens") as GgufArray).values.length, 32000);
});

Deno.test("readGgufFile() keeps a key repeated with the same value (ggml-vocab-dbrx)", async () => {
  const file = await readGgufFile(testdataPath("vocab/ggml-vocab-dbrx.gguf"));
  strictEqual(file.kvs.length, 25);
  strictEqual(file.metadata.size, 24);
  strictEqual(file.kvs.filter((kv) => kv.key === "general.file_type").length, 2);
  strictEqual(file.metadata.get("general.file_type"), 1);
});

const ALL_TYPES: GgufKv[] = [
  { key: "u8", type: GgufValueType.UINT8, value: 255 },
  { key: "i8", type: GgufValueType.INT8, value: -128 },
  { key: "u16", type: GgufValueType.UINT16, value: 65535 },
  { key: "i16", type: GgufValueType.INT16, value: -32768 },
  { key: "u32", type: GgufValueType.UINT32, value: 4294967295 },
  { key: "i32", type: GgufValueType.INT32, value: -2147483648 },
  { key: "f32", type: GgufValueType.FLOAT32, value: 0.5 },
  { key: "bool", type: GgufValueType.BOOL, value: true },
  { key: "string", type: GgufValueType.STRING, value: "\ufeffhé ▁漢字 🦙\0" },
  { key: "u64", type: GgufValueType.UINT64, value: 18446744073709551615n },
  { key: "i64", type: GgufValueType.INT64, value: -9223372036854775808n },
  { key: "f64", type: GgufValueType.FLOAT64, value: -1e300 },
  {
    key: "nested",
    type: GgufValueType.ARRAY,
    value: {
      type: GgufValueType.ARRAY,
      values: [
        { type: GgufValueType.STRING, values: ["a", "", "ü"] },
        { type: GgufValueType.STRING, values: [] },
        { type: GgufValueType.INT64, values: [1n, -2n] },
      ],
    },
  },
  {
    key: "bools",
    type: GgufValueType.ARRAY,
    value: { type: GgufValueType.BOOL, values: [false, true] },
  },
];

// String arrays come back as GgufStringArray; compare them as the plain arrays written.
function _plainKv(kv: GgufKv): GgufKv {
  return { ...kv, value: _plainValue(kv.value) };
}

function _plainValue(value: GgufValue): GgufValue {
  if (typeof value !== "object") return value;
  return { type: value.type, values: value.values.map(_plainValue) };
}

Deno.test("parseGguf() decodes every value type, including nested arrays and 64-bit integers", () => {
  for (const version of [2, 3] as const) {
    const bytes = writeGguf({ version, kvs: ALL_TYPES, tensors: [] });
    const file = parseGguf(bytes);
    strictEqual(file.version, version);
    deepStrictEqual(file.kvs.map(_plainKv), ALL_TYPES);
    const nested = (file.metadata.get("nested") as GgufArray).values as GgufArray[];
    strictEqual(nested[0] instanceof GgufStringArray, true);
    deepStrictEqual([...(nested[0] as GgufStringArray).offsets], [0, 1, 1, 2]);
    strictEqual(file.metadata.get("u64"), 18446744073709551615n);
  }
});

Deno.test("parseGguf() places tensors at aligned offsets after the table", () => {
  const data = new Uint8Array(18 * 2).fill(7);
  const bytes = writeGguf({
    kvs: [{ key: "general.alignment", type: GgufValueType.UINT32, value: 64 }],
    tensors: [
      { info: { name: "a", dims: [3], type: GgmlType.F32 }, data: new Uint8Array(12) },
      { info: { name: "b", dims: [32, 2], type: GgmlType.Q4_0 }, data },
    ],
  });
  const file = parseGguf(bytes, { name: "aligned.gguf" });
  strictEqual(file.alignment, 64);
  strictEqual(file.dataOffset, 192);
  deepStrictEqual(file.tensors.map((t) => [t.offset, t.byteLength, t.fileOffset]), [
    [0, 12, 192],
    [64, 36, 256],
  ]);
  strictEqual(bytes.length, 192 + 128);
  deepStrictEqual(bytes.subarray(256, 256 + 36), data);
});

Deno.test("parseGguf() names the file, offset and expectation in errors", () => {
  const good = writeGguf({ kvs: ALL_TYPES, tensors: [] });
  const cases: [string, Uint8Array, string][] = [
    ["empty", new Uint8Array(0), "magic at offset 0 needs 4 bytes, but the file ends at byte 0"],
    [
      "ggml magic",
      new Uint8Array([0x67, 0x67, 0x6d, 0x6c, 3, 0, 0, 0]),
      'expected magic "GGUF" (47 47 55 46) at offset 0, found 67 67 6d 6c',
    ],
    ["v1", _withU32(good, 4, 1), "version 1 at offset 4 is not 2 or 3 (GGUF v1 is not supported)"],
    ["v4", _withU32(good, 4, 4), "version 4 at offset 4 is not 2 or 3"],
    [
      "big-endian",
      _withU32(good, 4, 0x03000000),
      "version 50331648 at offset 4 is not 2 or 3, and big-endian files are not supported",
    ],
  ];
  for (const [label, bytes, detail] of cases) {
    throws(() => parseGguf(bytes, { name: "x.gguf" }), {
      name: "GgufError",
      message: `Cannot read GGUF "x.gguf": ${detail}`,
    }, label);
  }
  throws(() => parseGguf(new Uint8Array(3)), GgufError);
});

function _withU32(bytes: Uint8Array, offset: number, value: number): Uint8Array {
  const copy = bytes.slice();
  new DataView(copy.buffer).setUint32(offset, value, true);
  return copy;
}

Deno.test("parseGguf() reads a header held in shared memory", () => {
  const template = "{% for m in messages %}ü{{ m.content }}{% endfor %}".repeat(10);
  const bytes = writeGguf({
    kvs: [{ key: "tokenizer.chat_template", type: GgufValueType.STRING, value: template }],
    tensors: [],
  });
  const shared = new Uint8Array(new SharedArrayBuffer(bytes.length));
  shared.set(bytes);
  strictEqual(parseGguf(shared).metadata.get("tokenizer.chat_template"), template);
});
