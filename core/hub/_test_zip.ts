/**
 * Builds small zip files for tests (stored and deflated members, optionally with zip64
 * records), so the reader is checked against bytes we laid out by the spec.
 *
 * @module
 */

import { crc32 } from "node:zlib";

/** One member to write. */
export interface TestZipMember {
  name: string;
  data: Uint8Array;
  /** 0 stored, 8 deflate. */
  method: 0 | 8;
}

async function _deflateRaw(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new CompressionStream("deflate-raw"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

class _Bytes {
  parts: Uint8Array[] = [];
  length = 0;
  push(bytes: Uint8Array): void {
    this.parts.push(bytes);
    this.length += bytes.length;
  }
  fields(spec: [number, 2 | 4 | 8][]): void {
    const size = spec.reduce((sum, [, width]) => sum + width, 0);
    const view = new DataView(new ArrayBuffer(size));
    let at = 0;
    for (const [value, width] of spec) {
      if (width === 2) view.setUint16(at, value, true);
      else if (width === 4) view.setUint32(at, value, true);
      else view.setBigUint64(at, BigInt(value), true);
      at += width;
    }
    this.push(new Uint8Array(view.buffer));
  }
  concat(): Uint8Array<ArrayBuffer> {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const part of this.parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }
}

/**
 * A zip archive holding `members`. With `zip64`, sizes and offsets in the central directory
 * are saturated and given in zip64 extra fields, and a zip64 end record is written.
 *
 * @param members the members, in order
 * @param options `zip64` to use zip64 records
 * @returns the archive bytes
 */
export async function buildTestZip(
  members: TestZipMember[],
  options: { zip64?: boolean } = {},
): Promise<Uint8Array<ArrayBuffer>> {
  const out = new _Bytes();
  const central = new _Bytes();
  const encoder = new TextEncoder();
  for (const member of members) {
    const name = encoder.encode(member.name);
    const body = member.method === 8 ? await _deflateRaw(member.data) : member.data;
    const crc = crc32(member.data) >>> 0;
    const offset = out.length;
    out.fields([[0x04034b50, 4], [20, 2], [0, 2], [member.method, 2], [0, 2], [0, 2], [crc, 4]]);
    out.fields([[body.length, 4], [member.data.length, 4], [name.length, 2], [0, 2]]);
    out.push(name);
    out.push(body);
    const big = options.zip64 ? 0xffffffff : undefined;
    central.fields([[0x02014b50, 4], [45, 2], [45, 2], [0, 2], [member.method, 2], [0, 2]]);
    central.fields([[0, 2], [crc, 4], [big ?? body.length, 4], [big ?? member.data.length, 4]]);
    central.fields([[name.length, 2], [options.zip64 ? 28 : 0, 2], [0, 2], [0, 2], [0, 2]]);
    central.fields([[0, 4], [big ?? offset, 4]]);
    central.push(name);
    if (options.zip64) {
      central.fields([[0x0001, 2], [24, 2], [member.data.length, 8], [body.length, 8]]);
      central.fields([[offset, 8]]);
    }
  }
  const centralOffset = out.length;
  for (const part of central.parts) out.push(part);
  const count = members.length;
  if (options.zip64) {
    const zip64Offset = out.length;
    out.fields([[0x06064b50, 4], [44, 8], [45, 2], [45, 2], [0, 4], [0, 4], [count, 8]]);
    out.fields([[count, 8], [central.length, 8], [centralOffset, 8]]);
    out.fields([[0x07064b50, 4], [0, 4], [zip64Offset, 8], [1, 4]]);
    out.fields([[0x06054b50, 4], [0, 2], [0, 2], [0xffff, 2], [0xffff, 2]]);
    out.fields([[0xffffffff, 4], [0xffffffff, 4], [0, 2]]);
  } else {
    out.fields([[0x06054b50, 4], [0, 2], [0, 2], [count, 2], [count, 2]]);
    out.fields([[central.length, 4], [centralOffset, 4], [0, 2]]);
  }
  return out.concat();
}
