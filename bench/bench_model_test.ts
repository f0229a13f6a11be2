import { deepStrictEqual, ok, strictEqual, throws } from "node:assert";
import { join } from "node:path";
import { quantTarget } from "../core/quantize/quant_targets.ts";
import { writeSynthModel } from "../core/synth/synth_model.ts";
import { synthSpec } from "../core/synth/synth_specs.ts";
import { testdataPath } from "../tests/testdata.ts";
import { benchModel, checkBenchCounts } from "./bench_model.ts";
import { median } from "./engine_speed.ts";

Deno.test("benchModel() returns the JSON shape zeno bench --json prints", async () => {
  testdataPath("tokenizers/llama3.2/encoder.json");
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "tiny-q8_0.gguf");
    await writeSynthModel(path, synthSpec("tiny"), { target: quantTarget("Q8_0"), seed: 3 });
    const result = await benchModel(path, {
      pp: 16,
      tg: 4,
      ttft: 8,
      reps: 2,
      threads: 1,
      llamaCpp: false,
      streamBytes: 8 << 20,
    });
    const json = JSON.parse(JSON.stringify(result));
    for (const key of ["pp_tps", "tg_tps", "ttft_ms"]) {
      strictEqual(json[key].length, 2, key);
      ok(json[key].every((v: unknown) => typeof v === "number" && v > 0), key);
    }
    deepStrictEqual(
      [
        json.model,
        json.file_type,
        json.threads,
        json.n_prompt,
        json.n_gen,
        json.n_ttft,
        json.llama_cpp,
        json.ratio,
      ],
      ["tiny-q8_0.gguf", "Q8_0", 1, 16, 4, 8, null, null],
    );
    // Tied embeddings: every tensor is read once per token, so the whole data section.
    const tensorBytes = 1280 * 256 / 32 * 34 +
      2 * (3 * 512 * 256 / 32 * 34 + (2 * 256 * 256 + 2 * 256 * 128) / 32 * 34 + 2 * 256 * 4) +
      256 * 4;
    strictEqual(json.weight_bytes_per_token, tensorBytes);
    ok(json.rss_bytes > 10 << 20 && json.stream_gbps > 0 && json.stream_gbps_1t > 0);
    // One bandwidth per decode repetition, each decode speed set against its own.
    strictEqual(json.stream_gbps_per_rep.length, 2);
    strictEqual(json.stream_gbps, median(json.stream_gbps_per_rep));
    const fractions = json.tg_tps.map((tps: number, rep: number) =>
      tps * tensorBytes / 1e9 / json.stream_gbps_per_rep[rep]
    );
    strictEqual(json.decode_bandwidth_fraction, median(fractions));
    strictEqual(json.decode_gbps, median(json.tg_tps) * tensorBytes / 1e9);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("checkBenchCounts() refuses a count below 1 or not whole, naming the option", () => {
  checkBenchCounts({ pp: 512, tg: 128, ttft: 32, reps: 3, threads: 2 });
  checkBenchCounts({});
  const cases: [Parameters<typeof checkBenchCounts>[0], string][] = [
    [{ ttft: 0 }, "--ttft 0"],
    [{ pp: -1 }, "-p -1"],
    [{ tg: 2.5 }, "-n 2.5"],
    [{ reps: 0 }, "-r 0"],
    [{ threads: NaN }, "-t NaN"],
  ];
  for (const [options, named] of cases) {
    throws(
      () => checkBenchCounts(options),
      (error: Error) =>
        error instanceof RangeError &&
        error.message === `Cannot bench with ${named}: it must be a whole number of at least 1`,
    );
  }
});
