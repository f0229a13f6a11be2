/**
 * The tokenizer facade: one `Tokenizer` for every vocabulary, matching llama.cpp's
 * `llama_tokenize` / `llama_detokenize`. Encoding splits special tokens out first
 * (USER_DEFINED ones always, CONTROL ones only with `parseSpecial`), hands each plain fragment
 * to the vocabulary's algorithm (SentencePiece for `llama`, byte-level BPE for `gpt2`), and
 * adds BOS/EOS as the vocabulary asks. Decoding renders control tokens as their text (or
 * drops them with `skipSpecial`), strips the SentencePiece space prefix from a leading piece,
 * and for BPE vocabularies tidies spaces before punctuation as llama.cpp does.
 *
 * llama.cpp quirk kept on purpose: the leading space is stripped only when the first token is
 * a text piece. After a BOS the space stays, so `decode(encode("Hi"))` is `"<s> Hi"`, and
 * `" Hi"` with `skipSpecial`.
 *
 * @module
 */

import { TokenizerError } from "../errors.ts";
import type { GgufValue } from "../gguf/types.ts";
import {
  createSpecialMatcher,
  type SpecialMatcher,
  type SpecialTokenInfo,
  specialTokenInfo,
  splitSpecialTokens,
  TokenAttr,
} from "./special_tokens.ts";
import { createBpeModel } from "./bpe.ts";
import { createSpmModel } from "./spm.ts";
import { createByteStreamDecoder } from "./stream_decoder.ts";
import { createWpmModel } from "./wpm.ts";
import type {
  DecodeOptions,
  EncodeOptions,
  StreamDecoder,
  Tokenizer,
  TokenizerModel,
  Vocab,
} from "./types.ts";
import type { TokenTable } from "./token_table.ts";
import { compactVocabTexts, vocabFromMetadata } from "./vocab.ts";

/** Options of {@linkcode createTokenizer}. */
export interface CreateTokenizerOptions {
  /** Name used in error messages (a file name); defaults to `"metadata"`. */
  readonly name?: string;
}

/** The algorithm of each supported `tokenizer.ggml.model`. */
const MODEL_FACTORIES = new Map<string, (vocab: Vocab) => TokenizerModel>([
  ["llama", createSpmModel],
  ["gpt2", (vocab) => createBpeModel(vocab)],
  ["bert", createWpmModel],
]);

/** BPE pre-tokenizers for which llama.cpp does not tidy spaces when decoding. */
const BPE_PRE_WITHOUT_CLEAN_SPACES = new Set([
  "deepseek-llm",
  "deepseek-coder",
  "deepseek-v3",
  "spark2_5",
  "youtu",
  "sarvam-moe",
  "command-r",
  "qwen2",
  "deepseek-r1-qwen",
  "kormo",
  "f2llmv2",
  "qwen35",
  "poro-chat",
  "viking",
  "tekken",
  "smollm",
  "chameleon",
  "gpt-4o",
  "llama4",
  "kanana2",
  "talkie",
  "granite-embed-multi-97m",
  "tiny_aya",
  "cohere2moe",
  "superbpe",
  "trillion",
  "granite-docling",
  "bailingmoe",
  "bailingmoe2",
  "llada-moe",
  "seed-coder",
  "hunyuan",
  "hunyuan-dense",
  "hy_v4",
  "joyai-llm",
  "kimi-k2",
  "ufakzeka",
  "grok-2",
  "afmoe",
  "laguna",
  "minimax-m2",
  "solar-open",
]);

/**
 * Creates the tokenizer of a model from its GGUF metadata or from a vocabulary.
 *
 * @param source `GgufFile.metadata`, or a `Vocab` built elsewhere (e.g. by a converter)
 * @param options `name` for error messages
 * @returns a tokenizer that matches llama.cpp's ids
 * @throws {TokenizerError} when the metadata is malformed or the model is not supported
 *
 * @example Round-trip through a tiny SentencePiece vocabulary
 * ```ts
 * import { deepStrictEqual, strictEqual } from "node:assert";
 * import { createTokenizer } from "./tokenizer.ts";
 * const tokens = ["<unk>", "<s>", "</s>", "▁hi", "▁", "h", "i", "hi"];
 * const tokenizer = createTokenizer({
 *   model: "llama",
 *   pre: "default",
 *   tokens,
 *   merges: [],
 *   scores: new Float32Array([0, 0, 0, -1, -2, -3, -3, -2]),
 *   types: new Uint8Array([2, 3, 3, 1, 1, 1, 1, 1]),
 *   tokenToId: new Map(tokens.map((t, i) => [t, i])),
 *   bos: 1,
 *   eos: 2,
 *   unk: 0,
 *   addBos: true,
 *   addEos: false,
 *   addSpacePrefix: true,
 * });
 * deepStrictEqual(tokenizer.encode("hi"), [1, 3]);
 * strictEqual(tokenizer.decode([3]), "hi");
 * ```
 */
export function createTokenizer(
  source: ReadonlyMap<string, GgufValue> | Vocab,
  options: CreateTokenizerOptions = {},
): Tokenizer {
  const vocab = source instanceof Map ? vocabFromMetadata(source, options) : source as Vocab;
  const factory = MODEL_FACTORIES.get(vocab.model);
  if (factory === undefined) {
    const known = [...MODEL_FACTORIES.keys()].map((name) => `"${name}"`).join(", ");
    throw new TokenizerError(
      `Cannot create a tokenizer for "${
        options.name ?? "metadata"
      }": tokenizer model "${vocab.model}" is not supported (supported: ${known})`,
    );
  }
  return new _Tokenizer(vocab, factory(vocab));
}

const ENCODER = new TextEncoder();
const DECODER = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
const EMPTY = new Uint8Array(0);

class _Tokenizer implements Tokenizer {
  readonly vocab: Vocab;
  readonly vocabSize: number;
  readonly #tokens: TokenTable;
  readonly #model: TokenizerModel;
  readonly #info: SpecialTokenInfo;
  readonly #matchers: (SpecialMatcher | undefined)[] = [undefined, undefined];
  /** Bytes of each token rendered with its special text, filled on first use. */
  readonly #pieces: (Uint8Array | undefined)[];
  readonly #cleanSpaces: boolean;
  readonly #framesWithSep: boolean;

  constructor(vocab: Vocab, model: TokenizerModel) {
    this.vocab = vocab;
    this.#tokens = compactVocabTexts(vocab).tokenTable;
    this.vocabSize = this.#tokens.size;
    this.#model = model;
    this.#info = specialTokenInfo(vocab);
    this.#pieces = new Array(this.vocabSize);
    this.#cleanSpaces = vocab.model === "bert" ||
      (vocab.model === "gpt2" && !BPE_PRE_WITHOUT_CLEAN_SPACES.has(vocab.pre));
    // llama.cpp frames every WordPiece input as [CLS] … [SEP], whatever add_bos/add_eos say.
    this.#framesWithSep = vocab.model === "bert";
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const addSpecial = options.addSpecial ?? true;
    const output: number[] = [];
    if (addSpecial && (this.vocab.addBos || this.#framesWithSep)) {
      output.push(this.#requireId("bos"));
    }
    let isFirst = true;
    for (const fragment of splitSpecialTokens(text.toWellFormed(), this.#matcher(options))) {
      if ("id" in fragment) {
        output.push(fragment.id);
        isFirst = true;
        continue;
      }
      for (const id of this.#model.encodeFragment(fragment.text, isFirst)) output.push(id);
      isFirst = false;
    }
    if (addSpecial && this.#framesWithSep) output.push(this.#requireId("sep"));
    else if (addSpecial && this.vocab.addEos) output.push(this.#requireId("eos"));
    return output;
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    const skipSpecial = options.skipSpecial ?? false;
    let first = 0;
    let end = ids.length;
    let stripSpace = this.vocab.addSpacePrefix;
    if (skipSpecial && this.vocab.addBos && end > 0 && ids[0] === this.vocab.bos) {
      stripSpace = false;
      first = 1;
    }
    if (skipSpecial && this.vocab.addEos && end > first && ids[end - 1] === this.vocab.eos) end--;
    const parts: Uint8Array[] = [];
    for (let i = first; i < end; i++) {
      let bytes = this.#pieceBytes(ids[i], !skipSpecial);
      if (i === first && stripSpace && bytes[0] === 0x20) bytes = bytes.subarray(1);
      parts.push(bytes);
    }
    const joined = _concat(parts);
    return DECODER.decode(this.#cleanSpaces ? _cleanSpaces(joined) : joined);
  }

  tokenBytes(id: number): Uint8Array {
    return this.#pieceBytes(id, true).slice();
  }

  isEog(id: number): boolean {
    return this.#info.eogIds.has(id);
  }

  createStreamDecoder(options: DecodeOptions = {}): StreamDecoder {
    const special = !(options.skipSpecial ?? false);
    return createByteStreamDecoder((id) => this.#pieceBytes(id, special));
  }

  /** llama.cpp's `token_to_piece`: special tokens as their text, or nothing. */
  #pieceBytes(id: number, special: boolean): Uint8Array {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new RangeError(
        `Cannot decode token ${id}: the vocabulary has ${this.vocabSize} tokens`,
      );
    }
    const attr = this.#info.attrs[id];
    if (!special && (attr & (TokenAttr.UNKNOWN | TokenAttr.CONTROL))) return EMPTY;
    let piece = this.#pieces[id];
    if (piece === undefined) {
      piece = this.#renderPiece(id, attr);
      this.#pieces[id] = piece;
    }
    return piece;
  }

  #renderPiece(id: number, attr: number): Uint8Array {
    const verbatim = TokenAttr.UNKNOWN | TokenAttr.CONTROL | TokenAttr.USER_DEFINED;
    if (attr & verbatim) return ENCODER.encode(this.#tokens.text(id));
    if (attr & (TokenAttr.NORMAL | TokenAttr.BYTE)) return this.#model.tokenBytes(id);
    // UNUSED and UNDEFINED tokens render as nothing, as in llama.cpp.
    return EMPTY;
  }

  #matcher(options: EncodeOptions): SpecialMatcher {
    const index = options.parseSpecial ? 1 : 0;
    let matcher = this.#matchers[index];
    if (matcher === undefined) {
      matcher = createSpecialMatcher(this.vocab, this.#info, index === 1);
      this.#matchers[index] = matcher;
    }
    return matcher;
  }

  #requireId(field: "bos" | "eos" | "sep"): number {
    const id = this.vocab[field];
    if (id === undefined) {
      throw new TokenizerError(
        `Cannot add ${field.toUpperCase()}: the vocabulary asks for it (add_${field}_token) but has no ${field} token id`,
      );
    }
    return id;
  }
}

function _concat(parts: readonly Uint8Array[]): Uint8Array {
  let byteLength = 0;
  for (const part of parts) byteLength += part.length;
  const joined = new Uint8Array(byteLength);
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  return joined;
}

const SPACE = 0x20;
const APOSTROPHE = 0x27;

/**
 * llama.cpp's `clean_spaces` for BPE: drop the space before `?!.,`, around a lone `'`, and
 * before the contractions `'s 'm 're 've`.
 */
function _cleanSpaces(bytes: Uint8Array): Uint8Array {
  let text = _dropSpaceBeforePunctuation(bytes);
  text = _dropSpacesAroundApostrophe(text);
  return _dropSpaceBeforeContraction(text);
}

function _dropSpaceBeforePunctuation(input: Uint8Array): Uint8Array {
  const out: number[] = input.length > 0 ? [input[0]] : [];
  for (let i = 1; i < input.length; i++) {
    const x = input[i];
    const isPunct = x === 0x3F || x === 0x21 || x === 0x2E || x === 0x2C; // ? ! . ,
    if (input[i - 1] === SPACE && isPunct) out.pop();
    out.push(x);
  }
  return Uint8Array.from(out);
}

function _dropSpacesAroundApostrophe(input: Uint8Array): Uint8Array {
  const text = input.slice();
  const out: number[] = text.length > 0 ? [text[0]] : [];
  for (let i = 1; i < text.length; i++) {
    const x = text[i];
    if (x === APOSTROPHE && i + 1 < text.length && text[i - 1] === SPACE && text[i + 1] === SPACE) {
      out.pop();
      // Skip the next space; llama.cpp overwrites it with NUL, which later checks then see.
      text[++i] = 0;
    }
    out.push(x);
  }
  return Uint8Array.from(out);
}

function _dropSpaceBeforeContraction(input: Uint8Array): Uint8Array {
  const out: number[] = input.length > 0 ? [input[0]] : [];
  for (let i = 1; i < input.length; i++) {
    const x = input[i];
    if (input[i - 1] === SPACE && x === APOSTROPHE && i + 1 < input.length) {
      const x1 = input[i + 1];
      const x2 = i + 2 < input.length ? input[i + 2] : -1;
      const isShort = x1 === 0x73 || x1 === 0x6D; // 's 'm
      const isLong = (x1 === 0x72 || x1 === 0x76) && x2 === 0x65; // 're 've
      if (isShort || isLong) out.pop();
    }
    out.push(x);
  }
  return Uint8Array.from(out);
}
