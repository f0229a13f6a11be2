/**
 * The llama-family decoder (llama, qwen2): pre-norm blocks of grouped-query self-attention and
 * a SwiGLU feed-forward. qwen2 adds biases to the Q/K/V projections and rotates with the NeoX
 * layout (hparams say which). Tied embeddings (no `output.weight`) reuse `token_embd.weight`.
 *
 * Weights (ggml order, [row length, rows]):
 *   token_embd [dim, vocab]; blk.i.attn_norm [dim]; attn_q [dim, nh*hd]; attn_k, attn_v
 *   [dim, nkv*hd]; attn_output [nh*hd, dim]; ffn_norm [dim]; ffn_gate, ffn_up [dim, ff];
 *   ffn_down [ff, dim]; output_norm [dim]; output [dim, vocab]; optional rope_freqs
 *   [rot/2] F32 (Llama 3.1/3.2: each rotated pair's angle is divided by its factor, as
 *   llama.cpp does; the converter writes it for Llama 3's "llama3" RoPE scaling).
 *
 * @module
 */

import { ModelError } from "../errors.ts";
import { ggmlTypeName } from "../gguf/ggml_types.ts";
import type { GraphBuilder, GraphTensor } from "../graph.ts";
import { F32, Op } from "../graph.ts";
import type { ForwardInputs } from "./blocks.ts";
import { attention, decoder, feedForward, linear, rmsNorm } from "./blocks.ts";
import type { HParams } from "./hparams.ts";
import type { ModelWeights } from "./weights.ts";

/** Builds the forward pass; returns logits [nOutputs, nVocab]. */
export function buildLlama(g: GraphBuilder, hp: HParams, w: ModelWeights, inp: ForwardInputs): GraphTensor {
  const factors = ropeFactors(g, hp, w);
  return decoder(g, hp, w, inp, (x, layer, afterAttention) =>
    llamaLayer(g, hp, w, inp, x, layer, factors, afterAttention)
  );
}

const ROPE_FACTORS = "rope_freqs.weight";

/** The file's RoPE frequency factors, [ropeDims/2] F32, or undefined when it has none. */
export function ropeFactors(g: GraphBuilder, hp: HParams, w: ModelWeights): GraphTensor | undefined {
  if (!w.has(ROPE_FACTORS)) return undefined;
  const type = w.info(ROPE_FACTORS).type;
  if (type !== F32) {
    throw new ModelError(
      `Cannot load model "${w.fileName}": tensor "${ROPE_FACTORS}" is ${ggmlTypeName(type)}, expected F32 (one divisor per rotated pair)`,
    );
  }
  return w.bind(g, ROPE_FACTORS, [hp.ropeDims / 2]);
}

function llamaLayer(
  g: GraphBuilder,
  hp: HParams,
  w: ModelWeights,
  inp: ForwardInputs,
  x: GraphTensor,
  layer: number,
  ropeFactors: GraphTensor | undefined,
  afterAttention: (x: GraphTensor) => GraphTensor,
): GraphTensor {
  const p = `blk.${layer}`;
  const qDim = hp.nHead * hp.headDim;
  const kDim = hp.nKvHead * hp.headDim;
  const vDim = hp.nKvHead * hp.headDimV;
  // attention: x += Wo · attn(rope(Wq·h), rope(Wk·h), Wv·h), h = rmsnorm(x)
  const h = rmsNorm(g, x, w.bind(g, `${p}.attn_norm.weight`, [hp.nEmbd]), hp.normEps, `${p}.attn_norm_out`);
  const q = linear(g, h, w.bindMatrix(g, `${p}.attn_q.weight`, [hp.nEmbd, qDim]), `${p}.q`, w.bindOptional(g, `${p}.attn_q.bias`, [qDim]));
  const k = linear(g, h, w.bindMatrix(g, `${p}.attn_k.weight`, [hp.nEmbd, kDim]), `${p}.k`, w.bindOptional(g, `${p}.attn_k.bias`, [kDim]));
  const v = linear(g, h, w.bindMatrix(g, `${p}.attn_v.weight`, [hp.nEmbd, vDim]), `${p}.v`, w.bindOptional(g, `${p}.attn_v.bias`, [vDim]));
  const heads = attention(g, hp, inp, { q, k, v }, {
    layer,
    ropeFreqBase: hp.ropeFreqBase,
    ropeFreqScale: hp.ropeFreqScale,
    slidingWindow: 0,
    queryScale: 1,
    scoreScale: hp.attentionScale,
    ropeFactors,
  });
  const attnOut = linear(g, heads, w.bindMatrix(g, `${p}.attn_output.weight`, [hp.nHead * hp.headDimV, hp.nEmbd]), `${p}.attn_out`);
  g.node(Op.ADD, x, [x, attnOut]);
  const y = afterAttention(x);
  // feed-forward: x += W_down · (silu(W_gate·h) * W_up·h), h = rmsnorm(x)
  const h2 = rmsNorm(g, y, w.bind(g, `${p}.ffn_norm.weight`, [hp.nEmbd]), hp.normEps, `${p}.ffn_norm_out`);
  const ffn = feedForward(g, h2, {
    gate: w.bindMatrix(g, `${p}.ffn_gate.weight`, [hp.nEmbd, hp.nFf]),
    up: w.bindMatrix(g, `${p}.ffn_up.weight`, [hp.nEmbd, hp.nFf]),
    down: w.bindMatrix(g, `${p}.ffn_down.weight`, [hp.nFf, hp.nEmbd]),
  }, "silu", p);
  g.node(Op.ADD, y, [y, ffn]);
  return y;
}
