/**
 * llama.cpp's speed on one model: runs tests/oracle/bench.mjs (node-llama-cpp 3.22.1, CPU
 * prebuilt binaries) in Node with the same prompts, decode length, repetitions and threads as
 * zeno's measurement.
 *
 * @module
 */

import { ZenoError } from "../core/errors.ts";
import type { EngineSpeed, SpeedRequest } from "./engine_speed.ts";

const ORACLE = new URL("../tests/oracle/bench.mjs", import.meta.url).pathname;

/**
 * Measures llama.cpp on a model in a separate Node process.
 *
 * @param path the GGUF file
 * @param request prompts, decode length, repetitions, threads
 * @returns speeds per repetition and the Node process's peak RSS
 * @throws ZenoError with Node's stderr when the script fails (e.g. `npm ci` not run in tests/oracle)
 */
export async function benchLlamaCpp(path: string, request: SpeedRequest): Promise<EngineSpeed> {
  const child = new Deno.Command("node", {
    args: [ORACLE, "--model", path, "--threads", String(request.threads)],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  const input = {
    prompt: request.prompt,
    ttftPrompt: request.ttftPrompt,
    tg: request.tg,
    reps: request.reps,
  };
  await writer.write(new TextEncoder().encode(JSON.stringify(input)));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  if (code !== 0) {
    throw new ZenoError(
      `Cannot measure llama.cpp on "${path}": node exited with ${code} (run \`npm ci\` in tests/oracle): ${
        new TextDecoder().decode(stderr).trim()
      }`,
    );
  }
  return JSON.parse(new TextDecoder().decode(stdout)) as EngineSpeed;
}
