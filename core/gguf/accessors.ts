/**
 * Typed reads of GGUF metadata. `get*` throws when the key is missing, `find*` returns
 * `undefined` instead (for optional keys: `findF32(file, "llama.rope.freq_base") ?? 10000`);
 * both throw a `GgufError` naming the key, the expected and the stored type when the value has
 * the wrong type.
 *
 * Integer reads accept any stored integer type whose value fits (converters disagree on
 * UINT32 vs INT32 vs UINT64 for counts); float reads accept any numeric type.
 *
 * @module
 */

import { GgufError } from "../errors.ts";
import {
  type GgufArray,
  type GgufFile,
  type GgufKv,
  type GgufValue,
  GgufValueType,
} from "./types.ts";

const INTEGER_TYPES: ReadonlySet<GgufValueType> = new Set([
  GgufValueType.UINT8,
  GgufValueType.INT8,
  GgufValueType.UINT16,
  GgufValueType.INT16,
  GgufValueType.UINT32,
  GgufValueType.INT32,
  GgufValueType.UINT64,
  GgufValueType.INT64,
]);

const NUMERIC_TYPES: ReadonlySet<GgufValueType> = new Set([
  ...INTEGER_TYPES,
  GgufValueType.FLOAT32,
  GgufValueType.FLOAT64,
]);

const _indexes = new WeakMap<GgufFile, ReadonlyMap<string, GgufKv>>();

/**
 * The stored entry of a key (value and type), or `undefined` when the file lacks it.
 *
 * @param file a parsed GGUF file
 * @param key a metadata key, e.g. `"general.architecture"`
 * @returns the entry
 */
export function findKv(file: GgufFile, key: string): GgufKv | undefined {
  let index = _indexes.get(file);
  if (index === undefined) {
    index = new Map(file.kvs.map((kv) => [kv.key, kv]));
    _indexes.set(file, index);
  }
  return index.get(key);
}

/**
 * Whether the file has a metadata key.
 *
 * @param file a parsed GGUF file
 * @param key a metadata key
 * @returns true when present
 */
export function hasKey(file: GgufFile, key: string): boolean {
  return findKv(file, key) !== undefined;
}

/**
 * A metadata value as stored, or `undefined` when missing.
 *
 * @param file a parsed GGUF file
 * @param key a metadata key
 * @returns the value
 */
export function findValue(file: GgufFile, key: string): GgufValue | undefined {
  return findKv(file, key)?.value;
}

/**
 * An integer metadata value that fits an unsigned 32-bit integer.
 *
 * @param file a parsed GGUF file
 * @param key a metadata key, e.g. `"llama.block_count"`
 * @returns the value as a number
 * @throws {GgufError} when missing, not an integer, or out of range
 *
 * @example Block count of a model
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { getU32, parseGguf, writeGguf } from "./mod.ts";
 * const file = parseGguf(writeGguf({
 *   version: 3,
 *   kvs: [{ key: "llama.block_count", type: 4, value: 5 }],
 *   tensors: [],
 * }));
 * strictEqual(getU32(file, "llama.block_count"), 5);
 * ```
 */
export function getU32(file: GgufFile, key: string): number {
  return _required(file, key, findU32(file, key));
}

/**
 * Like {@linkcode getU32}, but `undefined` when the key is missing.
 *
 * @param file a parsed GGUF file
 * @param key a metadata key
 * @returns the value, or `undefined`
 */
export function findU32(file: GgufFile, key: string): number | undefined {
  return _findInteger(file, key, 0, 0xffff_ffff, "UINT32");
}

/**
 * An integer metadata value that fits a signed 32-bit integer.
 *
 * @param file a parsed GGUF file
 * @param key a metadata key
 * @returns the value as a number
 * @throws {GgufError} when missing, not an integer, or out of range
 */
export function getI32(file: GgufFile, key: string): number {
  return _required(file, key, findI32(file, key));
}

/**
 * Like {@linkcode getI32}, but `undefined` when the key is missing.
 *
 * @param file a parsed GGUF file
 * @param key a metadata key
 * @returns the value, or `undefined`
 */
export function findI32(file: GgufFile, key: string): number | undefined {
  return _findInteger(file, key, -0x8000_0000, 0x7fff_ffff, "INT32");
}

/**
 * A numeric metadata value as a number (floats as stored, integers converted).
 *
 * @param file a parsed GGUF file
 * @param key a metadata key, e.g. `"llama.rope.freq_base"`
 * @returns the value
 * @throws {GgufError} when missing or not numeric
 */
export function getF32(file: GgufFile, key: string): number {
  return _required(file, key, findF32(file, key));
}

/**
 * Like {@linkcode getF32}, but `undefined` when the key is missing.
 *
 * @param file a parsed GGUF file
 * @param key a metadata key
 * @returns the value, or `undefined`
 */
export function findF32(file: GgufFile, key: string): number | undefined {
  const kv = findKv(file, key);
  if (kv === undefined) return undefined;
  if (!NUMERIC_TYPES.has(kv.type)) throw _typeError(file, kv, "a number");
  return Number(kv.value);
}

/**
 * A boolean metadata value.
 *
 * @param file a parsed GGUF file
 * @param key a metadata key, e.g. `"tokenizer.ggml.add_bos_token"`
 * @returns the value
 * @throws {GgufError} when missing or not BOOL
 */
export function getBool(file: GgufFile, key: string): boolean {
  return _required(file, key, findBool(file, key));
}

/**
 * Like {@linkcode getBool}, but `undefined` when the key is missing.
 *
 * @param file a parsed GGUF file
 * @param key a metadata key
 * @returns the value, or `undefined`
 */
export function findBool(file: GgufFile, key: string): boolean | undefined {
  const kv = findKv(file, key);
  if (kv === undefined) return undefined;
  if (kv.type !== GgufValueType.BOOL) throw _typeError(file, kv, "BOOL");
  return kv.value as boolean;
}

/**
 * A string metadata value.
 *
 * @param file a parsed GGUF file
 * @param key a metadata key, e.g. `"general.architecture"`
 * @returns the value
 * @throws {GgufError} when missing or not STRING
 */
export function getString(file: GgufFile, key: string): string {
  return _required(file, key, findString(file, key));
}

/**
 * Like {@linkcode getString}, but `undefined` when the key is missing.
 *
 * @param file a parsed GGUF file
 * @param key a metadata key
 * @returns the value, or `undefined`
 */
export function findString(file: GgufFile, key: string): string | undefined {
  const kv = findKv(file, key);
  if (kv === undefined) return undefined;
  if (kv.type !== GgufValueType.STRING) throw _typeError(file, kv, "STRING");
  return kv.value as string;
}

/**
 * An array of strings (e.g. `tokenizer.ggml.tokens`). The returned array is the parsed one:
 * do not modify it.
 *
 * @param file a parsed GGUF file
 * @param key a metadata key
 * @returns the strings
 * @throws {GgufError} when missing or not an array of STRING
 */
export function getStringArray(file: GgufFile, key: string): readonly string[] {
  return _required(file, key, findStringArray(file, key));
}

/**
 * Like {@linkcode getStringArray}, but `undefined` when the key is missing.
 *
 * @param file a parsed GGUF file
 * @param key a metadata key
 * @returns the strings, or `undefined`
 */
export function findStringArray(file: GgufFile, key: string): readonly string[] | undefined {
  const array = _findArray(file, key, (type) => type === GgufValueType.STRING, "STRING");
  return array?.values as readonly string[] | undefined;
}

/**
 * A numeric array as a new `Float32Array` (e.g. `tokenizer.ggml.scores`).
 *
 * @param file a parsed GGUF file
 * @param key a metadata key
 * @returns the values
 * @throws {GgufError} when missing or not an array of numbers
 */
export function getF32Array(file: GgufFile, key: string): Float32Array {
  return _required(file, key, findF32Array(file, key));
}

/**
 * Like {@linkcode getF32Array}, but `undefined` when the key is missing.
 *
 * @param file a parsed GGUF file
 * @param key a metadata key
 * @returns the values, or `undefined`
 */
export function findF32Array(file: GgufFile, key: string): Float32Array | undefined {
  const array = _findArray(file, key, (type) => NUMERIC_TYPES.has(type), "numbers");
  return array === undefined ? undefined : Float32Array.from(array.values, Number);
}

/**
 * An integer array as a new `Int32Array` (e.g. `tokenizer.ggml.token_type`).
 *
 * @param file a parsed GGUF file
 * @param key a metadata key
 * @returns the values
 * @throws {GgufError} when missing, not an array of integers, or a value does not fit INT32
 */
export function getI32Array(file: GgufFile, key: string): Int32Array {
  return _required(file, key, findI32Array(file, key));
}

/**
 * Like {@linkcode getI32Array}, but `undefined` when the key is missing.
 *
 * @param file a parsed GGUF file
 * @param key a metadata key
 * @returns the values, or `undefined`
 */
export function findI32Array(file: GgufFile, key: string): Int32Array | undefined {
  const array = _findArray(file, key, (type) => INTEGER_TYPES.has(type), "integers");
  if (array === undefined) return undefined;
  const result = new Int32Array(array.values.length);
  array.values.forEach((value, i) => {
    const number = Number(value);
    if (number < -0x8000_0000 || number > 0x7fff_ffff) {
      throw _fileError(file, `key "${key}" holds ${value} at index ${i}, which does not fit INT32`);
    }
    result[i] = number;
  });
  return result;
}

function _findInteger(
  file: GgufFile,
  key: string,
  min: number,
  max: number,
  typeName: string,
): number | undefined {
  const kv = findKv(file, key);
  if (kv === undefined) return undefined;
  if (!INTEGER_TYPES.has(kv.type)) throw _typeError(file, kv, typeName);
  const value = Number(kv.value);
  if (value < min || value > max) {
    throw _fileError(
      file,
      `key "${key}" holds ${GgufValueType[kv.type]} ${kv.value}, which does not fit ${typeName}`,
    );
  }
  return value;
}

function _findArray(
  file: GgufFile,
  key: string,
  accepts: (type: GgufValueType) => boolean,
  elementName: string,
): GgufArray | undefined {
  const kv = findKv(file, key);
  if (kv === undefined) return undefined;
  const array = kv.value as GgufArray;
  if (kv.type !== GgufValueType.ARRAY || !accepts(array.type)) {
    throw _typeError(file, kv, `an array of ${elementName}`);
  }
  return array;
}

function _required<T>(file: GgufFile, key: string, value: T | undefined): T {
  if (value === undefined) throw _fileError(file, `key "${key}" is missing`);
  return value;
}

function _typeError(file: GgufFile, kv: GgufKv, expected: string): GgufError {
  return _fileError(file, `key "${kv.key}" holds ${_describeType(kv)}, expected ${expected}`);
}

function _describeType(kv: GgufKv): string {
  if (kv.type !== GgufValueType.ARRAY) return GgufValueType[kv.type];
  return `an array of ${GgufValueType[(kv.value as GgufArray).type]}`;
}

function _fileError(file: GgufFile, detail: string): GgufError {
  return new GgufError(`Cannot read GGUF "${file.name ?? "buffer"}": ${detail}`);
}
