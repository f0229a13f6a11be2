/**
 * The Gemma 3 decoder: embeddings scaled by √dim; per layer, QK-normed grouped-query attention
 * (sliding-window on five of every six layers, with RoPE base 10000 there and the file's base on
 * the global layers) and a GeGLU feed-forward, each wrapped in a pre-norm and a post-norm.
 * Norm weights in GGUF already include Gemma's "+1" (llama.cpp's converter adds it).
 *
 * Weights (ggml order): as llama, plus blk.i.attn_q_norm / attn_k_norm [hd],
 * blk.i.post_attention_norm [dim], blk.i.post_ffw_norm [dim]; output tied to token_embd.
 *
 * @module
 */

import type { GraphBuilder, GraphTensor } from "../graph.ts";
import { Op } from "../graph.ts";
import type { ForwardInputs } from "./blocks.ts";
import { attention, decoder, feedForward, linear, rmsNorm } from "./blocks.ts";
import type { HParams } from "./hparams.ts";
import { isSlidingLayer } from "./hparams.ts";
import type { ModelWeights } from "./weights.ts";

/** Builds the forward pass; returns logits [nOutputs, nVocab]. */
export function buildGemma3(g: GraphBuilder, hp: HParams, w: ModelWeights, inp: ForwardInputs): GraphTensor {
  return decoder(g, hp, w, inp, (x, layer, afterAttention) =>
    gemma3Layer(g, hp, w, inp, x, layer, afterAttention)
  );
}

function gemma3Layer(
  g: GraphBuilder,
  hp: HParams,
  w: ModelWeights,
  inp: ForwardInputs,
  x: GraphTensor,
  layer: number,
  afterAttention: (x: GraphTensor) => GraphTensor,
): GraphTensor {
  const p = `blk.${layer}`;
  const sliding = isSlidingLayer(hp, layer);
  const qDim = hp.nHead * hp.headDim;
  const kDim = hp.nKvHead * hp.headDim;
  const vDim = hp.nKvHead * hp.headDimV;
  // attention: x += postnorm(Wo · attn(...)), h = rmsnorm(x)
  const h = rmsNorm(g, x, w.bind(g, `${p}.attn_norm.weight`, [hp.nEmbd]), hp.normEps, `${p}.attn_norm_out`);
  const q = linear(g, h, w.bindMatrix(g, `${p}.attn_q.weight`, [hp.nEmbd, qDim]), `${p}.q`);
  const k = linear(g, h, w.bindMatrix(g, `${p}.attn_k.weight`, [hp.nEmbd, kDim]), `${p}.k`);
  const v = linear(g, h, w.bindMatrix(g, `${p}.attn_v.weight`, [hp.nEmbd, vDim]), `${p}.v`);
  const heads = attention(g, hp, inp, { q, k, v }, {
    layer,
    ropeFreqBase: sliding ? hp.ropeFreqBaseSwa : hp.ropeFreqBase,
    ropeFreqScale: sliding ? hp.ropeFreqScaleSwa : hp.ropeFreqScale,
    slidingWindow: sliding ? hp.slidingWindow : 0,
    queryScale: hp.attentionScale,
    scoreScale: 1,
    qNorm: w.bind(g, `${p}.attn_q_norm.weight`, [hp.headDim]),
    kNorm: w.bind(g, `${p}.attn_k_norm.weight`, [hp.headDim]),
  });
  const attnOut = linear(g, heads, w.bindMatrix(g, `${p}.attn_output.weight`, [hp.nHead * hp.headDimV, hp.nEmbd]), `${p}.attn_out`);
  const attnPost = rmsNorm(g, attnOut, w.bind(g, `${p}.post_attention_norm.weight`, [hp.nEmbd]), hp.normEps, `${p}.attn_post_norm`);
  g.node(Op.ADD, x, [x, attnPost]);
  const y = afterAttention(x);
  // feed-forward: x += postnorm(W_down · (gelu(W_gate·h) * W_up·h)), h = rmsnorm(x)
  const h2 = rmsNorm(g, y, w.bind(g, `${p}.ffn_norm.weight`, [hp.nEmbd]), hp.normEps, `${p}.ffn_norm_out`);
  const ffn = feedForward(g, h2, {
    gate: w.bindMatrix(g, `${p}.ffn_gate.weight`, [hp.nEmbd, hp.nFf]),
    up: w.bindMatrix(g, `${p}.ffn_up.weight`, [hp.nEmbd, hp.nFf]),
    down: w.bindMatrix(g, `${p}.ffn_down.weight`, [hp.nFf, hp.nEmbd]),
  }, "gelu", p);
  const ffnPost = rmsNorm(g, ffn, w.bind(g, `${p}.post_ffw_norm.weight`, [hp.nEmbd]), hp.normEps, `${p}.ffn_post_norm`);
  g.node(Op.ADD, y, [y, ffnPost]);
  return y;
}
