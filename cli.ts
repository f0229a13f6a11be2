/**
 * The `zeno` command line: `deno task zeno <command> [...]`. Each command lives in
 * `cli/<command>.ts` and exports `main(args): Promise<number>` (the exit code); commands are
 * imported lazily so `zeno inspect` never pays for the server's imports.
 *
 * @module
 */

type CommandMain = (args: string[]) => Promise<number>;

const COMMANDS: Record<string, { summary: string; load: () => Promise<{ main: CommandMain }> }> = {
  run: { summary: "continue a prompt (or reply to it with --chat)", load: () => import("./cli/run.ts") },
  chat: { summary: "chat interactively with the model's chat template", load: () => import("./cli/chat.ts") },
  pull: { summary: "download a model into the cache", load: () => import("./cli/pull.ts") },
  serve: { summary: "serve the OpenAI API (continuous batching)", load: () => import("./cli/serve.ts") },
  inspect: { summary: "print a GGUF file's metadata and tensors", load: () => import("./cli/inspect.ts") },
  tokenize: { summary: "print the token ids of a text", load: () => import("./cli/tokenize.ts") },
  quantize: { summary: "quantize an F32/F16/BF16 model (llama.cpp's mixtures)", load: () => import("./cli/quantize.ts") },
  synth: { summary: "write a synthetic model with real shapes and random weights", load: () => import("./cli/synth.ts") },
  bench: { summary: "measure prefill, decode, TTFT and RSS against llama.cpp", load: () => import("./cli/bench.ts") },
  schema: { summary: "check that a JSON Schema compiles for constrained decoding", load: () => import("./cli/schema.ts") },
  "convert-vocab": {
    summary: "write a vocab-only GGUF from Hugging Face tokenizer files",
    load: () => import("./cli/convert_vocab.ts"),
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `usage: zeno <command> [options]\n\ncommands:\n${lines.join("\n")}\n`;
}

/** Runs one command line and returns its exit code. */
export async function runCli(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    console.error(`zeno: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  const { main } = await command.load();
  return await main(rest);
}

if (import.meta.main) {
  Deno.exit(await runCli(Deno.args));
}
