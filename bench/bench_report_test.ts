import { ok, strictEqual } from "node:assert";
import type { BenchResult } from "./bench_model.ts";
import { benchChartSvg, formatBenchTable } from "./bench_report.ts";

function fakeResult(model: string, zenoTg: number, llamaTg: number): BenchResult {
  const speed = (pp: number, tg: number) => ({
    pp_tps: [pp, pp + 2],
    tg_tps: [tg],
    ttft_ms: [40],
    rss_bytes: 100 << 20,
    load_ms: 5,
  });
  return {
    ...speed(100, zenoTg),
    model,
    model_path: `/m/${model}`,
    arch: "llama",
    file_type: "Q4_0",
    file_bytes: 1,
    threads: 2,
    backend: "cpu",
    reps: 1,
    n_prompt: 512,
    n_gen: 128,
    n_ttft: 32,
    weight_bytes_per_token: 1e9,
    stream_gbps: 60,
    stream_gbps_per_rep: [60],
    stream_gbps_1t: 30,
    decode_gbps: zenoTg,
    decode_bandwidth_fraction: zenoTg / 60,
    llama_cpp: {
      ...speed(50, llamaTg),
      cpu_build: "sapphirerapids",
      decode_gbps: llamaTg,
      decode_bandwidth_fraction: llamaTg / 60,
    },
    ratio: { pp: 101 / 51, tg: zenoTg / llamaTg, ttft: 1 },
    load_avg: [0.5, 0.25, 0.125],
    date: "2026-11-24T00:00:00.000Z",
  };
}

Deno.test("formatBenchTable() prints medians, ratios and the bandwidth share", () => {
  const table = formatBenchTable([fakeResult("a.gguf", 30, 20)]);
  const row = table.split("\n")[2];
  strictEqual(
    row,
    "| a.gguf | Q4_0 | 101.0 | 51.0 | 1.98 | 30.0 | 20.0 | 1.50 | 40.0 | 40.0 | 100 | 100 | 60.0 | 30.0 (50 %) | 20.0 (33 %) |",
  );
  ok(table.includes("On 1 thread: 30.0 GB/s."));
  ok(table.includes(
    "llama.cpp (node-llama-cpp) ran its sapphirerapids CPU build (AMX tiles for its quantized " +
      "matrix products; zeno's prefill runs AVX-512).",
  ));
});

Deno.test("benchChartSvg() draws a zeno and a llama.cpp bar per model and panel", () => {
  const svg = benchChartSvg([fakeResult("a.gguf", 30, 20), fakeResult("b.gguf", 10, 5)]);
  strictEqual(svg.match(/<rect x="260" y="\d+" width="[\d.]+" height="10"/g)?.length, 8);
  ok(svg.includes(`width="420.0" height="10" fill="#2b6cb0"`)); // the largest bar spans the panel
  ok(svg.startsWith("<svg") && svg.trim().endsWith("</svg>"));
});
