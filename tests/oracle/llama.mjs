// Shared by the oracle scripts: llama.cpp through node-llama-cpp's prebuilt CPU binaries, with
// no download and no build (install with `NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm ci`).
import { getLlama, LlamaLogLevel } from "node-llama-cpp";

let llamaPromise;

/** The llama.cpp instance (one per process), CPU only. */
export function loadLlama() {
  llamaPromise ??= getLlama({
    gpu: false,
    build: "never",
    usePrebuiltBinaries: true,
    skipDownload: true,
    logLevel: LlamaLogLevel.error,
  });
  return llamaPromise;
}

/**
 * A model for tokenizing only: the vocabulary is loaded, the weights are not.
 * @param {string} modelPath a GGUF file
 */
export async function loadVocabModel(modelPath) {
  const llama = await loadLlama();
  return await llama.loadModel({ modelPath, vocabOnly: true });
}

/** Reads all of stdin as text. */
export async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

/** The value after `--name` in argv, or the fallback. */
export function argValue(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
