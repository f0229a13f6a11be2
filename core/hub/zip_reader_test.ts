import { deepStrictEqual, rejects, strictEqual } from "node:assert";
import { join } from "node:path";
import { buildTestZip } from "./_test_zip.ts";
import { openZipEntry, readZipEntries } from "./zip_reader.ts";

/** 3 MiB that deflate well but not trivially, so inflating spans several chunks. */
function _payload(byteLength: number): Uint8Array {
  const bytes = new Uint8Array(byteLength);
  for (let i = 0; i < byteLength; i++) bytes[i] = (i * 31 + (i >> 10)) % 251;
  return bytes;
}

async function _read(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

for (const zip64 of [false, true]) {
  Deno.test(`readZipEntries() and openZipEntry() extract stored and deflated members (zip64: ${zip64})`, async () => {
    const dir = await Deno.makeTempDir();
    const big = _payload(3 << 20);
    const small = new TextEncoder().encode("hello, wheel\n");
    const path = join(dir, "test.whl");
    await Deno.writeFile(
      path,
      await buildTestZip([
        { name: "pkg/__init__.py", data: small, method: 0 },
        { name: "pkg/data/model.gguf", data: big, method: 8 },
        { name: "pkg-1.0.dist-info/RECORD", data: new Uint8Array(), method: 8 },
      ], { zip64 }),
    );
    const entries = await readZipEntries(path);
    deepStrictEqual(
      entries.map((entry) => [entry.name, entry.method, entry.uncompressedSize]),
      [
        ["pkg/__init__.py", 0, small.length],
        ["pkg/data/model.gguf", 8, big.length],
        ["pkg-1.0.dist-info/RECORD", 8, 0],
      ],
    );
    deepStrictEqual(await _read(await openZipEntry(path, entries[0])), small);
    deepStrictEqual(await _read(await openZipEntry(path, entries[1])), big);
    strictEqual((await _read(await openZipEntry(path, entries[2]))).length, 0);
    await Deno.remove(dir, { recursive: true });
  });
}

Deno.test("openZipEntry() fails on a CRC-32 mismatch", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "bad.zip");
  const zip = await buildTestZip([{
    name: "a.txt",
    data: new TextEncoder().encode("abc"),
    method: 0,
  }]);
  zip[30 + "a.txt".length] = "x".charCodeAt(0); // the first data byte: "abc" becomes "xbc"
  await Deno.writeFile(path, zip);
  const [entry] = await readZipEntries(path);
  await rejects(_read(await openZipEntry(path, entry)), {
    name: "PullError",
    message: 'Cannot extract member "a.txt" of zip "bad.zip": CRC-32 is 26d3d93d, the directory ' +
      "says 352441c2",
  });
  await Deno.remove(dir, { recursive: true });
});

Deno.test("readZipEntries() rejects a file that is not a zip", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "plain.txt");
  await Deno.writeTextFile(path, "not a zip at all, just some text");
  await rejects(readZipEntries(path), {
    name: "PullError",
    message: `Cannot read zip "${path}": no end of central directory record`,
  });
  await Deno.remove(dir, { recursive: true });
});

Deno.test("openZipEntry() rejects an unsupported compression method", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "m.zip");
  await Deno.writeFile(
    path,
    await buildTestZip([{ name: "a", data: new Uint8Array(1), method: 0 }]),
  );
  const [entry] = await readZipEntries(path);
  await rejects(openZipEntry(path, { ...entry, method: 12 }), {
    name: "PullError",
    message: 'Cannot extract member "a" of zip "m.zip": compression method 12 is not supported ' +
      "(only 0 stored, 8 deflate)",
  });
  await Deno.remove(dir, { recursive: true });
});
