/**
 * Pre-tokenizers of byte-level BPE: the regex rule sets that cut text into words before the
 * merges run, selected by `tokenizer.ggml.pre` exactly as llama.cpp selects them.
 *
 * A rule set is a list of patterns applied in turn. Each pattern splits every current piece
 * into its matches *and* the gaps between them (Hugging Face's "Isolated" split), so no text
 * is ever dropped. The patterns are the ones in the models' `tokenizer.json`, rewritten for
 * JavaScript (`u` flag, Unicode property escapes) the way llama.cpp adapts them:
 * - `(?i:'s|…)` becomes `'[sS]|…`;
 * - `\s` means llama.cpp's whitespace set (ASCII `\t`..`\r` and space plus 19 Unicode
 *   spaces; not U+FEFF, unlike JavaScript's `\s`). llama.cpp hands its regex engine a copy of
 *   the text in which every non-ASCII space is U+000B, so a literal class such as deepseek's
 *   `[U+3000-U+3002]` never matches U+3000 itself; we match against the same kind of copy ("shadow").
 * - `\s+(?!\S)` (leave the last space to the next word) is a lookahead, as in the original.
 *
 * Only BPE vocabularies have a pre-tokenizer: Phi-3's GGUF says `tokenizer.ggml.model =
 * llama` (SentencePiece, with `pre` "default", unused), so it is not in this table. gemma4,
 * granite-embed-multi-311m and sarvam-moe are raw-text BPE (`byteEncode` false, spaces as
 * "▁"); llama.cpp's "whitespace" tokenizer is a model of its own and is not here.
 *
 * Every name is checked against llama.cpp itself by `tests/pre_tokenizer_oracle_test.ts`.
 *
 * @module
 */

import { TokenizerError } from "../errors.ts";

/** A pre-tokenizer and the llama.cpp vocabulary flags that come with its `pre` name. */
export interface PreTokenizer {
  /** The `tokenizer.ggml.pre` name it was made for. */
  readonly name: string;
  /** Source of each pattern, in the order they are applied. */
  readonly patterns: readonly string[];
  /** A word that is itself a token is emitted whole, before any merge (llama3, tekken …). */
  readonly ignoreMerges: boolean;
  /** llama.cpp's default for `add_bos_token` when the GGUF does not say (true for llama3). */
  readonly addBos: boolean;
  /** llama.cpp's `clean_spaces`: decoding removes the space before " ." " ," " '" and so on. */
  readonly cleanSpaces: boolean;
  /** Words become UTF-8 bytes in GPT-2's byte-level alphabet; false for raw-text BPE (gemma4). */
  readonly byteEncode: boolean;
  /** Spaces become "▁" (U+2581) before splitting, and back when decoding (gemma4, sarvam-moe). */
  readonly escapeWhitespace: boolean;
  /** A word of only newlines that is a token is emitted whole (llama.cpp's gemma4 fix). */
  readonly wholeNewlineRuns: boolean;
  /**
   * Cuts one fragment (no special tokens inside) into words.
   * @param text the fragment
   * @returns the words, in order; joined they give `text` back
   */
  split(text: string): string[];
  /**
   * Cuts one fragment into words given as offsets, building no strings.
   * @param text the fragment
   * @returns `[start0, end0, start1, end1, …]`, UTF-16 offsets of the words in order
   */
  splitRanges(text: string): number[];
}

// llama.cpp's whitespace set, inside a character class; `_S`/`_NOT_S` stand for `\s`/`\S`.
// Only the ASCII part is needed when matching against the shadow text (see module doc).
const _S = String.raw`[\t-\r ]`;
const _NOT_S = String.raw`[^\t-\r ]`;
const _NON_ASCII_SPACE = /[\x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]/g;
const _NON_ASCII_SPACE_TEST = /[\x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]/;

const _CONTRACTIONS = `'s|'t|'re|'ve|'m|'ll|'d`;
const _CONTRACTIONS_ANY_CASE = `'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD]`;
const _SPACES_NOT_LAST = `${_S}+(?!${_NOT_S})`;
const _NOT_S_L_N = String.raw`[^\t-\r \p{L}\p{N}]`;

// deepseek-llm's letter class: the cased letters of its tokenizer.json, range by range.
const _DEEPSEEK_LATIN = String.raw`A-Za-z\u{B5}\u{C0}-\u{D6}\u{D8}-\u{F6}\u{F8}-\u{1BA}` +
  String.raw`\u{1BC}-\u{1BF}\u{1C4}-\u{293}\u{295}-\u{2AF}\u{370}-\u{373}\u{376}\u{377}` +
  String.raw`\u{37B}-\u{37D}\u{37F}\u{386}\u{388}-\u{38A}\u{38C}\u{38E}-\u{3A1}\u{3A3}-\u{3F5}` +
  String.raw`\u{3F7}-\u{481}\u{48A}-\u{52F}\u{531}-\u{556}\u{10A0}-\u{10C5}\u{13A0}-\u{13F5}` +
  String.raw`\u{13F8}-\u{13FD}\u{1C90}-\u{1CBA}\u{1CBD}-\u{1CBF}\u{1D00}-\u{1D2B}` +
  String.raw`\u{1D6B}-\u{1D77}\u{1D79}-\u{1D9A}\u{1E00}-\u{1F15}\u{1F18}-\u{1F1D}` +
  String.raw`\u{1F20}-\u{1F45}\u{1F48}-\u{1F4D}\u{1F50}-\u{1F57}\u{1F59}\u{1F5B}\u{1F5D}` +
  String.raw`\u{1F5F}-\u{1F7D}\u{1F80}-\u{1FB4}\u{1FB6}-\u{1FBC}\u{1FBE}\u{1FC2}-\u{1FC4}` +
  String.raw`\u{1FC6}-\u{1FCC}\u{1FD0}-\u{1FD3}\u{1FD6}-\u{1FDB}\u{1FE0}-\u{1FEC}` +
  String.raw`\u{1FF2}-\u{1FF4}\u{1FF6}-\u{1FFC}\u{2102}\u{2107}\u{210A}-\u{2113}\u{2115}` +
  String.raw`\u{2119}-\u{211D}\u{2124}\u{2126}\u{2128}\u{212A}-\u{212D}\u{212F}-\u{2134}` +
  String.raw`\u{2139}\u{213C}-\u{213F}\u{2145}-\u{2149}\u{214E}\u{2183}\u{2184}` +
  String.raw`\u{2C00}-\u{2C7B}\u{2C7E}-\u{2CE4}\u{2CEB}-\u{2CEE}\u{2CF2}\u{2CF3}` +
  String.raw`\u{A640}-\u{A66D}\u{A680}-\u{A69B}\u{A722}-\u{A76F}\u{A771}-\u{A787}` +
  String.raw`\u{A78B}-\u{A78E}\u{AB70}-\u{ABBF}\u{FB00}-\u{FB06}\u{FB13}-\u{FB17}` +
  String.raw`\u{FF21}-\u{FF3A}\u{FF41}-\u{FF5A}\u{10400}-\u{1044F}\u{104B0}-\u{104D3}` +
  String.raw`\u{104D8}-\u{104FB}\u{10C80}-\u{10CB2}\u{10CC0}-\u{10CF2}\u{118A0}-\u{118DF}` +
  String.raw`\u{1E900}-\u{1E943}`;
const _CJK_HANGUL = String.raw`[\u{4E00}-\u{9FA5}\u{0800}-\u{4E00}\u{AC00}-\u{D7FF}]+`;

// llama.cpp's Han ranges (kimi-k2): CJK unified ideographs, extensions A-F, compatibility.
const _HAN = String.raw`[\u{4E00}-\u{9FFF}\u{3400}-\u{4DBF}\u{20000}-\u{2A6DF}\u{2A700}-\u{2B73F}` +
  String.raw`\u{2B740}-\u{2B81F}\u{2B820}-\u{2CEAF}\u{2CEB0}-\u{2EBEF}\u{F900}-\u{FAFF}` +
  String.raw`\u{2F800}-\u{2FA1F}]`;

// afmoe's CJK and Southeast Asian scripts, as llama.cpp writes them (its third range starts
// at U+8C48, not at the compatibility ideographs' U+F900).
const _AFMOE_SCRIPTS = String.raw`[\u{4E00}-\u{9FFF}\u{3400}-\u{4DBF}\u{8C48}-\u{FAFF}` +
  String.raw`\u{3040}-\u{309F}\u{30A0}-\u{30FF}\u{FF65}-\u{FF9F}\u{2F00}-\u{2FDF}` +
  String.raw`\u{E40}-\u{E7F}\u{E80}-\u{EFF}\u{1780}-\u{17FF}\u{1000}-\u{109F}` +
  String.raw`\u{AA60}-\u{AA7F}\u{A9E0}-\u{A9FF}\u{AC00}-\u{D7AF}\u{1100}-\u{11FF}]+`;

/**
 * Not a regex: names llama.cpp's hand-written digit split (afmoe, tiny_aya). Each digit run
 * is cut into its leading `length % 3` digits, then threes; the first cut also takes the
 * non-digits since the previous cut (llama.cpp's quirk, kept: later rules see that piece).
 */
const _DIGITS_IN_THREES_FROM_RIGHT = "<digits in threes from the right>";

// Punctuation-led ASCII words, letter runs, punctuation runs (deepseek-v3, afmoe).
const _PUNCT_LETTERS = String.raw`[!"#$%&'()*+,\-./:;<=>?@\[\\\]^_\x60{|}~][A-Za-z]+` +
  String.raw`|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*` +
  String.raw`|${_S}*[\r\n]+|${_SPACES_NOT_LAST}|${_S}+`;

// Letter runs split at case changes (tekken, gpt-4o): ASCII case only, as llama.cpp does.
const _UPPER_THEN_LOWER = String.raw`(?:(?=\p{L})[^a-z])*(?:(?=\p{L})[^A-Z])+`;
const _LOWER_AFTER_UPPER = String.raw`(?:(?=\p{L})[^a-z])+(?:(?=\p{L})[^A-Z])*`;

// GPT-2's own pattern; many rule sets run it after cutting out digits or punctuation.
const _GPT2 = String
  .raw`${_CONTRACTIONS}| ?\p{L}+| ?\p{N}+| ?${_NOT_S_L_N}+|${_SPACES_NOT_LAST}|${_S}+`;

/** Rule sets by llama.cpp's pre-tokenizer type. */
const _RULES = {
  gpt2: [_GPT2],
  llama3: [
    String.raw`${_CONTRACTIONS_ANY_CASE}|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}` +
    String.raw`| ?${_NOT_S_L_N}+[\r\n]*|${_S}*[\r\n]+|${_SPACES_NOT_LAST}|${_S}+`,
  ],
  qwen2: [
    String.raw`${_CONTRACTIONS_ANY_CASE}|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}` +
    String.raw`| ?${_NOT_S_L_N}+[\r\n]*|${_S}*[\r\n]+|${_SPACES_NOT_LAST}|${_S}+`,
  ],
  qwen35: [
    String.raw`${_CONTRACTIONS_ANY_CASE}|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}` +
    String.raw`| ?[^\t-\r \p{L}\p{M}\p{N}]+[\r\n]*|${_S}*[\r\n]+|${_SPACES_NOT_LAST}|${_S}+`,
  ],
  jais2: [
    String.raw`${_CONTRACTIONS_ANY_CASE}|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}` +
    String.raw`| ?${_NOT_S_L_N}+[\r\n]*|${_S}*[\r\n]+` +
    [512, 256, 128, 64, 32, 16, 8, 4].map((n) => `|${_S}{${n}}(?!${_NOT_S})`).join("") +
    String.raw`|${_S}{1,2}(?!${_NOT_S})|${_S}`,
  ],
  default: [
    String.raw`[\p{P}$+<=>^~|]+`,
    _GPT2,
    String.raw`\p{N}+`,
    String.raw`[0-9][0-9][0-9]`,
  ],
  falcon: [String.raw`[\p{P}$+<=>^~|\x60]+`, _GPT2, String.raw`[0-9][0-9][0-9]`],
  starcoder: [String.raw`\p{N}`, _GPT2],
  deepseekLlm: [
    String.raw`[\r\n]`,
    String.raw`${_S}?[${_DEEPSEEK_LATIN}]+`,
    String.raw`${_S}?[!-/:-~\u{FF01}-\u{FF0F}\u{FF1A}-\u{FF5E}\u{2018}-\u{201F}\u{3000}-\u{3002}]+`,
    String.raw`${_S}+$`,
    _CJK_HANGUL,
    String.raw`\p{N}+`,
  ],
  deepseekCoder: [
    String.raw`[\r\n]`,
    String.raw`${_S}?\p{L}+`,
    String.raw`${_S}?\p{P}+`,
    _CJK_HANGUL,
    String.raw`\p{N}`,
  ],
  deepseekV3: [
    String.raw`\p{N}{1,3}`,
    String.raw`[\u{4E00}-\u{9FA5}\u{3040}-\u{309F}\u{30A0}-\u{30FF}]+`,
    _PUNCT_LETTERS,
  ],
  poro: [String.raw` ?[^(\t-\r |.,!?\u2026\u3002\uFF0C\u3001\u0964\u06D4\u060C)]+`],
  viking: [
    String.raw` ?[^(\t-\r |.,!?\u2026\u3002\uFF0C\u3001\u0964\u06D4\u060C)]+`,
    String.raw`\p{N}`,
  ],
  tekken: [
    String.raw`[^\r\n\p{L}\p{N}]?${_UPPER_THEN_LOWER}|[^\r\n\p{L}\p{N}]?${_LOWER_AFTER_UPPER}` +
    String.raw`|\p{N}| ?${_NOT_S_L_N}+[\r\n/]*|${_S}*[\r\n]+|${_SPACES_NOT_LAST}|${_S}+`,
  ],
  gpt4o: [
    String.raw`[^\r\n\p{L}\p{N}]?${_UPPER_THEN_LOWER}(?:${_CONTRACTIONS_ANY_CASE})?` +
    String.raw`|[^\r\n\p{L}\p{N}]?${_LOWER_AFTER_UPPER}(?:${_CONTRACTIONS_ANY_CASE})?` +
    String.raw`|\p{N}{1,3}| ?${_NOT_S_L_N}+[\r\n/]*|${_S}*[\r\n]+|${_SPACES_NOT_LAST}|${_S}+`,
  ],
  chameleon: [
    String.raw`<sentinel:[0-9]+>`,
    String.raw`(?:IMGIMG)(?:[A-I]{1,4})Z`,
    String.raw`[\t\n]|    |  `,
    String.raw`\p{N}`,
    String.raw`[\p{P}!-/:-@\[-\x60{-~]`,
    _GPT2,
  ],
  seedCoder: [
    String.raw`${_CONTRACTIONS_ANY_CASE}|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}` +
    String.raw`| ?[^\t-\r \p{L}\p{N}\r\n]+|${_S}*[\r\n]+|${_SPACES_NOT_LAST}|${_S}+`,
  ],
  bailingmoe: [
    String.raw`'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}` +
    String.raw`| ?${_NOT_S_L_N}+[\r\n]*|${_S}*[\r\n]|${_SPACES_NOT_LAST}|${_S}+`,
  ],
  minicpm5: [
    String.raw`\p{N}{1,3}`,
    String.raw`${_CONTRACTIONS_ANY_CASE}|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}+` +
    String.raw`| ?${_NOT_S_L_N}+[\r\n]*|${_S}*[\r\n]+|${_SPACES_NOT_LAST}|${_S}+`,
  ],
  kimiK2: [
    String.raw`${_HAN}+|[^\r\n\p{L}\p{N}]?(?:(?!${_HAN})\p{L})+(?:${_CONTRACTIONS_ANY_CASE})?` +
    String.raw`|\p{N}{1,3}| ?${_NOT_S_L_N}+[\r\n]*|${_S}*[\r\n]+|${_SPACES_NOT_LAST}|${_S}+`,
  ],
  afmoe: [_DIGITS_IN_THREES_FROM_RIGHT, _AFMOE_SCRIPTS, _PUNCT_LETTERS],
  // tokenizer.json's [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}] and [\p{Ll}\p{Lm}\p{Lo}\p{M}] both
  // become "any letter or mark" in llama.cpp, whose regexes see one class for all letters.
  tinyAya: [
    _DIGITS_IN_THREES_FROM_RIGHT,
    String.raw`[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+(?:${_CONTRACTIONS_ANY_CASE})?` +
    String.raw`|\p{N}{1,3}| ?${_NOT_S_L_N}+[\r\n/]*|${_S}*[\r\n]+|${_SPACES_NOT_LAST}|${_S}+`,
  ],
  // The second pattern only matches empty strings: each match is a cut.
  superbpe: [String.raw`\p{N}+`, String.raw`(?=(?:\d{3})+(?!\d))`],
  spark25: [
    String.raw`\p{N}{1,3}`,
    String.raw`[\u{4E00}-\u{9FA5}\u{3040}-\u{309F}\u{30A0}-\u{30FF}]+`,
    String.raw`[!"#$%&'()*+,\-./:;<=>?@\[\\\]^_\x60{|}~][A-Za-z]+` +
    String.raw`|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+|[\r\n]` +
    String.raw`|${_SPACES_NOT_LAST}|${_S}+`,
    String.raw`\p{N}`,
  ],
  youtu: [
    String.raw`[\u{AC00}-\u{D7A3}\u{3131}-\u{318E}]+` +
    String.raw`|[\u{FF01}\u{2026}\u{201C}\u{201D}\u{2018}\u{2019}\u{2014}\u{FF1A}\u{FF1B}` +
    String.raw`\u{FF0C}\u{3001}-\u{303F}\u{FE30}-\u{FE4F}]+|[\u{3105}-\u{312F}]+` +
    String.raw`|[\u{4E00}-\u{9FA5}\u{3040}-\u{309F}\u{30A0}-\u{30FF}]+`,
    // Upper/lower letter classes collapse to "letter or mark" in llama.cpp (see tinyAya).
    String.raw`[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+(?:${_CONTRACTIONS_ANY_CASE})?` +
    String.raw`|\p{N}| ?${_NOT_S_L_N}+[\r\n/]*|${_S}*[\r\n]+|${_SPACES_NOT_LAST}|${_S}+`,
  ],
  graniteEmbedMulti: [
    String.raw`[^\r\n\p{L}\p{N}]?(?:(?=[\p{L}\p{M}])[^a-z])*(?:(?=[\p{L}\p{M}])[^A-Z])+` +
    String.raw`(?:${_CONTRACTIONS_ANY_CASE})?` +
    String.raw`|[^\r\n\p{L}\p{N}]?(?:(?=[\p{L}\p{M}])[^a-z])+(?:(?=[\p{L}\p{M}])[^A-Z])*` +
    String.raw`(?:${_CONTRACTIONS_ANY_CASE})?` +
    String.raw`|\p{N}{1,3}| ?${_NOT_S_L_N}+[\r\n/]*|${_S}*[\r\n]+|${_SPACES_NOT_LAST}|${_S}+`,
  ],
  ufakzeka: [
    String.raw`[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?${_NOT_S_L_N}+[\r\n]*|${_S}*[\r\n]+` +
    String.raw`|${_SPACES_NOT_LAST}|${_S}+`,
  ],
  laguna: [
    String.raw`[^\n]+|\n+`,
    String.raw`${_CONTRACTIONS_ANY_CASE}|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}` +
    String.raw`| ?${_NOT_S_L_N}+[\r\n]*|${_S}*[\r\n]+|${_SPACES_NOT_LAST}|${_S}+`,
  ],
  exaoneMoe: [
    String.raw`${_CONTRACTIONS_ANY_CASE}|[^\r\n\p{L}\p{N}]?(?:\p{L}\p{M}*(?: \p{L}\p{M}*)*)+` +
    String.raw`|\p{N}| ?${_NOT_S_L_N}+[\r\n/]?|${_S}*[\r\n]|${_SPACES_NOT_LAST}|${_S}+`,
  ],
  // Raw-text BPE (gemma4, sarvam-moe) only splits at newlines.
  newlines: [String.raw`[^\n]+|\n+`],
} satisfies Record<string, string[]>;

type _RuleSetName = keyof typeof _RULES;

interface _Entry {
  rules: _RuleSetName;
  ignoreMerges?: boolean;
  addBos?: boolean;
  cleanSpaces?: boolean;
  /** Raw-text BPE: no byte-level alphabet, spaces as "▁". */
  rawText?: boolean;
  wholeNewlineRuns?: boolean;
}

/** `tokenizer.ggml.pre` names and their flags, as in llama.cpp's vocabulary loader. */
const _BY_NAME: ReadonlyMap<string, _Entry> = new Map<string, _Entry>([
  ["default", { rules: "default" }],
  ..._names(
    ["llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2"],
    { rules: "llama3", ignoreMerges: true, addBos: true },
  ),
  ..._names(["jina-v5-nano"], { rules: "llama3", ignoreMerges: true, addBos: true }),
  ..._names(["dbrx", "smaug-bpe", "glm4", "chatglm-bpe"], { rules: "llama3" }),
  ..._names(["jais-2"], { rules: "jais2" }),
  ..._names(["deepseek-llm"], { rules: "deepseekLlm", cleanSpaces: false }),
  ..._names(["deepseek-coder"], { rules: "deepseekCoder", cleanSpaces: false }),
  ..._names(["deepseek-v3", "hunyuan-dense", "hy_v4", "joyai-llm"], {
    rules: "deepseekV3",
    cleanSpaces: false,
  }),
  ..._names(["falcon"], { rules: "falcon" }),
  ..._names(["starcoder", "refact", "codeshell", "exaone", "minerva-7b", "mellum2"], {
    rules: "starcoder",
  }),
  ..._names(["command-r", "smollm"], { rules: "starcoder", cleanSpaces: false }),
  ..._names([
    "gpt-2",
    "phi-2",
    "jina-es",
    "jina-de",
    "gigachat",
    "jina-v2-es",
    "jina-v2-de",
    "a.x-4.0",
    "mellum",
    "modern-bert",
    "mpt",
    "olmo",
    "jais",
    "exaone4",
    "jina-v1-en",
    "jina-v2-code",
    "roberta-bpe",
  ], { rules: "gpt2" }),
  ..._names(["trillion", "granite-docling"], { rules: "gpt2", cleanSpaces: false }),
  ..._names(["stablelm2", "megrez"], { rules: "qwen2" }),
  ..._names(
    ["qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "hunyuan", "solar-open", "grok-2"],
    { rules: "qwen2", cleanSpaces: false },
  ),
  ..._names(["qwen35"], { rules: "qwen35", cleanSpaces: false }),
  ..._names(["poro-chat"], { rules: "poro", cleanSpaces: false }),
  ..._names(["bloom", "gpt3-finnish"], { rules: "poro" }),
  ..._names(["viking"], { rules: "viking", cleanSpaces: false }),
  ..._names(["tekken"], { rules: "tekken", ignoreMerges: true, addBos: true, cleanSpaces: false }),
  ..._names(["chameleon"], { rules: "chameleon", addBos: true, cleanSpaces: false }),
  ..._names(["gpt-4o", "llama4", "kanana2", "talkie", "minimax-m2"], {
    rules: "gpt4o",
    cleanSpaces: false,
  }),
  ..._names(["seed-coder"], { rules: "seedCoder", cleanSpaces: false }),
  ..._names(["bailingmoe", "bailingmoe2", "llada-moe"], {
    rules: "bailingmoe",
    cleanSpaces: false,
  }),
  ..._names(["minicpm5"], { rules: "minicpm5", ignoreMerges: true }),
  ..._names(["kimi-k2"], { rules: "kimiK2", cleanSpaces: false }),
  ..._names(["afmoe"], { rules: "afmoe", cleanSpaces: false }),
  ..._names(["tiny_aya", "cohere2moe"], { rules: "tinyAya", cleanSpaces: false }),
  ..._names(["superbpe"], { rules: "superbpe", cleanSpaces: false }),
  ..._names(["spark2_5"], { rules: "spark25", cleanSpaces: false }),
  ..._names(["youtu"], { rules: "youtu", ignoreMerges: true, cleanSpaces: false }),
  ..._names(["granite-embed-multi-97m"], {
    rules: "graniteEmbedMulti",
    ignoreMerges: true,
    cleanSpaces: false,
  }),
  ..._names(["ufakzeka"], { rules: "ufakzeka", cleanSpaces: false }),
  ..._names(["laguna"], { rules: "laguna", cleanSpaces: false }),
  ..._names(["exaone-moe"], { rules: "exaoneMoe" }),
  // llama.cpp forces add_bos for gemma4 even when the GGUF says false.
  ..._names(["gemma4", "granite-embed-multi-311m"], {
    rules: "newlines",
    rawText: true,
    wholeNewlineRuns: true,
    addBos: true,
  }),
  ..._names(["sarvam-moe"], { rules: "newlines", rawText: true, cleanSpaces: false }),
]);

function _names(names: string[], entry: _Entry): [string, _Entry][] {
  return names.map((name) => [name, entry]);
}

/** Every `tokenizer.ggml.pre` name that `createPreTokenizer` accepts. */
export const PRE_TOKENIZER_NAMES: readonly string[] = [..._BY_NAME.keys()];

/**
 * The pre-tokenizer llama.cpp uses for a `tokenizer.ggml.pre` value.
 *
 * @param pre the `tokenizer.ggml.pre` value; "default" (llama.cpp's choice when the key is
 *   absent) is the GPT-2 split with punctuation runs and digit triples cut out first
 * @returns the pre-tokenizer with its flags
 * @throws {TokenizerError} for a name llama.cpp does not know or that needs code we lack
 *   (kimi-k2, afmoe, superbpe, tiny_aya, gemma4 …)
 *
 * @example Split like Llama 3
 * ```ts
 * import { createPreTokenizer } from "./pre_tokenizer.ts";
 * const words = createPreTokenizer("llama-bpe").split("Hello world  12345!\n");
 * if (words.join("|") !== "Hello| world| | |123|45|!\n") throw new Error(words.join("|"));
 * ```
 */
export function createPreTokenizer(pre: string): PreTokenizer {
  const entry = _BY_NAME.get(pre);
  if (entry === undefined) {
    throw new TokenizerError(
      `Cannot create the pre-tokenizer "${pre}": it is not one of the ${_BY_NAME.size} ` +
        `tokenizer.ggml.pre values zeno supports`,
    );
  }
  const patterns = _RULES[entry.rules];
  const compiled = patterns.map(_compile);
  return {
    name: pre,
    patterns,
    ignoreMerges: entry.ignoreMerges ?? false,
    addBos: entry.addBos ?? false,
    cleanSpaces: entry.cleanSpaces ?? true,
    byteEncode: !entry.rawText,
    escapeWhitespace: entry.rawText ?? false,
    wholeNewlineRuns: entry.wholeNewlineRuns ?? false,
    split: (text) => _words(text, _split(text, compiled)),
    splitRanges: (text) => _split(text, compiled),
  };
}

/** One rule of a rule set: appends the words of `text[start, end)` to `out` as offsets. */
type _Rule = (text: string, start: number, end: number, out: number[]) => void;

function _compile(source: string): _Rule {
  if (source === _DIGITS_IN_THREES_FROM_RIGHT) return _splitDigitsInThrees;
  const sticky = new RegExp(source, "uy");
  const global = new RegExp(source, "gu");
  return (text, start, end, out) => _splitByRegex(text, start, end, sticky, global, out);
}

/** Runs each rule over every current piece; pieces are `[start, end)` UTF-16 offsets. */
function _split(text: string, rules: readonly _Rule[]): number[] {
  if (text.length === 0) return [];
  const shadow = _NON_ASCII_SPACE_TEST.test(text) ? text.replace(_NON_ASCII_SPACE, "\v") : text;
  let bounds: number[] = [0, text.length];
  for (const rule of rules) {
    const next: number[] = [];
    for (let i = 0; i < bounds.length; i += 2) rule(shadow, bounds[i], bounds[i + 1], next);
    bounds = next;
  }
  return bounds;
}

function _words(text: string, bounds: readonly number[]): string[] {
  const words = new Array<string>(bounds.length / 2);
  for (let i = 0; i < bounds.length; i += 2) words[i / 2] = text.slice(bounds[i], bounds[i + 1]);
  return words;
}

/**
 * Appends the matches of a regex in `text[start, end)` and the gaps between them. Words
 * usually follow each other without gaps, so a sticky `test()` (no match object to allocate)
 * tries each position first; only where it fails does a global `exec()` look further. An
 * empty match cuts the piece where it stands and the search goes on one character later, as
 * C++'s `std::regex_iterator` does for llama.cpp.
 */
function _splitByRegex(
  text: string,
  start: number,
  end: number,
  sticky: RegExp,
  global: RegExp,
  out: number[],
): void {
  // Lookaheads and `$` must stop at the piece's end, as llama.cpp's sub-range search does.
  const piece = start === 0 && end === text.length ? text : text.slice(start, end);
  let position = 0; // start of the next word
  let searchFrom = 0;
  while (searchFrom < piece.length) {
    if (searchFrom === position) {
      sticky.lastIndex = position;
      if (sticky.test(piece) && sticky.lastIndex > position) {
        out.push(start + position, start + sticky.lastIndex);
        position = searchFrom = sticky.lastIndex;
        continue;
      }
    }
    global.lastIndex = searchFrom;
    const match = global.exec(piece);
    if (match === null) break;
    const matchEnd = match.index + match[0].length;
    if (match.index > position) out.push(start + position, start + match.index);
    position = match.index;
    if (matchEnd === match.index) {
      searchFrom = match.index + (piece.codePointAt(match.index)! > 0xffff ? 2 : 1);
      continue;
    }
    out.push(start + match.index, start + matchEnd);
    position = searchFrom = matchEnd;
  }
  if (position < piece.length) out.push(start + position, end);
}

const _DIGIT_RUN = /\p{N}+/gu;

/** llama.cpp's digit split for afmoe and tiny_aya; see `_DIGITS_IN_THREES_FROM_RIGHT`. */
function _splitDigitsInThrees(text: string, start: number, end: number, out: number[]): void {
  const piece = text.slice(start, end);
  let cut = 0; // end of the previous word
  _DIGIT_RUN.lastIndex = 0;
  for (let run = _DIGIT_RUN.exec(piece); run !== null; run = _DIGIT_RUN.exec(piece)) {
    const digitEnds = _codePointEnds(run[0], run.index);
    const leading = digitEnds.length % 3;
    for (let i = leading > 0 ? leading - 1 : 2; i < digitEnds.length; i += 3) {
      out.push(start + cut, start + digitEnds[i]);
      cut = digitEnds[i];
    }
  }
  if (cut < piece.length) out.push(start + cut, end);
}

/** The offset after each code point of `run`, which starts at `offset`. */
function _codePointEnds(run: string, offset: number): number[] {
  const ends: number[] = [];
  for (let i = 0; i < run.length; i += run.codePointAt(i)! > 0xffff ? 2 : 1) {
    ends.push(offset + i + (run.codePointAt(i)! > 0xffff ? 2 : 1));
  }
  return ends;
}
