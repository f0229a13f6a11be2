import { deepStrictEqual, ok, strictEqual } from "node:assert";
import { testdataPath } from "../tests/testdata.ts";

const CLI = new URL("../cli.ts", import.meta.url).pathname;

async function _zeno(...args: string[]) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

Deno.test("zeno inspect prints stories260K's header, tokenizer and tensor table", async () => {
  const { code, stdout, stderr } = await _zeno("inspect", testdataPath("models/stories260K.gguf"));
  strictEqual(stderr, "");
  strictEqual(code, 0);
  const lines = stdout.split("\n");
  deepStrictEqual(lines.slice(0, 7), [
    "file:         stories260K.gguf",
    "size:         1185376 bytes (1.13 MiB)",
    "GGUF version: 3",
    "alignment:    32 (tensor data at byte 14176)",
    "architecture: llama",
    "name:         llama",
    "file type:    -",
  ]);
  const expectedLines = [
    "hyper-parameters (llama.*):",
    "  context_length:                   2048",
    "  attention.head_count_kv:          4",
    "  attention.layer_norm_rms_epsilon: 0.00001",
    "  head dim (derived):               8",
    "  vocab size:    512",
    '  bos id:        1 "<s>"',
    "  seperator id:  4294967295 (not in the vocabulary)",
    "  chat template: no",
    "  scores:        [512 FLOAT32]",
    "  count:      48 (F32 48)",
    "  parameters: 292800 (0.29 M)",
    "  bytes:      1171200 (1.12 MiB)",
    " #  name                      type  dims       offset   bytes",
    " 0  token_embd.weight         F32   64 x 512        0  131072",
    " 9  blk.0.ffn_down.weight     F32   172 x 64   355840   44032",
    "47  blk.4.ffn_norm.weight     F32   64        1170944     256",
  ];
  for (const line of expectedLines) {
    ok(lines.includes(line), `missing line ${JSON.stringify(line)}`);
  }
  strictEqual(lines.filter((line) => /^\s*\d+ {2}blk\./.test(line)).length, 45);
});

Deno.test("zeno inspect --json prints one JSON document", async () => {
  const path = testdataPath("models/stories260K.gguf");
  const { code, stdout } = await _zeno("inspect", path, "--json");
  strictEqual(code, 0);
  const summary = JSON.parse(stdout);
  strictEqual(summary.file, "stories260K.gguf");
  strictEqual(summary.fileSize, 1185376);
  strictEqual(summary.version, 3);
  strictEqual(summary.architecture, "llama");
  strictEqual(summary.fileType, null);
  strictEqual(summary.headDim, 8);
  strictEqual(summary.hyperParameters["block_count"], 5);
  strictEqual(summary.hyperParameters["attention.layer_norm_rms_epsilon"], 1e-5);
  deepStrictEqual(summary.tokenizer, {
    model: "llama",
    pre: null,
    vocabSize: 512,
    mergeCount: 0,
    specialTokens: {
      unknown: { id: 0, text: "<unk>" },
      bos: { id: 1, text: "<s>" },
      eos: { id: 2, text: "</s>" },
      seperator: { id: 4294967295, text: null },
      padding: { id: 4294967295, text: null },
    },
    hasChatTemplate: false,
  });
  deepStrictEqual(summary.metadata["tokenizer.ggml.tokens"], { arrayOf: "STRING", length: 512 });
  deepStrictEqual(summary.tensorCountByType, { F32: 48 });
  strictEqual(summary.tensorCount, 48);
  strictEqual(summary.parameterCount, 292800);
  strictEqual(summary.tensorBytes, 1171200);
  deepStrictEqual(summary.tensors[2], {
    name: "output.weight",
    type: "F32",
    dims: [64, 512],
    offset: 131328,
    byteLength: 131072,
  });
});

Deno.test("zeno inspect reports unreadable files on stderr with exit code 1", async () => {
  const source = await Deno.readFile(testdataPath("models/stories260K.gguf"));
  const truncated = await Deno.makeTempFile({ suffix: ".gguf" });
  try {
    await Deno.writeFile(truncated, source.subarray(0, 11360));
    const broken = await _zeno("inspect", truncated);
    strictEqual(broken.code, 1);
    strictEqual(broken.stdout, "");
    const name = truncated.split("/").at(-1);
    strictEqual(
      broken.stderr,
      `zeno inspect: Cannot read GGUF "${name}": name of tensor #0 at offset 11355 needs 17 ` +
        "bytes, but the file ends at byte 11360\n",
    );
  } finally {
    await Deno.remove(truncated);
  }
  const missing = await _zeno("inspect", "/nonexistent/model.gguf");
  strictEqual(missing.code, 1);
  strictEqual(
    missing.stderr,
    'zeno inspect: Cannot open "/nonexistent/model.gguf": the file does not exist\n',
  );
  strictEqual((await _zeno("inspect")).code, 2);
});
