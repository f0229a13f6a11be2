/**
 * `zeno chat [-m <model.gguf|alias>] [--system "..."]`: an interactive chat that streams replies
 * with the model's chat template. Lines starting with `/` are commands: `/reset` forgets the
 * conversation, `/exit` (or end of input) quits.
 *
 * @module
 */

import process from "node:process";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import type { ChatMessage } from "../core/chat/types.ts";
import { openModel } from "./open_model.ts";
import { compact, numberOption } from "./options.ts";

/** Entry point of `zeno chat`. */
export async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      model: { type: "string", short: "m" },
      system: { type: "string" },
      "n-predict": { type: "string", short: "n", default: "512" },
      temp: { type: "string" },
      seed: { type: "string" },
      threads: { type: "string", short: "t" },
      ctx: { type: "string", short: "c" },
    },
    strict: true,
  });
  const model = await openModel(values.model, { threads: numberOption(values.threads, "--threads") });
  const session = model.createSession(compact({ contextSize: numberOption(values.ctx, "--ctx") }));
  const options = compact({
    maxTokens: numberOption(values["n-predict"], "-n"),
    temperature: numberOption(values.temp, "--temp"),
    seed: numberOption(values.seed, "--seed"),
  });
  const history: ChatMessage[] = values.system ? [{ role: "system", content: values.system }] : [];
  const initial = history.length;
  const encoder = new TextEncoder();
  const lines = createInterface({ input: process.stdin, terminal: false });
  const interactive = Deno.stdin.isTerminal();
  const prompt = () => interactive && Deno.stderr.writeSync(encoder.encode("> "));
  prompt();
  try {
    for await (const line of lines) {
      const text = line.trim();
      if (text === "/exit") break;
      if (text === "/reset") {
        history.length = initial;
        session.reset();
      } else if (text !== "") {
        history.push({ role: "user", content: text });
        let reply = "";
        for await (const chunk of session.respond(history, options)) {
          reply += chunk;
          await Deno.stdout.write(encoder.encode(chunk));
        }
        await Deno.stdout.write(encoder.encode("\n"));
        history.push({ role: "assistant", content: reply });
      }
      prompt();
    }
  } finally {
    lines.close();
    model.dispose();
  }
  return 0;
}
