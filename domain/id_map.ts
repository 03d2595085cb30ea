/**
 * A hash index from non-negative safe-integer ids to non-negative int32 values (order
 * slots), built for the engine's hot path: open addressing with linear probing over
 * typed arrays, Fibonacci hashing of the id's two 32-bit halves, backward-shift deletion
 * (no tombstones), doubling at 50 % load. Nothing in it is a JS object, so the garbage
 * collector never scans it, and lookups of mostly sequential order ids hit the first
 * probe.
 */

const EMPTY = -1;

export class IdMap {
  private keys: Float64Array;
  private vals: Int32Array;
  private mask: number;
  private shift: number;
  private count = 0;

  constructor(initialCapacity = 1024) {
    let cap = 16;
    while (cap < initialCapacity * 2) cap *= 2;
    this.keys = new Float64Array(cap).fill(EMPTY);
    this.vals = new Int32Array(cap);
    this.mask = cap - 1;
    this.shift = 32 - Math.log2(cap);
  }

  get size(): number {
    return this.count;
  }

  private slot(id: number): number {
    const lo = id >>> 0;
    const hi = (id / 4294967296) >>> 0;
    return Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1) >>> this.shift;
  }

  /** The value for `id`, or -1 if absent. */
  get(id: number): number {
    const keys = this.keys;
    let i = this.slot(id);
    for (;;) {
      const k = keys[i];
      if (k === id) return this.vals[i];
      if (k === EMPTY) return -1;
      i = (i + 1) & this.mask;
    }
  }

  has(id: number): boolean {
    return this.get(id) !== -1;
  }

  /** Sets `id` (a non-negative safe integer) to `value` (a non-negative int32). */
  set(id: number, value: number): void {
    const keys = this.keys;
    let i = this.slot(id);
    for (;;) {
      const k = keys[i];
      if (k === id) {
        this.vals[i] = value;
        return;
      }
      if (k === EMPTY) break;
      i = (i + 1) & this.mask;
    }
    keys[i] = id;
    this.vals[i] = value;
    if (++this.count * 2 > keys.length) this.grow();
  }

  /** Removes `id`; returns true if it was present. */
  delete(id: number): boolean {
    const keys = this.keys;
    const vals = this.vals;
    const mask = this.mask;
    let i = this.slot(id);
    for (;;) {
      const k = keys[i];
      if (k === EMPTY) return false;
      if (k === id) break;
      i = (i + 1) & mask;
    }
    // Backward shift: move later entries of the probe run into the hole when allowed.
    let hole = i;
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const k = keys[j];
      if (k === EMPTY) break;
      const home = this.slot(k);
      // The entry at j may move to the hole unless its home lies cyclically in (hole, j].
      const stays = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (!stays) {
        keys[hole] = k;
        vals[hole] = vals[j];
        hole = j;
      }
    }
    keys[hole] = EMPTY;
    this.count--;
    return true;
  }

  /** Every [id, value] pair, in table order. */
  *entries(): Generator<[number, number]> {
    for (let i = 0; i < this.keys.length; i++) {
      if (this.keys[i] !== EMPTY) yield [this.keys[i], this.vals[i]];
    }
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldVals = this.vals;
    const cap = oldKeys.length * 2;
    this.keys = new Float64Array(cap).fill(EMPTY);
    this.vals = new Int32Array(cap);
    this.mask = cap - 1;
    this.shift--;
    this.count = 0;
    for (let i = 0; i < oldKeys.length; i++) {
      if (oldKeys[i] !== EMPTY) this.set(oldKeys[i], oldVals[i]);
    }
  }
}
