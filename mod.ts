/**
 * zeno: run language models on the device, from TypeScript.
 *
 * The native library is found, built with Zig or downloaded on first use (see
 * {@linkcode acquireNativeLibrary}); `./server` serves a model over the OpenAI API and
 * `./plugins/schema` adds schema-constrained decoding.
 *
 * @example Stream a reply
 * ```ts ignore
 * import { loadModel, resolveModel } from "jsr:@zeno/zeno";
 * const model = await loadModel(await resolveModel("smollm2-135m-instruct"));
 * const session = model.createSession({ contextSize: 2048 });
 * for await (const chunk of session.respond([{ role: "user", content: "Hi!" }])) {
 *   console.log(chunk);
 * }
 * model.dispose();
 * ```
 *
 * Peak memory: V8's young generation grows (to semi-spaces of 16 MiB each) while a model's
 * vocabulary is built; run with `deno run --v8-flags=--max-semi-space-size=1` (as
 * `deno task zeno` does) to keep it at 1 MiB, which lowers peak RSS by about 13 MB at no
 * visible cost in speed.
 *
 * @module
 */

export * from "./core/errors.ts";
export {
  GgmlType,
  ggmlTypeTraits,
  GgufStringArray,
  GgufValueType,
  parseGguf,
  readGgufFile,
  writeGguf,
  writeGgufFile,
} from "./core/gguf/mod.ts";
export type {
  GgmlTypeTraits,
  GgufArray,
  GgufFile,
  GgufKv,
  GgufTensorInfo,
  GgufValue,
  GgufWriteInput,
} from "./core/gguf/mod.ts";
export { createSampler, DEFAULT_SAMPLER_OPTIONS } from "./core/sampling/sampler.ts";
export type * from "./core/sampling/types.ts";
export { ChatTemplateError, chooseChatFormat, createChatTemplate } from "./core/chat/mod.ts";
export type * from "./core/chat/types.ts";
export type { ChatTemplateOptions } from "./core/chat/chat_template.ts";
export {
  checkModelFile,
  MODEL_CATALOG,
  modelCacheDir,
  pullModel,
  resolveModel,
} from "./core/hub/mod.ts";
export type { CatalogModel, ModelSource, PullOptions } from "./core/hub/mod.ts";
export { createTokenizer, TokenTable, TokenType, vocabFromMetadata } from "./core/tokenizer/mod.ts";
export type {
  DecodeOptions,
  EncodeOptions,
  StreamDecoder,
  Tokenizer,
  TokenizerModel,
  Vocab,
} from "./core/tokenizer/mod.ts";
import "./backends/mod.ts";
export {
  acquireNativeLibrary,
  cpuFeatures,
  DEFAULT_RELEASE_URL,
  loadNativeLibrary,
  mapFile,
  nativeLibraryCacheDir,
  nativeVariant,
} from "./backends/native/mod.ts";
export type {
  AcquiredNativeLibrary,
  AcquireNativeLibraryOptions,
  MapAdvice,
  MappedFile,
  NativeLibrary,
} from "./backends/native/mod.ts";
export { loadModel } from "./core/model.ts";
export type { LoadModelOptions, Model } from "./core/model.ts";
export { LanguageModelSession } from "./core/session.ts";
export type { CandidatesOptions, GenerateOptions } from "./core/session.ts";
export { Generation } from "./core/generation.ts";
export type { FinishReason, GenerationResult } from "./core/generation.ts";
export { Engine } from "./core/engine.ts";
export type { Batch, EngineOptions } from "./core/engine.ts";
export { listBackends, registerBackend } from "./core/backend.ts";
export type { Backend, BackendBuffer, BackendEntry, DeviceInfo } from "./core/backend.ts";
export { RATE_WINDOW_MS, Scheduler } from "./core/scheduler.ts";
export type { ScheduleRequest, SchedulerOptions, SchedulerStats } from "./core/scheduler.ts";
export { chatPromptTokens } from "./core/prompt_tokens.ts";
// Named by the signatures above (deno doc --lint: private-type-ref), so importers can name them.
export type { Graph, GraphBuilder, GraphNode, GraphTensor, Op, RowBytes } from "./core/graph.ts";
export type { MatrixSource, ModelBytes } from "./core/backend.ts";
export { SUPPORTED_ARCHITECTURES } from "./core/models/mod.ts";
export type { Architecture, HParams, ModelWeights } from "./core/models/mod.ts";
export type { KvCache, KvCacheOptions } from "./core/kv_cache.ts";
export type { DecodingConstraint } from "./core/plugin.ts";
export type {
  GgufLayout,
  GgufTensorData,
  GgufTensorSpec,
  GgufWriteTensor,
} from "./core/gguf/writer.ts";
export type { ParseGgufOptions } from "./core/gguf/reader.ts";
export type { SchemaOutput, SessionModel } from "./core/session.ts";
export type { CacheDirOptions } from "./core/hub/mod.ts";
export type { PypiPart } from "./core/hub/model_catalog.ts";
export type { ProgressOutput } from "./core/hub/progress.ts";
export type { CreateTokenizerOptions } from "./core/tokenizer/tokenizer.ts";
export type { VocabFromMetadataOptions } from "./core/tokenizer/vocab.ts";
export { CPU_FEATURE_BITS, NATIVE_SYMBOLS } from "./backends/native/mod.ts";
export type {
  CpuFeature,
  LoadNativeLibraryOptions,
  MapFileOptions,
  NativeSymbols,
  NativeVariant,
} from "./backends/native/mod.ts";
