/**
 * `zeno synth --like <model> --type <type> -o <file> [--seed S]`: writes a synthetic model with
 * a real model's shapes and tokenizer and seeded random weights (core/synth), quantized as
 * `zeno quantize` would.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { ZenoError } from "../core/errors.ts";
import { formatProgress } from "../core/quantize/progress_line.ts";
import { QUANT_TARGET_NAMES, quantTarget } from "../core/quantize/quant_targets.ts";
import { writeSynthModel } from "../core/synth/synth_model.ts";
import { SYNTH_SPECS, synthSpec } from "../core/synth/synth_specs.ts";
import { numberOption } from "./options.ts";

const USAGE = `usage: zeno synth --like <${
  [...SYNTH_SPECS.keys()].join("|")
}> --type <type> -o <out.gguf> [--seed S] [--quiet]

types: ${QUANT_TARGET_NAMES.join(", ")}
The vocabulary comes from ../shared/testdata/tokenizers (--tokenizers <dir> to change it).
`;

/**
 * Runs `zeno synth`.
 *
 * @param args the arguments after "synth"
 * @returns 0 on success, 1 when the model cannot be written, 2 for bad usage
 */
export async function main(args: string[]): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args,
      options: {
        like: { type: "string" },
        type: { type: "string", short: "t" },
        output: { type: "string", short: "o" },
        seed: { type: "string" },
        tokenizers: { type: "string" },
        quiet: { type: "boolean", short: "q" },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (error) {
    console.error(`zeno synth: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!values.like || !values.type || !values.output) {
    console.error(`zeno synth: --like, --type and -o are required\n\n${USAGE}`);
    return 2;
  }
  try {
    const spec = synthSpec(values.like);
    const target = quantTarget(values.type);
    const started = performance.now();
    const result = await writeSynthModel(values.output, spec, {
      target,
      seed: numberOption(values.seed, "--seed"),
      tokenizerDir: values.tokenizers,
      onProgress: values.quiet ? undefined : (p) => console.error(formatProgress(p)),
    });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.error(
      `zeno: wrote ${values.output} (synthetic ${spec.name}, ${target.name}, ${
        (result.fileSize / 2 ** 20).toFixed(1)
      } MiB) in ${seconds} s`,
    );
    return 0;
  } catch (error) {
    if (!(error instanceof ZenoError || error instanceof RangeError)) throw error;
    console.error(`zeno synth: ${(error as Error).message}`);
    return 1;
  }
}
