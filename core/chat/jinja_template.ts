/**
 * Jinja chat templates (Hugging Face's dialect, as `transformers` renders them) through
 * `@huggingface/jinja`. We run the library's `Environment` ourselves instead of
 * `Template.render` because its built-in `strftime_now` uses the machine's locale and clock and
 * its `raise_exception` throws a bare `Error`; ours are deterministic and name the template.
 *
 * @module
 */

import { Environment, Interpreter, Template } from "@huggingface/jinja";
import { ChatTemplateError } from "./chat_template_error.ts";
import { strftime } from "./strftime.ts";

/** A parsed Jinja template; `render` takes the template variables. */
export type JinjaRender = (variables: Record<string, unknown>) => string;

/** Options of `compileJinjaTemplate`. */
export interface JinjaOptions {
  /** Names the template in errors, e.g. `tokenizer.chat_template of "SmolLM2"`. */
  label: string;
  /** Clock for `strftime_now`; default `() => new Date()`. */
  now?: () => Date;
}

/** Thrown by the template's `raise_exception(message)`, so we can tell it from engine errors. */
class _TemplateRaised extends Error {}

/**
 * Parses a Jinja chat template once; the returned function renders it with the globals chat
 * templates expect (`raise_exception`, `strftime_now`, `range`, `true`/`True`, `none`/`None`).
 *
 * @param source the Jinja source
 * @param options a label for errors and the clock
 * @returns a render function
 * @throws {ChatTemplateError} when the source does not parse, quoting the parser's message
 *
 * @example Render a tiny template
 * ```ts
 * import { compileJinjaTemplate } from "./jinja_template.ts";
 * const render = compileJinjaTemplate("{{ greeting | upper }}", { label: "example" });
 * if (render({ greeting: "hi" }) !== "HI") throw new Error("unexpected");
 * ```
 */
export function compileJinjaTemplate(source: string, options: JinjaOptions): JinjaRender {
  let parsed: Template;
  try {
    parsed = new Template(source);
  } catch (error) {
    throw new ChatTemplateError(
      `Cannot parse chat template ${options.label}: ${_messageOf(error)}`,
      { cause: error },
    );
  }
  const now = options.now ?? (() => new Date());
  return (variables) => {
    const env = new Environment();
    for (const [name, value] of Object.entries(_globals(now))) env.set(name, value);
    for (const [name, value] of Object.entries(variables)) env.set(name, value);
    try {
      return new Interpreter(env).run(parsed.parsed).value as string;
    } catch (error) {
      const what = error instanceof _TemplateRaised
        ? `the template raised "${error.message}"`
        : _messageOf(error);
      throw new ChatTemplateError(`Cannot render chat template ${options.label}: ${what}`, {
        cause: error,
      });
    }
  };
}

function _globals(now: () => Date): Record<string, unknown> {
  return {
    true: true,
    false: false,
    none: null,
    True: true,
    False: false,
    None: null,
    raise_exception: (message: unknown) => {
      throw new _TemplateRaised(String(message));
    },
    strftime_now: (format: unknown) => strftime(now(), String(format)),
    range: _range,
  };
}

/** Python's `range(stop)` / `range(start, stop[, step])`. */
function _range(start: number, stop?: number, step = 1): number[] {
  if (stop === undefined) [start, stop] = [0, start];
  if (step === 0) throw new RangeError("Cannot call range(): step is 0");
  const values: number[] = [];
  for (let i = start; step > 0 ? i < stop : i > stop; i += step) values.push(i);
  return values;
}

function _messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
