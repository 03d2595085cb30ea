/**
 * The order book of one symbol: price levels sorted per side, FIFO within a level, O(1)
 * removal of any order by reference (doubly linked list), best level in O(1), and a
 * per-symbol monotonic update id for book deltas. The book knows nothing of balances.
 */

import { assert } from "./assert.ts";
import type { Side, StpMode } from "./types.ts";

/** An order resting in (or about to enter) a book. Mutable; owned by the engine. */
export class BookOrder {
  prev: BookOrder | null = null;
  next: BookOrder | null = null;
  level: Level | null = null;
  /**
   * Units the ledger still holds for this order. Owned by the engine's risk and
   * settlement steps; the book never reads it.
   */
  holdUnits = 0;

  constructor(
    readonly id: number,
    readonly userId: number,
    readonly symbolId: number,
    readonly side: Side,
    public priceTicks: number,
    /** Original quantity (an amend that reduces it changes this). */
    public qtyUnits: number,
    public remainingUnits: number,
    public filledUnits: number,
    /** Sum of quote amounts of this order's fills. */
    public quoteFilledUnits: number,
    readonly stp: StpMode,
    readonly cid: string | null,
    readonly postOnly: boolean,
    /** Engine sequence of the command that last placed it in the book (time priority). */
    public seq: number,
  ) {}
}

/** One price level: a FIFO queue of orders at the same price. */
export class Level {
  head: BookOrder | null = null;
  tail: BookOrder | null = null;
  totalUnits = 0;
  count = 0;
  constructor(readonly priceTicks: number) {}
}

/** One side of a book. `levels` is sorted so that the best level is last. */
export class BookSide {
  readonly levels: Level[] = [];
  readonly byPrice = new Map<number, Level>();
  constructor(readonly side: Side) {}

  /** The best level, or undefined if the side is empty. */
  best(): Level | undefined {
    return this.levels[this.levels.length - 1];
  }

  /** True if `a` is a better price than `b` on this side. */
  better(a: number, b: number): boolean {
    return this.side === "BUY" ? a > b : a < b;
  }

  /** Index of the first level whose price is not worse-than-or-equal ... see body. */
  private insertIndex(priceTicks: number): number {
    // levels ascend in "goodness": worst first, best last.
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

  /** Appends `order` at the tail of its price level, creating the level if needed. */
  add(order: BookOrder): Level {
    let level = this.byPrice.get(order.priceTicks);
    if (level === undefined) {
      level = new Level(order.priceTicks);
      this.byPrice.set(order.priceTicks, level);
      const n = this.levels.length;
      // Most new levels are at or near the top of the book: check the end first.
      if (n === 0 || this.better(order.priceTicks, this.levels[n - 1].priceTicks)) {
        this.levels.push(level);
      } else {
        this.levels.splice(this.insertIndex(order.priceTicks), 0, level);
      }
    }
    order.level = level;
    order.prev = level.tail;
    order.next = null;
    if (level.tail !== null) level.tail.next = order;
    else level.head = order;
    level.tail = order;
    level.totalUnits += order.remainingUnits;
    level.count++;
    return level;
  }

  /**
   * Unlinks `order` from its level in O(1). The level stays in place even if it becomes
   * empty; call {@link dropIfEmpty} once done with it.
   */
  unlink(order: BookOrder): Level {
    const level = order.level;
    assert(level !== null, `order ${order.id} is not in the book`);
    if (order.prev !== null) order.prev.next = order.next;
    else level.head = order.next;
    if (order.next !== null) order.next.prev = order.prev;
    else level.tail = order.prev;
    level.totalUnits -= order.remainingUnits;
    level.count--;
    order.prev = null;
    order.next = null;
    order.level = null;
    return level;
  }

  /** Removes `level` from the side if it holds no orders. */
  dropIfEmpty(level: Level): void {
    if (level.count !== 0) return;
    assert(
      level.totalUnits === 0,
      `empty level ${level.priceTicks} has quantity ${level.totalUnits}`,
    );
    this.byPrice.delete(level.priceTicks);
    const n = this.levels.length;
    if (this.levels[n - 1] === level) {
      this.levels.pop();
    } else {
      const i = this.insertIndex(level.priceTicks);
      assert(this.levels[i] === level, `level ${level.priceTicks} not found in side ${this.side}`);
      this.levels.splice(i, 1);
    }
  }

  /** Number of orders on this side. */
  orderCount(): number {
    let n = 0;
    for (const l of this.levels) n += l.count;
    return n;
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
  readonly bids = new BookSide("BUY");
  readonly asks = new BookSide("SELL");
  /** Monotonic per-symbol id of the last book change. */
  updateId = 0;
  constructor(readonly symbolId: number) {}

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

  /** Resting orders of one side, best level first, FIFO within a level. */
  *ordersOf(side: Side): Generator<BookOrder> {
    const levels = this.sideOf(side).levels;
    for (let i = levels.length - 1; i >= 0; i--) {
      for (let o = levels[i].head; o !== null; o = o.next) yield o;
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
