/**
 * Rows of tensor data to F32 and back, through the native library's quantized kernels
 * (`zeno_quant_dequantize_row` / `zeno_quant_quantize_row`, ggml's reference rounding). A run of
 * whole rows is one call: blocks never straddle rows, so quantizing `rows × rowLength` values at
 * once gives the bytes row-by-row quantization would.
 *
 * @module
 */

import { loadNativeLibrary, type LoadNativeLibraryOptions } from "../../backends/native/library.ts";
import { checkStatus } from "../../backends/native/status.ts";
import { ggmlTypeName } from "../gguf/ggml_types.ts";
import { GgmlType } from "../gguf/types.ts";

/** Converts runs of values between a ggml type and F32. */
export interface RowCodec {
  /**
   * Decodes `out.length` values of `type` from `src` into `out`.
   * @throws NativeLibraryError when the library does not support the type
   */
  toF32(type: GgmlType, src: Uint8Array, out: Float32Array): void;
  /**
   * Encodes `src` as `type` into `dst`, which holds exactly the bytes of `src.length` values.
   * @throws NativeLibraryError when the library does not support the type
   */
  fromF32(type: GgmlType, src: Float32Array, dst: Uint8Array): void;
}

/**
 * The codec of the native library.
 *
 * @param library which native library (default: the best for this CPU)
 * @returns the codec
 * @throws NativeLibraryError when the library is missing or stale
 *
 * @example F16 round trip
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { GgmlType } from "../gguf/types.ts";
 * import { nativeRowCodec } from "./row_codec.ts";
 * const codec = nativeRowCodec();
 * const bytes = new Uint8Array(4);
 * codec.fromF32(GgmlType.F16, Float32Array.of(1, -2), bytes);
 * const back = new Float32Array(2);
 * codec.toF32(GgmlType.F16, bytes, back);
 * deepStrictEqual([...back], [1, -2]);
 * ```
 */
export function nativeRowCodec(library?: LoadNativeLibraryOptions): RowCodec {
  const { symbols } = loadNativeLibrary(library);
  return {
    toF32(type, src, out) {
      if (type === GgmlType.F32) {
        out.set(new Float32Array(src.buffer, src.byteOffset, out.length));
        return;
      }
      const status = symbols.zeno_quant_dequantize_row(type, src, out, BigInt(out.length));
      checkStatus(
        symbols,
        status,
        `Cannot decode ${out.length} values of type ${ggmlTypeName(type)}`,
      );
    },
    fromF32(type, src, dst) {
      if (type === GgmlType.F32) {
        new Float32Array(dst.buffer, dst.byteOffset, src.length).set(src);
        return;
      }
      const status = symbols.zeno_quant_quantize_row(type, src, dst, BigInt(src.length));
      checkStatus(symbols, status, `Cannot encode ${src.length} values as ${ggmlTypeName(type)}`);
    },
  };
}
