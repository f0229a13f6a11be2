/**
 * Error classes that callers catch. Messages name the action, quote the value and give the
 * state, with no final period: `Cannot load model "x.gguf": tensor "blk.3.attn_q.weight" has
 * type 39, which is not supported`. Wrong shapes are `TypeError`, out-of-range values are
 * `RangeError`; the classes below are for domain failures a caller may want to tell apart.
 *
 * @module
 */

/** Base class of every error zeno raises on purpose. */
export class ZenoError extends Error {
  /**
   * Creates the error.
   *
   * @param message what failed, the value, and the state
   * @param options `cause` when wrapping a lower-level error
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A GGUF file is malformed, truncated, hostile or of an unsupported version. */
export class GgufError extends ZenoError {}

/** A model cannot be loaded or run (unknown architecture, tensor type, missing tensor). */
export class ModelError extends ZenoError {}

/** The native library is missing, stale, or failed a call. */
export class NativeLibraryError extends ZenoError {}

/** A download, cache or model-source operation failed. */
export class PullError extends ZenoError {}

/** Text could not be tokenized or a vocabulary is malformed. */
export class TokenizerError extends ZenoError {}
