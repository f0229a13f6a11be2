/**
 * `zeno quantize <in.gguf> <out.gguf> --type <type> [--pure]`: converts an F32/F16/BF16 model
 * to a quantized one with llama.cpp's mixture rules (core/quantize), streaming, one progress
 * line per tensor on stderr.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { ZenoError } from "../core/errors.ts";
import { formatProgress } from "../core/quantize/progress_line.ts";
import { QUANT_TARGET_NAMES, quantTarget } from "../core/quantize/quant_targets.ts";
import { quantizeModel } from "../core/quantize/quantize_model.ts";

const USAGE = `usage: zeno quantize <in.gguf> <out.gguf> --type <type> [--pure] [--quiet]

types: ${QUANT_TARGET_NAMES.join(", ")} (Q4_K and Q5_K mean Q4_K_M and Q5_K_M, as in llama-quantize)
--pure   every matrix in the type itself: no Q6_K output head, no mixture
`;

/**
 * Runs `zeno quantize`.
 *
 * @param args the arguments after "quantize"
 * @returns 0 on success, 1 when the model cannot be quantized, 2 for bad usage
 */
export async function main(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        type: { type: "string", short: "t" },
        pure: { type: "boolean" },
        quiet: { type: "boolean", short: "q" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    console.error(`zeno quantize: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length !== 2 || values.type === undefined) {
    console.error(`zeno quantize: an input, an output and --type are required\n\n${USAGE}`);
    return 2;
  }
  try {
    const [input, output] = positionals;
    const target = quantTarget(values.type);
    const started = performance.now();
    const result = await quantizeModel(input, output, {
      target,
      pure: values.pure,
      onProgress: values.quiet ? undefined : (p) => console.error(formatProgress(p)),
    });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.error(
      `zeno: wrote ${output} (${target.name}, ${
        (result.fileSize / 2 ** 20).toFixed(1)
      } MiB) in ${seconds} s`,
    );
    return 0;
  } catch (error) {
    if (
      !(error instanceof ZenoError || error instanceof RangeError ||
        error instanceof Deno.errors.NotFound)
    ) throw error;
    console.error(`zeno quantize: ${(error as Error).message}`);
    return 1;
  }
}
