/**
 * GGUF data model: metadata values, tensor table entries and the parsed file.
 * Layout facts (from the GGUF spec): little-endian; header = magic "GGUF", u32 version,
 * u64 tensor_count, u64 kv_count (v1 used u32 counts and is not supported); strings are
 * u64 length + UTF-8 bytes; tensor data starts at the next multiple of `general.alignment`
 * (default 32) after the tensor table; each tensor offset is relative to that start.
 *
 * @module
 */

/** GGUF metadata value type ids, as stored in the file. */
export enum GgufValueType {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
}

/** ggml tensor type ids, as stored in the tensor table. */
export enum GgmlType {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  IQ2_XXS = 16,
  IQ2_XS = 17,
  IQ3_XXS = 18,
  IQ1_S = 19,
  IQ4_NL = 20,
  IQ3_S = 21,
  IQ2_S = 22,
  IQ4_XS = 23,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  IQ1_M = 29,
  BF16 = 30,
  TQ1_0 = 34,
  TQ2_0 = 35,
  MXFP4 = 39,
}

/**
 * A decoded metadata value. Integers wider than 32 bits are `bigint`; arrays keep their
 * element type so a writer can reproduce the file byte for byte.
 */
export type GgufValue =
  | number
  | bigint
  | boolean
  | string
  | GgufArray;

/**
 * An array value with its element type (nested arrays allowed). The reader returns arrays of
 * strings as `GgufStringArray`s, whose `values` are made on first access.
 */
export interface GgufArray {
  /** The elements' type. */
  readonly type: GgufValueType;
  /** The elements, in file order. */
  readonly values: readonly GgufValue[];
}

/** One metadata entry with its stored type. */
export interface GgufKv {
  /** The key ("general.architecture"). */
  readonly key: string;
  /** The value's type. */
  readonly type: GgufValueType;
  /** The decoded value. */
  readonly value: GgufValue;
}

/** One tensor table entry. `dims` is ggml order: dims[0] is the contiguous (row) length. */
export interface GgufTensorInfo {
  /** The tensor's name ("blk.0.attn_q.weight"). */
  readonly name: string;
  /** Dimensions, innermost first (ggml's `ne`). */
  readonly dims: readonly number[];
  /** The element type. */
  readonly type: GgmlType;
  /** Offset from the start of the tensor data section, in bytes. */
  readonly offset: number;
  /** Size of the tensor's data in bytes, from its type and dims. */
  readonly byteLength: number;
  /** Absolute offset of the tensor's data in the file, in bytes. */
  readonly fileOffset: number;
}

/** A parsed GGUF file header (metadata and tensor table); the data stays where it is. */
export interface GgufFile {
  /** The GGUF version. */
  readonly version: 2 | 3;
  /** Metadata entries in file order. */
  readonly kvs: readonly GgufKv[];
  /** Metadata by key. */
  readonly metadata: ReadonlyMap<string, GgufValue>;
  /** The tensor table, in file order. */
  readonly tensors: readonly GgufTensorInfo[];
  /** Alignment of tensor data in bytes (`general.alignment`, default 32). */
  readonly alignment: number;
  /** Absolute offset where tensor data begins, in bytes. */
  readonly dataOffset: number;
  /** File size in bytes (the length of the bytes parsed). */
  readonly fileSize: number;
  /** Name used in error messages (usually the file's base name), when known. */
  readonly name?: string;
}
