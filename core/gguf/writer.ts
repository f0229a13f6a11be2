/**
 * GGUF v2/v3 writer. Lays files out the way llama.cpp and gguf-py do, so a file read with
 * `parseGguf` and written back is byte-identical: header, metadata and tensor table; zero
 * padding up to the alignment; each tensor's data at the next aligned offset, followed by zero
 * padding up to the alignment. A file without tensors ends right after its metadata (as
 * llama.cpp's vocab-only files do).
 *
 * `writeGguf` returns the whole file in memory; `writeGgufFile` streams to disk, taking each
 * tensor's data from a `Uint8Array` view (e.g. of a mapped file) or from a function called
 * once per tensor, so a 1 GB quantized model never sits in memory at once.
 *
 * @module
 */

import { ggmlTypeTraits } from "./ggml_types.ts";
import { GGUF_DEFAULT_ALIGNMENT, GGUF_MAX_DIMS } from "./reader.ts";
import {
  type GgmlType,
  type GgufArray,
  type GgufKv,
  type GgufTensorInfo,
  type GgufValue,
  GgufValueType,
} from "./types.ts";

/** What the writer needs of a tensor's table entry (a `GgufTensorInfo` fits; offsets are recomputed). */
export interface GgufTensorSpec {
  /** Tensor name. */
  readonly name: string;
  /** ggml order: dims[0] is the contiguous (row) length. */
  readonly dims: readonly number[];
  /** Element type. */
  readonly type: GgmlType;
}

/** A tensor's data: bytes, or a function producing them when the writer gets to it. */
export type GgufTensorData = Uint8Array | (() => Uint8Array | Promise<Uint8Array>);

/** One tensor to write. */
export interface GgufWriteTensor {
  /** The table entry. */
  readonly info: GgufTensorSpec;
  /** The tensor's bytes, or a function producing them. */
  readonly data: GgufTensorData;
}

/** A file to write. */
export interface GgufWriteInput {
  /** GGUF version; defaults to 3. */
  readonly version?: 2 | 3;
  /** Metadata in file order. A `general.alignment` entry (UINT32) sets the alignment. */
  readonly kvs: readonly GgufKv[];
  /** The tensors to write, in file order. */
  readonly tensors: readonly GgufWriteTensor[];
  /** Data alignment in bytes; must agree with `general.alignment` when both are given. */
  readonly alignment?: number;
}

/** The encoded header and where everything goes. */
export interface GgufLayout {
  /** Header, metadata, tensor table and the padding up to the data section. */
  readonly header: Uint8Array;
  /** Tensor table entries with the offsets the writer assigned. */
  readonly tensors: readonly GgufTensorInfo[];
  /** Alignment of tensor data in bytes. */
  readonly alignment: number;
  /** Absolute offset of the data section, in bytes. */
  readonly dataOffset: number;
  /** Size of the whole file, in bytes. */
  readonly fileSize: number;
}

/**
 * Encodes the header of a GGUF file and assigns tensor offsets, without touching tensor data.
 *
 * @param input version, metadata, tensors and alignment
 * @returns the header bytes and the layout
 * @throws {TypeError} when a value does not match its declared type or a tensor is malformed
 * @throws {RangeError} when the alignment is not a power of two or disagrees with the metadata
 */
export function layoutGguf(input: GgufWriteInput): GgufLayout {
  const version = input.version ?? 3;
  const alignment = _alignment(input);
  const sink = new _ByteSink();
  sink.u32(0x46554747); // "GGUF"
  sink.u32(version);
  sink.u64(BigInt(input.tensors.length));
  sink.u64(BigInt(input.kvs.length));
  for (const kv of input.kvs) {
    sink.string(kv.key);
    sink.u32(kv.type);
    _writeValue(sink, kv.type, kv.value, kv.key);
  }
  const tensors = _assignOffsets(input.tensors, alignment);
  for (const tensor of tensors) {
    sink.string(tensor.name);
    sink.u32(tensor.dims.length);
    for (const dim of tensor.dims) sink.u64(BigInt(dim));
    sink.u32(tensor.type);
    sink.u64(BigInt(tensor.offset));
  }
  const dataOffset = _alignUp(sink.length, alignment);
  if (tensors.length > 0) sink.zeros(dataOffset - sink.length);
  const last = tensors.at(-1);
  const dataByteLength = last === undefined
    ? 0
    : _alignUp(last.offset + last.byteLength, alignment);
  const placed = tensors.map((t) => ({ ...t, fileOffset: dataOffset + t.offset }));
  const header = sink.bytes();
  return {
    header,
    tensors: placed,
    alignment,
    dataOffset,
    fileSize: header.length + dataByteLength,
  };
}

/**
 * Writes a whole GGUF file into memory.
 *
 * @param input version, metadata, tensors (data as bytes or a function returning bytes) and
 *   alignment
 * @returns the file's bytes
 * @throws {TypeError} when a value does not match its type, a tensor's data has the wrong
 *   length, or a data function returns a promise (use {@linkcode writeGgufFile})
 *
 * @example A vocab-only file
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { writeGguf } from "./mod.ts";
 * const bytes = writeGguf({ kvs: [{ key: "general.architecture", type: 8, value: "llama" }], tensors: [] });
 * strictEqual(bytes.length, 24 + 8 + 20 + 4 + 8 + 5);
 * ```
 */
export function writeGguf(input: GgufWriteInput): Uint8Array {
  const layout = layoutGguf(input);
  const file = new Uint8Array(layout.fileSize);
  file.set(layout.header, 0);
  input.tensors.forEach((tensor, i) => {
    const data = typeof tensor.data === "function" ? tensor.data() : tensor.data;
    if (!(data instanceof Uint8Array)) {
      throw new TypeError(
        `Cannot write tensor "${tensor.info.name}": its data function returned a promise; ` +
          `use writeGgufFile`,
      );
    }
    file.set(_checkedData(layout.tensors[i], data), layout.tensors[i].fileOffset);
  });
  return file;
}

/**
 * Writes a GGUF file to disk, streaming tensor data one tensor at a time.
 *
 * @param path where to write (created or truncated)
 * @param input version, metadata, tensors and alignment; data functions are called once, in
 *   order, and may be async
 * @returns the layout written
 * @throws {TypeError} when a value does not match its type or a tensor's data has the wrong length
 */
export async function writeGgufFile(
  path: string | URL,
  input: GgufWriteInput,
): Promise<GgufLayout> {
  const layout = layoutGguf(input);
  using file = await Deno.open(path, { write: true, create: true, truncate: true });
  await _writeAll(file, layout.header);
  let position = layout.header.length;
  for (let i = 0; i < input.tensors.length; i++) {
    const info = layout.tensors[i];
    const source = input.tensors[i].data;
    const data = _checkedData(info, typeof source === "function" ? await source() : source);
    await _writeAll(file, new Uint8Array(info.fileOffset - position));
    await _writeAll(file, data);
    position = info.fileOffset + data.length;
  }
  await _writeAll(file, new Uint8Array(layout.fileSize - position));
  return layout;
}

async function _writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  for (let written = 0; written < bytes.length;) {
    written += await file.write(bytes.subarray(written));
  }
}

function _alignment(input: GgufWriteInput): number {
  const kv = input.kvs.find((entry) => entry.key === "general.alignment");
  if (kv !== undefined && kv.type !== GgufValueType.UINT32) {
    throw new TypeError(
      `Cannot write GGUF: key "general.alignment" has type ${
        GgufValueType[kv.type]
      }, expected UINT32`,
    );
  }
  const fromKv = kv?.value as number | undefined;
  const alignment = input.alignment ?? fromKv ?? GGUF_DEFAULT_ALIGNMENT;
  if (fromKv !== undefined && fromKv !== alignment) {
    throw new RangeError(
      `Cannot write GGUF: alignment ${alignment} disagrees with "general.alignment" ${fromKv}`,
    );
  }
  if (!Number.isSafeInteger(alignment) || alignment <= 0 || (alignment & (alignment - 1)) !== 0) {
    throw new RangeError(`Cannot write GGUF: alignment ${alignment} is not a power of two`);
  }
  return alignment;
}

function _assignOffsets(
  tensors: readonly GgufWriteTensor[],
  alignment: number,
): Omit<GgufTensorInfo, "fileOffset">[] {
  const names = new Set<string>();
  let offset = 0;
  return tensors.map(({ info }) => {
    if (names.has(info.name)) {
      throw new TypeError(`Cannot write tensor "${info.name}": the name appears twice`);
    }
    names.add(info.name);
    const byteLength = _tensorByteLength(info);
    const entry = { name: info.name, dims: [...info.dims], type: info.type, offset, byteLength };
    offset = _alignUp(offset + byteLength, alignment);
    return entry;
  });
}

function _tensorByteLength(info: GgufTensorSpec): number {
  const traits = ggmlTypeTraits(info.type);
  if (traits === undefined) {
    throw new TypeError(`Cannot write tensor "${info.name}": type ${info.type} is not supported`);
  }
  const dimsValid = info.dims.length >= 1 && info.dims.length <= GGUF_MAX_DIMS &&
    info.dims.every((dim) => Number.isSafeInteger(dim) && dim > 0);
  if (!dimsValid || info.dims[0] % traits.blockSize !== 0) {
    throw new TypeError(
      `Cannot write tensor "${info.name}": dims [${info.dims}] do not fit 1 to ${GGUF_MAX_DIMS} ` +
        `positive dimensions with rows a multiple of the ${traits.name} block size ${traits.blockSize}`,
    );
  }
  const elementCount = info.dims.reduce((product, dim) => product * dim, 1);
  return (elementCount / traits.blockSize) * traits.bytesPerBlock;
}

function _checkedData(info: GgufTensorInfo, data: Uint8Array): Uint8Array {
  if (data.length !== info.byteLength) {
    throw new TypeError(
      `Cannot write tensor "${info.name}": data has ${data.length} bytes, expected ${info.byteLength}`,
    );
  }
  return data;
}

function _writeValue(sink: _ByteSink, type: GgufValueType, value: GgufValue, key: string): void {
  const mismatch = () =>
    new TypeError(
      `Cannot write key "${key}": value ${_preview(value)} does not fit type ${
        GgufValueType[type]
      }`,
    );
  switch (type) {
    case GgufValueType.UINT8:
    case GgufValueType.INT8:
    case GgufValueType.UINT16:
    case GgufValueType.INT16:
    case GgufValueType.UINT32:
    case GgufValueType.INT32:
      if (!_fitsInteger(type, value)) throw mismatch();
      return sink.integer(type, value as number);
    case GgufValueType.FLOAT32:
    case GgufValueType.FLOAT64:
      if (typeof value !== "number") throw mismatch();
      return type === GgufValueType.FLOAT32 ? sink.f32(value) : sink.f64(value);
    case GgufValueType.BOOL:
      if (typeof value !== "boolean") throw mismatch();
      return sink.u8(value ? 1 : 0);
    case GgufValueType.STRING:
      if (typeof value !== "string") throw mismatch();
      return sink.string(value);
    case GgufValueType.UINT64:
    case GgufValueType.INT64:
      if (!_fitsBigInteger(type, value)) throw mismatch();
      return type === GgufValueType.UINT64 ? sink.u64(value as bigint) : sink.i64(value as bigint);
    case GgufValueType.ARRAY:
      if (typeof value !== "object") throw mismatch();
      return _writeArray(sink, value, key);
    default:
      throw new TypeError(`Cannot write key "${key}": value type ${type} is not a GGUF value type`);
  }
}

function _writeArray(sink: _ByteSink, array: GgufArray, key: string): void {
  sink.u32(array.type);
  sink.u64(BigInt(array.values.length));
  for (const value of array.values) _writeValue(sink, array.type, value, key);
}

const INTEGER_RANGES: Partial<Record<GgufValueType, readonly [number, number]>> = {
  [GgufValueType.UINT8]: [0, 0xff],
  [GgufValueType.INT8]: [-0x80, 0x7f],
  [GgufValueType.UINT16]: [0, 0xffff],
  [GgufValueType.INT16]: [-0x8000, 0x7fff],
  [GgufValueType.UINT32]: [0, 0xffff_ffff],
  [GgufValueType.INT32]: [-0x8000_0000, 0x7fff_ffff],
};

function _fitsInteger(type: GgufValueType, value: GgufValue): boolean {
  const [min, max] = INTEGER_RANGES[type]!;
  return typeof value === "number" && Number.isInteger(value) && value >= min && value <= max;
}

function _fitsBigInteger(type: GgufValueType, value: GgufValue): boolean {
  if (typeof value !== "bigint") return false;
  return type === GgufValueType.UINT64
    ? BigInt.asUintN(64, value) === value
    : BigInt.asIntN(64, value) === value;
}

function _preview(value: GgufValue): string {
  if (typeof value === "object") return `[array of ${value.values.length}]`;
  return typeof value === "bigint" ? `${value}n` : JSON.stringify(value);
}

function _alignUp(offset: number, alignment: number): number {
  return Math.ceil(offset / alignment) * alignment;
}

const _utf8 = new TextEncoder();

/** A growable little-endian byte buffer. */
class _ByteSink {
  #buffer = new Uint8Array(1 << 16);
  #view = new DataView(this.#buffer.buffer);
  length = 0;

  bytes(): Uint8Array {
    return this.#buffer.slice(0, this.length);
  }

  #reserve(byteCount: number): number {
    const start = this.length;
    if (start + byteCount > this.#buffer.length) {
      const grown = new Uint8Array(Math.max(this.#buffer.length * 2, start + byteCount));
      grown.set(this.#buffer.subarray(0, start));
      this.#buffer = grown;
      this.#view = new DataView(grown.buffer);
    }
    this.length += byteCount;
    return start;
  }

  // Reserves first, then returns the (possibly regrown) view: the reserve may replace it.
  #at(byteCount: number): DataView {
    this.#reserve(byteCount);
    return this.#view;
  }

  u8(value: number): void {
    this.#at(1).setUint8(this.length - 1, value);
  }

  u32(value: number): void {
    this.#at(4).setUint32(this.length - 4, value, true);
  }

  u64(value: bigint): void {
    this.#at(8).setBigUint64(this.length - 8, value, true);
  }

  i64(value: bigint): void {
    this.#at(8).setBigInt64(this.length - 8, value, true);
  }

  f32(value: number): void {
    this.#at(4).setFloat32(this.length - 4, value, true);
  }

  f64(value: number): void {
    this.#at(8).setFloat64(this.length - 8, value, true);
  }

  integer(type: GgufValueType, value: number): void {
    switch (type) {
      case GgufValueType.UINT8:
        return this.#at(1).setUint8(this.length - 1, value);
      case GgufValueType.INT8:
        return this.#at(1).setInt8(this.length - 1, value);
      case GgufValueType.UINT16:
        return this.#at(2).setUint16(this.length - 2, value, true);
      case GgufValueType.INT16:
        return this.#at(2).setInt16(this.length - 2, value, true);
      case GgufValueType.UINT32:
        return this.#at(4).setUint32(this.length - 4, value, true);
      default:
        return this.#at(4).setInt32(this.length - 4, value, true);
    }
  }

  string(text: string): void {
    const lengthAt = this.#reserve(8);
    // A UTF-8 encoding takes at most 3 bytes per UTF-16 unit.
    const start = this.#reserve(text.length * 3);
    const { written } = _utf8.encodeInto(text, this.#buffer.subarray(start));
    this.length = start + written;
    this.#view.setBigUint64(lengthAt, BigInt(written), true);
  }

  zeros(byteCount: number): void {
    this.#buffer.fill(0, this.#reserve(byteCount), this.length);
  }
}
