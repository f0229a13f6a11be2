import { deepStrictEqual, throws } from "node:assert";
import { RequestFields } from "./request_fields.ts";
import { choiceSampler, readSampling, SAMPLING_FIELDS } from "./sampling_fields.ts";

const ALLOWED = [...SAMPLING_FIELDS, "max_tokens", "max_completion_tokens"];

function read(body: Record<string, unknown>) {
  return readSampling(new RequestFields(body, ALLOWED), 512, [
    "max_completion_tokens",
    "max_tokens",
  ]);
}

Deno.test("readSampling() applies OpenAI's defaults: temperature 1, top_p 1, no top-k or min-p", () => {
  deepStrictEqual(read({}), {
    sampler: {
      temperature: 1,
      topP: 1,
      topK: 0,
      minP: 0,
      presencePenalty: 0,
      frequencyPenalty: 0,
      penaltyLastN: -1,
      logitBias: {},
    },
    seed: undefined,
    n: 1,
    maxTokens: undefined,
    stop: [],
  });
});

Deno.test("readSampling() maps every field, and max_completion_tokens wins over max_tokens", () => {
  const params = read({
    temperature: 0,
    top_p: 0.5,
    presence_penalty: 1.5,
    frequency_penalty: -2,
    logit_bias: { "7": -100, "511": 2.5 },
    seed: -1,
    n: 3,
    max_tokens: 9,
    max_completion_tokens: 4,
    stop: "\n",
  });
  deepStrictEqual(params.sampler.logitBias, { 7: -100, 511: 2.5 });
  deepStrictEqual([params.sampler.temperature, params.sampler.topP], [0, 0.5]);
  deepStrictEqual([params.sampler.presencePenalty, params.sampler.frequencyPenalty], [1.5, -2]);
  // A 64-bit seed folds into 32 bits; choice i draws with seed + i.
  deepStrictEqual([params.seed, params.n, params.maxTokens, params.stop], [2 ** 32 - 1, 3, 4, [
    "\n",
  ]]);
  deepStrictEqual([0, 1, 2].map((i) => choiceSampler(params, i).seed), [2 ** 32 - 1, 0, 1]);
  deepStrictEqual(choiceSampler(read({}), 1).seed, undefined);
});

Deno.test("readSampling() names the field of a bad value", () => {
  const cases: [Record<string, unknown>, string, string][] = [
    [
      { stop: ["a", "b", "c", "d", "e"] },
      "stop",
      `Cannot use stop ["a","b","c","d","e"]: expected a string or an array of at most 4 strings`,
    ],
    [
      { logit_bias: { "-1": 1 } },
      "logit_bias",
      `Cannot use logit_bias key "-1": expected a token id below the vocabulary size 512`,
    ],
    [
      { logit_bias: { "3": 101 } },
      "logit_bias",
      `Cannot use logit_bias["3"] 101: expected a number in [-100, 100]`,
    ],
    [
      { logit_bias: [1] },
      "logit_bias",
      "Cannot use logit_bias [1]: expected an object of token ids to numbers",
    ],
    [{ max_tokens: 0 }, "max_tokens", "Cannot use max_tokens 0: expected a value in [1, Infinity]"],
    [{ seed: 1.5 }, "seed", "Cannot use seed 1.5: expected an integer"],
    [
      { frequency_penalty: 2.5 },
      "frequency_penalty",
      "Cannot use frequency_penalty 2.5: expected a value in [-2, 2]",
    ],
  ];
  for (const [body, param, message] of cases) throws(() => read(body), { param, message });
});
