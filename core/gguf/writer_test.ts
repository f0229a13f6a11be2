import { deepStrictEqual, strictEqual, throws } from "node:assert";
import { readdirSync } from "node:fs";
import { testdataPath, testModelPath } from "../../tests/testdata.ts";
import { parseGguf, readGgufFile } from "./reader.ts";
import { GgmlType, type GgufFile, GgufValueType } from "./types.ts";
import { type GgufWriteInput, layoutGguf, writeGguf, writeGgufFile } from "./writer.ts";

function _sharedGgufPaths(): string[] {
  const paths: string[] = [];
  for (const folder of ["models", "vocab"]) {
    const dir = testdataPath(folder);
    for (const name of readdirSync(dir).sort()) {
      if (name.endsWith(".gguf")) paths.push(`${dir}/${name}`);
    }
  }
  return paths;
}

// The input that reproduces a parsed file, with data as views into `bytes`.
function _inputOf(file: GgufFile, bytes: Uint8Array): GgufWriteInput {
  return {
    version: file.version,
    kvs: file.kvs,
    alignment: file.alignment,
    tensors: file.tensors.map((info) => ({
      info,
      data: bytes.subarray(info.fileOffset, info.fileOffset + info.byteLength),
    })),
  };
}

Deno.test("writeGguf() reproduces every shared test GGUF byte for byte", async () => {
  const paths = _sharedGgufPaths();
  strictEqual(paths.length, 15);
  for (const path of paths) {
    const bytes = await Deno.readFile(path);
    const written = writeGguf(_inputOf(parseGguf(bytes), bytes));
    strictEqual(written.length, bytes.length, path);
    deepStrictEqual(written, bytes, path);
  }
});

Deno.test("layoutGguf() reproduces the layout of the parsed file", async () => {
  const path = testdataPath("models/llama-2-tiny-random.gguf");
  const bytes = await Deno.readFile(path);
  const file = parseGguf(bytes);
  const layout = layoutGguf(_inputOf(file, bytes));
  strictEqual(layout.dataOffset, file.dataOffset);
  strictEqual(layout.fileSize, file.fileSize);
  deepStrictEqual(layout.tensors, file.tensors);
  deepStrictEqual(layout.header, bytes.subarray(0, file.dataOffset));
});

for (const alias of ["smollm2-135m-instruct", "gemma3-270m"] as const) {
  Deno.test(`writeGgufFile() streams ${alias} back byte for byte`, async () => {
    const source = testModelPath(alias);
    const file = await readGgufFile(source);
    const target = await Deno.makeTempFile({ suffix: ".gguf" });
    try {
      using reader = await Deno.open(source);
      await writeGgufFile(target, {
        version: file.version,
        kvs: file.kvs,
        tensors: file.tensors.map((info) => ({
          info,
          data: () => _readRange(reader, info.fileOffset, info.byteLength),
        })),
      });
      await _assertSameFile(target, source);
    } finally {
      await Deno.remove(target);
    }
  });
}

async function _readRange(file: Deno.FsFile, offset: number, byteLength: number) {
  const bytes = new Uint8Array(byteLength);
  await file.seek(offset, Deno.SeekMode.Start);
  for (let filled = 0; filled < byteLength;) {
    const read = await file.read(bytes.subarray(filled));
    if (read === null) throw new Error(`Cannot read ${byteLength} bytes at offset ${offset}`);
    filled += read;
  }
  return bytes;
}

async function _assertSameFile(actualPath: string, expectedPath: string): Promise<void> {
  const size = (await Deno.stat(expectedPath)).size;
  strictEqual((await Deno.stat(actualPath)).size, size);
  using actual = await Deno.open(actualPath);
  using expected = await Deno.open(expectedPath);
  const chunkBytes = 8 << 20;
  for (let offset = 0; offset < size; offset += chunkBytes) {
    const length = Math.min(chunkBytes, size - offset);
    const a = await _readRange(actual, offset, length);
    const b = await _readRange(expected, offset, length);
    const mismatch = a.findIndex((byte, i) => byte !== b[i]);
    strictEqual(mismatch, -1, `first differing byte at ${offset + mismatch}`);
  }
}

Deno.test("writeGguf() rejects values that do not fit their declared type", () => {
  const cases: [GgufWriteInput, string][] = [
    [
      { kvs: [{ key: "n", type: GgufValueType.UINT8, value: 256 }], tensors: [] },
      'Cannot write key "n": value 256 does not fit type UINT8',
    ],
    [
      { kvs: [{ key: "n", type: GgufValueType.UINT64, value: 5 }], tensors: [] },
      'Cannot write key "n": value 5 does not fit type UINT64',
    ],
    [
      {
        kvs: [],
        tensors: [{
          info: { name: "w", dims: [16], type: GgmlType.Q8_0 },
          data: new Uint8Array(0),
        }],
      },
      'Cannot write tensor "w": dims [16] do not fit 1 to 4 positive dimensions with rows a ' +
      "multiple of the Q8_0 block size 32",
    ],
    [
      {
        kvs: [],
        tensors: [{
          info: { name: "w", dims: [32], type: GgmlType.Q8_0 },
          data: new Uint8Array(3),
        }],
      },
      'Cannot write tensor "w": data has 3 bytes, expected 34',
    ],
  ];
  for (const [input, message] of cases) {
    throws(() => writeGguf(input), { name: "TypeError", message });
  }
  throws(() => writeGguf({ kvs: [], tensors: [], alignment: 24 }), {
    name: "RangeError",
    message: "Cannot write GGUF: alignment 24 is not a power of two",
  });
});
