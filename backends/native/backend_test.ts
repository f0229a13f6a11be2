import { deepStrictEqual, ok, rejects, strictEqual, throws } from "node:assert";
import { NativeLibraryError } from "../../core/errors.ts";
import { GgmlType } from "../../core/gguf/types.ts";
import { F32, GraphBuilder, I32, Op } from "../../core/graph.ts";
import { ggmlByteLength } from "../../core/gguf/ggml_types.ts";
import { testdataPath } from "../../tests/testdata.ts";
import { loadModel } from "../../core/model.ts";
import { createNativeBackend } from "./backend.ts";
import { loadNativeLibrary } from "./library.ts";
import { mapFile } from "./mapped_file.ts";
import { NativeStatusError } from "./status.ts";

function f32Bytes(values: number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

Deno.test("createNativeBackend() names the CPU variant and its thread count", () => {
  const backend = createNativeBackend({ threads: 3 });
  try {
    strictEqual(backend.device.name, `cpu-${Deno.build.arch}-${loadNativeLibrary().variant}`);
    strictEqual(backend.device.threads, 3);
    ok(backend.device.memoryBytes > 0);
  } finally {
    backend.dispose();
  }
  const defaults = createNativeBackend();
  strictEqual(defaults.device.threads, navigator.hardwareConcurrency);
  defaults.dispose();
  throws(() => createNativeBackend({ threads: 1000 }), RangeError);
});

Deno.test("allocate() gives zeroed native memory that host(), write() and read() share", () => {
  const backend = createNativeBackend({ threads: 1 });
  try {
    const buffer = backend.allocate(100, "scratch");
    strictEqual(buffer.byteLength, 100);
    const host = buffer.host();
    deepStrictEqual([...host], new Array(100).fill(0));
    const address = Deno.UnsafePointer.value(Deno.UnsafePointer.of(host));
    strictEqual(BigInt(address) % 64n, 0n);
    backend.write(buffer, 10, new Uint8Array([1, 2, 3]));
    strictEqual(host[11], 2); // the same memory, not a copy
    host[50] = 7;
    deepStrictEqual([...backend.read(buffer, 49, 3)], [0, 7, 0]);
    throws(() => backend.write(buffer, 99, new Uint8Array(2)), RangeError);
    throws(() => backend.read(buffer, -1, 2), RangeError);
    strictEqual(backend.allocate(0, "empty").host().byteLength, 0);
  } finally {
    backend.dispose();
  }
});

Deno.test("wrapModel() uses the mapped file's bytes, not a copy", () => {
  const file = mapFile(testdataPath("models/stories260K.gguf"));
  const backend = createNativeBackend({ threads: 1 });
  try {
    const buffer = backend.wrapModel(file);
    strictEqual(buffer.byteLength, file.byteLength);
    strictEqual(buffer.host(), file.bytes);
    deepStrictEqual([...backend.read(buffer, 0, 4)], [0x47, 0x47, 0x55, 0x46]); // "GGUF"
  } finally {
    backend.dispose();
    file.close();
  }
});

/** out = (x · wᵀ) * 0.5 over an F32 weight matrix placed at an offset of a wrapped buffer. */
function smallGraph(backend: ReturnType<typeof createNativeBackend>) {
  const weights = backend.wrapModel({
    path: "w.bin",
    bytes: new Uint8Array([...new Uint8Array(8), ...f32Bytes([1, 2, 3, 4, 5, 6])]),
  });
  const arena = backend.allocate(1024, "arena");
  const g = new GraphBuilder(arena, ggmlByteLength);
  const w = g.external("w", F32, [2, 3], weights, 8);
  const x = g.activation("x", F32, [2, 1]);
  backend.write(arena, x.offset, f32Bytes([1, -1]));
  const out = g.activation("out", F32, [3, 1]);
  g.node(Op.MUL_MAT, out, [w, x]);
  g.node(Op.SCALE, out, [out], [], [0.5]);
  const result = () => [...new Float32Array(backend.read(arena, out.offset, 12).buffer)];
  return { graph: g.build(), result, g, arena };
}

Deno.test("compute() and computeAsync() run a graph; async calls queue", async () => {
  const backend = createNativeBackend({ threads: 2 });
  try {
    const { graph, result } = smallGraph(backend);
    backend.compute(graph);
    deepStrictEqual(result(), [-0.5, -0.5, -0.5]);
    const runs = [backend.computeAsync(graph), backend.computeAsync(graph)];
    throws(() => backend.compute(graph), /an asynchronous compute is still running/);
    await Promise.all(runs);
    deepStrictEqual(result(), [-0.5, -0.5, -0.5]);
  } finally {
    backend.dispose();
  }
});

Deno.test("compute() refuses a bad graph naming the node and tensor, and writes nothing", () => {
  const backend = createNativeBackend({ threads: 1 });
  try {
    const { g, arena, result } = smallGraph(backend);
    const indices = g.activation("indices", I32, [1]);
    backend.write(arena, indices.offset, new Uint8Array(new Int32Array([9]).buffer));
    const table = g.activation("table", F32, [3, 1]);
    const picked = g.activation("picked", F32, [3, 1]);
    g.node(Op.GET_ROWS, picked, [table, indices]);
    throws(
      () => backend.compute(g.build()),
      (error: Error) =>
        error instanceof NativeStatusError &&
        error.message.includes('node 2 (get_rows) "picked": src1 holds 9, outside 0..1'),
    );
    deepStrictEqual(result(), [0, 0, 0]); // the MUL_MAT before it did not run
  } finally {
    backend.dispose();
  }
});

Deno.test("compute() refuses a node that writes into the model's bytes", () => {
  const file = mapFile(testdataPath("models/stories260K.gguf"));
  const backend = createNativeBackend({ threads: 1 });
  try {
    const weights = backend.wrapModel(file);
    const g = new GraphBuilder(backend.allocate(64, "arena"), ggmlByteLength);
    const inMapping = g.external("in_mapping", F32, [4], weights, 64);
    g.node(Op.SCALE, inMapping, [inMapping], [], [2]);
    throws(
      () => backend.compute(g.build()),
      /node 0 \(scale\) "in_mapping": dst is in a read-only buffer/,
    );
  } finally {
    backend.dispose();
    file.close();
  }
});

Deno.test("compute() refuses a buffer of another backend", () => {
  const a = createNativeBackend({ threads: 1 });
  const b = createNativeBackend({ threads: 1 });
  try {
    const { graph } = smallGraph(a);
    throws(() => b.compute(graph), /buffer "w.bin" does not belong to this backend|weights w.bin/);
  } finally {
    a.dispose();
    b.dispose();
  }
});

Deno.test("supportsOp() refuses what the kernels lack, naming the type", () => {
  const backend = createNativeBackend({ threads: 1 });
  try {
    strictEqual(backend.supportsOp(Op.MUL_MAT, [GgmlType.Q4_K, GgmlType.F32]), true);
    strictEqual(
      backend.supportsOp(Op.MUL_MAT, [GgmlType.IQ2_XXS, GgmlType.F32]),
      "no native dot product for weights of type IQ2_XXS",
    );
    strictEqual(
      backend.supportsOp(Op.GET_ROWS, [GgmlType.IQ4_NL, GgmlType.I32]),
      "no native dequantizer for type IQ4_NL",
    );
    strictEqual(
      backend.supportsOp(Op.ATTENTION, [F32, GgmlType.BF16, GgmlType.F16]),
      "a KV cache of type BF16: F32 or F16 only",
    );
    strictEqual(backend.supportsOp(Op.ADD, [F32, GgmlType.F16]), "add of type F16: F32 only");
  } finally {
    backend.dispose();
  }
});

Deno.test("dispose() frees buffers; using the backend afterwards throws", async () => {
  const backend = createNativeBackend({ threads: 2 });
  const { graph } = smallGraph(backend);
  const buffer = backend.allocate(16, "kept");
  const pending = backend.computeAsync(graph);
  backend.dispose(); // waits for the running graph before freeing
  await pending;
  throws(() => buffer.host(), NativeLibraryError);
  throws(() => backend.allocate(8, "late"), /the native backend was disposed/);
  throws(() => backend.compute(graph), NativeLibraryError);
  await rejects(async () => await backend.computeAsync(graph), NativeLibraryError);
  backend.dispose(); // twice is fine
});

Deno.test("Engine on the native backend: eval() equals evalSync(), bit for bit on 1 and 2 threads", async () => {
  const path = testdataPath("models/stories260K.gguf");
  const prompt = [1, 403, 407, 261, 378];
  const logitsOf = async (threads: number, useAsync: boolean) => {
    const model = await loadModel(path, { backend: createNativeBackend({ threads }) });
    try {
      const engine = model.createEngine({ contextSize: 64 });
      const batch = { tokens: prompt, positions: prompt.map((_, i) => i) };
      const first = useAsync ? await engine.eval(batch) : engine.evalSync(batch);
      const next = { tokens: [42], positions: [prompt.length] };
      const second = useAsync ? await engine.eval(next) : engine.evalSync(next);
      return [...first, ...second];
    } finally {
      model.dispose();
    }
  };
  const reference = await logitsOf(1, false);
  strictEqual(reference.length, 2 * 512);
  deepStrictEqual(await logitsOf(1, true), reference);
  deepStrictEqual(await logitsOf(2, true), reference);
  deepStrictEqual(await logitsOf(2, false), reference);
});
