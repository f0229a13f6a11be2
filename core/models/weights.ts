/**
 * The model's tensors as graph inputs: names resolved in the GGUF tensor table, bound to the
 * backend buffer that holds the file (a view of the mapping, never a copy).
 *
 * @module
 */

import type { BackendBuffer } from "../backend.ts";
import { ModelError } from "../errors.ts";
import type { GgufFile, GgufTensorInfo } from "../gguf/types.ts";
import type { GraphBuilder, GraphTensor } from "../graph.ts";

/** Tensors of one model file, looked up by GGUF name. */
export class ModelWeights {
  readonly #byName: ReadonlyMap<string, GgufTensorInfo>;

  /**
   * Binds a parsed file's tensors to a buffer over its bytes.
   *
   * @param gguf the parsed file
   * @param buffer the backend buffer over the whole file (offsets are absolute file offsets)
   * @param fileName for errors
   */
  constructor(readonly gguf: GgufFile, readonly buffer: BackendBuffer, readonly fileName: string) {
    this.#byName = new Map(gguf.tensors.map((t) => [t.name, t]));
  }

  /** Whether the file has a tensor of that name. */
  has(name: string): boolean {
    return this.#byName.has(name);
  }

  /** The table entry of `name`; throws `ModelError` naming the file and tensor when absent. */
  info(name: string): GgufTensorInfo {
    const info = this.#byName.get(name);
    if (info === undefined) {
      throw new ModelError(`Cannot load model "${this.fileName}": tensor "${name}" is missing`);
    }
    return info;
  }

  /**
   * The tensor as a graph input, checking its shape when `shape` is given.
   * @param g the graph being built
   * @param name GGUF tensor name, e.g. `blk.3.attn_q.weight`
   * @param shape expected dims in ggml order
   */
  bind(g: GraphBuilder, name: string, shape?: readonly number[]): GraphTensor {
    const info = this.info(name);
    if (shape !== undefined && !sameShape(info.dims, shape)) {
      throw new ModelError(
        `Cannot load model "${this.fileName}": tensor "${name}" has shape [${info.dims}], expected [${shape}]`,
      );
    }
    return g.external(name, info.type, info.dims, this.buffer, info.fileOffset);
  }

  /** Like `bind`, or undefined when the file has no such tensor (optional biases, norms). */
  bindOptional(g: GraphBuilder, name: string, shape?: readonly number[]): GraphTensor | undefined {
    return this.has(name) ? this.bind(g, name, shape) : undefined;
  }
}

function sameShape(dims: readonly number[], shape: readonly number[]): boolean {
  const trimmed = [...dims];
  while (trimmed.length > shape.length && trimmed[trimmed.length - 1] === 1) trimmed.pop();
  return trimmed.length === shape.length && trimmed.every((d, i) => d === shape[i]);
}
