/**
 * Fixed-size records of doubles in one growable block of memory, indexed by slot, with a
 * free list: the storage under the order store and the hold store.
 *
 * Why: a million open orders as a million JS objects cost the garbage collector a
 * quarter of the engine's time and twice the memory; records in a typed array are never
 * scanned, are reused, and keep an order within two cache lines.
 *
 * The memory is a `WebAssembly.Memory` used as a plain block (no WebAssembly code runs):
 * V8 reserves its address range up front, so it grows in place, without copying, up to
 * MAX_OPEN_ORDERS records, and its buffer is an ordinary `ArrayBuffer` whose views are as
 * fast as any. Growing detaches the old buffer, so the views are replaced. The two
 * alternatives measured worse: a fresh buffer per doubling copies every record (and
 * first-touches its pages) again, about 7 % of the engine's time on the 1.3M-command
 * bench; a resizable `ArrayBuffer` grows in place too, but V8's code for views of one is
 * slower (13 % fewer commands/s).
 */

import { fail } from "./assert.ts";
import { FreeSlots } from "./free_slots.ts";
import { MAX_OPEN_ORDERS } from "./limits.ts";

/** A store's contents for a snapshot. */
export interface ArenaState {
  /** Doubles per record. */
  width: number;
  /** Records of slots 0 .. highWater-1, in use or free. */
  records: Uint8Array;
  highWater: number;
  used: number;
  /** Free slots, bottom of the stack first. */
  free: number[];
  /** Client order ids of slots 0 .. highWater-1. */
  cids: (string | null)[];
}

/** Bytes in a WebAssembly page, the unit a `WebAssembly.Memory` grows by. */
const WASM_PAGE_BYTES = 65536;

function wasmPages(bytes: number): number {
  return Math.ceil(bytes / WASM_PAGE_BYTES);
}

export class RecordArena {
  /** The records; replaced when the store grows (never keep it across a `takeSlot`). */
  protected d: Float64Array;
  protected buffer: ArrayBuffer;
  /** Client order ids by slot. */
  readonly cid: (string | null)[];
  protected capacity: number;
  private readonly memory: WebAssembly.Memory;
  protected highWater = 0;
  protected used = 0;
  private readonly freeSlots = new FreeSlots();

  constructor(
    protected readonly width: number,
    private readonly what: string,
    initialCapacity: number,
  ) {
    this.capacity = Math.min(Math.max(16, initialCapacity), MAX_OPEN_ORDERS);
    this.memory = new WebAssembly.Memory({
      initial: wasmPages(this.capacity * width * 8),
      maximum: wasmPages(MAX_OPEN_ORDERS * width * 8),
    });
    this.buffer = this.memory.buffer as ArrayBuffer; // not shared: no `shared` flag
    this.d = new Float64Array(this.buffer);
    this.cid = new Array<string | null>(this.capacity).fill(null);
  }

  /** Number of slots in use. */
  get size(): number {
    return this.used;
  }

  /** A free slot (the most recently freed first), growing the buffer if needed. */
  protected takeSlot(): number {
    let slot = this.freeSlots.pop();
    if (slot < 0) {
      if (this.highWater === this.capacity) this.grow(this.capacity * 2);
      slot = this.highWater++;
    }
    this.used++;
    return slot;
  }

  protected releaseSlot(slot: number): void {
    if (this.cid[slot] !== null) this.cid[slot] = null;
    this.freeSlots.push(slot);
    this.used--;
  }

  private grow(want: number): void {
    const n = Math.min(want, MAX_OPEN_ORDERS);
    if (n <= this.capacity) fail(`the ${this.what} store is full: ${MAX_OPEN_ORDERS} records`);
    const pages = wasmPages(n * this.width * 8) - this.buffer.byteLength / WASM_PAGE_BYTES;
    try {
      if (pages > 0) this.memory.grow(pages);
    } catch (e) {
      fail(`the ${this.what} store cannot grow to ${n} records: ${(e as Error).message}`);
    }
    this.buffer = this.memory.buffer as ArrayBuffer; // not shared: no `shared` flag
    this.d = new Float64Array(this.buffer);
    this.viewsReplaced();
    this.cid.length = n;
    this.cid.fill(null, this.capacity);
    this.capacity = n;
  }

  /** Called after the buffer was replaced: a subclass rebuilds its own views of it. */
  protected viewsReplaced(): void {}

  /** A copy of the contents, for a snapshot. */
  exportState(): ArenaState {
    return {
      width: this.width,
      records: new Uint8Array(this.buffer, 0, this.highWater * this.width * 8).slice(),
      highWater: this.highWater,
      used: this.used,
      free: this.freeSlots.toArray(),
      cids: this.cid.slice(0, this.highWater),
    };
  }

  /** Replaces the contents of this (empty) store with a snapshot's. */
  importState(st: ArenaState): void {
    if (st.width !== this.width) {
      fail(
        `snapshot of the ${this.what} store has records of ${st.width} doubles, expected ${this.width}`,
      );
    }
    if (this.highWater !== 0) fail(`importing into a ${this.what} store that is not empty`);
    if (st.highWater > this.capacity) this.grow(st.highWater);
    new Uint8Array(this.buffer).set(st.records);
    for (let i = 0; i < st.cids.length; i++) this.cid[i] = st.cids[i];
    for (const slot of st.free) this.freeSlots.push(slot);
    this.highWater = st.highWater;
    this.used = st.used;
  }
}
