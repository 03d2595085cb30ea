/**
 * Storage of open orders as columns of typed arrays indexed by a slot number.
 *
 * Why: a book with a million resting orders held as a million JS objects spends a
 * quarter of the engine's time in the garbage collector copying them out of the young
 * generation, and the objects cost twice the memory. Slots in typed arrays are never
 * scanned by the collector, are reused through a free list, and keep an order's fields
 * in a few cache lines. Slot -1 ({@link NIL}) means "no order".
 *
 * Columns are replaced when the store grows: never keep a column reference across a call
 * to {@link OrderStore.alloc}.
 */

import { assert } from "./assert.ts";
import type { Side, StpMode } from "./types.ts";
import { STP_MODES } from "./types.ts";

export const NIL = -1;

const FLAG_SELL = 1;
const FLAG_POST_ONLY = 2;
const FLAG_IN_USE = 4;
const STP_SHIFT = 3; // two bits

export class OrderStore {
  capacity: number;
  /** Order id. */
  id: Float64Array;
  userId: Float64Array;
  priceTicks: Float64Array;
  /** Original quantity (an amend changes it). */
  qtyUnits: Float64Array;
  remainingUnits: Float64Array;
  filledUnits: Float64Array;
  quoteFilledUnits: Float64Array;
  /**
   * Units the ledger still holds for the order. Written only by the engine's risk and
   * settlement steps; the book never reads it.
   */
  holdUnits: Float64Array;
  /** Engine sequence of the command that placed it in the book (time priority). */
  seq: Float64Array;
  symbolId: Int32Array;
  prev: Int32Array;
  next: Int32Array;
  flags: Uint8Array;
  cid: (string | null)[];
  private freeHead = NIL;
  private used = 0;
  private highWater = 0;

  constructor(initialCapacity = 1024) {
    this.capacity = Math.max(16, initialCapacity);
    const n = this.capacity;
    this.id = new Float64Array(n);
    this.userId = new Float64Array(n);
    this.priceTicks = new Float64Array(n);
    this.qtyUnits = new Float64Array(n);
    this.remainingUnits = new Float64Array(n);
    this.filledUnits = new Float64Array(n);
    this.quoteFilledUnits = new Float64Array(n);
    this.holdUnits = new Float64Array(n);
    this.seq = new Float64Array(n);
    this.symbolId = new Int32Array(n);
    this.prev = new Int32Array(n);
    this.next = new Int32Array(n);
    this.flags = new Uint8Array(n);
    this.cid = new Array<string | null>(n).fill(null);
  }

  /** Number of slots in use. */
  get size(): number {
    return this.used;
  }

  /** Takes a free slot and fills in an order's fields; returns the slot. */
  alloc(
    id: number,
    userId: number,
    symbolId: number,
    side: Side,
    priceTicks: number,
    qtyUnits: number,
    remainingUnits: number,
    stp: StpMode,
    cid: string | null,
    postOnly: boolean,
    seq: number,
  ): number {
    let slot = this.freeHead;
    if (slot !== NIL) {
      this.freeHead = this.next[slot];
    } else {
      if (this.highWater === this.capacity) this.grow();
      slot = this.highWater++;
    }
    this.id[slot] = id;
    this.userId[slot] = userId;
    this.symbolId[slot] = symbolId;
    this.priceTicks[slot] = priceTicks;
    this.qtyUnits[slot] = qtyUnits;
    this.remainingUnits[slot] = remainingUnits;
    this.filledUnits[slot] = 0;
    this.quoteFilledUnits[slot] = 0;
    this.holdUnits[slot] = 0;
    this.seq[slot] = seq;
    this.prev[slot] = NIL;
    this.next[slot] = NIL;
    this.flags[slot] = FLAG_IN_USE | (side === "SELL" ? FLAG_SELL : 0) |
      (postOnly ? FLAG_POST_ONLY : 0) |
      (stpCode(stp) << STP_SHIFT);
    this.cid[slot] = cid;
    this.used++;
    return slot;
  }

  /** Returns `slot` to the free list. */
  free(slot: number): void {
    assert(this.inUse(slot), `slot ${slot} freed twice`);
    this.flags[slot] = 0;
    this.cid[slot] = null;
    this.next[slot] = this.freeHead;
    this.freeHead = slot;
    this.used--;
  }

  inUse(slot: number): boolean {
    return slot >= 0 && slot < this.highWater && (this.flags[slot] & FLAG_IN_USE) !== 0;
  }

  isSell(slot: number): boolean {
    return (this.flags[slot] & FLAG_SELL) !== 0;
  }

  side(slot: number): Side {
    return (this.flags[slot] & FLAG_SELL) !== 0 ? "SELL" : "BUY";
  }

  postOnly(slot: number): boolean {
    return (this.flags[slot] & FLAG_POST_ONLY) !== 0;
  }

  stp(slot: number): StpMode {
    return STP_MODES[(this.flags[slot] >> STP_SHIFT) & 3];
  }

  private grow(): void {
    const n = this.capacity * 2;
    this.id = growF64(this.id, n);
    this.userId = growF64(this.userId, n);
    this.priceTicks = growF64(this.priceTicks, n);
    this.qtyUnits = growF64(this.qtyUnits, n);
    this.remainingUnits = growF64(this.remainingUnits, n);
    this.filledUnits = growF64(this.filledUnits, n);
    this.quoteFilledUnits = growF64(this.quoteFilledUnits, n);
    this.holdUnits = growF64(this.holdUnits, n);
    this.seq = growF64(this.seq, n);
    this.symbolId = growI32(this.symbolId, n);
    this.prev = growI32(this.prev, n);
    this.next = growI32(this.next, n);
    const flags = new Uint8Array(n);
    flags.set(this.flags);
    this.flags = flags;
    for (let i = this.capacity; i < n; i++) this.cid.push(null);
    this.capacity = n;
  }
}

function stpCode(stp: StpMode): number {
  switch (stp) {
    case "NONE":
      return 0;
    case "EXPIRE_TAKER":
      return 1;
    case "EXPIRE_MAKER":
      return 2;
    case "EXPIRE_BOTH":
      return 3;
  }
}

function growF64(a: Float64Array, n: number): Float64Array {
  const b = new Float64Array(n);
  b.set(a);
  return b;
}

function growI32(a: Int32Array, n: number): Int32Array {
  const b = new Int32Array(n);
  b.set(a);
  return b;
}
