/**
 * Worker side of the parallel encoder (parallel_encoder.ts): receives runs of F32 values and
 * returns them encoded by the native kernels. One native library per worker.
 *
 * Messages in: `{ id, type, values: Float32Array, byteLength }`; out: `{ id, bytes }` or
 * `{ id, error }`.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { nativeRowCodec } from "./row_codec.ts";

interface EncodeRequest {
  id: number;
  type: number;
  values: Float32Array;
  byteLength: number;
}

const codec = nativeRowCodec();

self.onmessage = (event: MessageEvent<EncodeRequest>) => {
  const { id, type, values, byteLength } = event.data;
  try {
    const bytes = new Uint8Array(byteLength);
    codec.fromF32(type, values, bytes);
    self.postMessage({ id, bytes }, [bytes.buffer]);
  } catch (error) {
    self.postMessage({ id, error: (error as Error).message });
  }
};
