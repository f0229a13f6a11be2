/**
 * `zeno bench -m <model> [-p 512] [-n 128] [-t threads] [-r reps] [--json]`: zeno's prefill and
 * decode speed, time to first token and peak RSS on a model, next to llama.cpp's on the same
 * file (node-llama-cpp, same prompt tokens and threads), with this machine's read bandwidth
 * and the share of it decode achieves (bench/bench_model.ts). Prints a markdown table, or one
 * line of JSON with `--json`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { ZenoError } from "../core/errors.ts";
import { resolveModel } from "../core/hub/mod.ts";
import { benchModel } from "../bench/bench_model.ts";
import { formatBenchTable } from "../bench/bench_report.ts";
import { numberOption } from "./options.ts";

const USAGE = `usage: zeno bench -m <model.gguf|alias> [-p 512] [-n 128] [-t 2] [-r 3] [--ttft 32]
                  [--no-llama-cpp] [--backend <name>] [--stream-mib 1024] [--json]

-p prompt tokens of the prefill run, -n tokens decoded one by one, -t threads (both engines),
-r repetitions (medians are reported). --json prints one line: pp_tps, tg_tps (one value per
repetition), ttft_ms, rss_bytes, threads, model, weight_bytes_per_token, stream_gbps (the
median of stream_gbps_per_rep, the read bandwidth measured right before each decode
repetition), decode_bandwidth_fraction, and llama_cpp with llama.cpp's values.
`;

/**
 * Runs `zeno bench`.
 *
 * @param args the arguments after "bench"
 * @returns 0 on success, 1 when the benchmark fails, 2 for bad usage
 */
export async function main(args: string[]): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args,
      options: {
        model: { type: "string", short: "m" },
        prompt: { type: "string", short: "p" },
        gen: { type: "string", short: "n" },
        threads: { type: "string", short: "t" },
        reps: { type: "string", short: "r" },
        ttft: { type: "string" },
        backend: { type: "string" },
        "stream-mib": { type: "string" },
        "no-llama-cpp": { type: "boolean" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (error) {
    console.error(`zeno bench: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!values.model) {
    console.error(`zeno bench: -m <model> is required\n\n${USAGE}`);
    return 2;
  }
  try {
    const path = await resolveModel(values.model, { pull: true });
    const streamMib = numberOption(values["stream-mib"], "--stream-mib");
    const result = await benchModel(path, {
      pp: numberOption(values.prompt, "-p"),
      tg: numberOption(values.gen, "-n"),
      ttft: numberOption(values.ttft, "--ttft"),
      threads: numberOption(values.threads, "-t"),
      reps: numberOption(values.reps, "-r"),
      backend: values.backend,
      llamaCpp: !values["no-llama-cpp"],
      streamBytes: streamMib === undefined ? undefined : streamMib * 2 ** 20,
      log: (message) => console.error(message),
    });
    console.log(values.json ? JSON.stringify(result) : formatBenchTable([result]));
    return 0;
  } catch (error) {
    if (!(error instanceof ZenoError || error instanceof RangeError)) throw error;
    console.error(`zeno bench: ${(error as Error).message}`);
    return 1;
  }
}
