/**
 * `zeno inspect <model.gguf> [--json]`: what a GGUF file holds, read from its header only
 * (a 250 MB model costs a few MB of reads): size, version, architecture, hyper-parameters,
 * tokenizer, the remaining metadata, tensor counts by type, parameter count and bytes, and a
 * table of tensors like llama.cpp's gguf-dump.
 *
 * Long arrays are summarized (`[49152 strings]`) and long strings cut in the text output.
 * `--json` prints one JSON document ({@linkcode GgufSummary}); 64-bit integers become JSON
 * numbers when they are exact (below 2^53) and decimal strings otherwise, non-finite floats
 * become the strings `"NaN"`, `"Infinity"`, `"-Infinity"`, FLOAT32 values are written as the
 * shortest decimal that reads back to the same float32 (`1e-5`), and arrays longer than 16 elements
 * become `{ "arrayOf": "STRING", "length": 49152 }`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { ZenoError } from "../core/errors.ts";
import { fileTypeName } from "../core/gguf/file_types.ts";
import { ggmlTypeName } from "../core/gguf/ggml_types.ts";
import { readGgufFile } from "../core/gguf/reader.ts";
import { type GgufFile, type GgufValue, GgufValueType } from "../core/gguf/types.ts";

const USAGE = `usage: zeno inspect <model.gguf> [--json]

Prints a GGUF file's metadata, hyper-parameters, tokenizer and tensor table.
  --json   print one JSON document instead of text
`;

/** Arrays up to this length are shown whole; longer ones are summarized. */
const ARRAY_PREVIEW_LIMIT = 16;
/** Strings longer than this are cut in the text output. */
const STRING_PREVIEW_CHARS = 60;

/** A metadata value made JSON-safe (see the module doc). */
export type JsonValue =
  | number
  | string
  | boolean
  | JsonValue[]
  | { readonly arrayOf: string; readonly length: number };

/** One tensor table row. */
export interface TensorSummary {
  readonly name: string;
  readonly type: string;
  readonly dims: readonly number[];
  /** Offset from the start of the data section, in bytes. */
  readonly offset: number;
  readonly byteLength: number;
}

/** A special token: its id and, when the id is in the vocabulary, its text. */
export interface SpecialTokenSummary {
  readonly id: number;
  readonly text: string | null;
}

/** Everything `zeno inspect` reports, as printed by `--json`. */
export interface GgufSummary {
  readonly file: string;
  readonly fileSize: number;
  readonly version: number;
  readonly alignment: number;
  readonly dataOffset: number;
  readonly architecture: string | null;
  readonly name: string | null;
  /** `general.file_type` by name (`Q4_K_M`), or null when absent. */
  readonly fileType: string | null;
  /** The `<architecture>.*` keys without their prefix, e.g. `attention.head_count`. */
  readonly hyperParameters: Readonly<Record<string, JsonValue>>;
  /** Per-head width: `attention.key_length`, else embedding length / head count. */
  readonly headDim: number | null;
  readonly tokenizer: {
    readonly model: string | null;
    readonly pre: string | null;
    readonly vocabSize: number;
    readonly mergeCount: number;
    /** From `tokenizer.ggml.<name>_token_id`, by `<name>` (bos, eos, unknown, padding …). */
    readonly specialTokens: Readonly<Record<string, SpecialTokenSummary>>;
    readonly hasChatTemplate: boolean;
  };
  /** Every metadata key in file order. */
  readonly metadata: Readonly<Record<string, JsonValue>>;
  readonly tensorCount: number;
  readonly tensorCountByType: Readonly<Record<string, number>>;
  readonly parameterCount: number;
  readonly tensorBytes: number;
  readonly tensors: readonly TensorSummary[];
}

/**
 * Runs `zeno inspect`.
 *
 * @param args the arguments after "inspect"
 * @returns 0 on success, 1 when the file cannot be read, 2 for bad usage
 */
export async function main(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: { json: { type: "boolean" }, help: { type: "boolean", short: "h" } },
    });
  } catch (error) {
    console.error(`zeno inspect: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length !== 1) {
    console.error(`zeno inspect: expected one GGUF file, got ${positionals.length}\n\n${USAGE}`);
    return 2;
  }
  try {
    const summary = summarizeGguf(await readGgufFile(positionals[0]));
    console.log(values.json ? JSON.stringify(summary, null, 2) : formatGgufSummary(summary));
    return 0;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      console.error(`zeno inspect: Cannot open "${positionals[0]}": the file does not exist`);
      return 1;
    }
    if (Object.values(Deno.errors).some((kind) => error instanceof kind)) {
      console.error(`zeno inspect: Cannot read "${positionals[0]}": ${(error as Error).message}`);
      return 1;
    }
    if (!(error instanceof ZenoError)) throw error;
    console.error(`zeno inspect: ${error.message}`);
    return 1;
  }
}

/**
 * Summarizes a parsed GGUF header for `zeno inspect`.
 *
 * @param file a parsed file (from `readGgufFile` or `parseGguf`)
 * @returns the summary; JSON-safe
 */
export function summarizeGguf(file: GgufFile): GgufSummary {
  const meta = file.metadata;
  const architecture = _string(meta.get("general.architecture"));
  const prefix = `${architecture}.`;
  const hyperParameters: Record<string, JsonValue> = {};
  for (const kv of file.kvs) {
    if (architecture !== null && kv.key.startsWith(prefix)) {
      hyperParameters[kv.key.slice(prefix.length)] = _jsonValue(kv.value, kv.type);
    }
  }
  const metadata: Record<string, JsonValue> = {};
  for (const kv of file.kvs) metadata[kv.key] = _jsonValue(kv.value, kv.type);
  const fileType = meta.get("general.file_type");
  return {
    file: file.name ?? "buffer",
    fileSize: file.fileSize,
    version: file.version,
    alignment: file.alignment,
    dataOffset: file.dataOffset,
    architecture,
    name: _string(meta.get("general.name")),
    fileType: typeof fileType === "number" ? fileTypeName(fileType) ?? `${fileType}` : null,
    hyperParameters,
    headDim: _headDim(hyperParameters),
    tokenizer: _tokenizerSummary(file),
    metadata,
    ..._tensorTotals(file),
  };
}

function _headDim(hyper: Readonly<Record<string, JsonValue>>): number | null {
  const keyLength = hyper["attention.key_length"];
  if (typeof keyLength === "number") return keyLength;
  const embedding = hyper["embedding_length"];
  const heads = hyper["attention.head_count"];
  if (typeof embedding !== "number" || typeof heads !== "number" || heads === 0) return null;
  return embedding / heads;
}

function _tokenizerSummary(file: GgufFile): GgufSummary["tokenizer"] {
  const meta = file.metadata;
  const tokens = _arrayValues(meta.get("tokenizer.ggml.tokens"));
  const specialTokens: Record<string, SpecialTokenSummary> = {};
  for (const kv of file.kvs) {
    const match = /^tokenizer\.ggml\.(\w+)_token_id$/.exec(kv.key);
    if (match === null || typeof kv.value !== "number") continue;
    const text = tokens[kv.value];
    specialTokens[match[1]] = { id: kv.value, text: typeof text === "string" ? text : null };
  }
  return {
    model: _string(meta.get("tokenizer.ggml.model")),
    pre: _string(meta.get("tokenizer.ggml.pre")),
    vocabSize: tokens.length,
    mergeCount: _arrayValues(meta.get("tokenizer.ggml.merges")).length,
    specialTokens,
    hasChatTemplate: meta.has("tokenizer.chat_template"),
  };
}

function _tensorTotals(file: GgufFile) {
  const tensorCountByType: Record<string, number> = {};
  let parameterCount = 0;
  let tensorBytes = 0;
  const tensors = file.tensors.map((tensor) => {
    const type = ggmlTypeName(tensor.type);
    tensorCountByType[type] = (tensorCountByType[type] ?? 0) + 1;
    parameterCount += tensor.dims.reduce((product, dim) => product * dim, 1);
    tensorBytes += tensor.byteLength;
    const { name, dims, offset, byteLength } = tensor;
    return { name, type, dims, offset, byteLength };
  });
  return { tensorCount: tensors.length, tensorCountByType, parameterCount, tensorBytes, tensors };
}

function _string(value: GgufValue | undefined): string | null {
  return typeof value === "string" ? value : null;
}

function _arrayValues(value: GgufValue | undefined): readonly GgufValue[] {
  return typeof value === "object" ? value.values : [];
}

function _jsonValue(value: GgufValue, type: GgufValueType): JsonValue {
  if (typeof value === "bigint") {
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(value)
      : value.toString();
  }
  if (typeof value === "number") {
    if (!Number.isFinite(value)) return String(value);
    return type === GgufValueType.FLOAT32 ? _shortestFloat32(value) : value;
  }
  if (typeof value !== "object") return value;
  if (value.values.length > ARRAY_PREVIEW_LIMIT) {
    return { arrayOf: GgufValueType[value.type], length: value.values.length };
  }
  return value.values.map((element) => _jsonValue(element, value.type));
}

// The shortest decimal that reads back as the same float32 (1e-5, not 0.000009999999747…).
function _shortestFloat32(value: number): number {
  for (let digits = 1; digits < 17; digits++) {
    const candidate = Number(value.toPrecision(digits));
    if (Math.fround(candidate) === value) return candidate;
  }
  return value;
}

/**
 * Formats a summary as the text `zeno inspect` prints.
 *
 * @param summary from {@linkcode summarizeGguf}
 * @returns lines of `label: value` sections and the tensor table
 */
export function formatGgufSummary(summary: GgufSummary): string {
  const sections = [
    _section(null, _overviewRows(summary)),
    _section(
      `hyper-parameters (${summary.architecture}.*)`,
      _hyperRows(summary),
    ),
    _section("tokenizer", _tokenizerRows(summary)),
    _section("other metadata", _otherRows(summary)),
    _section("tensors", _tensorTotalRows(summary)),
    _tensorTable(summary.tensors),
  ];
  return sections.filter((section) => section !== "").join("\n\n");
}

type _Row = readonly [string, string];

function _section(title: string | null, rows: readonly _Row[]): string {
  if (rows.length === 0) return "";
  const width = Math.max(...rows.map(([label]) => label.length)) + 1;
  const indent = title === null ? "" : "  ";
  const lines = rows.map(([label, value]) => `${indent}${`${label}:`.padEnd(width)} ${value}`);
  return title === null ? lines.join("\n") : `${title}:\n${lines.join("\n")}`;
}

function _overviewRows(s: GgufSummary): _Row[] {
  return [
    ["file", s.file],
    ["size", `${s.fileSize} bytes (${_mib(s.fileSize)})`],
    ["GGUF version", `${s.version}`],
    [
      "alignment",
      `${s.alignment} (${
        s.tensorCount > 0 ? `tensor data at byte ${s.dataOffset}` : "no tensors"
      })`,
    ],
    ["architecture", s.architecture ?? "-"],
    ["name", s.name ?? "-"],
    ["file type", s.fileType ?? "-"],
  ];
}

function _hyperRows(s: GgufSummary): _Row[] {
  const rows: _Row[] = Object.entries(s.hyperParameters).map(([key, value]) => [
    key,
    _text(value),
  ]);
  if (s.headDim !== null && !("attention.key_length" in s.hyperParameters)) {
    rows.push(["head dim (derived)", `${s.headDim}`]);
  }
  return rows;
}

// Keys the tokenizer section already shows in its own rows.
const SHOWN_TOKENIZER_KEYS = new Set([
  "tokenizer.ggml.model",
  "tokenizer.ggml.pre",
  "tokenizer.ggml.tokens",
  "tokenizer.ggml.merges",
  "tokenizer.chat_template",
]);

function _tokenizerRows(s: GgufSummary): _Row[] {
  const t = s.tokenizer;
  if (t.model === null && t.vocabSize === 0) return [];
  const rows: _Row[] = [
    ["model", t.model ?? "-"],
    ["pre", t.pre ?? "-"],
    ["vocab size", `${t.vocabSize}`],
    ["merges", `${t.mergeCount}`],
  ];
  for (const [name, token] of Object.entries(t.specialTokens)) {
    const text = token.text === null ? "(not in the vocabulary)" : JSON.stringify(token.text);
    rows.push([`${name} id`, `${token.id} ${text}`]);
  }
  const template = s.metadata["tokenizer.chat_template"];
  rows.push([
    "chat template",
    typeof template === "string" ? `yes (${template.length} chars)` : "no",
  ]);
  for (const [key, value] of Object.entries(s.metadata)) {
    const isSpecialId = /^tokenizer\.ggml\.\w+_token_id$/.test(key);
    if (key.startsWith("tokenizer.") && !SHOWN_TOKENIZER_KEYS.has(key) && !isSpecialId) {
      rows.push([key.replace(/^tokenizer\.ggml\./, ""), _text(value)]);
    }
  }
  return rows;
}

function _otherRows(s: GgufSummary): _Row[] {
  const archPrefix = `${s.architecture}.`;
  return Object.entries(s.metadata)
    .filter(([key]) => !key.startsWith("tokenizer.") && !key.startsWith(archPrefix))
    .map(([key, value]) => [key, _text(value)]);
}

function _tensorTotalRows(s: GgufSummary): _Row[] {
  const byType = Object.entries(s.tensorCountByType).map(([type, count]) => `${type} ${count}`);
  return [
    ["count", `${s.tensorCount}${byType.length > 0 ? ` (${byType.join(", ")})` : ""}`],
    ["parameters", `${s.parameterCount} (${_millions(s.parameterCount)})`],
    ["bytes", `${s.tensorBytes} (${_mib(s.tensorBytes)})`],
  ];
}

function _tensorTable(tensors: readonly TensorSummary[]): string {
  if (tensors.length === 0) return "";
  const header = ["#", "name", "type", "dims", "offset", "bytes"];
  const rows = tensors.map((t, i) => [
    `${i}`,
    t.name,
    t.type,
    t.dims.join(" x "),
    `${t.offset}`,
    `${t.byteLength}`,
  ]);
  const widths = header.map((_, c) =>
    Math.max(header[c].length, ...rows.map((row) => row[c].length))
  );
  const rightAligned = new Set([0, 4, 5]);
  const line = (cells: string[]) =>
    cells.map((cell, c) => rightAligned.has(c) ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))
      .join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

function _text(value: JsonValue): string {
  if (typeof value === "string") {
    if (value.length <= STRING_PREVIEW_CHARS) return JSON.stringify(value);
    return `${JSON.stringify(value.slice(0, STRING_PREVIEW_CHARS))}… (${value.length} chars)`;
  }
  if (Array.isArray(value)) return `[${value.map(_text).join(", ")}]`;
  if (typeof value === "object") {
    const noun = value.arrayOf === "STRING" ? "strings" : value.arrayOf;
    return `[${value.length} ${noun}]`;
  }
  return `${value}`;
}

function _mib(byteCount: number): string {
  return `${(byteCount / (1 << 20)).toFixed(2)} MiB`;
}

function _millions(count: number): string {
  return `${(count / 1e6).toFixed(2)} M`;
}
