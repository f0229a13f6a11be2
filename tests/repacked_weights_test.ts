/**
 * Weights repacked at load (the native backend interleaves Q4_0/Q4_1/Q5_0/Q5_1/Q8_0 matrices
 * four rows at a time, and Q4_K, Q5_K and Q6_K sixteen at a time where the library has VNNI,
 * zig/src/quant/layout.zig): which matrices are copied, that logits are bit-identical to
 * reading the file in place, and that the copied ranges leave the process's pages of the
 * mapping (the copy replaces them in memory instead of adding to them).
 */

import { deepStrictEqual, ok, strictEqual } from "node:assert";
import "../backends/mod.ts";
import { createNativeBackend } from "../backends/native/mod.ts";
import { ggmlByteLength } from "../core/gguf/ggml_types.ts";
import { GgmlType } from "../core/gguf/types.ts";
import { loadModel, type Model } from "../core/model.ts";
import { testModelPath } from "./testdata.ts";

const LEGACY_TYPES = new Set([
  GgmlType.Q4_0,
  GgmlType.Q4_1,
  GgmlType.Q5_0,
  GgmlType.Q5_1,
  GgmlType.Q8_0,
]);
const MATRIX_NAME = /^blk\.\d+\.(attn_(q|k|v|output)|ffn_(gate|up|down))\.weight$/;

/**
 * Bytes of the matrices the native backend should copy: legacy types with rows a multiple of
 * 4; Q4_K, Q5_K and Q6_K with rows a multiple of 16 on the AVX-512 library (their kernels need
 * VNNI).
 */
function expectedRepackedBytes(model: Model): number {
  const tensors = model.gguf.tensors;
  const tied = !tensors.some((t) => t.name === "output.weight");
  const kQuantGrouped = model.backend.device.name.endsWith("avx512");
  let bytes = 0;
  for (const t of tensors) {
    const matrix = MATRIX_NAME.test(t.name) || t.name === "output.weight" ||
      (tied && t.name === "token_embd.weight");
    const legacy = LEGACY_TYPES.has(t.type) && t.dims[1] % 4 === 0;
    const kQuant = t.type === GgmlType.Q4_K || t.type === GgmlType.Q5_K ||
      t.type === GgmlType.Q6_K;
    const grouped = kQuantGrouped && kQuant && t.dims[1] % 16 === 0;
    if (matrix && (legacy || grouped)) bytes += t.byteLength;
  }
  return bytes;
}

/** Logits of a 12-token prefill and 6 greedy decode steps, concatenated. */
function run(model: Model): Float32Array[] {
  const engine = model.createEngine({ contextSize: 64 });
  const prompt = [1, 504, 3458, 314, 253, 1345, 28, 2053, 1053, 30, 549, 2];
  const out: Float32Array[] = [];
  let logits = engine.evalSync({ tokens: prompt, positions: prompt.map((_, i) => i) });
  for (let step = 0; step < 6; step++) {
    out.push(logits.slice());
    let best = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
    logits = engine.evalSync({ tokens: [best], positions: [prompt.length + step] });
  }
  engine.dispose();
  return out;
}

/** Resident bytes of this process's mappings of `path` but `others` (/proc/self/smaps). */
function mappedRssBytes(path: string, others: ReadonlySet<string>): number {
  const smaps = Deno.readTextFileSync("/proc/self/smaps").split("\n");
  let inFile = false;
  let kib = 0;
  for (const line of smaps) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) {
      inFile = line.endsWith(path) && !others.has(line.split(" ")[0]);
    } else if (inFile && line.startsWith("Rss:")) kib += Number(line.split(/\s+/)[1]);
  }
  return kib * 1024;
}

/**
 * The address ranges at which `path` is mapped now: mappings an earlier test in this process
 * left for the garbage collector to release, which `mappedRssBytes` must not count.
 */
function mappingsOf(path: string): Set<string> {
  const lines = Deno.readTextFileSync("/proc/self/maps").split("\n");
  return new Set(lines.filter((line) => line.endsWith(path)).map((line) => line.split(" ")[0]));
}

/** Bytes of file range [begin, end) of `path` mapped into this process's pages (pagemap). */
function residentFileBytes(path: string, begin: number, end: number): number {
  const pageBytes = 4096;
  const pagemap = Deno.openSync("/proc/self/pagemap");
  let pages = 0;
  try {
    for (const line of Deno.readTextFileSync("/proc/self/maps").split("\n")) {
      if (!line.endsWith(path)) continue;
      const [range, , offsetHex] = line.split(/\s+/);
      const [low, high] = range.split("-").map((hex) => parseInt(hex, 16));
      const mapOffset = parseInt(offsetHex, 16);
      // Addresses pass 2^32: page arithmetic in doubles, not 32-bit bitwise operators.
      const first = Math.floor(Math.max(low, low + begin - mapOffset) / pageBytes) * pageBytes;
      const last = Math.min(high, low + end - mapOffset);
      if (last <= first) continue;
      // One u64 per virtual page; bit 63: present in RAM.
      const entries = new Uint8Array(Math.ceil((last - first) / pageBytes) * 8);
      pagemap.seekSync((first / pageBytes) * 8, Deno.SeekMode.Start);
      for (let read = 0; read < entries.length;) read += pagemap.readSync(entries.subarray(read))!;
      const view = new DataView(entries.buffer);
      for (let i = 0; i < entries.length; i += 8) pages += view.getUint8(i + 7) >> 7;
    }
  } finally {
    pagemap.close();
  }
  return pages * pageBytes;
}

Deno.test("native backend: a tied embedding is gathered from its copy, not the file", async () => {
  const path = await Deno.realPath(testModelPath("smollm2-135m-instruct"));
  const model = await loadModel(path, { backend: "native", threads: 2 });
  try {
    const embd = model.gguf.tensors.find((t) => t.name === "token_embd.weight")!;
    strictEqual(embd.type, GgmlType.Q8_0); // tied: the vocabulary projection's copy
    const engine = model.createEngine({ contextSize: 512 });
    // 256 tokens spread over the whole vocabulary: read from the file, each row would map at
    // least its own 4 KiB page (1 MiB in all; ~64 KiB each with the pages faulted around it).
    const tokens = Array.from({ length: 256 }, (_, i) => (i * 191 + 7) % model.hparams.nVocab);
    engine.evalSync({ tokens, positions: tokens.map((_, i) => i) });
    const resident = residentFileBytes(path, embd.fileOffset, embd.fileOffset + embd.byteLength);
    // At most the pages the matrix shares with its neighbours in the file (read in place).
    ok(resident <= 64 << 10, `${resident} bytes of token_embd's file range resident`);
  } finally {
    model.dispose();
  }
});

for (const alias of ["smollm2-135m-instruct", "gemma3-270m"] as const) {
  Deno.test(`native backend: ${alias}'s matrices repacked, logits bit-identical to in place`, async () => {
    const path = await Deno.realPath(testModelPath(alias));
    const inPlace = await loadModel(path, { backend: "native", threads: 2, repackWeights: false });
    const repacked = await loadModel(path, { backend: "native", threads: 2 });
    try {
      const want = run(inPlace);
      strictEqual(inPlace.weights.repackedBytes, 0);
      const got = run(repacked);
      const expected = expectedRepackedBytes(repacked);
      console.log(`${alias}: ${(expected / 2 ** 20).toFixed(1)} MiB of matrices repacked`);
      strictEqual(repacked.weights.repackedBytes, expected);
      deepStrictEqual(got, want);
    } finally {
      repacked.dispose();
      inPlace.dispose();
    }
  });
}

Deno.test("native backend: repacked ranges of the file leave the process's pages", async () => {
  const path = await Deno.realPath(testModelPath("smollm2-135m-instruct"));
  const others = mappingsOf(path);
  const model = await loadModel(path, { backend: "native", threads: 2 });
  try {
    const fileBytes = model.gguf.tensors.reduce((sum, t) => sum + t.byteLength, 0);
    const engine = model.createEngine({ contextSize: 64 });
    // The graphs are built (the matrices repacked, the norms copied) before anything is
    // computed, and the header was released after parsing: nothing is read in place.
    strictEqual(fileBytes - model.weights.repackedBytes - model.weights.copiedBytes, 0);
    // At most one fault-around window (the header's last page: measured 4 KiB).
    const boundBytes = 64 << 10;
    const afterCopy = mappedRssBytes(path, others);
    ok(afterCopy <= boundBytes, `${afterCopy} bytes resident after the copy`);
    engine.evalSync({ tokens: [1, 2, 3], positions: [0, 1, 2] });
    // Also where the page cache holds large folios, which one read of a norm would map whole:
    // before the norms were copied, this eval brought 23-65 MB of the file back.
    const afterEval = mappedRssBytes(path, others);
    ok(afterEval <= boundBytes, `${afterEval} bytes resident after an eval`);
  } finally {
    model.dispose();
  }
});

Deno.test("native backend: a matrix repacked 64 rows at a time equals its whole copy", () => {
  const backend = createNativeBackend({ threads: 1 });
  try {
    const rows = 256;
    const sliceRows = 64;
    let tested = 0;
    for (const type of [...LEGACY_TYPES, GgmlType.Q4_K, GgmlType.Q6_K]) {
      const rowLength = 512;
      const layout = backend.matrixLayout!(type, [rowLength, rows]);
      if (layout === undefined) continue; // this library reads the type in place
      strictEqual(backend.matrixLayout!(type, [rowLength, sliceRows]), layout);
      const byteLength = ggmlByteLength(type, rowLength) * rows;
      const bytes = new Uint8Array(byteLength);
      for (let i = 0; i < byteLength; i++) bytes[i] = (i * 2654435761) >>> 24;
      const file = backend.wrapModel({ path: "random", bytes });
      const source = { name: "m", type, buffer: file, offset: 0 };
      const whole = backend.allocate(byteLength, "whole");
      backend.repackMatrix!({ ...source, shape: [rowLength, rows], byteLength }, layout, whole, 0);
      const sliced = backend.allocate(byteLength, "sliced");
      const sliceBytes = byteLength / (rows / sliceRows);
      for (let offset = 0; offset < byteLength; offset += sliceBytes) {
        const slice = { ...source, offset, shape: [rowLength, sliceRows], byteLength: sliceBytes };
        backend.repackMatrix!(slice, layout, sliced, offset);
      }
      ok(whole.host().some((b) => b !== 0), `type ${type}: the copy is written`);
      deepStrictEqual(sliced.host(), whole.host(), `type ${type}, layout ${layout}`);
      tested++;
    }
    ok(tested >= LEGACY_TYPES.size - 1, `${tested} types repacked`); // every library: rows4
  } finally {
    backend.dispose();
  }
});
