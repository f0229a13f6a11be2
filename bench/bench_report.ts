/**
 * Presents benchmark results: a markdown table (medians; zeno next to llama.cpp and their
 * ratio) and an SVG bar chart of decode and prefill tokens/s per model, zeno vs llama.cpp.
 *
 * @module
 */

import type { BenchResult } from "./bench_model.ts";
import { median } from "./engine_speed.ts";

const _fixed = (value: number | undefined, digits: number) =>
  value === undefined || !Number.isFinite(value) ? "–" : value.toFixed(digits);
const _mib = (bytes: number | undefined) =>
  bytes === undefined ? "–" : (bytes / 2 ** 20).toFixed(0);

/**
 * A markdown table of results, one row per model.
 *
 * @param results one per model
 * @returns the table and a line on the bandwidth and load of the run
 */
export function formatBenchTable(results: readonly BenchResult[]): string {
  const first = results[0];
  if (first === undefined) return "(no results)\n";
  const pp = `pp${first.n_prompt}`;
  const tg = `tg${first.n_gen}`;
  const header = [
    "model",
    "type",
    `${pp} zeno`,
    `${pp} llama.cpp`,
    "ratio",
    `${tg} zeno`,
    `${tg} llama.cpp`,
    "ratio",
    `TTFT${first.n_ttft} ms zeno`,
    "llama.cpp",
    "RSS MiB zeno",
    "llama.cpp",
    "stream GB/s",
    "decode GB/s zeno (of stream)",
    "llama.cpp",
  ];
  const rows = results.map((r) => {
    const l = r.llama_cpp;
    return [
      r.model,
      r.file_type,
      _fixed(median(r.pp_tps), 1),
      _fixed(l ? median(l.pp_tps) : undefined, 1),
      _fixed(r.ratio?.pp, 2),
      _fixed(median(r.tg_tps), 1),
      _fixed(l ? median(l.tg_tps) : undefined, 1),
      _fixed(r.ratio?.tg, 2),
      _fixed(median(r.ttft_ms), 1),
      _fixed(l ? median(l.ttft_ms) : undefined, 1),
      _mib(r.rss_bytes),
      _mib(l?.rss_bytes),
      _fixed(r.stream_gbps, 1),
      `${_fixed(r.decode_gbps, 1)} (${_fixed(r.decode_bandwidth_fraction * 100, 0)} %)`,
      l ? `${_fixed(l.decode_gbps, 1)} (${_fixed(l.decode_bandwidth_fraction * 100, 0)} %)` : "–",
    ];
  });
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [
    line(header),
    line(header.map(() => "---")),
    ...rows.map(line),
    "",
    `${first.threads} threads, ${first.reps} repetitions (medians), zeno on ${first.backend}. ` +
    `Read bandwidth on ${first.threads} threads ("stream"): measured right before each of ` +
    `zeno's decode repetitions, median per model; "of stream" is the median over repetitions ` +
    `of decode GB/s over the bandwidth of its own moment (llama.cpp's: over the median). ` +
    `On 1 thread: ${_fixed(first.stream_gbps_1t, 1)} GB/s. Load average at the start: ${
      first.load_avg.map((v) => v.toFixed(2)).join(", ")
    }.${_llamaCppBuild(results)}`,
    "",
  ].join("\n");
}

/** Which ggml CPU build llama.cpp ran, for the table's note ("" when unknown). */
function _llamaCppBuild(results: readonly BenchResult[]): string {
  const builds = [...new Set(results.map((r) => r.llama_cpp?.cpu_build).filter((b) => b))];
  if (builds.length === 0) return "";
  const amx = builds.includes("sapphirerapids")
    ? " (AMX tiles for its quantized matrix products; zeno's prefill runs AVX-512)"
    : "";
  return ` llama.cpp (node-llama-cpp) ran its ${builds.join(", ")} CPU build${amx}.`;
}

const _ZENO_COLOR = "#2b6cb0";
const _LLAMA_COLOR = "#dd6b20";

/**
 * An SVG chart: two panels (decode, prefill) of tokens/s per model, zeno and llama.cpp bars.
 *
 * @param results one per model
 * @returns the SVG document
 */
export function benchChartSvg(results: readonly BenchResult[]): string {
  const labelWidth = 260;
  const barWidth = 420;
  const rowHeight = 30;
  const panelHeight = 40 + results.length * rowHeight;
  const width = labelWidth + barWidth + 90;
  const parts: string[] = [];
  const panels: [string, (r: BenchResult) => [number, number | undefined]][] = [
    [
      `decode tg${results[0]?.n_gen ?? ""} (tokens/s)`,
      (r) => [median(r.tg_tps), r.llama_cpp ? median(r.llama_cpp.tg_tps) : undefined],
    ],
    [
      `prefill pp${results[0]?.n_prompt ?? ""} (tokens/s)`,
      (r) => [median(r.pp_tps), r.llama_cpp ? median(r.llama_cpp.pp_tps) : undefined],
    ],
  ];
  panels.forEach(([title, pick], p) => {
    const top = 40 + p * panelHeight;
    const max = Math.max(
      1e-9,
      ...results.flatMap((r) =>
        pick(r).filter((v): v is number => v !== undefined && Number.isFinite(v))
      ),
    );
    parts.push(`<text x="10" y="${top - 12}" font-weight="bold">${_escape(title)}</text>`);
    results.forEach((r, i) => {
      const y = top + i * rowHeight;
      const [zeno, llama] = pick(r);
      parts.push(`<text x="10" y="${y + 16}">${_escape(`${r.model}`)}</text>`);
      parts.push(..._bar(labelWidth, y, zeno, max, barWidth, _ZENO_COLOR));
      parts.push(..._bar(labelWidth, y + 12, llama, max, barWidth, _LLAMA_COLOR));
    });
  });
  const height = 50 + 2 * panelHeight;
  const legend = `<rect x="${labelWidth}" y="8" width="12" height="12" fill="${_ZENO_COLOR}"/>` +
    `<text x="${labelWidth + 18}" y="18">zeno</text>` +
    `<rect x="${labelWidth + 80}" y="8" width="12" height="12" fill="${_LLAMA_COLOR}"/>` +
    `<text x="${labelWidth + 98}" y="18">llama.cpp (node-llama-cpp)</text>`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    legend,
    ...parts,
    `</svg>`,
    "",
  ].join("\n");
}

function _bar(
  x: number,
  y: number,
  value: number | undefined,
  max: number,
  width: number,
  color: string,
): string[] {
  if (value === undefined || !Number.isFinite(value)) return [];
  const length = Math.max(1, (value / max) * width);
  return [
    `<rect x="${x}" y="${y}" width="${length.toFixed(1)}" height="10" fill="${color}"/>`,
    `<text x="${(x + length + 4).toFixed(1)}" y="${y + 9}" font-size="10">${
      value.toFixed(1)
    }</text>`,
  ];
}

function _escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
