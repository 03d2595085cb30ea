/**
 * The order book of one symbol: price levels sorted per side, FIFO within a level, O(1)
 * removal of any order (a doubly linked list through the {@link OrderStore} slots), the
 * best level in O(1), and a per-symbol monotonic update id for book deltas. The book
 * knows nothing of balances.
 */

import { fail } from "./assert.ts";
import { NIL, type OrderStore } from "./order_store.ts";
import type { Side } from "./types.ts";

/** One price level: a FIFO queue of order slots at the same price. */
export class Level {
  head = NIL;
  tail = NIL;
  totalUnits = 0;
  count = 0;
  constructor(readonly priceTicks: number) {}
}

/** One side of a book. `levels` is sorted so that the best level is last. */
export class BookSide {
  readonly levels: Level[] = [];
  readonly byPrice = new Map<number, Level>();
  constructor(readonly side: Side, private readonly store: OrderStore) {}

  /** The best level, or undefined if the side is empty. */
  best(): Level | undefined {
    return this.levels[this.levels.length - 1];
  }

  /** True if `a` is a better price than `b` on this side. */
  better(a: number, b: number): boolean {
    return this.side === "BUY" ? a > b : a < b;
  }

  /** Position of `priceTicks` in `levels` (worst first, best last) by binary search. */
  private indexOf(priceTicks: number): number {
    let lo = 0;
    let hi = this.levels.length;
    const bid = this.side === "BUY";
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const p = this.levels[mid].priceTicks;
      if (bid ? p < priceTicks : p > priceTicks) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Appends order `slot` at the tail of its price level, creating the level if needed. */
  add(slot: number): Level {
    const s = this.store;
    const price = s.priceOf(slot);
    let level = this.byPrice.get(price);
    if (level === undefined) {
      level = new Level(price);
      this.byPrice.set(price, level);
      const n = this.levels.length;
      // Most new levels are at or near the top of the book: check the end first.
      if (n === 0 || this.better(price, this.levels[n - 1].priceTicks)) this.levels.push(level);
      else this.levels.splice(this.indexOf(price), 0, level);
    }
    s.setPrev(slot, level.tail);
    s.setNext(slot, NIL);
    if (level.tail !== NIL) s.setNext(level.tail, slot);
    else level.head = slot;
    level.tail = slot;
    level.totalUnits += s.remainingOf(slot);
    level.count++;
    return level;
  }

  /** The level holding order `slot`. */
  levelOf(slot: number): Level {
    const level = this.byPrice.get(this.store.priceOf(slot));
    if (level === undefined) fail(`order slot ${slot} has no level on side ${this.side}`);
    return level;
  }

  /**
   * Unlinks order `slot` from `level` in O(1), subtracting its remaining quantity from
   * the level. The level stays even if empty; call {@link dropIfEmpty} when done with it.
   */
  unlink(slot: number, level: Level): void {
    const s = this.store;
    const prev = s.prevOf(slot);
    const next = s.nextOf(slot);
    if (prev !== NIL) s.setNext(prev, next);
    else level.head = next;
    if (next !== NIL) s.setPrev(next, prev);
    else level.tail = prev;
    level.totalUnits -= s.remainingOf(slot);
    level.count--;
    s.setPrev(slot, NIL);
    s.setNext(slot, NIL);
  }

  /** Removes `level` from the side if it holds no orders. */
  dropIfEmpty(level: Level): void {
    if (level.count !== 0) return;
    if (level.totalUnits !== 0) {
      fail(`empty level ${level.priceTicks} has quantity ${level.totalUnits}`);
    }
    this.byPrice.delete(level.priceTicks);
    const n = this.levels.length;
    if (this.levels[n - 1] === level) {
      this.levels.pop();
    } else {
      const i = this.indexOf(level.priceTicks);
      if (this.levels[i] !== level) {
        fail(`level ${level.priceTicks} not found on side ${this.side}`);
      }
      this.levels.splice(i, 1);
    }
  }
}

/** Aggregated depth: [priceTicks, qtyUnits] per level, best first. */
export interface DepthSnapshot {
  updateId: number;
  bids: [number, number][];
  asks: [number, number][];
}

/** The book of one symbol. */
export class OrderBook {
  readonly bids: BookSide;
  readonly asks: BookSide;
  /** Monotonic per-symbol id of the last book change. */
  updateId = 0;

  constructor(readonly symbolId: number, readonly store: OrderStore) {
    this.bids = new BookSide("BUY", store);
    this.asks = new BookSide("SELL", store);
  }

  sideOf(side: Side): BookSide {
    return side === "BUY" ? this.bids : this.asks;
  }

  oppositeOf(side: Side): BookSide {
    return side === "BUY" ? this.asks : this.bids;
  }

  bestBid(): number | undefined {
    return this.bids.best()?.priceTicks;
  }

  bestAsk(): number | undefined {
    return this.asks.best()?.priceTicks;
  }

  /** True if the best bid is at or above the best ask (must never hold after a command). */
  isCrossed(): boolean {
    const b = this.bids.best();
    const a = this.asks.best();
    return b !== undefined && a !== undefined && b.priceTicks >= a.priceTicks;
  }

  /** Aggregated levels, best first, at most `limit` per side. */
  depth(limit: number): DepthSnapshot {
    return { updateId: this.updateId, bids: take(this.bids, limit), asks: take(this.asks, limit) };
  }

  /** Slots of one side's resting orders, best level first, FIFO within a level. */
  *ordersOf(side: Side): Generator<number> {
    const levels = this.sideOf(side).levels;
    for (let i = levels.length - 1; i >= 0; i--) {
      for (let o = levels[i].head; o !== NIL; o = this.store.nextOf(o)) yield o;
    }
  }
}

function take(side: BookSide, limit: number): [number, number][] {
  const out: [number, number][] = [];
  const levels = side.levels;
  for (let i = levels.length - 1; i >= 0 && out.length < limit; i--) {
    out.push([levels[i].priceTicks, levels[i].totalUnits]);
  }
  return out;
}
