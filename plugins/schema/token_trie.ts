/**
 * The vocabulary as a byte trie, in preorder arrays so a walk is a loop over indices and a
 * dead subtree is skipped with one jump. Built once per tokenizer (cached) from
 * `tokenizer.tokenBytes(id)`; control, unknown and unused tokens stay out (they never match
 * text), and end-of-generation tokens are listed apart.
 *
 * @module
 */

import { TokenType, type Tokenizer } from "../../core/tokenizer/types.ts";

/** A byte trie over a vocabulary's token bytes. Node 0 is the root (no byte). */
export interface TokenTrie {
  readonly vocabSize: number;
  readonly nodeCount: number;
  /** `[nodeCount]`: the byte on the edge into the node (0 for the root). */
  readonly nodeByte: Uint8Array;
  /** `[nodeCount]`: depth (bytes from the root). */
  readonly nodeDepth: Uint16Array;
  /** `[nodeCount]`: one past the last node of the node's subtree. */
  readonly nodeEnd: Int32Array;
  /** `[nodeCount + 1]`: tokens ending at node n are `tokenIds[tokenOffset[n] .. tokenOffset[n + 1]]`. */
  readonly tokenOffset: Int32Array;
  readonly tokenIds: Int32Array;
  /** End-of-generation token ids. */
  readonly eogIds: Int32Array;
  readonly maxDepth: number;
}

const _tries = new WeakMap<Tokenizer, TokenTrie>();
const EXCLUDED_TYPES = new Set<number>([TokenType.CONTROL, TokenType.UNKNOWN, TokenType.UNUSED]);

/** The trie of `tokenizer`'s vocabulary (built on first use, then cached). */
export function tokenTrieOf(tokenizer: Tokenizer): TokenTrie {
  let trie = _tries.get(tokenizer);
  if (trie === undefined) {
    trie = buildTokenTrie(tokenizer);
    _tries.set(tokenizer, trie);
  }
  return trie;
}

/** Builds the trie of `tokenizer`'s vocabulary. */
export function buildTokenTrie(tokenizer: Tokenizer): TokenTrie {
  const entries: { bytes: Uint8Array; id: number }[] = [];
  const eog: number[] = [];
  const types = tokenizer.vocab.types;
  for (let id = 0; id < tokenizer.vocabSize; id++) {
    if (tokenizer.isEog(id)) {
      eog.push(id);
      continue;
    }
    if (EXCLUDED_TYPES.has(types[id])) continue;
    const bytes = tokenizer.tokenBytes(id);
    if (bytes.length > 0) entries.push({ bytes, id });
  }
  entries.sort((a, b) => _compareBytes(a.bytes, b.bytes) || a.id - b.id);
  return _fromSorted(entries, tokenizer.vocabSize, Int32Array.from(eog));
}

function _compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

function _fromSorted(
  entries: { bytes: Uint8Array; id: number }[],
  vocabSize: number,
  eogIds: Int32Array,
): TokenTrie {
  const nodeByte: number[] = [0];
  const nodeDepth: number[] = [0];
  const nodeTokens: number[][] = [[]];
  // path[d] = node index at depth d along the current token's bytes.
  const path: number[] = [0];
  let previous: Uint8Array = new Uint8Array(0);
  let maxDepth = 0;
  for (const { bytes, id } of entries) {
    let shared = 0;
    while (shared < bytes.length && shared < previous.length && bytes[shared] === previous[shared]) shared++;
    for (let d = shared; d < bytes.length; d++) {
      path[d + 1] = nodeByte.length;
      nodeByte.push(bytes[d]);
      nodeDepth.push(d + 1);
      nodeTokens.push([]);
    }
    nodeTokens[path[bytes.length]].push(id);
    maxDepth = Math.max(maxDepth, bytes.length);
    previous = bytes;
  }
  const nodeCount = nodeByte.length;
  const nodeEnd = new Int32Array(nodeCount);
  // A node's subtree ends where the next node of equal or smaller depth starts.
  const open: number[] = [];
  for (let n = 0; n < nodeCount; n++) {
    while (open.length > 0 && nodeDepth[open[open.length - 1]] >= nodeDepth[n]) nodeEnd[open.pop()!] = n;
    open.push(n);
  }
  for (const n of open) nodeEnd[n] = nodeCount;
  const tokenOffset = new Int32Array(nodeCount + 1);
  const tokenIds: number[] = [];
  for (let n = 0; n < nodeCount; n++) {
    tokenOffset[n] = tokenIds.length;
    tokenIds.push(...nodeTokens[n]);
  }
  tokenOffset[nodeCount] = tokenIds.length;
  return {
    vocabSize,
    nodeCount,
    nodeByte: Uint8Array.from(nodeByte),
    nodeDepth: Uint16Array.from(nodeDepth),
    nodeEnd,
    tokenOffset,
    tokenIds: Int32Array.from(tokenIds),
    eogIds,
    maxDepth,
  };
}
