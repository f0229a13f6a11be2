import { deepStrictEqual, strictEqual, throws } from "node:assert";
import { testdataPath } from "../../tests/testdata.ts";
import {
  findF32,
  findU32,
  getBool,
  getF32,
  getF32Array,
  getI32,
  getI32Array,
  getString,
  getStringArray,
  getU32,
  hasKey,
} from "./accessors.ts";
import { parseGguf, readGgufFile } from "./reader.ts";
import { GgufValueType } from "./types.ts";
import { writeGguf } from "./writer.ts";

Deno.test("accessors read stories260K's metadata with their types", async () => {
  const file = await readGgufFile(testdataPath("models/stories260K.gguf"));
  strictEqual(getString(file, "general.architecture"), "llama");
  strictEqual(getU32(file, "llama.block_count"), 5);
  strictEqual(getU32(file, "tokenizer.ggml.padding_token_id"), 0xffffffff);
  strictEqual(getF32(file, "llama.attention.layer_norm_rms_epsilon"), Math.fround(1e-5));
  strictEqual(findF32(file, "llama.rope.freq_base"), undefined);
  strictEqual(findU32(file, "general.file_type"), undefined);
  strictEqual(hasKey(file, "tokenizer.ggml.tokens"), true);
  deepStrictEqual(getStringArray(file, "tokenizer.ggml.tokens").slice(0, 3), [
    "<unk>",
    "<s>",
    "</s>",
  ]);
  const scores = getF32Array(file, "tokenizer.ggml.scores");
  strictEqual(scores.length, 512);
  deepStrictEqual(Array.from(getI32Array(file, "tokenizer.ggml.token_type").slice(0, 4)), [
    2,
    3,
    3,
    6,
  ]);
});

Deno.test("accessors name the key and the expected and stored types", async () => {
  const file = await readGgufFile(testdataPath("models/stories260K.gguf"));
  const prefix = 'Cannot read GGUF "stories260K.gguf": ';
  throws(() => getU32(file, "general.architecture"), {
    name: "GgufError",
    message: `${prefix}key "general.architecture" holds STRING, expected UINT32`,
  });
  throws(() => getI32(file, "tokenizer.ggml.padding_token_id"), {
    message:
      `${prefix}key "tokenizer.ggml.padding_token_id" holds UINT32 4294967295, which does not fit INT32`,
  });
  throws(() => getString(file, "llama.rope.freq_base"), {
    message: `${prefix}key "llama.rope.freq_base" is missing`,
  });
  throws(() => getStringArray(file, "tokenizer.ggml.scores"), {
    message:
      `${prefix}key "tokenizer.ggml.scores" holds an array of FLOAT32, expected an array of STRING`,
  });
  throws(() => getBool(file, "llama.block_count"), {
    message: `${prefix}key "llama.block_count" holds UINT32, expected BOOL`,
  });
});

Deno.test("getU32() accepts other integer types whose value fits", () => {
  const file = parseGguf(
    writeGguf({
      kvs: [
        { key: "a", type: GgufValueType.UINT64, value: 4096n },
        { key: "b", type: GgufValueType.INT32, value: -1 },
        { key: "c", type: GgufValueType.FLOAT32, value: 2 },
      ],
      tensors: [],
    }),
    { name: "t.gguf" },
  );
  strictEqual(getU32(file, "a"), 4096);
  strictEqual(getI32(file, "b"), -1);
  throws(() => getU32(file, "b"), {
    message: 'Cannot read GGUF "t.gguf": key "b" holds INT32 -1, which does not fit UINT32',
  });
  throws(() => getU32(file, "c"), {
    message: 'Cannot read GGUF "t.gguf": key "c" holds FLOAT32, expected UINT32',
  });
  strictEqual(getF32(file, "a"), 4096);
});
