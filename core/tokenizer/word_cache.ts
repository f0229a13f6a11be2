/**
 * A cache from words to token ids keyed by the UTF-16 code units of a range of a larger text,
 * so the tokenizer's hot loop never builds a string per word: V8 would allocate it and hash
 * it afresh each time (measured ~0.4 µs a word on War and Peace, more than the lookup).
 *
 * Layout: open addressing with linear probing over `slots` (entry index + 1, 0 = empty, at
 * most half full); entry `i` owns `keyUnits[keyStart[i] .. keyStart[i] + keyLength[i])` and
 * `ids[idStart[i] .. idStart[i] + idCount[i])`.
 *
 * @module
 */

/** Word → ids cache over text ranges. */
export class WordCache {
  readonly #maxEntries: number;
  #slots = new Int32Array(1024);
  #hashes = new Int32Array(256);
  #keyStart = new Int32Array(256);
  #keyLength = new Int32Array(256);
  #idStart = new Int32Array(256);
  #idCount = new Int32Array(256);
  #keyUnits = new Uint16Array(4096);
  #ids = new Int32Array(4096);
  #entryCount = 0;
  #keyUnitCount = 0;
  #idTotal = 0;

  /** @param maxEntries entries kept before the cache empties itself (at least 1) */
  constructor(maxEntries: number) {
    if (!(maxEntries >= 1)) {
      throw new RangeError(`Cannot size a word cache to ${maxEntries} entries`);
    }
    this.#maxEntries = maxEntries;
  }

  /** Number of cached words. */
  get size(): number {
    return this.#entryCount;
  }

  /**
   * Appends the cached ids of `text[start, end)` to `out`.
   * @returns false (and appends nothing) when the word is not cached
   */
  appendIds(text: string, start: number, end: number, out: number[]): boolean {
    const entry = this.#find(text, start, end, wordHash(text, start, end));
    if (entry < 0) return false;
    const first = this.#idStart[entry];
    const last = first + this.#idCount[entry];
    for (let i = first; i < last; i++) out.push(this.#ids[i]);
    return true;
  }

  /** Caches the ids of `text[start, end)` (not already cached). */
  add(text: string, start: number, end: number, ids: readonly number[]): void {
    if (this.#entryCount >= this.#maxEntries) this.clear();
    if ((this.#entryCount + 1) * 2 > this.#slots.length) this.#growSlots();
    const entry = this.#entryCount++;
    this.#ensureEntryCapacity(entry + 1);
    const hash = wordHash(text, start, end);
    this.#hashes[entry] = hash;
    this.#keyStart[entry] = this.#storeKey(text, start, end);
    this.#keyLength[entry] = end - start;
    this.#idStart[entry] = this.#storeIds(ids);
    this.#idCount[entry] = ids.length;
    this.#insertSlot(entry, hash);
  }

  /** Forgets every word. */
  clear(): void {
    this.#slots.fill(0);
    this.#entryCount = 0;
    this.#keyUnitCount = 0;
    this.#idTotal = 0;
  }

  #find(text: string, start: number, end: number, hash: number): number {
    const mask = this.#slots.length - 1;
    for (let slot = hash & mask;; slot = (slot + 1) & mask) {
      const entry = this.#slots[slot] - 1;
      if (entry < 0) return -1;
      if (this.#hashes[entry] === hash && this.#sameKey(entry, text, start, end)) return entry;
    }
  }

  #sameKey(entry: number, text: string, start: number, end: number): boolean {
    if (this.#keyLength[entry] !== end - start) return false;
    const units = this.#keyUnits;
    const offset = this.#keyStart[entry] - start;
    for (let i = start; i < end; i++) if (units[offset + i] !== text.charCodeAt(i)) return false;
    return true;
  }

  #insertSlot(entry: number, hash: number): void {
    const mask = this.#slots.length - 1;
    let slot = hash & mask;
    while (this.#slots[slot] !== 0) slot = (slot + 1) & mask;
    this.#slots[slot] = entry + 1;
  }

  #growSlots(): void {
    this.#slots = new Int32Array(this.#slots.length * 2);
    for (let entry = 0; entry < this.#entryCount; entry++) {
      this.#insertSlot(entry, this.#hashes[entry]);
    }
  }

  #ensureEntryCapacity(count: number): void {
    if (count <= this.#hashes.length) return;
    const grow = (array: Int32Array) => {
      const bigger = new Int32Array(array.length * 2);
      bigger.set(array);
      return bigger;
    };
    this.#hashes = grow(this.#hashes);
    this.#keyStart = grow(this.#keyStart);
    this.#keyLength = grow(this.#keyLength);
    this.#idStart = grow(this.#idStart);
    this.#idCount = grow(this.#idCount);
  }

  #storeKey(text: string, start: number, end: number): number {
    const offset = this.#keyUnitCount;
    const needed = offset + end - start;
    if (needed > this.#keyUnits.length) {
      const bigger = new Uint16Array(Math.max(needed, this.#keyUnits.length * 2));
      bigger.set(this.#keyUnits.subarray(0, offset));
      this.#keyUnits = bigger;
    }
    for (let i = start; i < end; i++) this.#keyUnits[offset + i - start] = text.charCodeAt(i);
    this.#keyUnitCount = needed;
    return offset;
  }

  #storeIds(ids: readonly number[]): number {
    const offset = this.#idTotal;
    const needed = offset + ids.length;
    if (needed > this.#ids.length) {
      const bigger = new Int32Array(Math.max(needed, this.#ids.length * 2));
      bigger.set(this.#ids.subarray(0, offset));
      this.#ids = bigger;
    }
    for (let i = 0; i < ids.length; i++) this.#ids[offset + i] = ids[i];
    this.#idTotal = needed;
    return offset;
  }
}

/** FNV-1a over the UTF-16 code units of `text[start, end)`, as a 32-bit integer. */
export function wordHash(text: string, start: number, end: number): number {
  let hash = 0x811c9dc5 | 0;
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash;
}
