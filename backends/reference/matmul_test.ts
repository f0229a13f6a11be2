import { deepStrictEqual, strictEqual, throws } from "node:assert";
import { GgmlType } from "../../core/gguf/types.ts";
import { decodeBase64 } from "./testdata/base64.ts";
import { getRows, matmul, matmulF64 } from "./matmul.ts";
import { dequantizeRow } from "./quant.ts";

/** A Q8_0 row of 32 values with d = 1 and the given int8 quants. */
function q8Row(quants: number[]): Uint8Array {
  const row = new Uint8Array(34);
  row[1] = 0x3c;
  row.set(quants.map((q) => q & 0xff), 2);
  return row;
}

function concat(...rows: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(rows.reduce((n, r) => n + r.length, 0));
  rows.reduce((at, r) => (out.set(r, at), at + r.length), 0);
  return out;
}

Deno.test("getRows() dequantizes the listed rows in order", () => {
  const table = new Uint8Array(new Uint16Array([0x3c00, 0x4000, 0xc200, 0x3800]).buffer); // F16 [[1, 2], [-3, 0.5]]
  const out = new Float32Array(6);
  getRows(out, table, GgmlType.F16, 2, [1, 0, 1]);
  deepStrictEqual([...out], [-3, 0.5, 1, 2, -3, 0.5]);
  const q8 = new Float32Array(32);
  getRows(q8, concat(q8Row([1]), q8Row([-7])), GgmlType.Q8_0, 32, [1]);
  strictEqual(q8[0], -7);
  throws(() => getRows(out.subarray(0, 2), table, GgmlType.F16, 2, [2]), {
    name: "RangeError",
    message: "Cannot look up row 2: the table has 2 rows",
  });
});

Deno.test("matmul() computes x·Wᵀ as [nTokens][rows] with quantized activations", () => {
  // W (Q8_0, d = 1): row 0 all 1, row 1 q_j = j - 16. x: amax 127 → activations are exact.
  const weight = concat(q8Row(new Array(32).fill(1)), q8Row([...Array(32)].map((_, j) => j - 16)));
  const x = new Float32Array(64);
  x[0] = 127; // token 0: e_0 · 127
  x.fill(1, 32, 63);
  x[63] = 127; // token 1: 31 ones, then 127
  const out = new Float32Array(4);
  matmul(out, weight, GgmlType.Q8_0, 2, 32, x, 2);
  // token 1, row 1: Σ_{j<31} (j - 16) + 15·127 = -31 + 1905
  deepStrictEqual([...out], [127, -2032, 158, 1874]);
});

Deno.test("matmul() passes the rounding option to the activation quantizer", () => {
  const weight = q8Row(new Array(32).fill(1));
  const x = new Float32Array(32);
  x.set([127, 2.5]);
  const out = new Float32Array(1);
  matmul(out, weight, GgmlType.Q8_0, 1, 32, x, 1);
  strictEqual(out[0], 130); // 2.5 → 3
  matmul(out, weight, GgmlType.Q8_0, 1, 32, x, 1, { rounding: "x86" });
  strictEqual(out[0], 129); // 2.5 → 2
});

Deno.test("matmul() on K-quant weights is within the activation rounding bound of matmulF64()", () => {
  const fixtures: { source: string; type: GgmlType; blocks: string }[] = JSON.parse(
    Deno.readTextFileSync(new URL("./testdata/dequant_fixtures.json", import.meta.url)),
  ).fixtures;
  const kTypes = [GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K];
  const x = Float32Array.from({ length: 512 }, (_, i) => Math.sin(i)); // [2][256]
  // Q8_K stores x as q·d with d = max|x|/127 per token: each value moves by at most d/2.
  const halfStep = [0, 1].map((t) =>
    Math.max(...x.subarray(256 * t, 256 * t + 256).map(Math.abs)) / 254
  );
  for (const type of kTypes) {
    const fixture = fixtures.find((f) => f.type === type && f.source.startsWith("random"))!;
    const weight = decodeBase64(fixture.blocks); // two super-blocks: a [2][256] matrix
    const quantized = new Float32Array(4);
    const exact = new Float64Array(4);
    matmul(quantized, weight, type, 2, 256, x, 2);
    matmulF64(exact, weight, type, 2, 256, x, 2);
    const w = new Float32Array(512);
    dequantizeRow(type, weight, w);
    for (let t = 0; t < 2; t++) {
      for (let r = 0; r < 2; r++) {
        const absSum = w.subarray(256 * r, 256 * r + 256).reduce(
          (sum, value) => sum + Math.abs(value),
          0,
        );
        const bound = absSum * halfStep[t] * (1 + 1e-5) + 1e-5 * absSum;
        const error = Math.abs(quantized[2 * t + r] - exact[2 * t + r]);
        if (!(error <= bound)) {
          throw new Error(
            `${GgmlType[type]} [${t}][${r}]: ${quantized[2 * t + r]} vs ${exact[2 * t + r]}`,
          );
        }
      }
    }
  }
});

Deno.test("matmulF64() sums dequantized weights in float64", () => {
  const weight = new Uint8Array(new Float32Array([0.5, 0.25, -1, 2]).buffer);
  const out = new Float64Array(4);
  matmulF64(out, weight, GgmlType.F32, 2, 2, new Float64Array([0.1, 0.2, 1, 1]), 2);
  deepStrictEqual([...out], [0.1, 0.30000000000000004, 0.75, 1]);
  throws(() => matmulF64(out, weight, GgmlType.F32, 2, 2, new Float64Array(3), 2), {
    name: "TypeError",
    message: "Cannot apply matmulF64: x has 3 values and out 4, expected [2][2] and [2][2]",
  });
  throws(
    () =>
      matmul(new Float32Array(2), weight.subarray(4), GgmlType.F32, 2, 2, new Float32Array(2), 1),
    {
      name: "TypeError",
      message: "Cannot apply matmul: a [2][2] F32 weight needs 16 bytes, got 12",
    },
  );
});
