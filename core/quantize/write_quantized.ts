/**
 * Writes a GGUF file whose tensors are converted to the types a quantization plan gives them,
 * streaming: the header comes from the GGUF writer's `layoutGguf`, then each tensor is read,
 * converted and written a few MB at a time, so neither the source nor the result is ever in
 * memory whole (a 1B model quantizes in ~20 MB of buffers).
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
  /** Converter (default: the native library's). */
  readonly codec?: RowCodec;
  /** F32 values converted per step; default 4 Mi (16 MB of F32). */
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
 * `general.file_type` / `general.quantization_version` set in the metadata.
 *
 * @param path the file to create (or truncate)
 * @param kvs metadata in file order (the two keys above are replaced or appended)
 * @param sources tensors in file order
 * @param options target, layer count, progress callback
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
  const codec = options.codec ?? nativeRowCodec();
  const chunkValues = options.chunkValues ?? (4 << 20);
  using file = await Deno.open(path, { write: true, create: true, truncate: true });
  await _writeAll(file, layout.header);
  let position = layout.header.length;
  for (let i = 0; i < sources.length; i++) {
    const info = layout.tensors[i];
    await _writeAll(file, new Uint8Array(info.fileOffset - position));
    for (const chunk of _convertedChunks(sources[i], types[i], codec, chunkValues)) {
      await _writeAll(file, chunk);
    }
    position = info.fileOffset + info.byteLength;
    options.onProgress?.({
      index: i,
      count: sources.length,
      name: sources[i].name,
      dims: sources[i].dims,
      fromType: sources[i].type,
      toType: types[i],
      byteLength: info.byteLength,
    });
  }
  await _writeAll(file, new Uint8Array(layout.fileSize - position));
  return {
    tensorTypes: new Map(sources.map((s, i) => [s.name, types[i]])),
    fileSize: layout.fileSize,
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

/** The tensor's bytes in `toType`, a chunk of whole rows at a time. */
function* _convertedChunks(
  source: TensorSource,
  toType: GgmlType,
  codec: RowCodec,
  chunkValues: number,
): Generator<Uint8Array> {
  if (toType === source.type && source.bytes !== undefined) {
    yield source.bytes;
    return;
  }
  const rowLength = source.dims[0];
  const rowCount = source.dims.slice(1).reduce((a, b) => a * b, 1);
  const rowsPerChunk = Math.max(1, Math.floor(chunkValues / rowLength));
  const values = new Float32Array(Math.min(rowCount, rowsPerChunk) * rowLength);
  const encoded = new Uint8Array(ggmlByteLength(toType, values.length));
  for (let first = 0; first < rowCount; first += rowsPerChunk) {
    const rows = Math.min(rowsPerChunk, rowCount - first);
    const f32 = values.subarray(0, rows * rowLength);
    source.readRows(first, f32);
    const out = encoded.subarray(0, ggmlByteLength(toType, f32.length));
    try {
      codec.fromF32(toType, f32, out);
    } catch (error) {
      throw new RangeError(
        `Cannot quantize tensor "${source.name}" from ${ggmlTypeName(source.type)} to ${
          ggmlTypeName(toType)
        }: ${(error as Error).message}`,
        { cause: error },
      );
    }
    // The caller writes each chunk before it asks for the next, so the buffers are reused.
    yield out;
  }
}

async function _writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  for (let written = 0; written < bytes.length;) {
    written += await file.write(bytes.subarray(written));
  }
}
