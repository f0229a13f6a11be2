/**
 * Tokenizers for GGUF vocabularies: SentencePiece (`llama`: Llama 2, Phi-3, Gemma …),
 * byte-level BPE (`gpt2`: GPT-2, Llama 3, Qwen2, SmolLM …) and WordPiece (`bert`: BGE), with
 * llama.cpp's special-token handling and a streaming detokenizer that never splits a UTF-8
 * sequence. `createTokenizer(file.metadata)` is the entry point; its ids match llama.cpp's.
 *
 * @example Tokenize with a model's vocabulary
 * ```ts ignore
 * import { readGgufFile } from "../gguf/reader.ts";
 * import { createTokenizer } from "./mod.ts";
 * const file = await readGgufFile("model.gguf");
 * const tokenizer = createTokenizer(file.metadata);
 * const ids = tokenizer.encode("Hello world");
 * console.log(ids, tokenizer.decode(ids, { skipSpecial: true }));
 * ```
 *
 * @module
 */

export * from "./types.ts";
export * from "./vocab.ts";
export * from "./token_table.ts";
export * from "./spm.ts";
export * from "./wpm.ts";
export * from "./bpe.ts";
export * from "./pre_tokenizer.ts";
export * from "./byte_level.ts";
export * from "./hf_convert.ts";
export * from "./special_tokens.ts";
export * from "./stream_decoder.ts";
export * from "./tokenizer.ts";
