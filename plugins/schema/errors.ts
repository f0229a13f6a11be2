/**
 * Errors of the schema plugin.
 *
 * @module
 */

import { ZenoError } from "../../core/errors.ts";

/**
 * A schema or grammar cannot be compiled: a keyword zeno cannot enforce, a malformed value,
 * an undefined rule or reference. `keyword` and `pointer` (a JSON pointer into the schema)
 * are set for JSON Schema keywords.
 */
export class SchemaCompileError extends ZenoError {
  /** The keyword at fault, e.g. "uniqueItems"; "" when the error is not about one keyword. */
  readonly keyword: string;
  /** JSON pointer of the schema object holding the keyword, e.g. "/properties/tags". */
  readonly pointer: string;

  /**
   * Creates the error.
   *
   * @param message what failed, the value, and the state
   * @param details the keyword and JSON pointer at fault, and an optional cause
   */
  constructor(
    message: string,
    details: { keyword?: string; pointer?: string; cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.keyword = details.keyword ?? "";
    this.pointer = details.pointer ?? "";
  }
}
