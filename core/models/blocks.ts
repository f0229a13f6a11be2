/**
 * Shared blocks of the decoder graphs: norms, projections, attention over the KV cache and the
 * gated feed-forward. Each adds a few nodes and names every intermediate `blk.<i>.<what>` so two
 * engines can be compared tensor by tensor.
 *
 * Dimension names: n = tokens in the batch, dim = nEmbd, hd = headDim, nh = nHead,
 * nkv = nKvHead, ff = nFf, cells = KV cache cells.
 *
 * @module
 */

import type { GraphBuilder, GraphTensor } from "../graph.ts";
import { F32, Op } from "../graph.ts";
import type { HParams } from "./hparams.ts";
import type { ModelWeights } from "./weights.ts";

/** Inputs of one forward pass, as graph tensors the engine fills before compute. */
export interface ForwardInputs {
  readonly nTokens: number;
  readonly nOutputs: number;
  /** [n] I32 token ids. */
  readonly tokens: GraphTensor;
  /** [n] I32 positions. */
  readonly positions: GraphTensor;
  /** [n] I32 sequence masks. */
  readonly seqMasks: GraphTensor;
  /** [n] I32 KV cell of each token. */
  readonly slots: GraphTensor;
  /** [nOutputs] I32 batch rows whose logits are wanted. */
  readonly outputRows: GraphTensor;
  /** [cells] I32 position of each cell (-1 empty). */
  readonly cellPositions: GraphTensor;
  /** [cells] I32 sequence mask of each cell. */
  readonly cellSeqMasks: GraphTensor;
  /** Cells the attention scans (the cache's used end after this batch). */
  readonly nCellsScan: number;
  /** Per layer [cells, nkv*hd] keys. */
  readonly kCache: readonly GraphTensor[];
  /** Per layer [cells, nkv*hdv] values. */
  readonly vCache: readonly GraphTensor[];
}

/** out [n, rows] = x [n, k] · wᵀ (+ bias). */
export function linear(
  g: GraphBuilder,
  x: GraphTensor,
  w: GraphTensor,
  name: string,
  bias?: GraphTensor,
): GraphTensor {
  const out = g.activation(name, F32, [w.shape[1], x.shape[1]]);
  g.node(Op.MUL_MAT, out, [w, x]);
  if (bias !== undefined) g.node(Op.ADD, out, [out, bias]);
  return out;
}

/** out = rmsnorm(x) * weight, per row of x.shape[0] elements. */
export function rmsNorm(
  g: GraphBuilder,
  x: GraphTensor,
  weight: GraphTensor | undefined,
  eps: number,
  name: string,
): GraphTensor {
  const out = g.activation(name, F32, x.shape);
  g.node(Op.RMS_NORM, out, weight === undefined ? [x] : [x, weight], [], [eps]);
  return out;
}

/** Per-layer attention settings. */
export interface AttentionParams {
  readonly layer: number;
  readonly ropeFreqBase: number;
  /** Multiplies RoPE angles (1 / linear scaling factor). */
  readonly ropeFreqScale: number;
  readonly slidingWindow: number;
  /** Multiply queries by this after RoPE (Gemma 3 scales queries, as llama.cpp does). */
  readonly queryScale: number;
  /** Multiply scores by this inside attention (llama/qwen2: 1/√hd). */
  readonly scoreScale: number;
  /** Optional per-head RMS norms of queries and keys (Gemma 3 QK-norm), [hd]. */
  readonly qNorm?: GraphTensor;
  readonly kNorm?: GraphTensor;
  /** Optional divisors of the RoPE angles, one per rotated pair (Llama 3 `rope_freqs`). */
  readonly ropeFactors?: GraphTensor;
}

/** Projected queries, keys and values: [n, nh*hd], [n, nkv*hd], [n, nkv*hdv]. */
export interface Qkv {
  readonly q: GraphTensor;
  readonly k: GraphTensor;
  readonly v: GraphTensor;
}

/**
 * Self-attention over the cache: QK-norm, RoPE, store K/V in the cache, attend.
 * @returns [n, nh*hdv], before the output projection
 */
export function attention(
  g: GraphBuilder,
  hp: HParams,
  inp: ForwardInputs,
  qkv: Qkv,
  p: AttentionParams,
): GraphTensor {
  const n = inp.nTokens;
  const prefix = `blk.${p.layer}`;
  let q = g.view(qkv.q, [hp.headDim, hp.nHead, n]);
  let k = g.view(qkv.k, [hp.headDim, hp.nKvHead, n]);
  if (p.qNorm !== undefined) q = rmsNorm(g, q, p.qNorm, hp.normEps, `${prefix}.attn_q_normed`);
  if (p.kNorm !== undefined) k = rmsNorm(g, k, p.kNorm, hp.normEps, `${prefix}.attn_k_normed`);
  const rope = [hp.ropeMode, hp.ropeDims];
  const factors = p.ropeFactors === undefined ? [] : [p.ropeFactors];
  g.node(Op.ROPE, q, [q, inp.positions, ...factors], rope, [p.ropeFreqBase, p.ropeFreqScale]);
  g.node(Op.ROPE, k, [k, inp.positions, ...factors], rope, [p.ropeFreqBase, p.ropeFreqScale]);
  if (p.queryScale !== 1) g.node(Op.SCALE, q, [q], [], [p.queryScale]);
  const kRows = g.view(k, [hp.nKvHead * hp.headDim, n]);
  g.node(Op.SET_ROWS, inp.kCache[p.layer], [kRows, inp.slots]);
  g.node(Op.SET_ROWS, inp.vCache[p.layer], [qkv.v, inp.slots]);
  const out = g.activation(`${prefix}.attn_heads`, F32, [hp.nHead * hp.headDimV, n]);
  g.node(
    Op.ATTENTION,
    out,
    [
      q,
      inp.kCache[p.layer],
      inp.vCache[p.layer],
      inp.positions,
      inp.seqMasks,
      inp.cellPositions,
      inp.cellSeqMasks,
    ],
    [hp.nHead, hp.nKvHead, hp.headDim, p.slidingWindow, inp.nCellsScan],
    [p.scoreScale, hp.attnSoftcap],
  );
  return out;
}

/** Gated feed-forward: down(act(gate(x)) * up(x)); `act` is SiLU (SwiGLU) or GELU (GeGLU). */
export function feedForward(
  g: GraphBuilder,
  x: GraphTensor,
  w: { gate: GraphTensor; up: GraphTensor; down: GraphTensor },
  activation: "silu" | "gelu",
  prefix: string,
): GraphTensor {
  const gate = linear(g, x, w.gate, `${prefix}.ffn_gate_out`);
  const up = linear(g, x, w.up, `${prefix}.ffn_up_out`);
  g.node(activation === "silu" ? Op.SWIGLU : Op.GEGLU, gate, [gate, up]);
  return linear(g, gate, w.down, `${prefix}.ffn_out`);
}

/** Final norm and vocabulary projection of the rows that need logits, [nOutputs, dim]: [nOutputs, nVocab]. */
export function outputLogits(
  g: GraphBuilder,
  hp: HParams,
  rows: GraphTensor,
  w: { norm: GraphTensor; output: GraphTensor },
): GraphTensor {
  const normed = rmsNorm(g, rows, w.norm, hp.normEps, "result_norm");
  const logits = linear(g, normed, w.output, "result_output");
  if (hp.finalSoftcap > 0) g.node(Op.SOFTCAP, logits, [logits], [], [hp.finalSoftcap]);
  return logits;
}

/**
 * A block of the decoder: updates the residual stream `x` in place and returns the stream it
 * leaves, after calling `afterAttention` on the stream between its attention and its
 * feed-forward and continuing with what that returns.
 */
export type DecoderLayer = (
  x: GraphTensor,
  index: number,
  afterAttention: (x: GraphTensor) => GraphTensor,
) => GraphTensor;

/**
 * The decoder skeleton every architecture shares: embed the tokens (scaled when the family asks),
 * run `layer` on the residual stream for each block (its intermediates are freed after it), then
 * project the rows that need logits. As llama.cpp does, the rows that need logits are picked
 * after the last block's attention, so its feed-forward runs on them alone (one row, the usual
 * case, takes the one-token kernels, whose rounding differs from the batched ones for K-quants).
 * @returns logits [nOutputs, nVocab]
 */
export function decoder(
  g: GraphBuilder,
  hp: HParams,
  w: ModelWeights,
  inp: ForwardInputs,
  layer: DecoderLayer,
): GraphTensor {
  // Tied embeddings (no output.weight): the embedding matrix also projects to the vocabulary.
  const tied = !w.has("output.weight");
  const embdShape = [hp.nEmbd, hp.nVocab];
  const embd = tied
    ? w.bindGatherMatrix(g, "token_embd.weight", embdShape)
    : w.bind(g, "token_embd.weight", embdShape);
  // x: the residual stream [n, dim], alive across layers.
  const x = g.activation("inp_embd", F32, [hp.nEmbd, inp.nTokens]);
  g.node(Op.GET_ROWS, x, [embd, inp.tokens]);
  if (hp.embeddingScale !== 1) g.node(Op.SCALE, x, [x], [], [hp.embeddingScale]);
  // The rows that need logits, [nOutputs, dim]: allocated before the last block's mark so that
  // they outlive its intermediates.
  const rows = g.activation("result_rows", F32, [hp.nEmbd, inp.nOutputs]);
  const pickRows = (stream: GraphTensor) => {
    g.node(Op.GET_ROWS, rows, [stream, inp.outputRows]);
    return rows;
  };
  let stream = x;
  for (let index = 0; index < hp.nLayer; index++) {
    const mark = g.mark();
    const last = index === hp.nLayer - 1;
    stream = layer(stream, index, last ? pickRows : (s) => s);
    g.release(mark);
  }
  const output = w.bindMatrix(g, tied ? "token_embd.weight" : "output.weight", embdShape);
  const norm = w.bind(g, "output_norm.weight", [hp.nEmbd]);
  return outputLogits(g, hp, stream, { norm, output });
}
