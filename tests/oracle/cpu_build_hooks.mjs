// Module resolution hooks for llama.mjs: `@node-llama-cpp/linux-x64` (node-llama-cpp's prebuilt
// linux-x64 package) resolves to the copy without AMX builds that llama.mjs made.
let packageEntry;

export function initialize(data) {
  packageEntry = data.packageEntry;
}

export async function resolve(specifier, context, next) {
  if (specifier === "@node-llama-cpp/linux-x64") {
    return { url: packageEntry, shortCircuit: true };
  }
  return await next(specifier, context);
}
