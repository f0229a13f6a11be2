/**
 * The vocabulary's shape trie: the token trie with bytes merged into a fixed set of "shapes"
 * (each ASCII punctuation, digit, space and control group apart, `[A-Z]`, `[a-z]`, and the
 * UTF-8 lead/continuation byte ranges that code point ranges split at). A shape node stands
 * for every token-trie node whose path spells the same shapes.
 *
 * Why: the states whose mask is nearly the whole vocabulary (string contents, free keys) do
 * not tell letters apart, so walking them over shapes visits ~30k nodes instead of ~590k on a
 * 262k vocabulary. Where a grammar state does tell the bytes of a shape apart, the mask
 * engine falls back to the token-trie nodes the shape node lists (`byteNodes`), so masks stay
 * exact. Grammar-independent: built once per token trie (cached).
 *
 * @module
 */

import { byteClassTable } from "./byte_classes.ts";
import type { TokenTrie } from "./token_trie.ts";

/** A trie over token shapes, in preorder arrays like `TokenTrie`. Node 0 is the root. */
export interface ShapeTrie {
  /** Byte → shape, `[256]`. */
  readonly shapeOfByte: Uint8Array;
  /** Number of shapes. */
  readonly shapeCount: number;
  readonly nodeCount: number;
  /** `[nodeCount]`: the shape on the edge into the node (0 for the root). */
  readonly nodeShape: Uint8Array;
  /** `[nodeCount]`: depth (bytes from the root). */
  readonly nodeDepth: Uint16Array;
  /** `[nodeCount]`: one past the last node of the node's subtree. */
  readonly nodeEnd: Int32Array;
  /**
   * `[nodeCount + 1]`: the token-trie nodes of shape node n are
   * `byteNodes[byteOffset[n] .. byteOffset[n + 1]]`, ascending.
   */
  readonly byteOffset: Int32Array;
  readonly byteNodes: Int32Array;
  /**
   * `[nodeCount + 1]`: the tokens ending at shape node n are
   * `tokenIds[tokenOffset[n] .. tokenOffset[n + 1]]`.
   */
  readonly tokenOffset: Int32Array;
  readonly tokenIds: Int32Array;
}

const _shapeTries = new WeakMap<TokenTrie, ShapeTrie>();

/** The shape trie of a token trie (built on first use, then cached). */
export function shapeTrieOf(trie: TokenTrie): ShapeTrie {
  let shapes = _shapeTries.get(trie);
  if (shapes === undefined) {
    shapes = buildShapeTrie(trie);
    _shapeTries.set(trie, shapes);
  }
  return shapes;
}

/** The byte → shape table: a shape starts at each listed byte. */
function _shapeOfByte(): { shapeOfByte: Uint8Array; shapeCount: number } {
  // Control groups around the JSON whitespace bytes \t \n \r, then space.
  const starts = [0x00, 0x09, 0x0a, 0x0b, 0x0d, 0x0e, 0x20, 0x21];
  for (let b = 0x21; b < 0x7f; b++) {
    const letter = (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);
    if (!letter) starts.push(b, b + 1);
  }
  starts.push(0x41, 0x61, 0x7f);
  // UTF-8: continuation 80-8F 90-9F A0-BF, invalid C0-C1, leads C2-DF E0 E1-EC ED EE-EF F0
  // F1-F3 F4, invalid F5-FF (the splits utf8Sequences makes).
  starts.push(0x80, 0x90, 0xa0, 0xc0, 0xc2, 0xe0, 0xe1, 0xed, 0xee, 0xf0, 0xf1, 0xf4, 0xf5);
  const isStart = new Uint8Array(257);
  for (const b of starts) isStart[b] = 1;
  const { classOf, count } = byteClassTable(isStart);
  return { shapeOfByte: classOf, shapeCount: count };
}

/** Builds the shape trie of `trie`. */
export function buildShapeTrie(trie: TokenTrie): ShapeTrie {
  const { shapeOfByte, shapeCount } = _shapeOfByte();
  // Pass 1: intern (parent shape node, shape) in token-trie preorder (ids in creation order).
  const index = new Map<number, number>();
  const parentOf: number[] = [-1];
  const shapeOf: number[] = [0];
  const depthOf: number[] = [0];
  const byteToShape = new Int32Array(trie.nodeCount);
  const path = new Int32Array(trie.maxDepth + 1);
  for (let n = 1; n < trie.nodeCount; n++) {
    const depth = trie.nodeDepth[n];
    const parent = path[depth - 1];
    const shape = shapeOfByte[trie.nodeByte[n]];
    const key = parent * shapeCount + shape;
    let id = index.get(key);
    if (id === undefined) {
      id = parentOf.length;
      index.set(key, id);
      parentOf.push(parent);
      shapeOf.push(shape);
      depthOf.push(depth);
    }
    path[depth] = id;
    byteToShape[n] = id;
  }
  const nodeCount = parentOf.length;
  // Children lists (CSR by parent, each list by shape), then preorder ids.
  const childOffset = new Int32Array(nodeCount + 1);
  for (let id = 1; id < nodeCount; id++) childOffset[parentOf[id] + 1]++;
  for (let id = 0; id < nodeCount; id++) childOffset[id + 1] += childOffset[id];
  const children = new Int32Array(Math.max(nodeCount - 1, 0));
  const fill = childOffset.slice(0, nodeCount);
  for (let id = 1; id < nodeCount; id++) children[fill[parentOf[id]]++] = id;
  for (let id = 0; id < nodeCount; id++) {
    children.subarray(childOffset[id], childOffset[id + 1]).sort((a, b) => shapeOf[a] - shapeOf[b]);
  }
  const order = new Int32Array(nodeCount); // old id → preorder id
  const nodeShape = new Uint8Array(nodeCount);
  const nodeDepth = new Uint16Array(nodeCount);
  const nodeEnd = new Int32Array(nodeCount);
  const stack: number[] = [0];
  const open: number[] = [];
  let next = 0;
  while (stack.length > 0) {
    const id = stack.pop()!;
    const pre = next++;
    order[id] = pre;
    nodeShape[pre] = shapeOf[id];
    nodeDepth[pre] = depthOf[id];
    while (open.length > 0 && nodeDepth[open[open.length - 1]] >= nodeDepth[pre]) {
      nodeEnd[open.pop()!] = pre;
    }
    open.push(pre);
    for (let k = childOffset[id + 1] - 1; k >= childOffset[id]; k--) stack.push(children[k]);
  }
  for (const pre of open) nodeEnd[pre] = nodeCount;
  // Token-trie nodes and tokens of each shape node.
  const byteOffset = new Int32Array(nodeCount + 1);
  const tokenOffset = new Int32Array(nodeCount + 1);
  for (let n = 1; n < trie.nodeCount; n++) {
    const pre = order[byteToShape[n]];
    byteOffset[pre + 1]++;
    tokenOffset[pre + 1] += trie.tokenOffset[n + 1] - trie.tokenOffset[n];
  }
  for (let pre = 0; pre < nodeCount; pre++) {
    byteOffset[pre + 1] += byteOffset[pre];
    tokenOffset[pre + 1] += tokenOffset[pre];
  }
  const byteNodes = new Int32Array(byteOffset[nodeCount]);
  const tokenIds = new Int32Array(tokenOffset[nodeCount]);
  const byteFill = byteOffset.slice(0, nodeCount);
  const tokenFill = tokenOffset.slice(0, nodeCount);
  for (let n = 1; n < trie.nodeCount; n++) {
    const pre = order[byteToShape[n]];
    byteNodes[byteFill[pre]++] = n;
    for (let k = trie.tokenOffset[n]; k < trie.tokenOffset[n + 1]; k++) {
      tokenIds[tokenFill[pre]++] = trie.tokenIds[k];
    }
  }
  return {
    shapeOfByte,
    shapeCount,
    nodeCount,
    nodeShape,
    nodeDepth,
    nodeEnd,
    byteOffset,
    byteNodes,
    tokenOffset,
    tokenIds,
  };
}
