/**
 * Writes a GGUF file whose tensors are converted to the types a quantization plan gives them,
 * streaming: the header comes from the GGUF writer's `layoutGguf`, then each tensor is read,
 * converted (on a pool of workers) and written a few MB at a time, so neither the source nor
 * the result is ever in memory whole (a few 4 MB chunks are in flight).
 *
 * Sources are abstract (`TensorSource`): a mapped GGUF file (quantize_model.ts) or a random
 * generator (core/synth) feed the same writer.
 *
 * @module
 */

import { ggmlByteLength, ggmlTypeName } from "../gguf/ggml_types.ts";
import { type GgmlType, type GgufKv, GgufValueType } from "../gguf/types.ts";
import { layoutGguf } from "../gguf/writer.ts";
import { planTensorTypes } from "./mixture.ts";
import type { QuantTarget } from "./quant_targets.ts";
import { createParallelEncoder } from "./parallel_encoder.ts";
import { nativeRowCodec, type RowCodec } from "./row_codec.ts";

/** One tensor to convert. */
export interface TensorSource {
  readonly name: string;
  /** ggml order: dims[0] is the row length. */
  readonly dims: readonly number[];
  /** The type the source holds (F32/F16/BF16 to be quantized; anything to be copied). */
  readonly type: GgmlType;
  /** The stored bytes, when the source has them (copied as they are when the type is kept). */
  readonly bytes?: Uint8Array;
  /**
   * Writes rows `[firstRow, firstRow + out.length / dims[0])` as F32 into `out`. Called with
   * consecutive, increasing row ranges.
   */
  readRows(firstRow: number, out: Float32Array): void;
}

/** A tensor done, for progress output. */
export interface QuantizeProgress {
  /** 0-based position in the file. */
  readonly index: number;
  readonly count: number;
  readonly name: string;
  readonly dims: readonly number[];
  readonly fromType: GgmlType;
  readonly toType: GgmlType;
  readonly byteLength: number;
}

/** Options of {@linkcode writeQuantizedGguf}. */
export interface WriteQuantizedOptions {
  readonly target: QuantTarget;
  /** Layers of the model (for the mixture's layer counters). */
  readonly nLayer: number;
  /** One type for every matrix (no mixture). */
  readonly pure?: boolean;
  /**
   * Encoder workers; default one per core (at most 8). 0 encodes on the calling thread with
   * `codec`.
   */
  readonly workers?: number;
  /** Converter used when `workers` is 0 (default: the native library's). */
  readonly codec?: RowCodec;
  /** F32 values converted per step; default 1 Mi (4 MB of F32). */
  readonly chunkValues?: number;
  /** Called after each tensor is written. */
  readonly onProgress?: (progress: QuantizeProgress) => void;
}

/** What was written. */
export interface QuantizeResult {
  /** Type of every tensor, by name, in file order. */
  readonly tensorTypes: ReadonlyMap<string, GgmlType>;
  readonly fileSize: number;
}

/** `general.quantization_version` as llama.cpp writes it (GGML_QNT_VERSION). */
export const GGML_QUANTIZATION_VERSION = 2;

/**
 * Writes `sources` to `path` with the types the target's mixture gives them, and
 * `general.file_type` / `general.quantization_version` set in the metadata. Chunks are read in
 * file order on the calling thread and encoded on the workers, a few in flight, and written in
 * order.
 *
 * @param path the file to create (or truncate)
 * @param kvs metadata in file order (the two keys above are replaced or appended)
 * @param sources tensors in file order
 * @param options target, layer count, workers, progress callback
 * @returns the types written and the file size
 * @throws RangeError when a source type cannot be converted to its planned type
 */
export async function writeQuantizedGguf(
  path: string,
  kvs: readonly GgufKv[],
  sources: readonly TensorSource[],
  options: WriteQuantizedOptions,
): Promise<QuantizeResult> {
  const types = planTensorTypes(sources, options.target, {
    nLayer: options.nLayer,
    pure: options.pure,
  });
  const layout = layoutGguf({
    kvs: withQuantizationKeys(kvs, options.target.fileType),
    tensors: sources.map((s, i) => ({
      info: { name: s.name, dims: s.dims, type: types[i] },
      data: new Uint8Array(0),
    })),
  });
  const workerCount = options.workers ?? Math.min(8, navigator.hardwareConcurrency ?? 1);
  const encoder = workerCount > 0 ? createParallelEncoder(workerCount) : undefined;
  const encode = encoder === undefined
    ? _inlineEncoder(options.codec ?? nativeRowCodec())
    : encoder.encode;
  const inFlight: Promise<Uint8Array>[] = [];
  const depth = (encoder?.size ?? 0) + 1;
  try {
    using file = await Deno.open(path, { write: true, create: true, truncate: true });
    const write = (bytes: Uint8Array) => _writeAll(file, bytes);
    await write(layout.header);
    let position = layout.header.length;
    for (let i = 0; i < sources.length; i++) {
      const info = layout.tensors[i];
      inFlight.push(Promise.resolve(new Uint8Array(info.fileOffset - position)));
      for (const chunk of _chunks(sources[i], types[i], options.chunkValues ?? (1 << 20), encode)) {
        inFlight.push(chunk);
        while (inFlight.length > depth) await write(await inFlight.shift()!);
      }
      position = info.fileOffset + info.byteLength;
      if (options.onProgress !== undefined) {
        while (inFlight.length > 0) await write(await inFlight.shift()!);
        options.onProgress({
          index: i,
          count: sources.length,
          name: sources[i].name,
          dims: sources[i].dims,
          fromType: sources[i].type,
          toType: types[i],
          byteLength: info.byteLength,
        });
      }
    }
    while (inFlight.length > 0) await write(await inFlight.shift()!);
    await write(new Uint8Array(layout.fileSize - position));
  } finally {
    // Settle what is still in flight (after an error) before the workers go.
    await Promise.allSettled(inFlight);
    encoder?.close();
  }
  return {
    tensorTypes: new Map(sources.map((s, i) => [s.name, types[i]])),
    fileSize: layout.fileSize,
  };
}

type _Encode = (type: GgmlType, values: Float32Array, byteLength: number) => Promise<Uint8Array>;

function _inlineEncoder(codec: RowCodec): _Encode {
  return (type, values, byteLength) => {
    const bytes = new Uint8Array(byteLength);
    codec.fromF32(type, values, bytes);
    return Promise.resolve(bytes);
  };
}

/**
 * The metadata with `general.quantization_version` and `general.file_type` set (replaced in
 * place when present, else appended, as llama.cpp's `gguf_set_val_u32` does).
 */
export function withQuantizationKeys(kvs: readonly GgufKv[], fileType: number): GgufKv[] {
  const result = [...kvs];
  const set = (key: string, value: number) => {
    const entry: GgufKv = { key, type: GgufValueType.UINT32, value };
    const at = result.findIndex((kv) => kv.key === key);
    if (at >= 0) result[at] = entry;
    else result.push(entry);
  };
  set("general.quantization_version", GGML_QUANTIZATION_VERSION);
  set("general.file_type", fileType);
  return result;
}

/** The tensor's bytes in `toType`, a chunk of whole rows at a time, read now, encoded later. */
function* _chunks(
  source: TensorSource,
  toType: GgmlType,
  chunkValues: number,
  encode: _Encode,
): Generator<Promise<Uint8Array>> {
  if (toType === source.type && source.bytes !== undefined) {
    yield Promise.resolve(source.bytes);
    return;
  }
  const rowLength = source.dims[0];
  const rowCount = source.dims.slice(1).reduce((a, b) => a * b, 1);
  const rowsPerChunk = Math.max(1, Math.floor(chunkValues / rowLength));
  for (let first = 0; first < rowCount; first += rowsPerChunk) {
    const values = new Float32Array(Math.min(rowsPerChunk, rowCount - first) * rowLength);
    source.readRows(first, values);
    yield encode(toType, values, ggmlByteLength(toType, values.length)).catch((error) => {
      throw new RangeError(
        `Cannot quantize tensor "${source.name}" from ${ggmlTypeName(source.type)} to ${
          ggmlTypeName(toType)
        }: ${(error as Error).message}`,
        { cause: error },
      );
    });
  }
}

async function _writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  for (let written = 0; written < bytes.length;) {
    written += await file.write(bytes.subarray(written));
  }
}
