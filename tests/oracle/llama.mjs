// Shared by the oracle scripts: llama.cpp through node-llama-cpp's prebuilt CPU binaries, with
// no download and no build (install with `NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm ci`).
import { copyFileSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { register } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

let llamaPromise;

/**
 * The llama.cpp instance (one per process), CPU only.
 *
 * `cpuBuild: "avx512"` (the default) is the oracle zeno's kernels are compared against. ggml
 * loads one of node-llama-cpp's CPU builds, the best for the CPU's features; on a CPU with AMX
 * that is the build whose quantized matrix products run on AMX tiles, which round differently
 * from the AVX-512 kernels zeno follows step for step. This mode gives ggml the same builds
 * without the AMX ones to choose from. `cpuBuild: "best"` is what a node-llama-cpp user gets
 * (the benchmarks).
 * @param {{cpuBuild?: "avx512" | "best"}} [options]
 */
export function loadLlama({ cpuBuild = "avx512" } = {}) {
  llamaPromise ??= _loadLlama(cpuBuild);
  return llamaPromise;
}

async function _loadLlama(cpuBuild) {
  const packageEntry = cpuBuild === "avx512" ? _packageWithoutAmx() : null;
  if (packageEntry !== null) {
    register(new URL("./cpu_build_hooks.mjs", import.meta.url), { data: { packageEntry } });
  }
  const { getLlama, LlamaLogLevel } = await import("node-llama-cpp");
  return await getLlama({
    gpu: false,
    build: "never",
    usePrebuiltBinaries: true,
    skipDownload: true,
    logLevel: LlamaLogLevel.error,
  });
}

const _PACKAGE = new URL("./node_modules/@node-llama-cpp/linux-x64/", import.meta.url);
const _WITHOUT_AMX = new URL("./node_modules/.zeno-linux-x64-without-amx/", import.meta.url);
const _CPU_BUILDS = "bins/linux-x64";

/**
 * A copy (hard links) of node-llama-cpp's linux-x64 package without the CPU builds that use
 * AMX (found by the AMX buffer type they export); the URL of its entry module, or null where
 * there is no linux-x64 package. ggml looks for CPU builds beside the loaded addon only.
 */
function _packageWithoutAmx() {
  const from = fileURLToPath(_PACKAGE);
  if (!existsSync(join(from, _CPU_BUILDS))) return null;
  const to = fileURLToPath(_WITHOUT_AMX);
  const files = ["package.json", "dist/index.js"];
  for (const name of readdirSync(join(from, _CPU_BUILDS))) {
    const path = join(from, _CPU_BUILDS, name);
    if (name.startsWith("libggml-cpu-") && readFileSync(path).includes("amx_buffer_type")) continue;
    files.push(join(_CPU_BUILDS, name));
  }
  for (const file of files) _link(join(from, file), join(to, file));
  return pathToFileURL(join(to, "dist/index.js")).href;
}

/** A hard link at `to` to `from`, or a copy where the file system has no hard links. */
function _link(from, to) {
  if (existsSync(to)) return;
  mkdirSync(dirname(to), { recursive: true });
  try {
    linkSync(from, to);
  } catch (error) {
    // EEXIST: another oracle process made the same link first.
    if (error.code === "EEXIST") return;
    if (error.code !== "EPERM" && error.code !== "EXDEV") throw error;
    copyFileSync(from, to);
  }
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
