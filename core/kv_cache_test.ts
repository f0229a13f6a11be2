import { deepStrictEqual, strictEqual, throws } from "node:assert";
import type { Backend, BackendBuffer } from "./backend.ts";
import { GgmlType } from "./gguf/types.ts";
import { KvCache, seqBit } from "./kv_cache.ts";

// The cache only allocates from its backend; host memory stands in for one.
const hostBackend = {
  allocate(byteLength: number, label: string): BackendBuffer {
    const bytes = new Uint8Array(byteLength);
    return { label, byteLength, host: () => bytes };
  },
} as unknown as Backend;

function cache(nCells = 8): KvCache {
  return new KvCache(hostBackend, { nCells, nLayer: 2, kWidth: 4, vWidth: 4 });
}

function put(kv: KvCache, positions: number[], mask: number): Int32Array {
  const slots = kv.findSlots(positions.length);
  kv.commit(slots, Int32Array.from(positions), new Int32Array(positions.length).fill(mask));
  return slots;
}

Deno.test("KvCache allocates F16 K and V per layer", () => {
  const kv = cache();
  strictEqual(kv.type, GgmlType.F16);
  strictEqual(kv.k.length, 2);
  strictEqual(kv.k[0].byteLength, 8 * 4 * 2);
  strictEqual(kv.byteLength, 2 * 2 * 8 * 4 * 2);
});

Deno.test("KvCache.findSlots() takes the lowest free cells and commit() records them", () => {
  const kv = cache();
  deepStrictEqual(Array.from(put(kv, [0, 1, 2], seqBit(0))), [0, 1, 2]);
  strictEqual(kv.usedEnd, 3);
  strictEqual(kv.seqLength(0), 3);
  deepStrictEqual(Array.from(kv.cellPositions.subarray(0, 4)), [0, 1, 2, -1]);
});

Deno.test("KvCache.copy() shares cells and truncate() drops only one sequence's tail", () => {
  const kv = cache();
  put(kv, [0, 1, 2], seqBit(0));
  kv.copy(0, 1);
  deepStrictEqual(Array.from(kv.cellSeqMasks.subarray(0, 3)), [3, 3, 3]);
  put(kv, [3], seqBit(1));
  strictEqual(kv.seqLength(1), 4);
  strictEqual(kv.seqLength(0), 3);
  kv.truncate(1, 2);
  deepStrictEqual(Array.from(kv.cellSeqMasks.subarray(0, 4)), [3, 3, 1, 0]);
  strictEqual(kv.usedEnd, 3);
  strictEqual(kv.seqLength(1), 2);
});

Deno.test("KvCache.clear() frees a sequence's cells for reuse", () => {
  const kv = cache();
  put(kv, [0, 1], seqBit(0));
  put(kv, [0], seqBit(2));
  kv.clear(0);
  strictEqual(kv.usedCells(), 1);
  deepStrictEqual(Array.from(put(kv, [5, 6], seqBit(3))), [0, 1]);
  kv.clear();
  strictEqual(kv.usedEnd, 0);
});

Deno.test("KvCache.findSlots() throws RangeError naming the size when full", () => {
  const kv = cache(4);
  put(kv, [0, 1, 2], seqBit(0));
  throws(() => kv.findSlots(2), {
    name: "RangeError",
    message: "Cannot place 2 tokens in the KV cache: 1 of 4 cells are free (the context is full)",
  });
});

Deno.test("seqBit() rejects ids outside 0..30", () => {
  throws(() => seqBit(31), { name: "RangeError" });
  strictEqual(seqBit(30), 1 << 30);
});
