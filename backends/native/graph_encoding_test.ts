import { deepStrictEqual, strictEqual, throws } from "node:assert";
import type { BackendBuffer } from "../../core/backend.ts";
import { ggmlByteLength } from "../../core/gguf/ggml_types.ts";
import { GgmlType } from "../../core/gguf/types.ts";
import { F32, GraphBuilder, I32, Op } from "../../core/graph.ts";
import {
  BUFFER_ENTRY_BYTES,
  GraphEncoder,
  NODE_ENTRY_BYTES,
  TENSOR_ENTRY_BYTES,
} from "./graph_encoding.ts";

function fakeBuffer(label: string, byteLength: number): BackendBuffer {
  return { label, byteLength, host: () => new Uint8Array(byteLength) };
}

Deno.test("GraphEncoder.encode() writes the buffer, tensor and node tables of graph_exec.zig", () => {
  const arena = fakeBuffer("arena", 4096);
  const weights = fakeBuffer("weights", 2 ** 33);
  const g = new GraphBuilder(arena, ggmlByteLength);
  const w = g.external("w", GgmlType.Q8_0, [64, 3], weights, 2 ** 32 + 68);
  const x = g.activation("x", F32, [64, 2]);
  const pos = g.activation("pos", I32, [2]);
  const out = g.activation("out", F32, [3, 2]);
  g.node(Op.MUL_MAT, out, [w, x]);
  g.node(Op.ROPE, out, [out, pos], [2, 64], [10000, 0.5]);
  const addresses = new Map([
    [arena, { address: 0x1000n, readOnly: false }],
    [weights, { address: 0x20000n, readOnly: true }],
  ]);
  const encoded = new GraphEncoder().encode(g.build(), (b) => addresses.get(b));
  strictEqual(BUFFER_ENTRY_BYTES, 24);
  strictEqual(TENSOR_ENTRY_BYTES, 32);
  strictEqual(NODE_ENTRY_BYTES, 88);
  strictEqual(encoded.nBuffers, 2);
  deepStrictEqual([...encoded.buffers.subarray(0, 6)], [
    0x20000n,
    2n ** 33n,
    1n,
    0x1000n,
    4096n,
    0n,
  ]);
  strictEqual(encoded.nTensors, 4);
  // w: buffer 0, Q8_0 (8), offset 2^32 + 68 as (lo, hi), ne [64, 3, 1, 1]
  deepStrictEqual([...encoded.tensors.subarray(0, 8)], [0, 8, 68, 1, 64, 3, 1, 1]);
  deepStrictEqual([...encoded.tensors.subarray(8, 16)], [1, 0, x.offset, 0, 64, 2, 1, 1]);
  strictEqual(encoded.nNodes, 2);
  const rope = encoded.nodes.subarray(22, 44);
  deepStrictEqual([...rope.subarray(0, 10)], [Op.ROPE, 3, 3, 2, -1, -1, -1, -1, -1, -1]);
  deepStrictEqual([...rope.subarray(10, 13)], [2, 64, 0]);
  const floats = new Float32Array(encoded.nodes.buffer, (22 + 18) * 4, 4);
  deepStrictEqual([...floats], [10000, 0.5, 0, 0]);
});

Deno.test("GraphEncoder.encode() grows its tables and refuses foreign buffers", () => {
  const arena = fakeBuffer("arena", 1 << 20);
  const g = new GraphBuilder(arena, ggmlByteLength);
  let x = g.activation("x0", F32, [4]);
  for (let i = 0; i < 600; i++) {
    const y = g.activation(`x${i + 1}`, F32, [4]);
    g.node(Op.SCALE, y, [x], [], [2]);
    x = y;
  }
  const encoder = new GraphEncoder();
  const encoded = encoder.encode(g.build(), () => ({ address: 64n, readOnly: false }));
  strictEqual(encoded.nNodes, 600);
  strictEqual(encoded.nodes[599 * 22 + 1], 600);
  throws(
    () => encoder.encode(g.build(), () => undefined),
    /Cannot encode tensor "x0": its buffer "arena" does not belong to this backend/,
  );
});

Deno.test("GraphEncoder.encode() of the same graph again rewrites only node parameters", () => {
  const arena = fakeBuffer("arena", 4096);
  const g = new GraphBuilder(arena, ggmlByteLength);
  const x = g.activation("x", F32, [8, 2]);
  const pos = g.activation("pos", I32, [2]);
  const iparams = [0, 8];
  g.node(Op.ROPE, x, [x, pos], iparams, [10000, 1]);
  const graph = g.build();
  let lookups = 0;
  const addressOf = () => (lookups++, { address: 0x1000n, readOnly: false });
  const encoder = new GraphEncoder();
  const first = encoder.encode(graph, addressOf);
  strictEqual(lookups, 1);
  deepStrictEqual([...first.nodes.subarray(10, 12)], [0, 8]);
  iparams[1] = 6;
  const second = encoder.encode(graph, addressOf);
  strictEqual(second, first);
  strictEqual(lookups, 1);
  deepStrictEqual([...second.nodes.subarray(0, 12)], [
    Op.ROPE,
    0,
    0,
    1,
    -1,
    -1,
    -1,
    -1,
    -1,
    -1,
    0,
    6,
  ]);
  // Another graph is encoded in full, and the first one after it again.
  const other = new GraphBuilder(arena, ggmlByteLength);
  other.node(Op.SCALE, other.activation("y", F32, [4]), [x], [], [2]);
  strictEqual(encoder.encode(other.build(), addressOf).nTensors, 2);
  strictEqual(encoder.encode(graph, addressOf).nTensors, 2);
  strictEqual(lookups, 3);
  iparams[1] = 1.5;
  throws(() => encoder.encode(graph, addressOf), /integer parameter 1 is 1.5/);
});
