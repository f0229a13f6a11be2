/**
 * `/metrics` in Prometheus' text exposition format (version 0.0.4): the scheduler's counters
 * and gauges, each with its HELP and TYPE lines.
 *
 * @module
 */

import type { SchedulerStats } from "../core/scheduler.ts";

/** Content type of the Prometheus text format. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

const METRICS: readonly [
  name: string,
  type: "counter" | "gauge",
  help: string,
  read: (s: SchedulerStats) => number,
][] = [
  ["zeno_prompt_tokens_total", "counter", "Prompt tokens evaluated", (s) => s.promptTokens],
  ["zeno_generated_tokens_total", "counter", "Tokens generated", (s) => s.generatedTokens],
  [
    "zeno_generated_tokens_per_second",
    "gauge",
    "Tokens generated per second over the last 10 s",
    (s) => s.generatedTokensPerSecond,
  ],
  [
    "zeno_requests_finished_total",
    "counter",
    "Generation requests finished (choices)",
    (s) => s.requestsFinished,
  ],
  ["zeno_batches_total", "counter", "Batches evaluated", (s) => s.ticks],
  ["zeno_queue_depth", "gauge", "Requests waiting for a sequence", (s) => s.queueDepth],
  ["zeno_active_sequences", "gauge", "Requests holding a KV sequence", (s) => s.activeSequences],
  ["zeno_parallel_sequences", "gauge", "Sequences decoded together at most", (s) => s.parallel],
  ["zeno_kv_cells_used", "gauge", "KV cache cells in use", (s) => s.kvCellsUsed],
  ["zeno_kv_cells_total", "gauge", "KV cache cells", (s) => s.kvCellsTotal],
];

/**
 * Renders the stats as Prometheus text.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { renderMetrics } from "./metrics.ts";
 * const text = renderMetrics({
 *   queueDepth: 2, activeSequences: 4, parallel: 4, promptTokens: 10, generatedTokens: 7,
 *   requestsFinished: 1, ticks: 8, generatedTokensPerSecond: 3.5, kvCellsUsed: 17, kvCellsTotal: 1024,
 * });
 * strictEqual(text.includes("\nzeno_queue_depth 2\n"), true);
 * ```
 */
export function renderMetrics(stats: SchedulerStats): string {
  return METRICS.map(([name, type, help, read]) =>
    `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${name} ${_format(read(stats))}\n`
  )
    .join("");
}

/** Reads one metric's value out of Prometheus text; undefined when absent. */
export function readMetric(text: string, name: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

function _format(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(3);
}
