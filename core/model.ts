/**
 * Loading a model: resolve the alias or path, map the GGUF file (native, zero-copy), read its
 * header, hyper-parameters, tokenizer and chat template, and bind its weights to a backend.
 * Each session gets its own engine (KV cache); the weights are shared.
 *
 * @module
 */

import type { Backend, ModelBytes } from "./backend.ts";
import { listBackends } from "./backend.ts";
import { createChatTemplate } from "./chat/mod.ts";
import type { ChatTemplate } from "./chat/types.ts";
import { Engine, type EngineOptions } from "./engine.ts";
import { ModelError } from "./errors.ts";
import { basename } from "./paths.ts";
import { parseGguf } from "./gguf/reader.ts";
import type { GgufFile } from "./gguf/types.ts";
import { type HParams, ModelWeights, readHParams } from "./models/mod.ts";
import { LanguageModelSession } from "./session.ts";
import { createTokenizer } from "./tokenizer/mod.ts";
import type { Tokenizer } from "./tokenizer/types.ts";

/** Options of `loadModel`. */
export interface LoadModelOptions {
  /** A backend instance, or a registered backend's name; default: the best available. */
  backend?: Backend | string;
  /** Compute threads; default: every core. */
  threads?: number;
  /** Opens the file's bytes; default: the native memory map. Tests pass `Deno.readFile`. */
  openBytes?: (path: string) => Promise<ModelBytes> | ModelBytes;
  /**
   * Copy weight matrices into the backend's faster layout where it has one (default true).
   * The native backend interleaves Q4_0/Q4_1/Q5_0/Q5_1/Q8_0 matrices four rows at a time: the
   * copy replaces the file's pages in memory (they are released), and results are the same
   * bit for bit. false: every tensor is read in place from the file.
   */
  repackWeights?: boolean;
}

/** A loaded model: its file, numbers, tokenizer, chat template and weights on a backend. */
export interface Model {
  /** The model file's path. */
  readonly path: string;
  /** The parsed GGUF header: metadata and tensor table. */
  readonly gguf: GgufFile;
  /** Hyper-parameters read from the metadata. */
  readonly hparams: HParams;
  /** The tokenizer built from the file's vocabulary. */
  readonly tokenizer: Tokenizer;
  /** The chat template (the file's, or a built-in format). */
  readonly chatTemplate: ChatTemplate;
  /** The backend the weights are bound to. */
  readonly backend: Backend;
  /** The model's tensors on the backend, shared by every engine. */
  readonly weights: ModelWeights;
  /** A new engine with its own KV cache. */
  createEngine(options?: EngineOptions): Engine;
  /** A new session (own KV cache) for generation and chat. */
  createSession(options?: EngineOptions): LanguageModelSession;
  /** Releases the backend and the mapping. */
  dispose(): void;
}

/**
 * Loads a GGUF model from a path.
 * @param path the .gguf file
 * @param options backend, threads, how to open the bytes
 */
export async function loadModel(path: string, options: LoadModelOptions = {}): Promise<Model> {
  const open = options.openBytes ?? mapModelBytes;
  const bytes = await open(path);
  const fileName = basename(path);
  const gguf = parseGguf(bytes.bytes, { name: fileName });
  const hparams = readHParams(gguf.metadata, fileName);
  const tokenizer = createTokenizer(gguf.metadata);
  const chatTemplate = createChatTemplate(gguf.metadata);
  // The header (vocabulary, merges: 1.8 MB for SmolLM2) now lives in JS values; its pages of
  // the mapping would stay resident for nothing (they fault back in if read again).
  bytes.release?.(0, gguf.dataOffset);
  const backend = pickBackend(options);
  const repack = options.repackWeights === false ? undefined : { backend, bytes };
  const weights = new ModelWeights(gguf, backend.wrapModel(bytes), fileName, repack);
  const engines: Engine[] = [];
  const model: Model = {
    path,
    gguf,
    hparams,
    tokenizer,
    chatTemplate,
    backend,
    weights,
    createEngine(engineOptions?: EngineOptions): Engine {
      const engine = new Engine(backend, hparams, weights, engineOptions);
      engines.push(engine);
      return engine;
    },
    createSession(engineOptions?: EngineOptions): LanguageModelSession {
      return new LanguageModelSession({
        tokenizer,
        chatTemplate,
        engine: model.createEngine(engineOptions),
      });
    },
    dispose(): void {
      for (const engine of engines) engine.dispose();
      backend.dispose();
      if ("close" in bytes && typeof bytes.close === "function") bytes.close();
    },
  };
  return model;
}

async function mapModelBytes(path: string): Promise<ModelBytes> {
  const { acquireNativeLibrary, mapFile } = await import("../backends/native/mod.ts");
  await acquireNativeLibrary(); // a checkout's own build, else build or download (acquire.ts)
  return mapFile(path);
}

function pickBackend(options: LoadModelOptions): Backend {
  if (typeof options.backend === "object") return options.backend;
  const entries = listBackends();
  const wanted = options.backend;
  const reasons: string[] = [];
  for (const entry of entries) {
    if (wanted !== undefined && entry.name !== wanted) continue;
    const verdict = entry.available();
    if (verdict === true) return entry.create({ threads: options.threads });
    reasons.push(`${entry.name}: ${verdict}`);
  }
  const known = entries.map((e) => e.name).join(", ");
  throw new ModelError(
    wanted === undefined
      ? `Cannot pick a backend: none is available (${reasons.join("; ")})`
      : `Cannot use backend "${wanted}": ${
        reasons.join("; ") || `not registered (known: ${known})`
      }`,
  );
}
