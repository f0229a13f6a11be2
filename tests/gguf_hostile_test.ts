/**
 * Hostile and broken GGUF files: truncations at many offsets and flipped header bytes of the
 * real test files, plus hand-made corruptions. Every case must either parse or throw a
 * `GgufError` (never a RangeError, TypeError, hang or huge allocation), and a table of
 * representative corruptions pins the exact messages.
 *
 * @module
 */

import { ok, strictEqual, throws } from "node:assert";
import { GgufError } from "../core/errors.ts";
import { parseGguf } from "../core/gguf/reader.ts";
import { type GgufFile, type GgufKv, GgufValueType } from "../core/gguf/types.ts";
import { writeGguf } from "../core/gguf/writer.ts";
import { testdataPath } from "./testdata.ts";

const STORIES = "models/stories260K.gguf";
const FILES = [
  STORIES,
  "models/llama-2-tiny-random.gguf",
  "vocab/ggml-vocab-llama-spm.gguf",
  "vocab/ggml-vocab-bert-bge.gguf",
  "vocab/ggml-vocab-gpt-2.gguf",
];

// Headers up to this size are truncated at every offset; larger ones at a stride.
const EVERY_OFFSET_LIMIT_BYTES = 16 << 10;

/** Parses, and returns the GgufError if one was thrown; any other error fails the test. */
function _tryParse(bytes: Uint8Array, label: string): GgufFile | GgufError {
  try {
    return parseGguf(bytes, { name: "hostile.gguf" });
  } catch (error) {
    if (error instanceof GgufError) return error;
    throw new Error(`Parsing ${label} threw ${error}, expected a GgufError`, { cause: error });
  }
}

function _headerEnd(file: GgufFile): number {
  return Math.min(file.dataOffset, file.fileSize);
}

function _truncationOffsets(headerEnd: number, fileSize: number): number[] {
  const offsets = new Set<number>();
  const everyUntil = headerEnd <= EVERY_OFFSET_LIMIT_BYTES ? headerEnd : 2048;
  for (let i = 0; i <= everyUntil; i++) offsets.add(i);
  const headerStride = Math.max(1, Math.floor((headerEnd - everyUntil) / 120));
  for (let i = everyUntil; i < headerEnd; i += headerStride) offsets.add(i);
  for (let i = Math.max(0, headerEnd - 64); i <= headerEnd; i++) offsets.add(i);
  const dataStride = Math.max(1, Math.floor((fileSize - headerEnd) / 40));
  for (let i = headerEnd; i < fileSize; i += dataStride) offsets.add(i);
  offsets.add(fileSize - 1);
  return [...offsets].filter((offset) => offset < fileSize).sort((a, b) => a - b);
}

for (const relative of FILES) {
  Deno.test(`parseGguf() rejects ${relative} truncated at any offset with a GgufError`, async () => {
    const bytes = await Deno.readFile(testdataPath(relative));
    const whole = parseGguf(bytes);
    const offsets = _truncationOffsets(_headerEnd(whole), bytes.length);
    ok(offsets.length > 200, `${offsets.length} offsets`);
    for (const offset of offsets) {
      const outcome = _tryParse(bytes.subarray(0, offset), `${relative} cut at ${offset}`);
      // Every test file ends with its last tensor (or its metadata), so any cut must fail.
      ok(outcome instanceof GgufError, `${relative} cut at ${offset} parsed`);
    }
  });

  Deno.test(`parseGguf() survives flipped header bytes of ${relative}`, async () => {
    const bytes = await Deno.readFile(testdataPath(relative));
    const headerEnd = _headerEnd(parseGguf(bytes));
    const random = _xorshift32(0x2545f491 ^ bytes.length);
    const positions = headerEnd <= EVERY_OFFSET_LIMIT_BYTES
      ? Array.from({ length: headerEnd }, (_, i) => i)
      : Array.from({ length: 120 }, () => random() % headerEnd);
    let parsedCount = 0;
    const flipped = bytes.slice();
    for (const position of positions) {
      flipped[position] ^= 1 + (random() % 255);
      const outcome = _tryParse(flipped, `${relative} with byte ${position} flipped`);
      flipped[position] = bytes[position];
      if (outcome instanceof GgufError) continue;
      parsedCount++;
      for (const tensor of outcome.tensors) {
        ok(tensor.fileOffset + tensor.byteLength <= bytes.length, tensor.name);
        strictEqual(tensor.offset % outcome.alignment, 0, tensor.name);
      }
    }
    // Flips inside token text or float values leave a valid file: both outcomes must occur.
    ok(parsedCount > 0 && parsedCount < positions.length, `${parsedCount} parsed`);
  });
}

function _xorshift32(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>>= 0);
  };
}

// Byte positions in stories260K.gguf (from its layout): key #0 "tokenizer.ggml.tokens" has its
// length at 24, value type at 53, element type at 57, element count at 61, and the first token
// "<unk>" has its length at 69 and text at 77. Tensor "token_embd.weight" has its info at 11347:
// n_dims at 11372, dims at 11376 and 11384, type at 11392, data offset at 11396.
// Tensor "blk.0.attn_v.weight" has its name at 11633.
type _Patch = (bytes: Uint8Array, view: DataView) => Uint8Array | void;

const STORIES_CASES: [string, _Patch, string][] = [
  [
    "a cut before the smallest possible header end",
    (bytes) => bytes.subarray(0, 30),
    "header declares 48 tensors and 19 metadata keys, which need at least 1783 bytes after " +
    "offset 24, but the file has 30 bytes",
  ],
  [
    "a cut inside the first tensor's name",
    (bytes) => bytes.subarray(0, 11360),
    "name of tensor #0 at offset 11355 needs 17 bytes, but the file ends at byte 11360",
  ],
  [
    "a key length of 2^40",
    (_, view) => view.setBigUint64(24, 1n << 40n, true),
    "key #0 at offset 32 needs 1099511627776 bytes, but the file ends at byte 1185376",
  ],
  [
    "a key length past 2^53",
    (_, view) => view.setBigUint64(24, 1n << 60n, true),
    "length of key #0 at offset 24 is 1152921504606846976, which is larger than 2^53",
  ],
  [
    "2^40 tensors",
    (_, view) => view.setBigUint64(8, 1n << 40n, true),
    "header declares 1099511627776 tensors and 19 metadata keys, which need at least " +
    "35184372089079 bytes after offset 24, but the file has 1185376 bytes",
  ],
  [
    "value type 13",
    (_, view) => view.setUint32(53, 13, true),
    'key "tokenizer.ggml.tokens" at offset 24 has value type 13 (at offset 53), which is not ' +
    "a GGUF value type",
  ],
  [
    "array element type 99",
    (_, view) => view.setUint32(57, 99, true),
    'array of key "tokenizer.ggml.tokens" at offset 57 has element type 99, which is not a ' +
    "GGUF value type",
  ],
  [
    "2^50 tokens",
    (_, view) => view.setBigUint64(61, 1n << 50n, true),
    '1125899906842624 STRING elements of array "tokenizer.ggml.tokens" at offset 69 needs ' +
    "9007199254740992 bytes, but the file ends at byte 1185376",
  ],
  [
    "2^64 - 1 tokens",
    (_, view) => view.setBigUint64(61, (1n << 64n) - 1n, true),
    'element count of array "tokenizer.ggml.tokens" at offset 61 is 18446744073709551615, ' +
    "which is larger than 2^53",
  ],
  [
    "invalid UTF-8 in a token",
    (bytes) => void (bytes[78] = 0xff),
    'element of array "tokenizer.ggml.tokens" at offset 69 is not valid UTF-8',
  ],
  [
    "an unknown tensor type",
    (_, view) => view.setUint32(11392, 4, true),
    'tensor "token_embd.weight" at offset 11347 has type 4, which is not supported',
  ],
  [
    "5 dimensions",
    (_, view) => view.setUint32(11372, 5, true),
    'tensor "token_embd.weight" at offset 11347 has 5 dimensions, expected 1 to 4',
  ],
  [
    "0 dimensions",
    (_, view) => view.setUint32(11372, 0, true),
    'tensor "token_embd.weight" at offset 11347 has 0 dimensions, expected 1 to 4',
  ],
  [
    "a dimension of size 0",
    (_, view) => view.setBigUint64(11384, 0n, true),
    'tensor "token_embd.weight" at offset 11347 has dimension 1 of size 0',
  ],
  [
    "an element count past 2^53",
    (_, view) => {
      view.setBigUint64(11376, 1n << 40n, true);
      view.setBigUint64(11384, 1n << 40n, true);
    },
    'tensor "token_embd.weight" at offset 11347 has more than 2^53 elements',
  ],
  [
    "rows that are not whole Q8_0 blocks",
    (_, view) => {
      view.setBigUint64(11376, 48n, true);
      view.setUint32(11392, 8, true);
    },
    'tensor "token_embd.weight" at offset 11347 has rows of 48 elements, which is not a ' +
    "multiple of the Q8_0 block size 32",
  ],
  [
    "an unaligned data offset",
    (_, view) => view.setBigUint64(11396, 4n, true),
    'tensor "token_embd.weight" at offset 11347 has data offset 4, which is not a multiple of ' +
    "the alignment 32",
  ],
  [
    "data past the end of the file",
    (_, view) => view.setBigUint64(11396, 1n << 30n, true),
    'tensor "token_embd.weight" at offset 11347 has data at bytes 1073756000..1073887072, past ' +
    "the end of the file at byte 1185376",
  ],
  [
    "a file one byte short",
    (bytes) => bytes.subarray(0, bytes.length - 1),
    'tensor "blk.4.ffn_norm.weight" at offset 14099 has data at bytes 1185120..1185376, past ' +
    "the end of the file at byte 1185375",
  ],
  [
    "a repeated tensor name",
    (bytes) => void (bytes[11633 + 11] = "k".charCodeAt(0)),
    'tensor "blk.0.attn_k.weight" at offset 11625 appears twice',
  ],
];

Deno.test("parseGguf() explains each corruption of stories260K exactly", async () => {
  const original = await Deno.readFile(testdataPath(STORIES));
  for (const [label, patch, detail] of STORIES_CASES) {
    const bytes = original.slice();
    const patched = patch(bytes, new DataView(bytes.buffer)) ?? bytes;
    throws(() => parseGguf(patched, { name: "stories260K.gguf" }), {
      name: "GgufError",
      message: `Cannot read GGUF "stories260K.gguf": ${detail}`,
    }, label);
  }
});

function _kvFile(kvs: GgufKv[]): Uint8Array {
  return writeGguf({ kvs, tensors: [] });
}

function _nested(depth: number): GgufKv {
  let value: GgufKv["value"] = { type: GgufValueType.UINT8, values: [1] };
  for (let level = 1; level < depth; level++) {
    value = { type: GgufValueType.ARRAY, values: [value] };
  }
  return { key: "deep", type: GgufValueType.ARRAY, value };
}

Deno.test("parseGguf() explains corrupt metadata exactly", () => {
  const u32 = (key: string, value: number): GgufKv => ({ key, type: GgufValueType.UINT32, value });
  const alignment = _kvFile([u32("general.alignment", 64)]);
  const alignmentView = new DataView(alignment.buffer);
  // Layout: header 24, key length 8 + "general.alignment" 17, type at 49, value at 53.
  const cases: [string, Uint8Array, string][] = [
    [
      "a key repeated with another value",
      _kvFile([u32("a", 1), u32("a", 2)]),
      'key "a" at offset 41 appears twice, with another value',
    ],
    [
      "a bool byte of 2",
      (() => {
        const bytes = _kvFile([{ key: "b", type: GgufValueType.BOOL, value: true }]);
        bytes[bytes.length - 1] = 2;
        return bytes;
      })(),
      'value of key "b" at offset 37 is byte 2, expected 0 or 1',
    ],
    [
      "arrays nested 9 deep",
      _kvFile([_nested(9)]),
      'array of key "deep" at offset 136 is nested deeper than 8 levels',
    ],
    [
      "alignment 48",
      (alignmentView.setUint32(53, 48, true), alignment.slice()),
      'key "general.alignment" is 48, which is not a power of two',
    ],
    [
      "alignment 0",
      (alignmentView.setUint32(53, 0, true), alignment.slice()),
      'key "general.alignment" is 0, which is not a power of two',
    ],
    [
      "alignment stored as INT32",
      (alignmentView.setUint32(49, GgufValueType.INT32, true), alignment.slice()),
      'key "general.alignment" has type INT32, expected UINT32',
    ],
  ];
  for (const [label, bytes, detail] of cases) {
    throws(() => parseGguf(bytes, { name: "meta.gguf" }), {
      name: "GgufError",
      message: `Cannot read GGUF "meta.gguf": ${detail}`,
    }, label);
  }
  strictEqual(parseGguf(_kvFile([_nested(8)])).kvs.length, 1);
});

Deno.test("parseGguf() accepts a known type whose size still fits (MXFP4 over F32 data)", async () => {
  const bytes = await Deno.readFile(testdataPath(STORIES));
  new DataView(bytes.buffer).setUint32(11392, 39, true);
  const tensor = parseGguf(bytes).tensors[0];
  strictEqual(tensor.byteLength, (64 * 512 / 32) * 17);
});

Deno.test("parseGguf() decodes UTF-8 exactly as a strict TextDecoder does", () => {
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  const random = _xorshift32(7);
  const template = _kvFile([{ key: "s", type: GgufValueType.STRING, value: "x".repeat(8) }]);
  const textAt = template.length - 8;
  // Valid encodings of random code points (1 to 4 bytes), half of them with one byte replaced
  // by a lead, continuation or never-valid byte.
  const pool = [
    0x41,
    0x80,
    0xbf,
    0xc0,
    0xc1,
    0xc2,
    0xdf,
    0xe0,
    0xa0,
    0xed,
    0x9f,
    0xf0,
    0x90,
    0xf4,
    0x8f,
    0xf5,
    0xff,
  ];
  const planes = [0x80, 0x800, 0x10000, 0x110000];
  let validCount = 0;
  for (let round = 0; round < 4000; round++) {
    const bytes = template.slice();
    const encoded = new TextEncoder().encode(
      String.fromCodePoint(..._codePoints(random, planes[random() % 4], 8)),
    ).subarray(0, 8);
    bytes.set(encoded, textAt);
    if (round % 2 === 1) bytes[textAt + (random() % 8)] = pool[random() % pool.length];
    let expected: string | undefined;
    try {
      expected = decoder.decode(bytes.subarray(textAt));
      validCount++;
    } catch {
      expected = undefined;
    }
    const outcome = _tryParse(bytes, `string ${bytes.subarray(textAt)}`);
    if (expected === undefined) ok(outcome instanceof GgufError, `${bytes.subarray(textAt)}`);
    else strictEqual((outcome as GgufFile).metadata.get("s"), expected);
  }
  ok(validCount > 1000 && validCount < 3500, `${validCount} valid strings`);
});

// `count` code points below `limit`, skipping surrogates (which TextEncoder would replace).
function _codePoints(random: () => number, limit: number, count: number): number[] {
  const points: number[] = [];
  while (points.length < count) {
    const point = random() % limit;
    if (point < 0xd800 || point > 0xdfff) points.push(point);
  }
  return points;
}
