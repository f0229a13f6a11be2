/**
 * The plugin contract. Plugins never patch the engine; they use these hooks:
 * - logits processors `(logits, state) => void` (masks and biases), run by the sampler;
 * - decoding constraints: a processor plus the state it keeps as tokens are accepted (a grammar),
 *   which also says when the output is complete and turns the text into a value;
 * - request options that a plugin turns into a constraint (`schema`, `grammar`), registered by
 *   the plugin's module so the core never imports a plugin.
 *
 * @module
 */

import type { LogitsProcessor, SamplerOptions, SamplerState } from "./sampling/types.ts";
import type { Tokenizer } from "./tokenizer/types.ts";

export type { LogitsProcessor, SamplerState };

/** A stateful restriction of what may be generated (a grammar), applied token by token. */
export interface DecodingConstraint<T = unknown> {
  /** Masks the tokens the constraint does not allow next (and end-of-generation until it may end). */
  readonly processor: LogitsProcessor;
  /** Advances the state by a sampled token. */
  accept(id: number): void;
  /** True when nothing more may be generated (the value is complete). */
  isDone(): boolean;
  /** True when generation may stop here (end-of-generation is allowed). */
  canEnd(): boolean;
  /** The value the generated text stands for (parsed and validated). */
  parse(text: string): T;
}

/** Turns a request option (e.g. a JSON Schema) into a constraint over a tokenizer. */
export type ConstraintFactory = (value: unknown, tokenizer: Tokenizer) => DecodingConstraint;

const factories = new Map<string, ConstraintFactory>();

/**
 * Registers the factory for a request option name (`schema`, `grammar`).
 * @param option the option's name in `GenerateOptions`
 * @param factory builds the constraint from the option's value
 */
export function registerConstraintOption(option: string, factory: ConstraintFactory): void {
  factories.set(option, factory);
}

/** The factory registered for an option, if a plugin registered one. */
export function constraintFactory(option: string): ConstraintFactory | undefined {
  return factories.get(option);
}

/**
 * The value of a constrained output; an output the grammar cannot end with is an error that says
 * how generation ended.
 * @param constraint the request's constraint, after its last token
 * @param text the generated text
 * @param reason why generation ended ("length", "stop" …)
 */
export function parseConstrainedOutput(constraint: DecodingConstraint, text: string, reason: string): unknown {
  if (!constraint.isDone() && !constraint.canEnd()) {
    throw new RangeError(
      `Cannot parse the constrained output: generation ended (${reason}) before the grammar was complete; raise the token limit or bound the schema's strings and arrays`,
    );
  }
  return constraint.parse(text);
}

/**
 * Sampler options with the constraint's mask appended to their processors (unchanged when
 * there is no constraint).
 */
export function withConstraint(options: SamplerOptions, constraint?: DecodingConstraint): SamplerOptions {
  if (constraint === undefined) return options;
  return { ...options, processors: [...(options.processors ?? []), constraint.processor] };
}
