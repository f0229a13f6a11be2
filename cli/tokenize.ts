/**
 * `zeno tokenize`: prints the token ids of a text under a model's vocabulary, the same ids
 * llama.cpp gives.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { ZenoError } from "../core/errors.ts";
import { readGgufFile } from "../core/gguf/reader.ts";
import { createTokenizer } from "../core/tokenizer/tokenizer.ts";
import type { Tokenizer } from "../core/tokenizer/types.ts";

const USAGE = `usage: zeno tokenize -m <model.gguf> [--special] [--no-bos] [--pieces] "<text>"

Prints the token ids on one line, space-separated (the text is read from stdin when absent).
  -m, --model   the GGUF file whose vocabulary to use
  --special     parse special-token text such as "<|im_start|>" into its id
  --no-bos      do not add the BOS token the vocabulary asks for
  --pieces      print id:'piece' pairs instead of bare ids
`;

/** Options of {@linkcode formatTokens}. */
export interface FormatTokensOptions {
  /** Print `id:'piece'` pairs instead of bare ids. */
  readonly pieces?: boolean;
}

/**
 * Formats token ids the way `zeno tokenize` prints them.
 *
 * @param tokenizer the tokenizer the ids come from
 * @param ids the ids
 * @param options `pieces` to show each token's text
 * @returns one line: `1 15043` or `1:'<s>' 15043:' Hello'`
 */
export function formatTokens(
  tokenizer: Tokenizer,
  ids: readonly number[],
  options: FormatTokensOptions = {},
): string {
  if (!options.pieces) return ids.join(" ");
  return ids.map((id) => `${id}:'${_pieceText(tokenizer, id)}'`).join(" ");
}

const STRICT_DECODER = new TextDecoder("utf-8", { fatal: true });

/** A token's text for display: its bytes when they are whole UTF-8, else the vocab piece. */
function _pieceText(tokenizer: Tokenizer, id: number): string {
  let text: string;
  try {
    text = STRICT_DECODER.decode(tokenizer.tokenBytes(id));
  } catch {
    text = tokenizer.vocab.tokens[id]; // a lone byte such as <0xE4>
  }
  return text.replaceAll("\\", "\\\\").replaceAll("\n", "\\n").replaceAll("\t", "\\t")
    .replaceAll("\r", "\\r").replaceAll("'", "\\'");
}

/**
 * Runs `zeno tokenize`.
 *
 * @param args the arguments after "tokenize"
 * @returns 0 on success, 1 when the model cannot be read or the text tokenized, 2 for bad usage
 */
export async function main(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        model: { type: "string", short: "m" },
        special: { type: "boolean" },
        "no-bos": { type: "boolean" },
        pieces: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    console.error(`zeno tokenize: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!values.model) {
    console.error(`zeno tokenize: -m <model.gguf> is required\n\n${USAGE}`);
    return 2;
  }
  const text = positionals.length > 0 ? positionals.join(" ") : await _readStdin();
  try {
    const file = await readGgufFile(values.model);
    const tokenizer = createTokenizer(file.metadata, { name: values.model });
    const ids = tokenizer.encode(text, { parseSpecial: values.special ?? false });
    if (values["no-bos"] && tokenizer.vocab.addBos && ids[0] === tokenizer.vocab.bos) ids.shift();
    console.log(formatTokens(tokenizer, ids, { pieces: values.pieces }));
    return 0;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      console.error(`zeno tokenize: Cannot read model "${values.model}": the file does not exist`);
      return 1;
    }
    if (!(error instanceof ZenoError)) throw error;
    console.error(`zeno tokenize: ${error.message}`);
    return 1;
  }
}

async function _readStdin(): Promise<string> {
  return await new Response(Deno.stdin.readable).text();
}
