import { deepStrictEqual, strictEqual } from "node:assert";
import { writeGgufFile } from "../core/gguf/writer.ts";
import { GgufValueType } from "../core/gguf/types.ts";
import { testdataPath } from "../tests/testdata.ts";
import { main } from "./tokenize.ts";

/** Runs `zeno tokenize` in-process and returns its exit code and printed lines. */
async function _run(args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const { log, error } = console;
  console.log = (...parts: unknown[]) => out.push(parts.join(" "));
  console.error = (...parts: unknown[]) => err.push(parts.join(" "));
  try {
    return { code: await main(args), out, err };
  } finally {
    console.log = log;
    console.error = error;
  }
}

const LLAMA = testdataPath("vocab/ggml-vocab-llama-spm.gguf");

Deno.test("zeno tokenize prints ids with BOS on one line", async () => {
  deepStrictEqual(await _run(["-m", LLAMA, "Hello world"]), {
    code: 0,
    out: ["1 15043 3186"],
    err: [],
  });
});

Deno.test("zeno tokenize --no-bos --special parses </s> and drops BOS", async () => {
  const { code, out } = await _run(["-m", LLAMA, "--no-bos", "--special", "a</s>b"]);
  strictEqual(code, 0);
  deepStrictEqual(out, ["263 2 289"]);
  deepStrictEqual((await _run(["-m", LLAMA, "--no-bos", "a</s>b"])).out, [
    "263 829 29879 29958 29890",
  ]);
});

Deno.test("zeno tokenize --pieces shows id:'piece' pairs, byte tokens by name", async () => {
  const { out } = await _run(["-m", LLAMA, "--pieces", "it's\n😀"]);
  deepStrictEqual(out, [
    "1:'<s>' 372:' it' 29915:'\\'' 29879:'s' 13:'\\n' 243:'<0xF0>' 162:'<0x9F>' 155:'<0x98>' 131:'<0x80>'",
  ]);
});

Deno.test("zeno tokenize reports a missing model, a bad flag and an unsupported vocabulary", async () => {
  deepStrictEqual(await _run(["-m", "missing.gguf", "x"]), {
    code: 1,
    out: [],
    err: [`zeno tokenize: Cannot read model "missing.gguf": the file does not exist`],
  });
  strictEqual((await _run(["x"])).code, 2);
  strictEqual((await _run(["-m", LLAMA, "--bogus", "x"])).code, 2);
  const t5 = await Deno.makeTempFile({ suffix: ".gguf" });
  try {
    await writeGgufFile(t5, {
      kvs: [
        { key: "tokenizer.ggml.model", type: GgufValueType.STRING, value: "t5" },
        {
          key: "tokenizer.ggml.tokens",
          type: GgufValueType.ARRAY,
          value: { type: GgufValueType.STRING, values: ["<pad>", "</s>", "<unk>"] },
        },
      ],
      tensors: [],
    });
    const { code, err } = await _run(["-m", t5, "x"]);
    strictEqual(code, 1);
    strictEqual(
      err[0],
      `zeno tokenize: Cannot create a tokenizer for "${t5}": tokenizer model "t5" is not supported (supported: "llama", "gpt2", "bert")`,
    );
  } finally {
    await Deno.remove(t5);
  }
});

Deno.test("zeno tokenize handles a WordPiece vocabulary", async () => {
  const bert = testdataPath("vocab/ggml-vocab-bert-bge.gguf");
  deepStrictEqual((await _run(["-m", bert, "Hello, world!"])).out, ["101 7592 1010 2088 999 102"]);
});
