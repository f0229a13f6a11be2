/**
 * JSON spelled the way Python's `json.dumps` spells it (`{"a": 1, "b": [1, 2]}`, with a space
 * after ":" and ","): chat templates serialize tools and calls with Jinja's `tojson`, so this
 * is the spacing models saw in training.
 *
 * @module
 */

/**
 * Serializes a JSON value with Python's separators; with `indent`, like `json.dumps(v,
 * indent=n)` (which equals `JSON.stringify(v, null, n)`). Non-ASCII text is kept as is.
 *
 * @param value a JSON-compatible value
 * @param indent spaces per level; omitted for one line
 * @returns the JSON text
 *
 * @example
 * ```ts
 * import { pythonJson } from "./python_json.ts";
 * if (pythonJson({ a: [1, "x"] }) !== '{"a": [1, "x"]}') throw new Error("spacing");
 * ```
 */
export function pythonJson(value: unknown, indent?: number): string {
  if (indent !== undefined) return JSON.stringify(value, null, indent);
  if (Array.isArray(value)) return `[${value.map((item) => pythonJson(item)).join(", ")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value).filter(([, item]) => item !== undefined);
    const body = entries.map(([key, item]) => `${JSON.stringify(key)}: ${pythonJson(item)}`);
    return `{${body.join(", ")}}`;
  }
  return JSON.stringify(value) ?? "null";
}
