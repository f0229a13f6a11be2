import { strictEqual, throws } from "node:assert";
import { decodeBase64 } from "./testdata/base64.ts";
import { GgmlType } from "../../core/gguf/types.ts";
import { ggmlTypeTraits } from "../../core/gguf/ggml_types.ts";
import { dequantizeRow, rowByteLength } from "./quant.ts";

/** A block of `byteLength` bytes with the given bytes set (`{ offset: byte }`). */
function block(byteLength: number, bytes: Record<number, number>): Uint8Array {
  const out = new Uint8Array(byteLength);
  for (const [at, value] of Object.entries(bytes)) {
    if (Number(at) >= byteLength) {
      throw new RangeError(`Cannot set byte ${at} of a ${byteLength}-byte block`);
    }
    out[Number(at)] = value;
  }
  return out;
}

/** Expected values: `fill` everywhere except the listed `{ index: value }`. */
function values(length: number, fill: number, at: Record<number, number>): number[] {
  const out = new Array<number>(length).fill(fill);
  for (const [index, value] of Object.entries(at)) out[Number(index)] = value;
  return out;
}

/** Asserts equal values with `===` (so -0 equals 0), naming the first differing index. */
function assertValues(actual: Float32Array, expected: ArrayLike<number>, label: string): void {
  strictEqual(actual.length, expected.length, `${label}: length`);
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] !== expected[i]) {
      throw new Error(`${label}: value ${i} is ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

function dequantize(type: GgmlType, bytes: Uint8Array): Float32Array {
  const { blockSize, bytesPerBlock } = ggmlTypeTraits(type)!;
  const out = new Float32Array((bytes.length / bytesPerBlock) * blockSize);
  dequantizeRow(type, bytes, out);
  return out;
}

// Hand-built blocks. f16 bits used: 0x3c00 = 1, 0x3800 = 0.5, 0x3400 = 0.25, 0xbc00 = -1,
// 0x4000 = 2. Every expected value below is worked out from the layout in quant.ts's header.
const HAND_CASES: { type: GgmlType; bytes: Uint8Array; expected: number[] }[] = [
  // F32 1.5 = 0x3fc00000, -2 = 0xc0000000
  { type: GgmlType.F32, bytes: block(8, { 2: 0xc0, 3: 0x3f, 7: 0xc0 }), expected: [1.5, -2] },
  { type: GgmlType.F16, bytes: block(4, { 1: 0x3c, 3: 0xc0 }), expected: [1, -2] },
  {
    type: GgmlType.BF16,
    bytes: block(4, { 0: 0x80, 1: 0x3f, 2: 0x40, 3: 0xc0 }),
    expected: [1, -3],
  },
  // Q4_0 d=0.5; qs[0]=0x2f: (15-8)·0.5 = 3.5 at 0, (2-8)·0.5 = -3 at 16; other nibbles 8 → 0
  {
    type: GgmlType.Q4_0,
    bytes: block(18, {
      1: 0x38,
      2: 0x2f,
      ...Object.fromEntries([...Array(15)].map((_, j) => [3 + j, 0x88])),
    }),
    expected: values(32, 0, { 0: 3.5, 16: -3 }),
  },
  // Q4_1 d=0.25 m=-1; qs[0]=0xf1: 1·0.25-1 at 0, 15·0.25-1 at 16; zero nibbles → -1
  {
    type: GgmlType.Q4_1,
    bytes: block(20, { 1: 0x34, 3: 0xbc, 4: 0xf1 }),
    expected: values(32, -1, { 0: -0.75, 16: 2.75 }),
  },
  // Q5_0 d=1; qh bits 0 and 16; qs[0]=0x3a: (10|16)-16 = 10 at 0, (3|16)-16 = 3 at 16; else -16
  {
    type: GgmlType.Q5_0,
    bytes: block(22, { 1: 0x3c, 2: 0x01, 4: 0x01, 6: 0x3a }),
    expected: values(32, -16, { 0: 10, 16: 3 }),
  },
  // Q5_1 d=0.5 m=2; qh bit 31; qs[15]=0xf0: value 31 = 31·0.5+2; value 15 = 0·0.5+2
  {
    type: GgmlType.Q5_1,
    bytes: block(24, { 1: 0x38, 3: 0x40, 7: 0x80, 23: 0xf0 }),
    expected: values(32, 2, { 31: 17.5 }),
  },
  // Q8_0 d=0.5; qs[0]=4, qs[1]=-2, qs[31]=-128
  {
    type: GgmlType.Q8_0,
    bytes: block(34, { 1: 0x38, 2: 4, 3: 0xfe, 33: 0x80 }),
    expected: values(32, 0, { 0: 2, 1: -1, 31: -64 }),
  },
  // Q8_1 d=2 (s ignored); qs[0]=-128, qs[31]=127
  {
    type: GgmlType.Q8_1,
    bytes: block(36, { 1: 0x40, 3: 0x7b, 4: 0x80, 35: 0x7f }),
    expected: values(32, 0, { 0: -256, 31: 254 }),
  },
  // Q2_K d=1 dmin=0.5. Group 0: scale 3, min 2·0.5: qs[0] bits 0-1 = 3 → 8, rest q=0 → -1.
  // Group 5 (qs[16..31], bits 4-5): scale 15, min 4·0.5: qs[19]=0x20 → value 83 = 15·2-2,
  // rest -2. Group 9 (qs[48..63], bits 0-1): scale 1, min 0: qs[55]=3 → value 151 = 3.
  {
    type: GgmlType.Q2_K,
    bytes: block(84, {
      0: 0x23,
      5: 0x4f,
      9: 0x01,
      16: 0x03,
      35: 0x20,
      71: 0x03,
      81: 0x3c,
      83: 0x38,
    }),
    expected: values(256, 0, {
      0: 8,
      ...Object.fromEntries([...Array(15)].map((_, l) => [1 + l, -1])),
      ...Object.fromEntries([...Array(16)].map((_, l) => [80 + l, -2])),
      83: 28,
      151: 3,
    }),
  },
  // Q3_K d=0.5, hmask all set (no -4). Scale 0 (group 0: byte 96 low nibble 1, byte 104 bits
  // 0-1 = 2 → 33-32 = 1): qs[32] bits 0-1 = 3 → value 0 = 0.5·1·3. Other scales are 0 → factor
  // -16. Value 200 (half 1, pair 2, l 8, group 12): hmask[8] bit 6 clear → -4, low bits from
  // qs[72] bits 4-5 = 1 → -3·-16 = 48.
  {
    type: GgmlType.Q3_K,
    bytes: (() => {
      const b = block(110, { 32: 0x03, 72: 0x10, 96: 0x01, 104: 0x02, 109: 0x38 });
      for (let l = 0; l < 32; l++) b[l] = l === 8 ? 0xbf : 0xff;
      return b;
    })(),
    expected: values(256, 0, { 0: 1.5, 200: 48 }),
  },
  // Q4_K d=1 dmin=0.25. Group 0: scale 2, min 4 (→1): qs[0] low nibble 7 → 13, others -1.
  // Group 5: scale 1|(1<<4) = 17 from bytes 13 and 5, min 3|(2<<4) = 35 (→8.75) from bytes 13
  // and 9: qs[74] high nibble 9 → value 170 = 17·9-8.75, others -8.75.
  {
    type: GgmlType.Q4_K,
    bytes: block(144, {
      1: 0x3c,
      3: 0x34,
      4: 0x02,
      5: 0x40,
      8: 0x04,
      9: 0x80,
      13: 0x31,
      16: 0x07,
      90: 0x90,
    }),
    expected: values(256, 0, {
      ...Object.fromEntries([...Array(32)].map((_, l) => [l, -1])),
      0: 13,
      ...Object.fromEntries([...Array(32)].map((_, l) => [160 + l, -8.75])),
      170: 144.25,
    }),
  },
  // Q5_K d=1 dmin=1. Group 0: scale 1, min 0: qh[3] bit 0 + qs[3] low nibble 5 → 21.
  // Group 7: scale 2 (byte 15 low nibble), min 0: qh[31] bit 7 + qs[127] high nibble 15 → 62.
  {
    type: GgmlType.Q5_K,
    bytes: block(176, {
      1: 0x3c,
      3: 0x3c,
      4: 0x01,
      15: 0x02,
      19: 0x01,
      47: 0x80,
      51: 0x05,
      175: 0xf0,
    }),
    expected: values(256, 0, { 3: 21, 255: 62 }),
  },
  // Q6_K d=0.5. Group 0 scale -2 (factor -1): ql/qh zero → q=-32 → 32; value 0: ql[0] low 15,
  // qh[0] bits 0-1 = 3 → 63-32 = 31 → -31. Group 15 scale 3 (factor 1.5): q=-32 → -48; value
  // 255 (half 1, quarter 3, l 31): ql[127] high nibble 10, qh[63] bits 6-7 = 1 → 26-32 → -9.
  {
    type: GgmlType.Q6_K,
    bytes: block(210, {
      0: 0x0f,
      127: 0xa0,
      128: 0x03,
      191: 0x40,
      192: 0xfe,
      207: 0x03,
      209: 0x38,
    }),
    expected: values(256, 0, {
      ...Object.fromEntries([...Array(16)].map((_, l) => [l, 32])),
      0: -31,
      ...Object.fromEntries([...Array(16)].map((_, l) => [240 + l, -48])),
      255: -9,
    }),
  },
  // Q8_K d=0.25 (f32 0x3e800000); qs[5] = -3, qs[255] = 100; bsums ignored
  {
    type: GgmlType.Q8_K,
    bytes: block(292, { 2: 0x80, 3: 0x3e, 9: 0xfd, 259: 100, 260: 0x55 }),
    expected: values(256, 0, { 5: -0.75, 255: 25 }),
  },
];

for (const { type, bytes, expected } of HAND_CASES) {
  Deno.test(`dequantizeRow() decodes a hand-built ${GgmlType[type]} block`, () => {
    assertValues(dequantize(type, bytes), expected, GgmlType[type]);
  });
}

interface _Fixture {
  source: string;
  type: GgmlType;
  typeName: string;
  blocks: string;
  values: string;
}

const FIXTURES: _Fixture[] = JSON.parse(
  Deno.readTextFileSync(new URL("./testdata/dequant_fixtures.json", import.meta.url)),
).fixtures;

Deno.test("dequantizeRow() matches the gguf package's numpy dequantizers bit for bit", () => {
  const covered = new Set<string>();
  for (const fixture of FIXTURES) {
    const raw = decodeBase64(fixture.blocks);
    const valueBytes = decodeBase64(fixture.values);
    const expected = new Float32Array(
      valueBytes.buffer,
      valueBytes.byteOffset,
      valueBytes.length / 4,
    );
    assertValues(
      dequantize(fixture.type, raw),
      expected,
      `${fixture.typeName} (${fixture.source})`,
    );
    covered.add(fixture.typeName);
  }
  strictEqual(
    [...covered].sort().join(" "),
    "BF16 F16 Q2_K Q3_K Q4_0 Q4_1 Q4_K Q5_0 Q5_1 Q5_K Q6_K Q8_0",
  );
});

Deno.test("dequantizeRow() reads a row that starts inside a larger buffer", () => {
  const bytes = new Uint8Array(3 + 34);
  bytes[3 + 1] = 0x3c; // d = 1
  bytes[3 + 2] = 7;
  const out = new Float32Array(32);
  dequantizeRow(GgmlType.Q8_0, bytes.subarray(3), out);
  strictEqual(out[0], 7);
  const floats = new Uint8Array(1 + 8);
  new DataView(floats.buffer).setFloat32(1 + 4, -0.125, true);
  const f32 = new Float32Array(2);
  dequantizeRow(GgmlType.F32, floats.subarray(1), f32);
  strictEqual(f32[1], -0.125);
});

Deno.test("dequantizeRow() rejects unsupported types, partial blocks and short input", () => {
  throws(
    () => dequantizeRow(GgmlType.IQ2_XXS, new Uint8Array(66), new Float32Array(256)),
    {
      name: "RangeError",
      message: "Cannot use tensor type 16 (IQ2_XXS): the reference backend does not support it",
    },
  );
  throws(
    () => dequantizeRow(GgmlType.Q4_0, new Uint8Array(18), new Float32Array(16)),
    {
      name: "RangeError",
      message: "Cannot size Q4_0 data: 16 elements are not a whole number of 32-element blocks",
    },
  );
  throws(
    () => dequantizeRow(GgmlType.Q4_K, new Uint8Array(143), new Float32Array(256)),
    {
      name: "TypeError",
      message: "Cannot dequantize a row of 256 Q4_K values: it needs 144 bytes, got 143",
    },
  );
});

Deno.test("rowByteLength() follows the block table", () => {
  strictEqual(rowByteLength(GgmlType.F32, 3), 12);
  strictEqual(rowByteLength(GgmlType.BF16, 3), 6);
  strictEqual(rowByteLength(GgmlType.Q5_1, 64), 48);
  strictEqual(rowByteLength(GgmlType.Q3_K, 512), 220);
  strictEqual(rowByteLength(GgmlType.Q8_K, 256), 292);
});
