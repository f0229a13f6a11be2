/**
 * Quantizes a GGUF model file into another: the source is memory-mapped (read in place,
 * never copied whole), matrices are converted with the native kernels by the target's mixture,
 * everything else is copied. Sources are F32, F16 or BF16; tensors already quantized are
 * copied when their planned type is their own, and rejected otherwise (no requantizing).
 *
 * @module
 */

import { basename } from "node:path";
import { mapFile } from "../../backends/native/mapped_file.ts";
import { ModelError } from "../errors.ts";
import { ggmlTypeName } from "../gguf/ggml_types.ts";
import { parseGguf } from "../gguf/reader.ts";
import { GgmlType, type GgufFile, type GgufTensorInfo } from "../gguf/types.ts";
import { planTensorTypes } from "./mixture.ts";
import type { QuantTarget } from "./quant_targets.ts";
import { nativeRowCodec, type RowCodec } from "./row_codec.ts";
import {
  type QuantizeProgress,
  type QuantizeResult,
  type TensorSource,
  writeQuantizedGguf,
} from "./write_quantized.ts";

/** Options of {@linkcode quantizeModel}. */
export interface QuantizeModelOptions {
  readonly target: QuantTarget;
  /** One type for every matrix (no mixture), as `llama-quantize --pure`. */
  readonly pure?: boolean;
  /** Encoder workers (default one per core, at most 8; 0 = the calling thread). */
  readonly workers?: number;
  readonly onProgress?: (progress: QuantizeProgress) => void;
}

const FLOAT_SOURCES: ReadonlySet<GgmlType> = new Set([GgmlType.F32, GgmlType.F16, GgmlType.BF16]);

/**
 * Quantizes `inPath` into `outPath`.
 *
 * @param inPath a GGUF model (F32/F16/BF16 matrices)
 * @param outPath the file to write
 * @param options target type, `pure`, progress callback
 * @returns the type of every tensor and the size written
 * @throws ModelError when a tensor would need requantizing, or the file has no block count
 */
export async function quantizeModel(
  inPath: string,
  outPath: string,
  options: QuantizeModelOptions,
): Promise<QuantizeResult> {
  const mapped = mapFile(inPath);
  try {
    const gguf = parseGguf(mapped.bytes, { name: basename(inPath) });
    const nLayer = blockCount(gguf);
    const codec = nativeRowCodec();
    _checkSources(gguf, options, nLayer);
    const sources = gguf.tensors.map((info) => fileTensorSource(mapped.bytes, info, codec));
    return await writeQuantizedGguf(outPath, gguf.kvs, sources, { ...options, nLayer });
  } finally {
    mapped.close();
  }
}

/** `<arch>.block_count` of a model file. */
export function blockCount(gguf: GgufFile): number {
  const arch = gguf.metadata.get("general.architecture");
  const value = gguf.metadata.get(`${arch}.block_count`);
  if (typeof value !== "number") {
    throw new ModelError(`Cannot quantize "${gguf.name}": metadata has no "${arch}.block_count"`);
  }
  return value;
}

/**
 * A tensor of a file's bytes as a quantizer source.
 *
 * @param bytes the whole file (e.g. a mapping)
 * @param info the tensor's table entry
 * @param codec decodes F16/BF16 rows
 */
export function fileTensorSource(
  bytes: Uint8Array,
  info: GgufTensorInfo,
  codec: RowCodec,
): TensorSource {
  const data = bytes.subarray(info.fileOffset, info.fileOffset + info.byteLength);
  const rowLength = info.dims[0];
  const rowBytes = info.byteLength / info.dims.slice(1).reduce((a, b) => a * b, 1);
  return {
    name: info.name,
    dims: info.dims,
    type: info.type,
    bytes: data,
    readRows(firstRow, out) {
      const rows = out.length / rowLength;
      codec.toF32(info.type, data.subarray(firstRow * rowBytes, (firstRow + rows) * rowBytes), out);
    },
  };
}

function _checkSources(gguf: GgufFile, options: QuantizeModelOptions, nLayer: number): void {
  const types = planTensorTypes(gguf.tensors, options.target, { nLayer, pure: options.pure });
  gguf.tensors.forEach((info, i) => {
    if (types[i] === info.type || FLOAT_SOURCES.has(info.type)) return;
    throw new ModelError(
      `Cannot quantize "${gguf.name}": tensor "${info.name}" is already ${
        ggmlTypeName(info.type)
      } ` +
        `and would become ${ggmlTypeName(types[i])}; quantize from an F32, F16 or BF16 file`,
    );
  });
}
