/**
 * Summarizing a text longer than the context, map-reduce style: split it into chunks whose
 * prompt fits the context, summarize each chunk (map), then summarize the joined partial
 * summaries (reduce; repeated while they still do not fit).
 *
 * ```sh
 * deno run -A examples/summarize.ts [model] [--file path] [--chars N] [--chunk-tokens N]
 *   [--summary-tokens N]
 * ```
 *
 * `model` is an alias or a .gguf path (default `smollm2-135m-instruct`). The text is the first
 * `--chars` characters (default 4000) of `--file` (default War and Peace from
 * `../shared/testdata/text`), cut at a paragraph end. Chunks are whole paragraphs of at most
 * `--chunk-tokens` tokens (default 400; a longer paragraph is cut at line ends); each summary
 * has at most `--summary-tokens` tokens (default 48). Greedy decoding: the same output on every
 * run. Prints one line per chunk (`chunk i/n (t tokens): …`), then `summary: …`.
 *
 * @module
 */

import { join } from "node:path";
import { parseArgs } from "node:util";
import { sharedTestdataDir } from "../core/shared_testdata.ts";
import { loadModel, type Model, resolveModel } from "../mod.ts";

/** The model used when none is named. */
export const DEFAULT_MODEL = "smollm2-135m-instruct";

/** The default text: War and Peace from the shared test data. */
export const DEFAULT_TEXT_PATH = join(sharedTestdataDir(), "text", "war-and-peace.txt");

/** Sizes of {@linkcode summarize}, in tokens. */
export interface SummarizeOptions {
  /** Largest chunk of source text. */
  chunkTokens: number;
  /** Longest summary of one chunk, and of the whole. */
  summaryTokens: number;
  /** Called once per chunk as its summary is ready. */
  onChunk?: (chunk: ChunkSummary, index: number, count: number) => void;
}

/** One chunk of the text and its summary. */
export interface ChunkSummary {
  readonly text: string;
  readonly tokenCount: number;
  readonly summary: string;
}

/** The instruction wrapped around a chunk. */
export function summaryPrompt(text: string): string {
  return `Summarize this passage in one or two sentences:\n\n${text}`;
}

/**
 * The first `charCount` characters of `text`, cut back to the last paragraph end (a blank
 * line) so no paragraph is split; the whole slice when it has none.
 */
export function sliceParagraphs(text: string, charCount: number): string {
  const slice = text.slice(0, charCount);
  const end = slice.lastIndexOf("\n\n");
  return (end > 0 ? slice.slice(0, end) : slice).trim();
}

/**
 * Splits text into chunks of whole paragraphs, each at most `maxTokens` tokens as `countTokens`
 * measures them. A paragraph longer than that is split at line ends, and a line longer than
 * that at spaces; a single word longer than the budget is a RangeError.
 */
export function splitIntoChunks(
  text: string,
  maxTokens: number,
  countTokens: (text: string) => number,
): string[] {
  const pieces = _splitToFit(
    text.split(/\n\s*\n/).map((p) => p.trim()).filter(Boolean),
    maxTokens,
    countTokens,
  );
  const chunks: string[] = [];
  let current = "";
  for (const piece of pieces) {
    const joined = current === "" ? piece : `${current}\n\n${piece}`;
    if (current !== "" && countTokens(joined) > maxTokens) {
      chunks.push(current);
      current = piece;
    } else {
      current = joined;
    }
  }
  if (current !== "") chunks.push(current);
  return chunks;
}

/** Paragraphs that fit as they are; others split at "\n", then at " " (joined back greedily). */
function _splitToFit(
  pieces: string[],
  maxTokens: number,
  countTokens: (text: string) => number,
): string[] {
  const fitting: string[] = [];
  for (const piece of pieces) {
    if (countTokens(piece) <= maxTokens) {
      fitting.push(piece);
      continue;
    }
    const separator = piece.includes("\n") ? "\n" : " ";
    const parts = piece.split(separator);
    if (parts.length === 1) {
      throw new RangeError(
        `Cannot split "${piece.slice(0, 40)}" into chunks of ${maxTokens} tokens`,
      );
    }
    const smaller = _splitToFit(parts, maxTokens, countTokens);
    let current = "";
    for (const part of smaller) {
      const joined = current === "" ? part : `${current}${separator}${part}`;
      if (current !== "" && countTokens(joined) > maxTokens) {
        fitting.push(current);
        current = part;
      } else current = joined;
    }
    if (current !== "") fitting.push(current);
  }
  return fitting;
}

/**
 * Summarizes `text` by chunks (map), then the joined chunk summaries (reduce), repeating the
 * reduce over chunks while the joined summaries exceed `chunkTokens`.
 *
 * @returns the chunks with their summaries, and the final summary
 */
export async function summarize(
  model: Model,
  text: string,
  options: SummarizeOptions,
): Promise<{ chunks: ChunkSummary[]; summary: string }> {
  // Room for the chunk, the instruction and chat markup, and the summary.
  const session = model.createSession({
    contextSize: options.chunkTokens + options.summaryTokens + 64,
  });
  const countTokens = (piece: string) =>
    model.tokenizer.encode(piece, { addSpecial: false }).length;
  const summarizeOne = async (piece: string) => {
    const messages = [{ role: "user" as const, content: summaryPrompt(piece) }];
    const reply = await session.respond(messages, {
      temperature: 0,
      maxTokens: options.summaryTokens,
    });
    return reply.trim();
  };
  const texts = splitIntoChunks(text, options.chunkTokens, countTokens);
  const chunks: ChunkSummary[] = [];
  for (const [index, chunkText] of texts.entries()) {
    const chunk = {
      text: chunkText,
      tokenCount: countTokens(chunkText),
      summary: await summarizeOne(chunkText),
    };
    chunks.push(chunk);
    options.onChunk?.(chunk, index, texts.length);
  }
  let partials = chunks.map((chunk) => chunk.summary);
  while (partials.length > 1 && countTokens(partials.join("\n\n")) > options.chunkTokens) {
    const groups = splitIntoChunks(partials.join("\n\n"), options.chunkTokens, countTokens);
    partials = [];
    for (const group of groups) partials.push(await summarizeOne(group));
  }
  const summary = partials.length === 1 ? partials[0] : await summarizeOne(partials.join("\n\n"));
  return { chunks, summary };
}

async function main(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      file: { type: "string", default: DEFAULT_TEXT_PATH },
      chars: { type: "string", default: "4000" },
      "chunk-tokens": { type: "string", default: "400" },
      "summary-tokens": { type: "string", default: "48" },
    },
  });
  const text = sliceParagraphs(await Deno.readTextFile(values.file), Number(values.chars));
  const model = await loadModel(await resolveModel(positionals[0] ?? DEFAULT_MODEL));
  try {
    const { summary } = await summarize(model, text, {
      chunkTokens: Number(values["chunk-tokens"]),
      summaryTokens: Number(values["summary-tokens"]),
      onChunk(chunk, index, count) {
        console.log(
          `chunk ${index + 1}/${count} (${chunk.tokenCount} tokens): ${
            JSON.stringify(chunk.summary)
          }`,
        );
      },
    });
    console.log(`summary: ${JSON.stringify(summary)}`);
  } finally {
    model.dispose();
  }
}

if (import.meta.main) {
  try {
    await main(Deno.args);
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    Deno.exit(1);
  }
}
