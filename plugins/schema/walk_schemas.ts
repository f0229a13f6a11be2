/**
 * Realistic schemas shared by the random-walk test and the benchmark: nested objects, arrays
 * with bounds, enums, recursion, formats, numeric ranges.
 *
 * @module
 */

/** Named JSON Schemas (draft 2020-12). */
export const WALK_SCHEMAS: Readonly<Record<string, Record<string, unknown>>> = {
  person: {
    type: "object",
    properties: {
      name: { type: "string", minLength: 1, maxLength: 12 },
      age: { type: "integer", minimum: 0, maximum: 130 },
      email: { type: "string", format: "email" },
      tags: { type: "array", items: { type: "string", maxLength: 6 }, maxItems: 3 },
    },
    required: ["name", "age"],
    additionalProperties: false,
  },
  order: {
    type: "object",
    properties: {
      id: { type: "string", format: "uuid" },
      placed: { type: "string", format: "date-time" },
      status: { enum: ["pending", "shipped", "delivered"] },
      items: {
        type: "array",
        minItems: 1,
        maxItems: 3,
        items: {
          type: "object",
          properties: { sku: { type: "string", pattern: "^[A-Z]{3}-[0-9]{3}$" }, qty: { type: "integer", minimum: 1, maximum: 99 }, price: { type: "number", minimum: 0, exclusiveMaximum: 1000 } },
          required: ["sku", "qty", "price"],
          additionalProperties: false,
        },
      },
      shipTo: { type: "object", properties: { city: { type: "string", maxLength: 10 }, ip: { type: "string", format: "ipv4" } }, required: ["city"], additionalProperties: false },
    },
    required: ["id", "status", "items"],
    additionalProperties: false,
  },
  tree: {
    $defs: {
      node: {
        type: "object",
        properties: { value: { type: ["integer", "null"] }, children: { type: "array", items: { $ref: "#/$defs/node" }, maxItems: 2 } },
        required: ["value"],
        additionalProperties: false,
      },
    },
    $ref: "#/$defs/node",
  },
  event: {
    type: "object",
    properties: {
      kind: { const: "meeting" },
      day: { type: "string", format: "date" },
      at: { type: "string", format: "time" },
      link: { type: "string", format: "uri" },
      score: { type: "number", minimum: -1.5, maximum: 2.25 },
      attendees: { type: "array", prefixItems: [{ type: "string", maxLength: 5 }, { type: "boolean" }], items: false },
      note: { anyOf: [{ type: "string", maxLength: 8 }, { type: "null" }] },
    },
    required: ["kind", "day", "at"],
  },
};
