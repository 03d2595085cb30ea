/**
 * Open orders (and the taker being matched) as fixed-size records in a
 * {@link RecordArena}, indexed by slot. Slot -1 ({@link NIL}) means "no order". All
 * fields are integers below 2^53; the links and flags live as int32 pairs in two of the
 * doubles.
 */

import { fail } from "./assert.ts";
import { RecordArena } from "./record_arena.ts";
import type { Side, StpMode, TimeInForce } from "./types.ts";
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
const RISK_REF = 7;
const SEQ = 8;
const LINKS = 9; // as two int32: prev, next
const META = 10; // as two int32: flags, symbolId
const CREATED = 11;
const W = 12;
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
const FLAG_MARKET = 32;
const TIF_SHIFT = 6; // two bits

export class OrderStore extends RecordArena {
  /** The same memory as `d`, for the integer fields. */
  private i: Int32Array;

  constructor(initialCapacity = 1024) {
    super(W, "order", initialCapacity);
    this.i = new Int32Array(this.buffer);
  }

  protected override viewsReplaced(): void {
    this.i = new Int32Array(this.buffer);
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
    riskRef: number,
    isMarket: boolean,
    tif: TimeInForce,
    createdMs: number,
  ): number {
    const slot = this.takeSlot();
    const d = this.d;
    const b = slot * W;
    d[b + ID] = id;
    d[b + USER] = userId;
    d[b + PRICE] = priceTicks;
    d[b + QTY] = qtyUnits;
    d[b + REMAINING] = remainingUnits;
    d[b + FILLED] = 0;
    d[b + QUOTE_FILLED] = 0;
    d[b + RISK_REF] = riskRef;
    d[b + SEQ] = seq;
    d[b + CREATED] = createdMs;
    const i = this.i;
    const bi = slot * WI;
    i[bi + PREV_I] = NIL;
    i[bi + NEXT_I] = NIL;
    i[bi + FLAGS_I] = FLAG_IN_USE | (side === "SELL" ? FLAG_SELL : 0) |
      (postOnly ? FLAG_POST_ONLY : 0) |
      (stpCode(stp) << STP_SHIFT) | (isMarket ? FLAG_MARKET : 0) |
      ((tif === "GTC" ? 0 : tif === "IOC" ? 1 : 2) << TIF_SHIFT);
    i[bi + SYMBOL_I] = symbolId;
    if (cid !== null) this.cid[slot] = cid; // free() left null there
    return slot;
  }

  /** Returns `slot` to the free list. */
  free(slot: number): void {
    if (!this.inUse(slot)) fail(`order slot ${slot} freed twice`);
    this.i[slot * WI + FLAGS_I] = 0;
    this.releaseSlot(slot);
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
  /** The account shard's reference for the order's hold (opaque here). */
  riskRefOf(slot: number): number {
    return this.d[slot * W + RISK_REF];
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
  isMarket(slot: number): boolean {
    return (this.flags(slot) & FLAG_MARKET) !== 0;
  }
  /** Time in force as 0 GTC, 1 IOC, 2 FOK. */
  tifCode(slot: number): number {
    return (this.flags(slot) >> TIF_SHIFT) & 3;
  }
  createdOf(slot: number): number {
    return this.d[slot * W + CREATED];
  }
  stp(slot: number): StpMode {
    return STP_MODES[this.stpCodeOf(slot)];
  }
  /** Self-trade prevention as an index into STP_MODES. */
  stpCodeOf(slot: number): number {
    return (this.flags(slot) >> STP_SHIFT) & 3;
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
