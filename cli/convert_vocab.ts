/**
 * `zeno convert-vocab`: a vocab-only GGUF from Hugging Face byte-level BPE files, laid out as
 * llama.cpp's converter lays it out (see `core/tokenizer/hf_convert.ts`).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { ZenoError } from "../core/errors.ts";
import type { GgufArray } from "../core/gguf/types.ts";
import { writeGgufFile } from "../core/gguf/writer.ts";
import {
  type HfBpeInput,
  hfBpeToGgufKvs,
  type HfTokenizerConfig,
  readHfTokenizerJson,
} from "../core/tokenizer/hf_convert.ts";

const USAGE =
  `usage: zeno convert-vocab --vocab <encoder.json|vocab.json> --merges <vocab.bpe|merges.txt>
                          [--config <tokenizer_config.json>] --pre <llama-bpe|qwen2|…>
                          [--vocab-size <n>] [--arch <architecture>] [--name <name>] -o <out.gguf>
       zeno convert-vocab --tokenizer <tokenizer.json> [--config …] --pre … -o <out.gguf>

Writes the tokenizer.ggml.* keys (model gpt2, pre, tokens, token_type, merges, special ids).
--vocab-size pads the token list with [PAD<id>] up to config.json's vocab_size.
`;

/**
 * Runs `zeno convert-vocab`.
 *
 * @param args the arguments after "convert-vocab"
 * @returns 0 on success, 1 when the files cannot be converted, 2 for bad usage
 */
export async function main(args: string[]): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args,
      options: {
        vocab: { type: "string" },
        merges: { type: "string" },
        tokenizer: { type: "string" },
        config: { type: "string" },
        pre: { type: "string" },
        "vocab-size": { type: "string" },
        arch: { type: "string" },
        name: { type: "string" },
        output: { type: "string", short: "o" },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (error) {
    console.error(`zeno convert-vocab: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const { vocab, merges, tokenizer, pre, output } = values;
  const fromFiles = vocab !== undefined && merges !== undefined && tokenizer === undefined;
  const fromTokenizerJson = tokenizer !== undefined && vocab === undefined && merges === undefined;
  const vocabSize = values["vocab-size"] === undefined ? undefined : Number(values["vocab-size"]);
  if ((!fromFiles && !fromTokenizerJson) || !pre || !output || Number.isNaN(vocabSize)) {
    console.error(
      "zeno convert-vocab: give --vocab and --merges, or --tokenizer; --pre and -o are " +
        `required; --vocab-size is a number\n\n${USAGE}`,
    );
    return 2;
  }
  try {
    const sources: Pick<HfBpeInput, "vocab" | "merges" | "mergesText" | "addedTokens"> =
      fromTokenizerJson
        ? readHfTokenizerJson(await _readJson(tokenizer!))
        : { vocab: await _readJson(vocab!), mergesText: await Deno.readTextFile(merges!) };
    const kvs = hfBpeToGgufKvs({
      ...sources,
      config: values.config ? await _readJson(values.config) as HfTokenizerConfig : undefined,
      vocabSize,
      pre,
      architecture: values.arch,
      name: values.name,
    });
    const layout = await writeGgufFile(output, { kvs, tensors: [] });
    const count = (key: string) =>
      (kvs.find((kv) => kv.key === key)?.value as GgufArray).values.length;
    console.error(
      `wrote ${output}: ${count("tokenizer.ggml.tokens")} tokens, ` +
        `${count("tokenizer.ggml.merges")} merges, pre "${pre}", ${layout.fileSize} bytes`,
    );
    return 0;
  } catch (error) {
    if (!(error instanceof ZenoError || error instanceof Deno.errors.NotFound)) throw error;
    console.error(`zeno convert-vocab: ${(error as Error).message}`);
    return 1;
  }
}

// deno-lint-ignore no-explicit-any
async function _readJson(path: string): Promise<any> {
  const text = await Deno.readTextFile(path);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ZenoError(`Cannot read "${path}": ${(error as Error).message}`, { cause: error });
  }
}
