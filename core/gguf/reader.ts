/**
 * GGUF v2/v3 reader: parses the header (metadata and tensor table) of bytes that are usually a
 * zero-copy view over a memory-mapped file. Tensor data is never copied or even read; the
 * reader only checks that every tensor lies inside the file.
 *
 * Every malformed, truncated or hostile input ends in a `GgufError` that names the file, the
 * byte offset and what was expected. A key that appears twice is an error unless both entries
 * hold the same type and value (then `metadata` has it once and `kvs` keeps both entries, so
 * the file can be written back unchanged). Counts and lengths are checked against the remaining
 * bytes before anything is allocated, so a forged length cannot cause a huge allocation.
 *
 * @module
 */

import { GgufError } from "../errors.ts";
import { basename } from "../paths.ts";
import { ggmlTypeTraits } from "./ggml_types.ts";
import { GgufStringArray } from "./string_array.ts";
import {
  type GgmlType,
  type GgufArray,
  type GgufFile,
  type GgufKv,
  type GgufTensorInfo,
  type GgufValue,
  GgufValueType,
} from "./types.ts";

/** Options of {@linkcode parseGguf}. */
export interface ParseGgufOptions {
  /** Name used in error messages (a file name); defaults to `"buffer"`. */
  readonly name?: string;
}

/** Default `general.alignment` when a file does not set it, in bytes. */
export const GGUF_DEFAULT_ALIGNMENT = 32;

/** Deepest nesting of arrays in arrays the reader accepts (guards the call stack). */
export const GGUF_MAX_ARRAY_DEPTH = 8;

/** Most dimensions a ggml tensor can have. */
export const GGUF_MAX_DIMS = 4;

const MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
const HEADER_BYTES = 24; // magic u32, version u32, tensor count u64, kv count u64
const MIN_KV_BYTES = 13; // key length u64 + value type u32 + at least one value byte
const MIN_TENSOR_INFO_BYTES = 32; // name length u64 + n_dims u32 + one dim u64 + type + offset

/**
 * Parses a GGUF v2 or v3 file's header from its bytes.
 *
 * @param bytes the whole file (a view over a mapped file is fine; it is not copied)
 * @param options `name` for error messages
 * @returns metadata, tensor table and the data section's position
 * @throws {GgufError} when the bytes are not a well-formed GGUF v2/v3 file
 *
 * @example Read a tiny file
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { parseGguf, writeGguf } from "./mod.ts";
 * const bytes = writeGguf({
 *   version: 3,
 *   kvs: [{ key: "general.architecture", type: 8, value: "llama" }],
 *   tensors: [],
 * });
 * strictEqual(parseGguf(bytes).metadata.get("general.architecture"), "llama");
 * ```
 */
export function parseGguf(bytes: Uint8Array, options: ParseGgufOptions = {}): GgufFile {
  return _parseHeader(bytes, options.name ?? "buffer", bytes.length);
}

/**
 * Reads and parses the header of a GGUF file on disk, reading only a prefix of the file that
 * grows until the header fits (a 250 MB model costs a few MB of reads).
 *
 * @param path the file's path
 * @returns the parsed header; `fileSize` is the size on disk
 * @throws {GgufError} when the file is not a well-formed GGUF v2/v3 file
 * @throws {Deno.errors.NotFound} when the file does not exist
 */
export async function readGgufFile(path: string | URL): Promise<GgufFile> {
  const name = basename(path instanceof URL ? path.pathname : path);
  using file = await Deno.open(path, { read: true });
  const fileSize = (await file.stat()).size;
  let prefixByteLength = Math.min(fileSize, 4 << 20);
  for (;;) {
    const prefix = await _readPrefix(file, prefixByteLength);
    try {
      return _parseHeader(prefix, name, fileSize);
    } catch (error) {
      if (!(error instanceof _PrefixTooShort)) throw error;
      prefixByteLength = Math.min(fileSize, Math.max(error.neededEnd, prefixByteLength * 4));
    }
  }
}

async function _readPrefix(file: Deno.FsFile, byteLength: number): Promise<Uint8Array> {
  const prefix = new Uint8Array(byteLength);
  await file.seek(0, Deno.SeekMode.Start);
  let filled = 0;
  while (filled < byteLength) {
    const read = await file.read(prefix.subarray(filled));
    if (read === null) break;
    filled += read;
  }
  return prefix.subarray(0, filled);
}

/** Thrown inside `_parseHeader` when a prefix ends before the header does. */
class _PrefixTooShort extends Error {
  constructor(readonly neededEnd: number) {
    super(`the header needs the first ${neededEnd} bytes`);
  }
}

// Parses the header from `bytes`, which may be a prefix of a file of `fileSize` bytes.
function _parseHeader(bytes: Uint8Array, name: string, fileSize: number): GgufFile {
  const cursor = new _Cursor(bytes, name, fileSize);
  const { version, tensorCount, kvCount } = _readPreamble(cursor);
  const kvs: GgufKv[] = [];
  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < kvCount; i++) {
    const kvOffset = cursor.offset;
    const kv = _readKv(cursor, i);
    if (metadata.has(kv.key) && !_sameKv(kvs.find((entry) => entry.key === kv.key)!, kv)) {
      throw cursor.error(`key "${kv.key}" at offset ${kvOffset} appears twice, with another value`);
    }
    metadata.set(kv.key, kv.value);
    kvs.push(kv);
  }
  const alignment = _readAlignment(cursor, kvs);
  const rawTensors: _RawTensorInfo[] = [];
  const tensorNames = new Set<string>();
  for (let i = 0; i < tensorCount; i++) {
    const raw = _readTensorInfo(cursor, i);
    if (tensorNames.has(raw.name)) {
      throw cursor.error(`tensor "${raw.name}" at offset ${raw.infoOffset} appears twice`);
    }
    tensorNames.add(raw.name);
    rawTensors.push(raw);
  }
  const dataOffset = _alignUp(cursor.offset, alignment);
  const tensors = rawTensors.map((raw) => _placeTensor(cursor, raw, dataOffset, alignment));
  return { version, kvs, metadata, tensors, alignment, dataOffset, fileSize, name };
}

function _readPreamble(cursor: _Cursor): { version: 2 | 3; tensorCount: number; kvCount: number } {
  const magic = cursor.u32("magic");
  if (magic !== MAGIC) {
    const found = [0, 8, 16, 24].map((shift) => _hexByte((magic >>> shift) & 0xff)).join(" ");
    throw cursor.error(`expected magic "GGUF" (47 47 55 46) at offset 0, found ${found}`);
  }
  const version = cursor.u32("version");
  if (version !== 2 && version !== 3) {
    const swapped = _byteSwap32(version);
    const hint = swapped === 2 || swapped === 3
      ? ", and big-endian files are not supported"
      : version === 1
      ? " (GGUF v1 is not supported)"
      : "";
    throw cursor.error(`version ${version} at offset 4 is not 2 or 3${hint}`);
  }
  const tensorCount = cursor.u64Number("tensor count");
  const kvCount = cursor.u64Number("metadata key count");
  const minBytes = kvCount * MIN_KV_BYTES + tensorCount * MIN_TENSOR_INFO_BYTES;
  if (minBytes > cursor.fileSize - HEADER_BYTES) {
    throw cursor.error(
      `header declares ${tensorCount} tensors and ${kvCount} metadata keys, which need at ` +
        `least ${minBytes} bytes after offset ${HEADER_BYTES}, but the file has ` +
        `${cursor.fileSize} bytes`,
    );
  }
  return { version, tensorCount, kvCount };
}

function _readKv(cursor: _Cursor, index: number): GgufKv {
  const keyOffset = cursor.offset;
  const key = cursor.string(`key #${index}`);
  const typeOffset = cursor.offset;
  const type = cursor.u32(`value type of key "${key}"`);
  if (!_isValueType(type)) {
    throw cursor.error(
      `key "${key}" at offset ${keyOffset} has value type ${type} (at offset ${typeOffset}), ` +
        `which is not a GGUF value type`,
    );
  }
  const value = _readValue(cursor, type, key, 0, `value of key "${key}"`);
  return { key, type, value };
}

// `what` names the value in error messages; it is built once per key, not per element.
function _readValue(
  cursor: _Cursor,
  type: GgufValueType,
  key: string,
  depth: number,
  what: string,
): GgufValue {
  switch (type) {
    case GgufValueType.UINT8:
      return cursor.u8(what);
    case GgufValueType.INT8:
      return cursor.i8(what);
    case GgufValueType.UINT16:
      return cursor.u16(what);
    case GgufValueType.INT16:
      return cursor.i16(what);
    case GgufValueType.UINT32:
      return cursor.u32(what);
    case GgufValueType.INT32:
      return cursor.i32(what);
    case GgufValueType.FLOAT32:
      return cursor.f32(what);
    case GgufValueType.BOOL:
      return cursor.bool(what);
    case GgufValueType.STRING:
      return cursor.string(what);
    case GgufValueType.ARRAY:
      return _readArray(cursor, key, depth + 1);
    case GgufValueType.UINT64:
      return cursor.u64(what);
    case GgufValueType.INT64:
      return cursor.i64(what);
    case GgufValueType.FLOAT64:
      return cursor.f64(what);
  }
}

// Smallest encoding of one element of each value type, in bytes.
const MIN_VALUE_BYTES: Record<GgufValueType, number> = {
  [GgufValueType.UINT8]: 1,
  [GgufValueType.INT8]: 1,
  [GgufValueType.UINT16]: 2,
  [GgufValueType.INT16]: 2,
  [GgufValueType.UINT32]: 4,
  [GgufValueType.INT32]: 4,
  [GgufValueType.FLOAT32]: 4,
  [GgufValueType.BOOL]: 1,
  [GgufValueType.STRING]: 8,
  [GgufValueType.ARRAY]: 12,
  [GgufValueType.UINT64]: 8,
  [GgufValueType.INT64]: 8,
  [GgufValueType.FLOAT64]: 8,
};

function _readArray(cursor: _Cursor, key: string, depth: number): GgufArray {
  const arrayOffset = cursor.offset;
  if (depth > GGUF_MAX_ARRAY_DEPTH) {
    throw cursor.error(
      `array of key "${key}" at offset ${arrayOffset} is nested deeper than ` +
        `${GGUF_MAX_ARRAY_DEPTH} levels`,
    );
  }
  const type = cursor.u32(`element type of array "${key}"`);
  if (!_isValueType(type)) {
    throw cursor.error(
      `array of key "${key}" at offset ${arrayOffset} has element type ${type}, which is not a ` +
        `GGUF value type`,
    );
  }
  const count = cursor.u64Number(`element count of array "${key}"`);
  const minBytes = count * MIN_VALUE_BYTES[type];
  cursor.need(minBytes, `${count} ${GgufValueType[type]} elements of array "${key}"`);
  if (type === GgufValueType.FLOAT32 || type === GgufValueType.INT32) {
    return { type, values: cursor.numbers32(type, count) };
  }
  const what = `element of array "${key}"`;
  if (type === GgufValueType.STRING) return cursor.stringArray(count, what);
  const values: GgufValue[] = [];
  for (let i = 0; i < count; i++) values.push(_readValue(cursor, type, key, depth, what));
  return { type, values };
}

// A repeated key is tolerated only when it repeats the same type and value (a real vocab file,
// ggml-vocab-dbrx.gguf, stores general.file_type twice); `kvs` keeps both for the writer.
function _sameKv(first: GgufKv, second: GgufKv): boolean {
  return first.type === second.type && _sameValue(first.value, second.value);
}

function _sameValue(a: GgufValue, b: GgufValue): boolean {
  if (typeof a !== "object" || typeof b !== "object") return Object.is(a, b);
  if (a.type !== b.type || a.values.length !== b.values.length) return false;
  return a.values.every((value, i) => _sameValue(value, b.values[i]));
}

function _readAlignment(cursor: _Cursor, kvs: readonly GgufKv[]): number {
  const kv = kvs.find((entry) => entry.key === "general.alignment");
  if (kv === undefined) return GGUF_DEFAULT_ALIGNMENT;
  if (kv.type !== GgufValueType.UINT32) {
    throw cursor.error(
      `key "general.alignment" has type ${GgufValueType[kv.type]}, expected UINT32`,
    );
  }
  const alignment = kv.value as number;
  if (alignment === 0 || (alignment & (alignment - 1)) !== 0) {
    throw cursor.error(`key "general.alignment" is ${alignment}, which is not a power of two`);
  }
  return alignment;
}

interface _RawTensorInfo {
  readonly name: string;
  readonly dims: number[];
  readonly type: GgmlType;
  readonly offset: number;
  readonly byteLength: number;
  readonly infoOffset: number;
}

function _readTensorInfo(cursor: _Cursor, index: number): _RawTensorInfo {
  const infoOffset = cursor.offset;
  const name = cursor.string(`name of tensor #${index}`);
  const at = `tensor "${name}" at offset ${infoOffset}`;
  const dimCount = cursor.u32(`dimension count of tensor "${name}"`);
  if (dimCount === 0 || dimCount > GGUF_MAX_DIMS) {
    throw cursor.error(`${at} has ${dimCount} dimensions, expected 1 to ${GGUF_MAX_DIMS}`);
  }
  const dims: number[] = [];
  let elementCount = 1n;
  for (let d = 0; d < dimCount; d++) {
    const dim = cursor.u64(`dimension ${d} of tensor "${name}"`);
    if (dim === 0n) throw cursor.error(`${at} has dimension ${d} of size 0`);
    elementCount *= dim;
    if (elementCount > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw cursor.error(`${at} has more than 2^53 elements`);
    }
    dims.push(Number(dim));
  }
  const type = cursor.u32(`type of tensor "${name}"`);
  const traits = ggmlTypeTraits(type);
  if (traits === undefined) throw cursor.error(`${at} has type ${type}, which is not supported`);
  if (dims[0] % traits.blockSize !== 0) {
    throw cursor.error(
      `${at} has rows of ${dims[0]} elements, which is not a multiple of the ${traits.name} ` +
        `block size ${traits.blockSize}`,
    );
  }
  const byteLength = (Number(elementCount) / traits.blockSize) * traits.bytesPerBlock;
  const offset = cursor.u64Number(`data offset of tensor "${name}"`);
  return { name, dims, type, offset, byteLength, infoOffset };
}

function _placeTensor(
  cursor: _Cursor,
  raw: _RawTensorInfo,
  dataOffset: number,
  alignment: number,
): GgufTensorInfo {
  const at = `tensor "${raw.name}" at offset ${raw.infoOffset}`;
  if (raw.offset % alignment !== 0) {
    throw cursor.error(
      `${at} has data offset ${raw.offset}, which is not a multiple of the alignment ${alignment}`,
    );
  }
  const fileOffset = dataOffset + raw.offset;
  const end = fileOffset + raw.byteLength;
  if (end > cursor.fileSize) {
    throw cursor.error(
      `${at} has data at bytes ${fileOffset}..${end}, past the end of the file at byte ` +
        `${cursor.fileSize}`,
    );
  }
  const { name, dims, type, offset, byteLength } = raw;
  return { name, dims, type, offset, byteLength, fileOffset };
}

/**
 * Reads little-endian fields in order, checking every length against the bytes left.
 * `what` arguments name the field for error messages.
 */
class _Cursor {
  offset = 0;
  readonly view: DataView;

  constructor(readonly bytes: Uint8Array, readonly name: string, readonly fileSize: number) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  error(detail: string): GgufError {
    return new GgufError(`Cannot read GGUF "${this.name}": ${detail}`);
  }

  /**
   * Checks that `byteCount` bytes follow the cursor (in the file, and in the prefix held).
   * `prefix` is prepended to `what` only when a message is built.
   */
  need(byteCount: number, what: string, prefix = ""): void {
    const end = this.offset + byteCount;
    if (end > this.fileSize) {
      throw this.error(
        `${prefix}${what} at offset ${this.offset} needs ${byteCount} bytes, but the file ends ` +
          `at byte ${this.fileSize}`,
      );
    }
    if (end > this.bytes.length) throw new _PrefixTooShort(end);
  }

  u8(what: string): number {
    this.need(1, what);
    return this.view.getUint8(this.offset++);
  }

  i8(what: string): number {
    this.need(1, what);
    return this.view.getInt8(this.offset++);
  }

  bool(what: string): boolean {
    const at = this.offset;
    const byte = this.u8(what);
    if (byte > 1) throw this.error(`${what} at offset ${at} is byte ${byte}, expected 0 or 1`);
    return byte === 1;
  }

  u16(what: string): number {
    this.need(2, what);
    const value = this.view.getUint16(this.offset, true);
    this.offset += 2;
    return value;
  }

  i16(what: string): number {
    this.need(2, what);
    const value = this.view.getInt16(this.offset, true);
    this.offset += 2;
    return value;
  }

  u32(what: string): number {
    this.need(4, what);
    const value = this.view.getUint32(this.offset, true);
    this.offset += 4;
    return value;
  }

  i32(what: string): number {
    this.need(4, what);
    const value = this.view.getInt32(this.offset, true);
    this.offset += 4;
    return value;
  }

  f32(what: string): number {
    this.need(4, what);
    const value = this.view.getFloat32(this.offset, true);
    this.offset += 4;
    return value;
  }

  /** `count` FLOAT32 or INT32 values whose bytes were checked by the caller (vocab scores, types). */
  numbers32(type: GgufValueType.FLOAT32 | GgufValueType.INT32, count: number): number[] {
    const values: number[] = [];
    const { view } = this;
    let at = this.offset;
    if (type === GgufValueType.FLOAT32) {
      for (let i = 0; i < count; i++, at += 4) values.push(view.getFloat32(at, true));
    } else {
      for (let i = 0; i < count; i++, at += 4) values.push(view.getInt32(at, true));
    }
    this.offset = at;
    return values;
  }

  u64(what: string): bigint {
    this.need(8, what);
    const value = this.view.getBigUint64(this.offset, true);
    this.offset += 8;
    return value;
  }

  i64(what: string): bigint {
    this.need(8, what);
    const value = this.view.getBigInt64(this.offset, true);
    this.offset += 8;
    return value;
  }

  f64(what: string): number {
    this.need(8, what);
    const value = this.view.getFloat64(this.offset, true);
    this.offset += 8;
    return value;
  }

  /** A u64 count, length or offset, which must fit a JS number exactly. */
  u64Number(what: string, prefix = ""): number {
    this.need(8, what, prefix);
    const low = this.view.getUint32(this.offset, true);
    const high = this.view.getUint32(this.offset + 4, true);
    if (high > 0x1f_ffff) {
      const value = this.view.getBigUint64(this.offset, true);
      throw this.error(
        `${prefix}${what} at offset ${this.offset} is ${value}, which is larger than 2^53`,
      );
    }
    this.offset += 8;
    return high * 0x1_0000_0000 + low;
  }

  /**
   * `count` strings as one {@linkcode GgufStringArray} (no JS string per element): one pass
   * checks the lengths, a second decodes UTF-8 into UTF-16 units.
   */
  stringArray(count: number, what: string): GgufStringArray {
    const start = this.offset;
    let byteCount = 0;
    for (let i = 0; i < count; i++) {
      const byteLength = this.u64Number(what, "length of ");
      this.need(byteLength, what);
      this.offset += byteLength;
      byteCount += byteLength;
    }
    if (byteCount > 0xffff_ffff) {
      throw this.error(`${what}s at offset ${start} hold ${byteCount} bytes, more than 4 GiB`);
    }
    this.offset = start;
    // A UTF-8 string never has more UTF-16 units than bytes.
    const units = new Uint16Array(byteCount);
    const offsets = new Uint32Array(count + 1);
    for (let i = 0; i < count; i++) {
      const lengthOffset = this.offset;
      const byteLength = this.u64Number(what);
      const end = _decodeUtf8Units(this.bytes, this.offset, byteLength, units, offsets[i]);
      if (end < 0) throw this.error(`${what} at offset ${lengthOffset} is not valid UTF-8`);
      offsets[i + 1] = end;
      this.offset += byteLength;
    }
    return new GgufStringArray(units.slice(0, offsets[count]), offsets);
  }

  string(what: string): string {
    const lengthOffset = this.offset;
    const byteLength = this.u64Number(what, "length of ");
    this.need(byteLength, what);
    const start = this.offset;
    this.offset += byteLength;
    const text = _decodeUtf8(this.bytes, start, this.offset);
    if (text === undefined) {
      throw this.error(`${what} at offset ${lengthOffset} is not valid UTF-8`);
    }
    return text;
  }
}

const _utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

// Decodes UTF-8 strictly (no BOM stripping). Short strings, i.e. nearly every vocabulary
// piece, are decoded here in JS: a TextDecoder call costs more than the decoding itself.
function _decodeUtf8(bytes: Uint8Array, start: number, end: number): string | undefined {
  if (end - start <= 64) return _decodeShortUtf8(bytes, start, end);
  try {
    return _utf8.decode(bytes.subarray(start, end));
  } catch {
    return undefined;
  }
}

// Returns undefined on any invalid sequence: overlong forms, surrogates, > U+10FFFF, truncation.
function _decodeShortUtf8(bytes: Uint8Array, start: number, end: number): string | undefined {
  let text = "";
  let i = start;
  while (i < end) {
    const lead = bytes[i];
    if (lead < 0x80) {
      text += String.fromCharCode(lead);
      i += 1;
      continue;
    }
    const codePoint = _decodeUtf8Sequence(bytes, i, end);
    if (codePoint < 0) return undefined;
    text += String.fromCodePoint(codePoint);
    i += codePoint < 0x800 ? 2 : codePoint < 0x10000 ? 3 : 4;
  }
  return text;
}

// The code point of the multi-byte sequence at `i`, or -1 when it is invalid (the sequence's
// length follows from the code point, since overlong forms are rejected).
function _decodeUtf8Sequence(bytes: Uint8Array, i: number, end: number): number {
  const lead = bytes[i];
  const length = lead >= 0xc2 && lead <= 0xdf
    ? 2
    : lead >= 0xe0 && lead <= 0xef
    ? 3
    : lead >= 0xf0 && lead <= 0xf4
    ? 4
    : 0;
  if (length === 0 || i + length > end) return -1;
  // The second byte's range depends on the lead byte; later ones are always 80..BF.
  const second = bytes[i + 1];
  const low = lead === 0xe0 ? 0xa0 : lead === 0xf0 ? 0x90 : 0x80;
  const high = lead === 0xed ? 0x9f : lead === 0xf4 ? 0x8f : 0xbf;
  if (second < low || second > high) return -1;
  let codePoint = (lead & (0xff >> (length + 1))) * 64 + (second & 0x3f);
  for (let k = 2; k < length; k++) {
    const next = bytes[i + k];
    if ((next & 0xc0) !== 0x80) return -1;
    codePoint = codePoint * 64 + (next & 0x3f);
  }
  return codePoint;
}

// The checks of _decodeShortUtf8, writing UTF-16 units from `units[at]` on; returns the end,
// or -1 on an invalid sequence.
function _decodeUtf8Units(
  bytes: Uint8Array,
  start: number,
  byteLength: number,
  units: Uint16Array,
  at: number,
): number {
  const end = start + byteLength;
  let i = start;
  while (i < end) {
    const lead = bytes[i];
    if (lead < 0x80) {
      units[at++] = lead;
      i += 1;
      continue;
    }
    const codePoint = _decodeUtf8Sequence(bytes, i, end);
    if (codePoint < 0) return -1;
    if (codePoint < 0x10000) {
      units[at++] = codePoint;
    } else {
      units[at++] = 0xd800 + ((codePoint - 0x10000) >> 10);
      units[at++] = 0xdc00 + ((codePoint - 0x10000) & 0x3ff);
    }
    i += codePoint < 0x800 ? 2 : codePoint < 0x10000 ? 3 : 4;
  }
  return at;
}

function _isValueType(type: number): type is GgufValueType {
  return type >= GgufValueType.UINT8 && type <= GgufValueType.FLOAT64;
}

function _alignUp(offset: number, alignment: number): number {
  return Math.ceil(offset / alignment) * alignment;
}

function _byteSwap32(value: number): number {
  return (((value & 0xff) << 24) | ((value & 0xff00) << 8) | ((value >>> 8) & 0xff00) |
    (value >>> 24)) >>> 0;
}

function _hexByte(byte: number): string {
  return byte.toString(16).padStart(2, "0");
}
