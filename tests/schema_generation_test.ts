/**
 * Schema-constrained generation with real models: every output, greedy and sampled, validates
 * with ajv against its schema (100 %), on SmolLM2 (native backend) and stories260K; a zod schema
 * gives a typed, parsed value.
 */

import assert from "node:assert/strict";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { z } from "zod";
import "../backends/mod.ts";
import "../plugins/schema/mod.ts";
import { loadModel, type Model } from "../core/model.ts";
import { testdataPath, testModelPath } from "./testdata.ts";

// Every string and array is bounded, so the grammar forces an end within maxTokens.
const SCHEMAS: Record<string, object> = {
  answer: {
    type: "object",
    properties: {
      answer: { type: "string", maxLength: 40 },
      confidence: { type: "number", minimum: 0, maximum: 1 },
      tags: { type: "array", items: { enum: ["geo", "math", "misc"] }, maxItems: 3 },
    },
    required: ["answer", "confidence", "tags"],
    additionalProperties: false,
  },
  person: {
    type: "object",
    properties: {
      name: { type: "string", minLength: 1, maxLength: 24 },
      age: { type: "integer", minimum: 0, maximum: 120 },
      role: { enum: ["admin", "editor", "viewer"] },
      born: { type: "string", format: "date" },
      id: { type: "string", format: "uuid" },
    },
    required: ["name", "age", "born", "id"],
    additionalProperties: false,
  },
  order: {
    type: "object",
    properties: {
      items: {
        type: "array",
        minItems: 1,
        maxItems: 2,
        items: {
          type: "object",
          properties: { sku: { type: "string", pattern: "^[A-Z]{2}[0-9]{3}$" }, qty: { type: "integer", minimum: 1, maximum: 9 } },
          required: ["sku", "qty"],
          additionalProperties: false,
        },
      },
      express: { type: "boolean" },
    },
    required: ["items", "express"],
    additionalProperties: false,
  },
};

const SAMPLING = [
  { temperature: 0 },
  { temperature: 0.8, seed: 1 },
  { temperature: 1.2, seed: 2, topK: 0, topP: 1, minP: 0 },
];

function validator(schema: object) {
  const ajv = new Ajv2020({ strict: false });
  (addFormats as unknown as (a: Ajv2020) => void)(ajv);
  return ajv.compile(schema);
}

async function checkModel(model: Model, prompt: string, maxTokens: number): Promise<number> {
  let valid = 0;
  for (const [name, schema] of Object.entries(SCHEMAS)) {
    const validate = validator(schema);
    for (const sampling of SAMPLING) {
      const session = model.createSession({ contextSize: 1024 });
      const result = await session.generate(prompt, { ...sampling, schema, maxTokens }).result();
      assert.equal(result.finishReason, "stop", `${name} ${JSON.stringify(sampling)} did not finish: ${result.text}`);
      assert.equal(validate(result.value), true, `${name}: ${result.text}\n${JSON.stringify(validate.errors)}`);
      valid++;
    }
  }
  return valid;
}

Deno.test("schema-constrained generation on SmolLM2: every output validates with ajv", async () => {
  const model = await loadModel(testModelPath("smollm2-135m-instruct"));
  try {
    const valid = await checkModel(model, "Here is the record as JSON:\n", 300);
    console.log(`SmolLM2: ${valid}/${Object.keys(SCHEMAS).length * SAMPLING.length} outputs valid`);
  } finally {
    model.dispose();
  }
});

Deno.test("schema-constrained generation on stories260K: every output validates with ajv", async () => {
  const model = await loadModel(testdataPath("models/stories260K.gguf"));
  try {
    const valid = await checkModel(model, "Once upon a time", 300);
    console.log(`stories260K: ${valid}/${Object.keys(SCHEMAS).length * SAMPLING.length} outputs valid`);
  } finally {
    model.dispose();
  }
});

Deno.test("session.generate() with a zod schema resolves to the typed, parsed value", async () => {
  const model = await loadModel(testModelPath("smollm2-135m-instruct"));
  try {
    const City = z.object({ city: z.string().max(30), country: z.string().max(30), population: z.number().int().min(0) });
    const session = model.createSession({ contextSize: 512 });
    const city = await session.respond([{ role: "user", content: "Describe Paris as JSON." }], {
      schema: City,
      temperature: 0,
      maxTokens: 120,
    });
    // The type flows from the schema: these are a string and a number at compile time too.
    const name: string = city.city;
    const population: number = city.population;
    assert.equal(City.safeParse(city).success, true);
    assert.equal(typeof name, "string");
    assert.equal(Number.isInteger(population), true);
  } finally {
    model.dispose();
  }
});
