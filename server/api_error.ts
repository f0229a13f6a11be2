/**
 * Errors at the API edge in OpenAI's shape: `{ error: { message, type, param, code } }`, and the
 * one mapping from any thrown value to such a body and an HTTP status (used by Hono's
 * `onError`). Our own classes keep their meaning: a `RangeError` or `TokenizerError` comes from
 * the request's values (400); a `ModelError`, a `TypeError` or anything unknown is ours (500).
 *
 * @module
 */

import { TokenizerError, ZenoError } from "../core/errors.ts";

/** The body of an OpenAI-shaped error response. */
export interface OpenAIErrorBody {
  /** The error, as OpenAI's API sends it. */
  error: {
    message: string;
    type: string;
    param: string | null;
    code: string | null;
  };
}

/** Options of an `ApiError`. */
export interface ApiErrorOptions extends ErrorOptions {
  /** HTTP status; default 400. */
  status?: number;
  /** The request field at fault (`"temperature"`, `"messages[1].content"`). */
  param?: string | null;
  /** A short machine-readable code (`"invalid_value"`, `"context_length_exceeded"`). */
  code?: string | null;
  /** OpenAI's error type; default "invalid_request_error". */
  type?: string;
}

/** An error answered to the client as it is, with its status, field and code. */
export class ApiError extends ZenoError {
  /** The HTTP status. */
  readonly status: number;
  /** The request field at fault, or null. */
  readonly param: string | null;
  /** A machine-readable code ("context_length_exceeded"), or null. */
  readonly code: string | null;
  /** OpenAI's error type ("invalid_request_error"). */
  readonly type: string;

  /**
   * Creates the error.
   *
   * @param message what is wrong, naming the field and the value
   * @param options status, param, code, type and cause
   */
  constructor(message: string, options: ApiErrorOptions = {}) {
    super(message, options);
    this.status = options.status ?? 400;
    this.param = options.param ?? null;
    this.code = options.code ?? null;
    this.type = options.type ?? "invalid_request_error";
  }
}

/**
 * The status and OpenAI-shaped body for any thrown value.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { ApiError, errorResponse } from "./api_error.ts";
 * const { status, body } = errorResponse(new ApiError("Cannot use n 0", { param: "n" }));
 * strictEqual(status, 400);
 * strictEqual(body.error.param, "n");
 * ```
 */
export function errorResponse(error: unknown): { status: number; body: OpenAIErrorBody } {
  if (error instanceof ApiError) {
    return {
      status: error.status,
      body: _body(error.message, error.type, error.param, error.code),
    };
  }
  // Out-of-range values and untokenizable text come from the request; a TypeError is a bug.
  if (error instanceof RangeError || error instanceof TokenizerError) {
    return {
      status: 400,
      body: _body(error.message, "invalid_request_error", null, "invalid_value"),
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  const code = error instanceof ZenoError ? error.name : null;
  return { status: 500, body: _body(message, "server_error", null, code) };
}

function _body(
  message: string,
  type: string,
  param: string | null,
  code: string | null,
): OpenAIErrorBody {
  return { error: { message, type, param, code } };
}
