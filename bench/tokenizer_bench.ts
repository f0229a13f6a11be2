/**
 * Tokenizer throughput on War and Peace (3.2 MB): zeno against llama.cpp's own tokenizer
 * (node-llama-cpp, `tests/oracle/tokenize_bench.mjs`) on the same text and vocabulary, and a
 * check that both give identical ids for the whole text.
 *
 *   deno task bench:tokenizer [--runs 5]
 *
 * Ids are add_special=false, parse_special=false. zeno's "cold" column is the first encode
 * of a fresh tokenizer (empty word cache); "warm" is the median of the runs after it.
 * llama.cpp's column is the median of its runs (it keeps no cache between calls). Prints a
 * markdown table and writes `bench/results/tokenizer.json`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { readGgufFile } from "../core/gguf/reader.ts";
import { createTokenizer } from "../core/tokenizer/tokenizer.ts";
import { testdataPath, testModelPath } from "../tests/testdata.ts";

/** One vocabulary of the benchmark. */
interface BenchVocab {
  readonly name: string;
  readonly algorithm: string;
  readonly path: () => string;
}

const VOCABS: readonly BenchVocab[] = [
  {
    name: "smollm2-135m",
    algorithm: "BPE (smollm)",
    path: () => testModelPath("smollm2-135m-instruct"),
  },
  { name: "gemma3-270m", algorithm: "SPM (gemma3)", path: () => testModelPath("gemma3-270m") },
  {
    name: "llama-spm",
    algorithm: "SPM (llama)",
    path: () => testdataPath("vocab/ggml-vocab-llama-spm.gguf"),
  },
];

/** The measurements of one vocabulary. */
interface BenchRow {
  vocab: string;
  algorithm: string;
  bytes: number;
  tokenCount: number;
  zenoColdMs: number;
  zenoWarmMs: number;
  zenoRunsMs: number[];
  llamaCppMs: number;
  llamaCppRunsMs: number[];
  zenoMegabytesPerSecond: number;
  llamaCppMegabytesPerSecond: number;
  /** zeno's warm throughput over llama.cpp's. */
  speedRatio: number;
  idsIdentical: boolean;
  firstDifference?: number;
}

function _median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function _megabytesPerSecond(bytes: number, ms: number): number {
  return bytes / 1e6 / (ms / 1000);
}

async function _zenoRuns(path: string, text: string, runs: number) {
  const tokenizer = createTokenizer((await readGgufFile(path)).metadata, { name: path });
  const runsMs: number[] = [];
  let ids: number[] = [];
  for (let run = 0; run <= runs; run++) {
    const start = performance.now();
    ids = tokenizer.encode(text, { addSpecial: false });
    runsMs.push(performance.now() - start);
  }
  return { ids, coldMs: runsMs[0], runsMs: runsMs.slice(1) };
}

async function _llamaCppRuns(path: string, textPath: string, runs: number) {
  const idsPath = await Deno.makeTempFile({ suffix: ".u32" });
  try {
    const script = new URL("../tests/oracle/tokenize_bench.mjs", import.meta.url).pathname;
    const args = [script, path, textPath, "--runs", String(runs), "--ids-out", idsPath];
    const output = await new Deno.Command("node", { args, stderr: "inherit" }).output();
    if (!output.success) {
      throw new Error(
        `Cannot run llama.cpp's tokenizer on "${path}": node exited with ${output.code} ` +
          `(install it with \`cd tests/oracle && NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm ci\`)`,
      );
    }
    const result = JSON.parse(new TextDecoder().decode(output.stdout)) as { runsMs: number[] };
    const bytes = await Deno.readFile(idsPath);
    const ids = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    return { ids, runsMs: result.runsMs };
  } finally {
    await Deno.remove(idsPath);
  }
}

function _firstDifference(a: readonly number[], b: Uint32Array): number | undefined {
  const length = Math.max(a.length, b.length);
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return i;
  return undefined;
}

async function _benchVocab(vocab: BenchVocab, textPath: string, text: string, runs: number) {
  const path = vocab.path();
  const bytes = new TextEncoder().encode(text).length;
  const zeno = await _zenoRuns(path, text, runs);
  const llamaCpp = await _llamaCppRuns(path, textPath, runs);
  const zenoWarmMs = _median(zeno.runsMs);
  const llamaCppMs = _median(llamaCpp.runsMs);
  const firstDifference = _firstDifference(zeno.ids, llamaCpp.ids);
  const row: BenchRow = {
    vocab: vocab.name,
    algorithm: vocab.algorithm,
    bytes,
    tokenCount: zeno.ids.length,
    zenoColdMs: zeno.coldMs,
    zenoWarmMs,
    zenoRunsMs: zeno.runsMs,
    llamaCppMs,
    llamaCppRunsMs: llamaCpp.runsMs,
    zenoMegabytesPerSecond: _megabytesPerSecond(bytes, zenoWarmMs),
    llamaCppMegabytesPerSecond: _megabytesPerSecond(bytes, llamaCppMs),
    speedRatio: llamaCppMs / zenoWarmMs,
    idsIdentical: firstDifference === undefined,
  };
  if (firstDifference !== undefined) row.firstDifference = firstDifference;
  return row;
}

function _markdown(rows: readonly BenchRow[]): string {
  const lines = [
    "| vocab | algorithm | tokens | zeno cold MB/s | zeno warm MB/s | llama.cpp MB/s | zeno / llama.cpp | ids identical |",
    "|---|---|---|---|---|---|---|---|",
  ];
  for (const row of rows) {
    const identical = row.idsIdentical ? "yes" : `no (first difference at ${row.firstDifference})`;
    lines.push(
      `| ${row.vocab} | ${row.algorithm} | ${row.tokenCount} | ` +
        `${_megabytesPerSecond(row.bytes, row.zenoColdMs).toFixed(2)} | ` +
        `${row.zenoMegabytesPerSecond.toFixed(2)} | ${
          row.llamaCppMegabytesPerSecond.toFixed(2)
        } | ` +
        `${row.speedRatio.toFixed(2)}× | ${identical} |`,
    );
  }
  return lines.join("\n");
}

/** Runs the benchmark; exits 1 when any vocabulary's ids differ from llama.cpp's. */
async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { runs: { type: "string", default: "5" } } });
  const runs = Number(values.runs);
  const textPath = testdataPath("text/war-and-peace.txt");
  const text = await Deno.readTextFile(textPath);
  const rows: BenchRow[] = [];
  for (const vocab of VOCABS) rows.push(await _benchVocab(vocab, textPath, text, runs));
  console.log(`war-and-peace.txt, ${rows[0].bytes} bytes, median of ${runs} runs\n`);
  console.log(_markdown(rows));
  for (const row of rows) {
    console.log(
      `${row.vocab}: ids ${row.idsIdentical ? "identical to" : "DIFFER from"} llama.cpp's`,
    );
  }
  const result = {
    date: new Date().toISOString(),
    text: "war-and-peace.txt",
    runs,
    deno: Deno.version.deno,
    llamaCpp: "node-llama-cpp 3.22.1",
    rows,
  };
  const outPath = new URL("./results/tokenizer.json", import.meta.url);
  // Two decimals: more digits are noise on this machine.
  const rounded = (_key: string, value: unknown) =>
    typeof value === "number" && !Number.isInteger(value) ? Math.round(value * 100) / 100 : value;
  await Deno.writeTextFile(outPath, JSON.stringify(result, rounded, 2) + "\n");
  return rows.every((row) => row.idsIdentical) ? 0 : 1;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
