/**
 * The account shard's record of each order it holds funds for, from acceptance until
 * the order ends: fixed-size records in a {@link RecordArena}, indexed by the slot the
 * matcher carries as `riskRef`.
 */

import { fail } from "./assert.ts";
import { RecordArena } from "./record_arena.ts";

export const NO_HOLD = -1;

const ORDER_ID = 0;
const USER = 1;
const SYMBOL = 2;
const FLAGS = 3;
const HOLD = 4;
/** Limit price in ticks (0 for market orders): a taker buy's price improvement is measured against it. */
const LIMIT = 5;
/** Quantity the shard believes is still open (exact once settlement has caught up). */
const REMAINING = 6;
/** Original quantity, as amended. */
const QTY = 7;
/** Extra units frozen for an amend the matcher has not answered yet. */
const PENDING = 8;
const W = 9;

const FLAG_IN_USE = 1;
const FLAG_SELL = 2;
/** Counted in the user's open orders (LIMIT GTC). */
const FLAG_COUNTED = 4;
/** At least one fill settled. */
const FLAG_FILLED = 8;
/** An amend is on its way to the matcher. */
const FLAG_AMENDING = 16;
/** The order rests in a book, so it is in the shard's order index (amendable). */
const FLAG_RESTING = 32;

export class HoldStore extends RecordArena {
  constructor(initialCapacity = 1024) {
    super(W, "hold", initialCapacity);
  }

  alloc(
    orderId: number,
    userId: number,
    symbolId: number,
    isSell: boolean,
    counted: boolean,
    holdUnits: number,
    limitTicks: number,
    qtyUnits: number,
    cid: string | null,
  ): number {
    const slot = this.takeSlot();
    const d = this.d;
    const b = slot * W;
    d[b + ORDER_ID] = orderId;
    d[b + USER] = userId;
    d[b + SYMBOL] = symbolId;
    d[b + FLAGS] = FLAG_IN_USE | (isSell ? FLAG_SELL : 0) | (counted ? FLAG_COUNTED : 0);
    d[b + HOLD] = holdUnits;
    d[b + LIMIT] = limitTicks;
    d[b + REMAINING] = qtyUnits;
    d[b + QTY] = qtyUnits;
    d[b + PENDING] = 0;
    if (cid !== null) this.cid[slot] = cid; // free() left null there
    return slot;
  }

  free(slot: number): void {
    if (!this.inUse(slot)) fail(`hold slot ${slot} freed twice`);
    this.d[slot * W + FLAGS] = 0;
    this.releaseSlot(slot);
  }

  inUse(slot: number): boolean {
    return slot >= 0 && slot < this.highWater && (this.d[slot * W + FLAGS] & FLAG_IN_USE) !== 0;
  }

  orderIdOf(slot: number): number {
    return this.d[slot * W + ORDER_ID];
  }
  userOf(slot: number): number {
    return this.d[slot * W + USER];
  }
  symbolOf(slot: number): number {
    return this.d[slot * W + SYMBOL];
  }
  isSell(slot: number): boolean {
    return (this.d[slot * W + FLAGS] & FLAG_SELL) !== 0;
  }
  counted(slot: number): boolean {
    return (this.d[slot * W + FLAGS] & FLAG_COUNTED) !== 0;
  }
  filledAny(slot: number): boolean {
    return (this.d[slot * W + FLAGS] & FLAG_FILLED) !== 0;
  }
  markFilled(slot: number): void {
    this.d[slot * W + FLAGS] |= FLAG_FILLED;
  }
  resting(slot: number): boolean {
    return (this.d[slot * W + FLAGS] & FLAG_RESTING) !== 0;
  }
  markResting(slot: number): void {
    this.d[slot * W + FLAGS] |= FLAG_RESTING;
  }
  amending(slot: number): boolean {
    return (this.d[slot * W + FLAGS] & FLAG_AMENDING) !== 0;
  }
  setAmending(slot: number, on: boolean): void {
    const b = slot * W + FLAGS;
    this.d[b] = on ? this.d[b] | FLAG_AMENDING : this.d[b] & ~FLAG_AMENDING;
  }
  /** Units frozen for the order (pending amend extras excluded). */
  holdOf(slot: number): number {
    return this.d[slot * W + HOLD];
  }
  setHold(slot: number, v: number): void {
    this.d[slot * W + HOLD] = v;
  }
  pendingOf(slot: number): number {
    return this.d[slot * W + PENDING];
  }
  setPending(slot: number, v: number): void {
    this.d[slot * W + PENDING] = v;
  }
  limitOf(slot: number): number {
    return this.d[slot * W + LIMIT];
  }
  setLimit(slot: number, v: number): void {
    this.d[slot * W + LIMIT] = v;
  }
  remainingOf(slot: number): number {
    return this.d[slot * W + REMAINING];
  }
  setRemaining(slot: number, v: number): void {
    this.d[slot * W + REMAINING] = v;
  }
  qtyOf(slot: number): number {
    return this.d[slot * W + QTY];
  }
  setQty(slot: number, v: number): void {
    this.d[slot * W + QTY] = v;
  }

  /** Slots in use, in slot order. */
  *slots(): Generator<number> {
    for (let s = 0; s < this.highWater; s++) if (this.inUse(s)) yield s;
  }
}
