/**
 * One model's benchmark: zeno's speeds, llama.cpp's on the same file with the same prompt
 * tokens and threads, this machine's read bandwidth on 1 and N threads, and what decode
 * achieves of it. Order matters for memory figures: zeno runs first, so its peak RSS is read
 * before the bandwidth buffer (1 GiB) is allocated; llama.cpp runs in its own process.
 *
 * The JSON shape (`BenchResult`) is what `zeno bench --json` prints, one line.
 *
 * @module
 */

import { basename } from "node:path";
import { loadavg } from "node:os";
import { fileTypeName } from "../core/gguf/file_types.ts";
import { readGgufFile } from "../core/gguf/reader.ts";
import { readHParams } from "../core/models/hparams.ts";
import { createTokenizer } from "../core/tokenizer/mod.ts";
import { benchPrompt, type EngineSpeed, median } from "./engine_speed.ts";
import { benchLlamaCpp } from "./llama_cpp_bench.ts";
import { measureStreamGbps } from "./stream_bandwidth.ts";
import { weightBytesPerToken } from "./weight_bytes.ts";
import { benchZeno } from "./zeno_bench.ts";

/** Options of {@linkcode benchModel}. */
export interface BenchOptions {
  /** Prefill prompt length (pp); default 512. */
  readonly pp?: number;
  /** Decoded tokens (tg); default 128. */
  readonly tg?: number;
  /** Prompt length of the time-to-first-token run; default 32. */
  readonly ttft?: number;
  /** Repetitions; default 3. */
  readonly reps?: number;
  /** Compute threads for both engines; default 2. */
  readonly threads?: number;
  /** Measure llama.cpp too; default true. */
  readonly llamaCpp?: boolean;
  /** Bandwidth buffer size in bytes; default 1 GiB. */
  readonly streamBytes?: number;
  /** zeno backend name (default: the best registered). */
  readonly backend?: string;
  /** Progress messages (to stderr in the CLI). */
  readonly log?: (message: string) => void;
}

const _COUNT_NAMES = { pp: "-p", tg: "-n", ttft: "--ttft", reps: "-r", threads: "-t" } as const;

/**
 * Refuses a count that is not a whole number of at least 1 (a 0-token prompt, 0 repetitions),
 * naming the option as `zeno bench` spells it.
 */
export function checkBenchCounts(options: BenchOptions): void {
  for (const [key, flag] of Object.entries(_COUNT_NAMES)) {
    const value = options[key as keyof typeof _COUNT_NAMES];
    if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
      throw new RangeError(
        `Cannot bench with ${flag} ${value}: it must be a whole number of at least 1`,
      );
    }
  }
}

/** Ratios of medians, zeno / llama.cpp (above 1 means zeno is faster, except `ttft`: lower). */
export interface BenchRatios {
  pp: number;
  tg: number;
  ttft: number;
}

/** The result of one model's benchmark (the JSON of `zeno bench --json`). */
export interface BenchResult extends EngineSpeed {
  /** File name of the model. */
  model: string;
  model_path: string;
  arch: string;
  /** `general.file_type` name ("Q4_K_M"), or "unknown". */
  file_type: string;
  file_bytes: number;
  threads: number;
  /** zeno's backend device ("cpu-x86_64-avx2"). */
  backend: string;
  reps: number;
  n_prompt: number;
  n_gen: number;
  n_ttft: number;
  /** Bytes of weights one decoded token reads. */
  weight_bytes_per_token: number;
  /** Read bandwidth with `threads` threads, GB/s: the median of `stream_gbps_per_rep`. */
  stream_gbps: number;
  /** Read bandwidth with `threads` threads measured right before each decode repetition. */
  stream_gbps_per_rep: number[];
  /** Read bandwidth with 1 thread, GB/s. */
  stream_gbps_1t: number;
  /** zeno's median decode speed × weight bytes per token, GB/s. */
  decode_gbps: number;
  /**
   * The median over repetitions of decode GB/s ÷ the bandwidth measured just before it
   * (a quotient of two figures from the same moment, so the host's drift cancels).
   */
  decode_bandwidth_fraction: number;
  /** llama.cpp's speeds on the same file (null when not measured). */
  llama_cpp: (EngineSpeed & { decode_gbps: number; decode_bandwidth_fraction: number }) | null;
  ratio: BenchRatios | null;
  /** 1, 5 and 15 minute load averages when the run started: a busy machine skews everything. */
  load_avg: number[];
  date: string;
}

/**
 * Benchmarks one model file.
 *
 * @param path a GGUF model
 * @param options sizes, repetitions, threads, whether to run llama.cpp
 * @returns the result, ready for JSON
 */
export async function benchModel(path: string, options: BenchOptions = {}): Promise<BenchResult> {
  checkBenchCounts(options);
  const log = options.log ?? (() => {});
  const threads = options.threads ?? 2;
  const loadAvg = loadavg();
  const gguf = await readGgufFile(path);
  const hp = readHParams(gguf.metadata, basename(path));
  const bos = createTokenizer(gguf.metadata).vocab.bos;
  const pp = options.pp ?? 512;
  const request = {
    prompt: benchPrompt(pp, hp.nVocab, bos),
    ttftPrompt: benchPrompt(options.ttft ?? 32, hp.nVocab, bos),
    tg: options.tg ?? 128,
    reps: options.reps ?? 3,
    threads,
  };
  log(
    `zeno: ${
      basename(path)
    } pp${pp} tg${request.tg} ttft${request.ttftPrompt.length} ×${request.reps}, ${threads} threads`,
  );
  const streamBytes = options.streamBytes ?? 1 << 30;
  const zeno = await benchZeno(path, request, {
    backend: options.backend,
    measureStream: () => measureStreamGbps({ threads, byteLength: streamBytes }),
  });
  log(
    `zeno: pp ${median(zeno.pp_tps).toFixed(1)} t/s, tg ${
      median(zeno.tg_tps).toFixed(1)
    } t/s on ${zeno.backend}`,
  );
  const stream1 = measureStreamGbps({ threads: 1, byteLength: streamBytes });
  const streamN = median(zeno.stream_gbps);
  log(
    `stream: ${stream1.toFixed(1)} GB/s (1 thread), ${
      zeno.stream_gbps.map((gbps) => gbps.toFixed(1)).join(", ")
    } GB/s (${threads} threads, before each decode repetition)`,
  );
  const weightBytes = weightBytesPerToken(gguf);
  const decodeGbps = (tps: number) => (tps * weightBytes) / 1e9;
  const achieved = (speed: EngineSpeed, streams: readonly number[]) => ({
    decode_gbps: decodeGbps(median(speed.tg_tps)),
    decode_bandwidth_fraction: median(
      speed.tg_tps.map((tps, rep) => decodeGbps(tps) / streams[Math.min(rep, streams.length - 1)]),
    ),
  });
  let llamaCpp: BenchResult["llama_cpp"] = null;
  if (options.llamaCpp ?? true) {
    const speed = await benchLlamaCpp(path, request);
    // llama.cpp decodes in its own process: its reps are set against the median bandwidth.
    llamaCpp = { ...speed, ...achieved(speed, [streamN]) };
    log(
      `llama.cpp: pp ${median(speed.pp_tps).toFixed(1)} t/s, tg ${
        median(speed.tg_tps).toFixed(1)
      } t/s on its ${speed.cpu_build ?? "unknown"} CPU build`,
    );
  }
  const fileType = gguf.metadata.get("general.file_type");
  return {
    model: basename(path),
    model_path: path,
    arch: hp.arch,
    file_type: typeof fileType === "number"
      ? fileTypeName(fileType) ?? `type ${fileType}`
      : "unknown",
    file_bytes: gguf.fileSize,
    threads,
    backend: zeno.backend,
    reps: request.reps,
    n_prompt: pp,
    n_gen: request.tg,
    n_ttft: request.ttftPrompt.length,
    pp_tps: zeno.pp_tps,
    tg_tps: zeno.tg_tps,
    ttft_ms: zeno.ttft_ms,
    rss_bytes: zeno.rss_bytes,
    load_ms: zeno.load_ms,
    weight_bytes_per_token: weightBytes,
    stream_gbps: streamN,
    stream_gbps_per_rep: zeno.stream_gbps,
    stream_gbps_1t: stream1,
    ...achieved(zeno, zeno.stream_gbps),
    llama_cpp: llamaCpp,
    ratio: llamaCpp === null ? null : benchRatios(zeno, llamaCpp),
    load_avg: loadAvg,
    date: new Date().toISOString(),
  };
}

/**
 * Ratios of medians, zeno / llama.cpp.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { benchRatios } from "./bench_model.ts";
 * const speed = (pp: number, tg: number, ttft: number) => ({ pp_tps: [pp], tg_tps: [tg], ttft_ms: [ttft], rss_bytes: 0, load_ms: 0 });
 * deepStrictEqual(benchRatios(speed(200, 50, 40), speed(100, 25, 80)), { pp: 2, tg: 2, ttft: 0.5 });
 * ```
 */
export function benchRatios(zeno: EngineSpeed, llamaCpp: EngineSpeed): BenchRatios {
  return {
    pp: median(zeno.pp_tps) / median(llamaCpp.pp_tps),
    tg: median(zeno.tg_tps) / median(llamaCpp.tg_tps),
    ttft: median(zeno.ttft_ms) / median(llamaCpp.ttft_ms),
  };
}
