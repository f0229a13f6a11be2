/**
 * OpenAI's sampling fields → our sampler options, shared by chat and text completions.
 *
 * OpenAI's semantics, not llama.cpp's: temperature and top_p default to 1 and there is no top-k
 * or min-p, so both are off; presence and frequency penalties look at every generated token
 * (`penaltyLastN: -1`); `temperature: 0` is greedy. `logit_bias` adds its value (-100..100) to
 * the token's logit, so -100 all but bans a token. `seed` s gives choice i the seed s + i.
 *
 * @module
 */

import type { DecodingConstraint } from "../core/plugin.ts";
import type { SamplerOptions } from "../core/sampling/types.ts";
import { ApiError } from "./api_error.ts";
import type { RequestFields } from "./request_fields.ts";

/** Field names read by `readSampling` (besides the token limit fields). */
export const SAMPLING_FIELDS = [
  "temperature",
  "top_p",
  "stop",
  "seed",
  "n",
  "presence_penalty",
  "frequency_penalty",
  "logit_bias",
] as const;

/** Most choices (`n`) in one request. */
export const MAX_CHOICES = 16;

/** What a request asks of generation, in our names. */
export interface GenerationParams {
  /** Sampler options without the seed. */
  readonly sampler: SamplerOptions;
  /** Seed of choice 0; undefined draws a random one per choice. */
  readonly seed?: number;
  readonly n: number;
  /** undefined: until the sequence's context is full. */
  readonly maxTokens?: number;
  readonly stop: readonly string[];
  /** Builds one choice's decoding constraint (`response_format`); undefined: free text. */
  readonly constraint?: () => DecodingConstraint;
}

/**
 * Reads the sampling fields.
 * @param fields the request body
 * @param vocabSize token ids in `logit_bias` must be below it
 * @param maxTokensFields the limit fields this route accepts, first given wins
 */
export function readSampling(
  fields: RequestFields,
  vocabSize: number,
  maxTokensFields: readonly string[],
): GenerationParams {
  const temperature = fields.number("temperature", { min: 0, max: 2 }) ?? 1;
  const sampler: SamplerOptions = {
    temperature,
    topP: fields.number("top_p", { min: 0, max: 1 }) ?? 1,
    topK: 0,
    minP: 0,
    presencePenalty: fields.number("presence_penalty", { min: -2, max: 2 }) ?? 0,
    frequencyPenalty: fields.number("frequency_penalty", { min: -2, max: 2 }) ?? 0,
    penaltyLastN: -1,
    logitBias: _readLogitBias(fields, vocabSize),
  };
  const seed = fields.number("seed", { integer: true });
  const maxTokensName = maxTokensFields.find((name) => fields.raw(name) !== undefined);
  return {
    sampler,
    seed: seed === undefined ? undefined : _uint32(seed),
    n: fields.number("n", { min: 1, max: MAX_CHOICES, integer: true }) ?? 1,
    maxTokens: maxTokensName === undefined
      ? undefined
      : fields.number(maxTokensName, { min: 1, integer: true }),
    stop: _readStop(fields),
  };
}

/** Sampler options of choice `index`, with its seed. */
export function choiceSampler(params: GenerationParams, index: number): SamplerOptions {
  if (params.seed === undefined) return params.sampler;
  return { ...params.sampler, seed: (params.seed + index) >>> 0 };
}

function _readStop(fields: RequestFields): string[] {
  const value = fields.raw("stop");
  if (value === undefined) return [];
  if (typeof value === "string") return [value];
  if (!Array.isArray(value) || value.length > 4 || value.some((s) => typeof s !== "string")) {
    throw fields.typeError("stop", "a string or an array of at most 4 strings", value);
  }
  return value;
}

function _readLogitBias(fields: RequestFields, vocabSize: number): Record<number, number> {
  const value = fields.raw("logit_bias");
  if (value === undefined) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    throw fields.typeError("logit_bias", "an object of token ids to numbers", value);
  }
  const bias: Record<number, number> = {};
  for (const [key, amount] of Object.entries(value as Record<string, unknown>)) {
    const id = Number(key);
    if (!/^\d+$/.test(key) || id >= vocabSize) {
      throw new ApiError(
        `Cannot use logit_bias key "${key}": expected a token id below the vocabulary size ${vocabSize}`,
        { param: "logit_bias", code: "invalid_value" },
      );
    }
    if (typeof amount !== "number" || !(amount >= -100 && amount <= 100)) {
      throw new ApiError(
        `Cannot use logit_bias["${key}"] ${
          JSON.stringify(amount)
        }: expected a number in [-100, 100]`,
        {
          param: "logit_bias",
          code: "invalid_value",
        },
      );
    }
    bias[id] = amount;
  }
  return bias;
}

/** OpenAI seeds are any 64-bit integer; ours are 32-bit. */
function _uint32(seed: number): number {
  return ((seed % 2 ** 32) + 2 ** 32) % 2 ** 32;
}
