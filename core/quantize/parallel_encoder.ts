/**
 * Encodes runs of F32 values on a pool of workers (quantize_worker.ts), so quantizing uses
 * every core: the K-quant reference quantizers search scales per block and cost tens of ns per
 * value, which makes a 1B model a minutes-long job on one thread. Results come back in
 * submission order per caller, who keeps a bounded number of runs in flight.
 *
 * @module
 */

import { ZenoError } from "../errors.ts";
import type { GgmlType } from "../gguf/types.ts";

/** Encodes F32 runs off the calling thread. */
export interface ParallelEncoder {
  /** Workers in the pool. */
  readonly size: number;
  /**
   * Encodes `values` (transferred: the array is unusable afterwards) as `type`.
   * @param byteLength the encoded size
   */
  encode(type: GgmlType, values: Float32Array, byteLength: number): Promise<Uint8Array>;
  /** Stops the workers; pending encodes reject. */
  close(): void;
}

/**
 * Starts a pool of encoder workers.
 *
 * @param size workers (at least 1)
 * @returns the encoder; call `close()` when done
 */
export function createParallelEncoder(size: number): ParallelEncoder {
  const workers = Array.from(
    { length: Math.max(1, size) },
    () => new Worker(new URL("./quantize_worker.ts", import.meta.url), { type: "module" }),
  );
  const pending = new Map<
    number,
    { resolve: (bytes: Uint8Array) => void; reject: (error: Error) => void }
  >();
  let nextId = 0;
  let closed = false;
  const onMessage = (event: MessageEvent<{ id: number; bytes?: Uint8Array; error?: string }>) => {
    const entry = pending.get(event.data.id);
    if (entry === undefined) return;
    pending.delete(event.data.id);
    if (event.data.bytes !== undefined) entry.resolve(event.data.bytes);
    else entry.reject(new ZenoError(event.data.error ?? "Cannot encode values: the worker failed"));
  };
  for (const worker of workers) worker.onmessage = onMessage;
  return {
    size: workers.length,
    encode(type, values, byteLength) {
      if (closed) {
        return Promise.reject(new ZenoError("Cannot encode values: the encoder is closed"));
      }
      const id = nextId++;
      const promise = new Promise<Uint8Array>((resolve, reject) =>
        pending.set(id, { resolve, reject })
      );
      workers[id % workers.length].postMessage({ id, type, values, byteLength }, [
        values.buffer as ArrayBuffer,
      ]);
      return promise;
    },
    close() {
      closed = true;
      for (const worker of workers) worker.terminate();
      for (const entry of pending.values()) {
        entry.reject(new ZenoError("Cannot encode values: the encoder was closed"));
      }
      pending.clear();
    },
  };
}
