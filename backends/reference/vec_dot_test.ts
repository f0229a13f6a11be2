import { strictEqual, throws } from "node:assert";
import { ggmlTypeTraits } from "../../core/gguf/ggml_types.ts";
import { GgmlType } from "../../core/gguf/types.ts";
import { decodeBase64 } from "./testdata/base64.ts";
import { dequantizeRow } from "./quant.ts";
import { quantizeRow } from "./quantize.ts";
import { activationType, vecDot } from "./vec_dot.ts";

Deno.test("vecDot(Q4_0) multiplies integer quants and applies dx·dy once per block", () => {
  const weights = new Uint8Array(18).fill(0x99); // every nibble 9 → q = 1
  weights.set([0x00, 0x38]); // d = 0.5
  const activations = new Uint8Array(34);
  activations.set([0x00, 0x40]); // d = 2
  for (let j = 0; j < 32; j++) activations[2 + j] = j; // Σ q = 496
  strictEqual(vecDot(GgmlType.Q4_0, 32, weights, activations), 496);
});

Deno.test("vecDot(Q4_1) adds the weight min times the activation block sum s", () => {
  const weights = new Uint8Array(20).fill(0x11); // q = 1
  weights.set([0x00, 0x3c, 0x00, 0x40]); // d = 1, m = 2 → every weight is 3
  const activations = new Uint8Array(36);
  activations.set([0x00, 0x3c, 0x00, 0x50]); // d = 1, s = 32 (Σ q = 32)
  activations.fill(1, 4);
  strictEqual(vecDot(GgmlType.Q4_1, 32, weights, activations), 96);
});

Deno.test("vecDot(Q4_K) subtracts dmin·min from Q8_K bsums", () => {
  const weights = new Uint8Array(144).fill(0x22); // q = 2
  weights.set([0x00, 0x3c, 0x00, 0x3c]); // d = 1, dmin = 1
  weights.set([1, 1, 1, 1, 1, 1, 1, 1, 0x11, 0x11, 0x11, 0x11], 4); // scale 1, min 1 → value 1
  const activations = new Uint8Array(292);
  new DataView(activations.buffer).setFloat32(0, 1, true);
  activations.fill(1, 4, 260);
  for (let k = 0; k < 16; k++) activations[260 + 2 * k] = 16;
  strictEqual(vecDot(GgmlType.Q4_K, 256, weights, activations), 256);
});

Deno.test("vecDot(Q6_K) applies signed group scales", () => {
  const weights = new Uint8Array(210);
  weights.fill(0x11, 0, 128); // low nibbles 1
  weights.fill(0xaa, 128, 192); // high bits 2 → q = 33 - 32 = 1
  weights.fill(0xff, 192, 208); // every scale -1
  weights.set([0x00, 0x3c], 208); // d = 1
  const activations = new Uint8Array(292);
  new DataView(activations.buffer).setFloat32(0, 0.5, true);
  activations.fill(2, 4, 260);
  strictEqual(vecDot(GgmlType.Q6_K, 256, weights, activations), -256);
});

Deno.test("vecDot() of float types accumulates in float64 and rounds once", () => {
  const x = new Float32Array([1e8, 1, -1e8, 1]);
  const f32 = new Uint8Array(new Float32Array([1, 1, 1, 1]).buffer);
  strictEqual(vecDot(GgmlType.F32, 4, f32, x), 2);
  const f16 = new Uint8Array(new Uint16Array([0x3c00, 0xc000, 0x3800, 0x0001]).buffer);
  strictEqual(vecDot(GgmlType.F16, 4, f16, new Float32Array([3, 1, 4, 2 ** 24])), 4);
  const bf16 = new Uint8Array(new Uint16Array([0x3f80, 0xc040]).buffer);
  strictEqual(vecDot(GgmlType.BF16, 2, bf16, new Float32Array([2, 1])), -1);
});

interface _Fixture {
  source: string;
  type: GgmlType;
  blocks: string;
}

const FIXTURES: _Fixture[] = JSON.parse(
  Deno.readTextFileSync(new URL("./testdata/dequant_fixtures.json", import.meta.url)),
).fixtures;

Deno.test("vecDot() equals the float64 dot of the dequantized rows for every weight type", () => {
  let seed = 11;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5;
  const types = new Set<GgmlType>();
  for (const fixture of FIXTURES) {
    const { type } = fixture;
    const weights = decodeBase64(fixture.blocks);
    const n = (weights.length / ggmlTypeTraits(type)!.bytesPerBlock) *
      ggmlTypeTraits(type)!.blockSize;
    const x = Float32Array.from({ length: n }, () => 4 * random());
    const actType = activationType(type);
    let activations: Uint8Array | Float32Array = x;
    const xBack = new Float32Array(n);
    if (actType === GgmlType.F32) {
      xBack.set(x);
    } else {
      activations = new Uint8Array(
        (n / ggmlTypeTraits(actType)!.blockSize) * ggmlTypeTraits(actType)!.bytesPerBlock,
      );
      quantizeRow(actType, x, activations);
      dequantizeRow(actType, activations, xBack);
    }
    const w = new Float32Array(n);
    dequantizeRow(type, weights, w);
    let exact = 0;
    let magnitude = 0;
    for (let i = 0; i < n; i++) {
      exact += w[i] * xBack[i];
      magnitude += Math.abs(w[i] * xBack[i]);
    }
    // F32 rounding of per-block terms, plus (Q4_1/Q5_1) the F16 rounding of the block sum s.
    const relative = actType === GgmlType.Q8_1 ? 2 ** -10 : 2 ** -20;
    const got = vecDot(type, n, weights, activations);
    if (Math.abs(got - exact) > relative * magnitude) {
      throw new Error(
        `${GgmlType[type]} (${fixture.source}): ${got} vs ${exact}, |terms| ${magnitude}`,
      );
    }
    types.add(type);
  }
  strictEqual(types.size, 12);
});

Deno.test("activationType() pairs weight types as ggml does", () => {
  const pairs: [GgmlType, GgmlType][] = [
    [GgmlType.F16, GgmlType.F32],
    [GgmlType.Q4_0, GgmlType.Q8_0],
    [GgmlType.Q5_0, GgmlType.Q8_0],
    [GgmlType.Q8_0, GgmlType.Q8_0],
    [GgmlType.Q4_1, GgmlType.Q8_1],
    [GgmlType.Q5_1, GgmlType.Q8_1],
    [GgmlType.Q2_K, GgmlType.Q8_K],
    [GgmlType.Q6_K, GgmlType.Q8_K],
  ];
  for (const [weight, activation] of pairs) strictEqual(activationType(weight), activation);
  throws(() => activationType(GgmlType.IQ4_NL), {
    name: "RangeError",
    message:
      "Cannot multiply tensor type 20 (IQ4_NL): the reference backend has no dot product for it",
  });
});

Deno.test("vecDot() rejects activations of the wrong kind or length", () => {
  throws(() => vecDot(GgmlType.Q8_0, 32, new Uint8Array(34), new Float32Array(32)), {
    name: "TypeError",
    message: "Cannot multiply a row of type Q8_0: the activations must be Q8_0 bytes",
  });
  throws(() => vecDot(GgmlType.Q4_K, 256, new Uint8Array(144), new Uint8Array(291)), {
    name: "TypeError",
    message: "Cannot multiply 256 values: the activation row of type Q8_K needs 292 bytes, got 291",
  });
  throws(() => vecDot(GgmlType.F16, 4, new Uint8Array(8), new Float32Array(3)), {
    name: "TypeError",
    message:
      "Cannot multiply a row of type F16: the activations must be a Float32Array of at least 4 values",
  });
});
