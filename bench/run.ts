/**
 * `deno task bench`: the benchmark suite (bench_suite.ts). Each model runs in its own
 * `zeno bench --json` process (clean peak-RSS figures), zeno then llama.cpp on the same file
 * with the same prompt tokens and threads. Writes `bench/results/bench.json` (every
 * repetition), `bench.md` (the table) and `bench.svg` (the chart), and prints the table.
 *
 * ```sh
 * deno task bench [--reps 3] [--threads 2] [-p 512] [-n 128] [--only llama] [--no-llama-cpp]
 *                  [--model-timeout-min 20] [--out bench/results]
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { join } from "node:path";
import type { BenchResult } from "./bench_model.ts";
import { benchChartSvg, formatBenchTable } from "./bench_report.ts";
import { BENCH_SUITE, suiteModelPath } from "./bench_suite.ts";
import { zenoTaskRunFlags } from "./zeno_task_flags.ts";

const ROOT = new URL("../", import.meta.url).pathname;

const USAGE =
  "usage: deno task bench [--reps 3] [--threads 2] [-p 512] [-n 128] [--only <name part>]\n" +
  "                       [--no-llama-cpp] [--model-timeout-min 20] [--out bench/results]";

function _options(args: string[]) {
  try {
    return parseArgs({
      args,
      options: {
        help: { type: "boolean", short: "h" },
        reps: { type: "string", default: "3" },
        threads: { type: "string", default: "2" },
        prompt: { type: "string", short: "p", default: "512" },
        gen: { type: "string", short: "n", default: "128" },
        only: { type: "string" },
        "no-llama-cpp": { type: "boolean" },
        out: { type: "string", default: join(ROOT, "bench", "results") },
        "model-timeout-min": { type: "string", default: "20" },
      },
    });
  } catch (error) {
    console.error(`bench: ${(error as Error).message}\n${USAGE}`);
    Deno.exit(2);
  }
}

if (import.meta.main) {
  const { values } = _options(Deno.args);
  if (values.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  const log = (message: string) => console.error(message);
  const models = BENCH_SUITE.filter((m) =>
    values.only === undefined || m.name.includes(values.only)
  );
  const results: BenchResult[] = [];
  const started = performance.now();
  for (const model of models) {
    const path = await suiteModelPath(model, log);
    const args = [
      "run",
      ...await zenoTaskRunFlags(),
      join(ROOT, "cli.ts"),
      "bench",
      "-m",
      path,
      "--json",
      "-r",
      values.reps,
      "-t",
      values.threads,
    ];
    args.push("-p", values.prompt, "-n", values.gen);
    if (values["no-llama-cpp"]) args.push("--no-llama-cpp");
    // A model that takes longer than the timeout is dropped from the table (a slow backend
    // must not hold the whole suite).
    const signal = AbortSignal.timeout(Number(values["model-timeout-min"]) * 60_000);
    const child = new Deno.Command(Deno.execPath(), {
      args,
      cwd: ROOT,
      stdout: "piped",
      stderr: "inherit",
      signal,
    })
      .spawn();
    const { code, stdout } = await child.output();
    if (code !== 0) {
      const reason = signal.aborted
        ? `timed out after ${values["model-timeout-min"]} min`
        : `exit ${code}`;
      log(`bench: ${model.name} failed (${reason}); continuing`);
      continue;
    }
    results.push(JSON.parse(new TextDecoder().decode(stdout).trim().split("\n").at(-1)!));
  }
  await Deno.mkdir(values.out, { recursive: true });
  const table = formatBenchTable(results);
  await Deno.writeTextFile(
    join(values.out, "bench.json"),
    JSON.stringify({ results }, null, 1) + "\n",
  );
  await Deno.writeTextFile(join(values.out, "bench.md"), `# zeno vs llama.cpp\n\n${table}`);
  await Deno.writeTextFile(join(values.out, "bench.svg"), benchChartSvg(results));
  console.log(table);
  log(
    `bench: ${results.length}/${models.length} models in ${
      ((performance.now() - started) / 60000).toFixed(1)
    } min; ` +
      `results in ${values.out}/bench.{json,md,svg}`,
  );
}
