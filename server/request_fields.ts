/**
 * Typed reads of a JSON request body that reject what we do not know: every field must be in
 * the allowed list, `null` means "not given" (as in OpenAI's API), and a wrong type or value is
 * an `ApiError` (400) naming the field by its path (`messages[2].role`).
 *
 * @module
 */

import { ApiError } from "./api_error.ts";

/** Bounds of a numeric field. */
export interface NumberBounds {
  readonly min?: number;
  readonly max?: number;
  readonly integer?: boolean;
}

/** The fields of one JSON object, checked against an allow-list. */
export class RequestFields {
  readonly #values: Record<string, unknown>;
  readonly #prefix: string;

  /**
   * @param value the parsed JSON (must be an object)
   * @param allowed field names this object may hold
   * @param path where the object sits in the request ("" for the body, "messages[0]")
   * @throws ApiError for a non-object or an unknown field
   */
  constructor(value: unknown, allowed: readonly string[], path = "") {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new ApiError(
        `Cannot read ${path === "" ? "the request body" : `"${path}"`}: expected a JSON object`,
        {
          param: path === "" ? null : path,
          code: "invalid_type",
        },
      );
    }
    this.#values = value as Record<string, unknown>;
    this.#prefix = path === "" ? "" : `${path}.`;
    for (const name of Object.keys(this.#values)) {
      if (!allowed.includes(name)) {
        throw new ApiError(
          `Cannot use field "${this.path(name)}": it is unknown or not supported`,
          {
            param: this.path(name),
            code: "unsupported_parameter",
          },
        );
      }
    }
  }

  /** The full path of a field, for messages. */
  path(name: string): string {
    return `${this.#prefix}${name}`;
  }

  /** The raw value; `undefined` when absent or null. */
  raw(name: string): unknown {
    const value = this.#values[name];
    return value === null ? undefined : value;
  }

  /** A string field. */
  string(name: string, required: true): string;
  string(name: string, required?: false): string | undefined;
  string(name: string, required = false): string | undefined {
    const value = this.#present(name, required);
    if (value === undefined) return undefined;
    if (typeof value !== "string") throw this.typeError(name, "a string", value);
    return value;
  }

  /** A boolean field. */
  boolean(name: string): boolean | undefined {
    const value = this.raw(name);
    if (value === undefined) return undefined;
    if (typeof value !== "boolean") throw this.typeError(name, "a boolean", value);
    return value;
  }

  /** A finite number within bounds. */
  number(name: string, bounds: NumberBounds = {}): number | undefined {
    const value = this.raw(name);
    if (value === undefined) return undefined;
    if (typeof value !== "number" || !Number.isFinite(value)) {
      throw this.typeError(name, "a number", value);
    }
    if (bounds.integer && !Number.isSafeInteger(value)) {
      throw this.typeError(name, "an integer", value);
    }
    const { min = -Infinity, max = Infinity } = bounds;
    if (value < min || value > max) {
      throw new ApiError(
        `Cannot use ${this.path(name)} ${value}: expected a value in [${min}, ${max}]`,
        {
          param: this.path(name),
          code: "invalid_value",
        },
      );
    }
    return value;
  }

  /** An error saying the field holds the wrong kind of value. */
  typeError(name: string, expected: string, value: unknown): ApiError {
    return new ApiError(`Cannot use ${this.path(name)} ${_show(value)}: expected ${expected}`, {
      param: this.path(name),
      code: "invalid_type",
    });
  }

  #present(name: string, required: boolean): unknown {
    const value = this.raw(name);
    if (value === undefined && required) {
      throw new ApiError(`Cannot read the request: field "${this.path(name)}" is required`, {
        param: this.path(name),
        code: "missing_required_parameter",
      });
    }
    return value;
  }
}

/** A short JSON rendering of a value for an error message. */
function _show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}
