/**
 * Storage of open orders as fixed-size records in one Float64Array, indexed by a slot
 * number.
 *
 * Why: a book with a million resting orders held as a million JS objects spends a
 * quarter of the engine's time in the garbage collector copying them out of the young
 * generation, and costs twice the memory. Records in a typed array are never scanned by
 * the collector, are reused through a free list, and keep all of an order's fields within
 * two cache lines (one column per field would touch a dozen lines per order). Slot -1
 * ({@link NIL}) means "no order". All fields are integers below 2^53.
 */

import { fail } from "./assert.ts";
import type { Side, StpMode } from "./types.ts";
import { STP_MODES } from "./types.ts";

export const NIL = -1;

// Record layout: W doubles per order.
const ID = 0;
const USER = 1;
const PRICE = 2;
const QTY = 3;
const REMAINING = 4;
const FILLED = 5;
const QUOTE_FILLED = 6;
const HOLD = 7;
const SEQ = 8;
const LINKS = 9; // as two int32: prev, next
const META = 10; // as two int32: flags, symbolId
const W = 12; // one spare double keeps records 96 bytes
// Int32 offsets within a record (two int32 per double).
const PREV_I = LINKS * 2;
const NEXT_I = LINKS * 2 + 1;
const FLAGS_I = META * 2;
const SYMBOL_I = META * 2 + 1;
const WI = W * 2;

const FLAG_SELL = 1;
const FLAG_POST_ONLY = 2;
const FLAG_IN_USE = 4;
const STP_SHIFT = 3; // two bits

export class OrderStore {
  private d: Float64Array;
  /** The same memory as `d`, for the integer fields. */
  private i: Int32Array;
  private capacity: number;
  /** Client order ids by slot. */
  readonly cid: (string | null)[];
  private freeHead = NIL;
  private used = 0;
  private highWater = 0;

  constructor(initialCapacity = 1024) {
    this.capacity = Math.max(16, initialCapacity);
    this.d = new Float64Array(this.capacity * W);
    this.i = new Int32Array(this.d.buffer);
    this.cid = new Array<string | null>(this.capacity).fill(null);
  }

  /** Number of slots in use. */
  get size(): number {
    return this.used;
  }

  /** Takes a free slot and fills in a new order's fields; returns the slot. */
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
      this.freeHead = this.i[slot * WI + NEXT_I];
    } else {
      if (this.highWater === this.capacity) this.grow();
      slot = this.highWater++;
    }
    const d = this.d;
    const b = slot * W;
    d[b + ID] = id;
    d[b + USER] = userId;
    d[b + PRICE] = priceTicks;
    d[b + QTY] = qtyUnits;
    d[b + REMAINING] = remainingUnits;
    d[b + FILLED] = 0;
    d[b + QUOTE_FILLED] = 0;
    d[b + HOLD] = 0;
    d[b + SEQ] = seq;
    const i = this.i;
    const bi = slot * WI;
    i[bi + PREV_I] = NIL;
    i[bi + NEXT_I] = NIL;
    i[bi + FLAGS_I] = FLAG_IN_USE | (side === "SELL" ? FLAG_SELL : 0) |
      (postOnly ? FLAG_POST_ONLY : 0) |
      (stpCode(stp) << STP_SHIFT);
    i[bi + SYMBOL_I] = symbolId;
    this.cid[slot] = cid;
    this.used++;
    return slot;
  }

  /** Returns `slot` to the free list. */
  free(slot: number): void {
    if (!this.inUse(slot)) fail(`order slot ${slot} freed twice`);
    const bi = slot * WI;
    this.i[bi + FLAGS_I] = 0;
    this.i[bi + NEXT_I] = this.freeHead;
    this.cid[slot] = null;
    this.freeHead = slot;
    this.used--;
  }

  inUse(slot: number): boolean {
    return slot >= 0 && slot < this.highWater && (this.flags(slot) & FLAG_IN_USE) !== 0;
  }

  private flags(slot: number): number {
    return this.i[slot * WI + FLAGS_I];
  }

  idOf(slot: number): number {
    return this.d[slot * W + ID];
  }
  userOf(slot: number): number {
    return this.d[slot * W + USER];
  }
  symbolOf(slot: number): number {
    return this.i[slot * WI + SYMBOL_I];
  }
  priceOf(slot: number): number {
    return this.d[slot * W + PRICE];
  }
  setPrice(slot: number, v: number): void {
    this.d[slot * W + PRICE] = v;
  }
  /** Original quantity (an amend changes it); 0 for a market buy by quote amount. */
  qtyOf(slot: number): number {
    return this.d[slot * W + QTY];
  }
  setQty(slot: number, v: number): void {
    this.d[slot * W + QTY] = v;
  }
  remainingOf(slot: number): number {
    return this.d[slot * W + REMAINING];
  }
  setRemaining(slot: number, v: number): void {
    this.d[slot * W + REMAINING] = v;
  }
  filledOf(slot: number): number {
    return this.d[slot * W + FILLED];
  }
  quoteFilledOf(slot: number): number {
    return this.d[slot * W + QUOTE_FILLED];
  }
  /** Records a fill of `qtyUnits` for `quoteUnits`: remaining down, filled up. */
  addFill(slot: number, qtyUnits: number, quoteUnits: number): void {
    const d = this.d;
    const b = slot * W;
    d[b + REMAINING] -= qtyUnits;
    d[b + FILLED] += qtyUnits;
    d[b + QUOTE_FILLED] += quoteUnits;
  }
  /**
   * Units the ledger still holds for the order. Written only by the engine's risk and
   * settlement steps; the book never reads it.
   */
  holdOf(slot: number): number {
    return this.d[slot * W + HOLD];
  }
  setHold(slot: number, v: number): void {
    this.d[slot * W + HOLD] = v;
  }
  /** Engine sequence of the command that placed the order in the book. */
  seqOf(slot: number): number {
    return this.d[slot * W + SEQ];
  }
  setSeq(slot: number, v: number): void {
    this.d[slot * W + SEQ] = v;
  }
  prevOf(slot: number): number {
    return this.i[slot * WI + PREV_I];
  }
  setPrev(slot: number, v: number): void {
    this.i[slot * WI + PREV_I] = v;
  }
  nextOf(slot: number): number {
    return this.i[slot * WI + NEXT_I];
  }
  setNext(slot: number, v: number): void {
    this.i[slot * WI + NEXT_I] = v;
  }
  isSell(slot: number): boolean {
    return (this.flags(slot) & FLAG_SELL) !== 0;
  }
  side(slot: number): Side {
    return (this.flags(slot) & FLAG_SELL) !== 0 ? "SELL" : "BUY";
  }
  postOnly(slot: number): boolean {
    return (this.flags(slot) & FLAG_POST_ONLY) !== 0;
  }
  stp(slot: number): StpMode {
    return STP_MODES[(this.flags(slot) >> STP_SHIFT) & 3];
  }

  private grow(): void {
    const n = this.capacity * 2;
    const d = new Float64Array(n * W);
    d.set(this.d);
    this.d = d;
    this.i = new Int32Array(d.buffer);
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
