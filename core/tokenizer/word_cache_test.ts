import assert from "node:assert/strict";
import { WordCache, wordHash } from "./word_cache.ts";

Deno.test("WordCache.appendIds() finds a word by its text range, not by position", () => {
  const cache = new WordCache(16);
  cache.add("say hello", 3, 9, [10, 11]);
  const out: number[] = [7];
  assert.equal(cache.appendIds(" hello there", 0, 6, out), true);
  assert.deepEqual(out, [7, 10, 11]);
  assert.equal(cache.appendIds(" hellO", 0, 6, out), false);
  assert.equal(cache.appendIds(" hell", 0, 5, out), false);
  assert.deepEqual(out, [7, 10, 11]);
});

Deno.test("WordCache keeps thousands of words through its growth", () => {
  const cache = new WordCache(100_000);
  const text = Array.from({ length: 5000 }, (_, i) => `w${i}`).join(" ");
  const ranges: [number, number][] = [];
  for (let start = 0; start < text.length;) {
    const end = text.indexOf(" ", start) < 0 ? text.length : text.indexOf(" ", start);
    ranges.push([start, end]);
    start = end + 1;
  }
  ranges.forEach(([start, end], i) => cache.add(text, start, end, [i, i + 1, i + 2]));
  assert.equal(cache.size, 5000);
  ranges.forEach(([start, end], i) => {
    const out: number[] = [];
    assert.equal(cache.appendIds(text, start, end, out), true);
    assert.deepEqual(out, [i, i + 1, i + 2]);
  });
});

Deno.test("WordCache empties itself when full and after clear()", () => {
  const cache = new WordCache(2);
  cache.add("ab", 0, 1, [1]);
  cache.add("ab", 1, 2, [2]);
  cache.add("c", 0, 1, [3]);
  assert.equal(cache.size, 1);
  assert.equal(cache.appendIds("a", 0, 1, []), false);
  assert.equal(cache.appendIds("c", 0, 1, []), true);
  cache.clear();
  assert.equal(cache.size, 0);
  assert.equal(cache.appendIds("c", 0, 1, []), false);
  assert.throws(() => new WordCache(0), RangeError);
});

Deno.test("wordHash() is FNV-1a over UTF-16 code units", () => {
  assert.equal(wordHash("", 0, 0), 0x811c9dc5 | 0);
  assert.equal(wordHash("a", 0, 1), 0xe40c292c | 0);
  assert.equal(wordHash("xa", 1, 2), wordHash("a", 0, 1));
});
