/**
 * The matcher: one order book per symbol, price-time priority, fills at the maker's
 * price, IOC/FOK/post-only, market orders (a market buy within its quote budget),
 * self-trade prevention, cancel and amend. It never sees a balance: every money effect
 * goes to a {@link SettlementSink}, and the funds were held before the order arrived.
 *
 * Events (order updates, trades, book deltas, and rejections of cancels and amends it
 * alone can judge) are written to `out`, which the caller points at its own buffer.
 */

import { fail } from "./assert.ts";
import { END_REASONS, EventBuffer } from "./event_buffer.ts";
import type { CommandRejected } from "./events.ts";
import { IdIndex } from "./id_index.ts";
import { MAX_DEPTH_LEVELS, MAX_UNITS } from "./limits.ts";
import type { Market } from "./market_config.ts";
import type { MatchAmend, MatchCancel, MatchPlace, SettlementSink } from "./match_input.ts";
import { feeUnits, maxQtyForQuote, OVERFLOW, quoteUnits } from "./money.ts";
import { BookSide, type DepthSnapshot, Level, OrderBook } from "./order_book.ts";
import { NIL, OrderStore } from "./order_store.ts";
import type { RejectReason } from "./reject_codes.ts";
import type { EndReason, OrderStatus, Side } from "./types.ts";

export class Matcher {
  readonly books: (OrderBook | undefined)[] = [];
  /** Records of open orders (and of the taker being matched), by slot. */
  readonly store = new OrderStore();
  /** Slots of open orders by order id. */
  readonly orders = new IdIndex();
  /** Slots of open orders by `${userId}:${cid}`. */
  readonly cids = new Map<string, number>();
  nextTradeId = 1;
  /** Sequence of the command being matched (time priority of resting orders). */
  seq = 0;
  /** Where events go; the caller points it at its buffer. */
  out: EventBuffer = new EventBuffer(16);

  // State of the taker while one place or amend is being matched.
  private takerStpExpired = false;
  private takerBudgetSpent = false;

  constructor(readonly marketsById: readonly (Market | undefined)[]) {
    for (const m of marketsById) {
      if (m) this.books[m.spec.id] = new OrderBook(m.spec.id, this.store);
    }
  }

  // ---------------------------------------------------------------- place

  /** Matches an accepted order, then rests its remainder or ends it. */
  place(m: MatchPlace, sink: SettlementSink): void {
    const market = this.marketsById[m.symbolId] as Market;
    const book = this.books[m.symbolId] as OrderBook;
    const isLimit = m.orderType === "LIMIT";
    const isBuy = m.side === "BUY";
    const slot = this.store.alloc(
      m.orderId,
      m.userId,
      m.symbolId,
      m.side,
      m.priceTicks,
      m.qtyUnits,
      m.qtyUnits === 0 ? MAX_UNITS : m.qtyUnits,
      m.stp,
      m.cid,
      m.postOnly,
      this.seq,
      m.riskRef,
      !isLimit,
      m.timeInForce,
      m.tsMs,
    );
    this.takerStpExpired = false;
    this.takerBudgetSpent = false;
    if (m.postOnly && this.wouldTake(book, m.side, m.priceTicks)) {
      return this.endTaker(slot, sink, "REJECTED", "POST_ONLY_WOULD_TAKE");
    }
    if (m.timeInForce === "FOK" && !this.canFillFully(book, slot)) {
      return this.endTaker(slot, sink, "EXPIRED", "FOK_NOT_FILLED");
    }
    const limit = isLimit ? m.priceTicks : isBuy ? Infinity : 0;
    this.match(market, book, slot, limit, m.budgetUnits, sink);
    if (m.timeInForce === "FOK" && this.store.remainingOf(slot) !== 0) {
      fail(`FOK order ${m.orderId} passed its pre-check but did not fill`);
    }
    this.finishTaker(
      book,
      slot,
      sink,
      isLimit && m.timeInForce === "GTC",
      isLimit ? "IOC_REMAINDER" : "MARKET_REMAINDER",
    );
    if (book.isCrossed()) fail(`book ${market.spec.name} is crossed after order ${m.orderId}`);
  }

  /** True if a limit order at `priceTicks` on `side` would cross the opposite best. */
  private wouldTake(book: OrderBook, side: Side, priceTicks: number): boolean {
    const best = book.oppositeOf(side).best();
    if (best === undefined) return false;
    return side === "BUY" ? best.priceTicks <= priceTicks : best.priceTicks >= priceTicks;
  }

  /**
   * FOK pre-check, without changing anything: walks the opposite side as matching would
   * (same STP rules) and says whether the whole quantity would fill.
   */
  private canFillFully(book: OrderBook, taker: number): boolean {
    const s = this.store;
    const opp = book.oppositeOf(s.side(taker));
    const isBuy = !s.isSell(taker);
    const limit = s.priceOf(taker);
    const userId = s.userOf(taker);
    const stp = s.stp(taker);
    let need = s.remainingOf(taker);
    const levels = opp.levels;
    for (let i = levels.length - 1; i >= 0; i--) {
      const level = levels[i];
      if (isBuy ? level.priceTicks > limit : level.priceTicks < limit) return false;
      for (let o = level.head; o !== NIL; o = s.nextOf(o)) {
        if (s.userOf(o) === userId && stp !== "NONE") {
          if (stp === "EXPIRE_MAKER") continue;
          return false;
        }
        need -= s.remainingOf(o);
        if (need <= 0) return true;
      }
    }
    return false;
  }

  /**
   * Matches order `taker` against the opposite side up to `limit` (ticks; Infinity or 0
   * for market orders) and, for market buys, within `budget` quote units (-1: none).
   */
  private match(
    market: Market,
    book: OrderBook,
    taker: number,
    limit: number,
    budget: number,
    sink: SettlementSink,
  ): void {
    const s = this.store;
    const isBuy = !s.isSell(taker);
    const opp = isBuy ? book.asks : book.bids;
    const scale = market.scale;
    const step = market.spec.qtyStepUnits;
    const stp = s.stp(taker);
    const takerUser = s.userOf(taker);
    let budgetLeft = budget;
    let lastPrice = 0;
    while (s.remainingOf(taker) > 0 && !this.takerStpExpired) {
      const level = opp.best();
      if (level === undefined) {
        // The book ran out. A budget that cannot buy one more step even at the last
        // price is spent (a market buy by quote amount is then FILLED, not EXPIRED).
        if (
          budgetLeft >= 0 && lastPrice > 0 &&
          maxQtyForQuote(budgetLeft, lastPrice, scale, step) === 0
        ) {
          this.takerBudgetSpent = true;
        }
        break;
      }
      const price = level.priceTicks;
      if (isBuy ? price > limit : price < limit) break;
      let cap = s.remainingOf(taker);
      if (budgetLeft >= 0) {
        const affordable = maxQtyForQuote(budgetLeft, price, scale, step);
        if (affordable === 0) {
          this.takerBudgetSpent = true;
          break;
        }
        if (affordable < cap) cap = affordable;
      }
      let o = level.head;
      let touched = false;
      while (o !== NIL && cap > 0) {
        const after = s.nextOf(o);
        if (stp !== "NONE" && s.userOf(o) === takerUser) {
          if (stp === "EXPIRE_TAKER") {
            this.takerStpExpired = true;
            break;
          }
          touched = true;
          this.expireMaker(opp, level, o, sink);
          if (stp === "EXPIRE_BOTH") {
            this.takerStpExpired = true;
            break;
          }
          o = after;
          continue;
        }
        const rest = s.remainingOf(o);
        const f = rest < cap ? rest : cap;
        const paid = this.fill(market, taker, opp, level, o, f, sink);
        if (budgetLeft >= 0) budgetLeft -= paid;
        lastPrice = price;
        touched = true;
        cap -= f;
        o = after;
      }
      if (touched) {
        this.emitLevel(book, opp.side, level);
        opp.dropIfEmpty(level);
      }
    }
  }

  /**
   * One fill of `f` units between order `taker` and resting order `maker` at the maker's
   * price: book bookkeeping, the trade, the maker's update, and settlement. Returns the
   * quote amount paid.
   */
  private fill(
    market: Market,
    taker: number,
    makerSide: BookSide,
    level: Level,
    maker: number,
    f: number,
    sink: SettlementSink,
  ): number {
    const s = this.store;
    const spec = market.spec;
    const price = level.priceTicks;
    const paid = quoteUnits(price, f, market.scale);
    if (paid === OVERFLOW) fail(`fill ${f} at ${price} overflows`);
    const takerIsSell = s.isSell(taker);
    // Fees on what each party receives: the buyer base, the seller quote.
    const buyerFee = feeUnits(f, takerIsSell ? spec.makerFeePpm : spec.takerFeePpm);
    const sellerFee = feeUnits(paid, takerIsSell ? spec.takerFeePpm : spec.makerFeePpm);

    level.totalUnits -= f;
    s.addFill(maker, f, paid);
    s.addFill(taker, f, paid);
    this.out.trade(
      this.nextTradeId++,
      spec.id,
      price,
      f,
      paid,
      takerIsSell,
      s.idOf(maker),
      s.idOf(taker),
      s.userOf(maker),
      s.userOf(taker),
      buyerFee,
      sellerFee,
    );
    const makerDone = s.remainingOf(maker) === 0;
    if (makerDone) {
      makerSide.unlink(maker, level); // the level already lost f; 0 remains to subtract
      this.emitOrder(maker, "FILLED", null);
    } else {
      this.emitOrder(maker, "PARTIALLY_FILLED", null);
    }
    sink.settleFill(
      spec.id,
      s.riskRefOf(maker),
      s.riskRefOf(taker),
      takerIsSell,
      price,
      f,
      paid,
      buyerFee,
      sellerFee,
      makerDone,
    );
    if (makerDone) this.forget(maker);
    return paid;
  }

  /** Ends a resting order of the taker's own user under STP (EXPIRE_MAKER, EXPIRE_BOTH). */
  private expireMaker(side: BookSide, level: Level, o: number, sink: SettlementSink): void {
    // The level's delta is emitted by the match loop once it is done with the level.
    side.unlink(o, level);
    this.emitOrder(o, "EXPIRED", "STP_MAKER");
    sink.endOrder(this.store.riskRefOf(o), false);
    this.forget(o);
  }

  /** Removes a closed order from the indexes and frees its slot. */
  private forget(o: number): void {
    const s = this.store;
    this.orders.delete(s.idOf(o));
    const cid = s.cid[o];
    if (cid !== null) this.cids.delete(cidKey(s.userOf(o), cid));
    s.free(o);
  }

  /** After matching: rest the remainder of a GTC order, or end the taker. */
  private finishTaker(
    book: OrderBook,
    taker: number,
    sink: SettlementSink,
    canRest: boolean,
    remainderReason: EndReason,
    indexed = false,
  ): void {
    const s = this.store;
    if (s.remainingOf(taker) === 0) return this.endTaker(taker, sink, "FILLED", null);
    if (s.qtyOf(taker) === 0 && this.takerBudgetSpent && s.filledOf(taker) > 0) {
      // A market buy by quote amount that spent its budget is filled.
      return this.endTaker(taker, sink, "FILLED", null);
    }
    if (this.takerStpExpired) return this.endTaker(taker, sink, "EXPIRED", "STP_TAKER");
    if (!canRest) return this.endTaker(taker, sink, "EXPIRED", remainderReason);

    s.setSeq(taker, this.seq);
    const side = s.isSell(taker) ? book.asks : book.bids;
    const level = side.add(taker);
    if (!indexed) this.orders.set(s.idOf(taker), taker);
    const cid = s.cid[taker];
    if (cid !== null) this.cids.set(cidKey(s.userOf(taker), cid), taker);
    const filled = s.filledOf(taker) > 0;
    this.emitOrder(taker, filled ? "PARTIALLY_FILLED" : "NEW", null);
    sink.restOrder(s.riskRefOf(taker), filled);
    this.emitLevel(book, side.side, level);
  }

  /** Ends a taker that does not rest: its final state, then settlement releases the rest. */
  private endTaker(
    taker: number,
    sink: SettlementSink,
    status: OrderStatus,
    reason: EndReason | null,
  ): void {
    const s = this.store;
    this.emitOrder(taker, status, reason);
    sink.endOrder(s.riskRefOf(taker), s.filledOf(taker) > 0);
    // An amended order is still indexed; a new taker never was.
    this.forget(taker);
  }

  // ---------------------------------------------------------------- cancel

  /** Cancels an open order of the user (by id or cid); rejects unknown or foreign ones. */
  cancel(c: MatchCancel, sink: SettlementSink): void {
    let o: number;
    if (c.orderId !== undefined) {
      o = typeof c.orderId === "number" && Number.isSafeInteger(c.orderId) && c.orderId > 0
        ? this.orders.get(c.orderId)
        : NIL;
    } else {
      o = this.cids.get(cidKey(c.userId, c.cid as string)) ?? NIL;
    }
    const s = this.store;
    const ref = c.orderId !== undefined ? `order ${c.orderId}` : `cid "${c.cid}"`;
    if (o === NIL || (c.symbolId !== undefined && s.symbolOf(o) !== c.symbolId)) {
      return this.rejectRaw(
        "cancel",
        c.userId,
        c.orderId ?? null,
        c.cid ?? null,
        "UNKNOWN_ORDER",
        `Cannot cancel: ${ref} is not open`,
      );
    }
    if (s.userOf(o) !== c.userId) {
      return this.rejectRaw(
        "cancel",
        c.userId,
        c.orderId ?? null,
        c.cid ?? null,
        "NOT_ORDER_OWNER",
        `Cannot cancel: ${ref} belongs to another user`,
      );
    }
    const book = this.books[s.symbolOf(o)] as OrderBook;
    const side = s.isSell(o) ? book.asks : book.bids;
    const level = side.levelOf(o);
    side.unlink(o, level);
    this.emitOrder(o, "CANCELED", "USER_CANCEL");
    sink.endOrder(s.riskRefOf(o), false);
    this.emitLevel(book, side.side, level);
    side.dropIfEmpty(level);
    this.forget(o);
  }

  // ---------------------------------------------------------------- amend

  /**
   * Applies an amend the account shard accepted, if the order is still open and the new
   * quantity still exceeds what filled meanwhile: a reduce in place keeps the order's
   * time priority; a new price takes it out of the book and matches it again.
   */
  amend(c: MatchAmend, sink: SettlementSink): void {
    const s = this.store;
    const o = this.orders.get(c.orderId);
    const rej = (reason: RejectReason, msg: string) => {
      this.rejectRaw(
        "amend",
        c.userId,
        c.orderId,
        null,
        reason,
        `Cannot amend order ${c.orderId}: ${msg}`,
      );
      sink.amendRejected(c.riskRef, c.orderId, c.extraHoldUnits);
    };
    if (o === NIL) return rej("UNKNOWN_ORDER", "it is not open");
    if (s.userOf(o) !== c.userId) return rej("NOT_ORDER_OWNER", "it belongs to another user");
    const filled = s.filledOf(o);
    if (c.qtyUnits <= filled) {
      return rej("AMEND_INVALID", `new qty ${c.qtyUnits} must exceed the filled qty ${filled}`);
    }
    const newRemaining = c.qtyUnits - filled;
    const book = this.books[s.symbolOf(o)] as OrderBook;
    const side = s.isSell(o) ? book.asks : book.bids;

    if (c.priceTicks === s.priceOf(o)) {
      if (c.qtyUnits >= s.qtyOf(o)) {
        return rej(
          "AMEND_INVALID",
          `without a new price qty can only go down, received ${c.qtyUnits} (current ${
            s.qtyOf(o)
          })`,
        );
      }
      const level = side.levelOf(o);
      level.totalUnits -= s.remainingOf(o) - newRemaining;
      s.setRemaining(o, newRemaining);
      s.setQty(o, c.qtyUnits);
      this.emitOrder(o, filled > 0 ? "PARTIALLY_FILLED" : "NEW", null);
      sink.amendApplied(s.riskRefOf(o), c.priceTicks, c.qtyUnits, newRemaining, c.extraHoldUnits);
      this.emitLevel(book, side.side, level);
      return;
    }

    if (s.postOnly(o) && this.wouldTake(book, s.side(o), c.priceTicks)) {
      return rej(
        "POST_ONLY_WOULD_TAKE",
        `a post-only order at price ${c.priceTicks} would take liquidity`,
      );
    }
    // Leave the book (priority is lost), take the new terms, match as a taker.
    const level = side.levelOf(o);
    side.unlink(o, level);
    this.emitLevel(book, side.side, level);
    side.dropIfEmpty(level);
    s.setPrice(o, c.priceTicks);
    s.setQty(o, c.qtyUnits);
    s.setRemaining(o, newRemaining);
    sink.amendApplied(s.riskRefOf(o), c.priceTicks, c.qtyUnits, newRemaining, c.extraHoldUnits);
    this.takerStpExpired = false;
    this.takerBudgetSpent = false;
    const market = this.marketsById[s.symbolOf(o)] as Market;
    this.match(market, book, o, c.priceTicks, -1, sink);
    this.finishTaker(book, o, sink, true, "IOC_REMAINDER", true);
    if (book.isCrossed()) {
      fail(`book ${market.spec.name} is crossed after amending order ${c.orderId}`);
    }
  }

  // ---------------------------------------------------------------- events

  private emitOrder(o: number, status: OrderStatus, reason: EndReason | null): void {
    const s = this.store;
    const open = status === "NEW" || status === "PARTIALLY_FILLED";
    this.out.order(
      s.idOf(o),
      s.userOf(o),
      s.symbolOf(o),
      s.isSell(o),
      statusCode(status),
      s.priceOf(o),
      s.qtyOf(o),
      s.filledOf(o),
      open ? s.remainingOf(o) : 0,
      s.quoteFilledOf(o),
      s.cid[o],
      reason === null ? -1 : END_REASONS.indexOf(reason),
      s.isMarket(o),
      s.tifCode(o),
      s.createdOf(o),
      s.postOnly(o),
      s.stpCodeOf(o),
    );
  }

  private emitLevel(book: OrderBook, side: Side, level: Level): void {
    this.out.book(
      book.symbolId,
      ++book.updateId,
      side === "SELL",
      level.priceTicks,
      level.totalUnits,
    );
  }

  private rejectRaw(
    command: CommandRejected["command"],
    userId: number,
    orderId: number | null,
    cid: string | null,
    reason: RejectReason,
    message: string,
  ): void {
    this.out.rejected(command, reason, userId, orderId, cid, message);
  }

  // ---------------------------------------------------------------- queries and audit

  /** Slot of an open order, or -1. */
  slotOf(orderId: number): number {
    return this.orders.get(orderId);
  }

  /** Slot of an open order by its user and client order id, or -1. */
  slotOfCid(userId: number, cid: string): number {
    return this.cids.get(cidKey(userId, cid)) ?? NIL;
  }

  /** Aggregated depth of a symbol, best first, or undefined for an unknown symbol. */
  depth(symbolId: number, limit: number): DepthSnapshot | undefined {
    return this.books[symbolId]?.depth(Math.max(0, Math.min(limit, MAX_DEPTH_LEVELS)));
  }

  /**
   * Audit of the books: sorted levels, FIFO links, level totals, indexes, no crossed
   * book. `eachOrder` is called for every resting order (the engine cross-checks holds).
   * Throws InvariantError on the first violation.
   */
  checkInvariants(eachOrder: (slot: number) => void): void {
    const s = this.store;
    let open = 0;
    for (const book of this.books) {
      if (book === undefined) continue;
      const name = (this.marketsById[book.symbolId] as Market).spec.name;
      if (book.isCrossed()) fail(`book ${name} is crossed`);
      for (const side of [book.bids, book.asks]) {
        for (let i = 0; i < side.levels.length; i++) {
          const level = side.levels[i];
          if (i > 0 && !side.better(level.priceTicks, side.levels[i - 1].priceTicks)) {
            fail(`levels of ${name} ${side.side} out of order`);
          }
          if (side.byPrice.get(level.priceTicks) !== level) {
            fail(`level ${level.priceTicks} not indexed`);
          }
          let total = 0;
          let count = 0;
          let prev = NIL;
          for (let o = level.head; o !== NIL; o = s.nextOf(o)) {
            const id = s.idOf(o);
            if (!s.inUse(o) || s.prevOf(o) !== prev) fail(`order ${id} badly linked`);
            if (s.side(o) !== side.side || s.priceOf(o) !== level.priceTicks) {
              fail(`order ${id} misplaced`);
            }
            if (s.symbolOf(o) !== book.symbolId) fail(`order ${id} in the wrong book`);
            if (!(s.remainingOf(o) > 0 && s.filledOf(o) + s.remainingOf(o) === s.qtyOf(o))) {
              fail(`order ${id} quantities do not add up`);
            }
            if (this.orders.get(id) !== o) fail(`order ${id} missing from the order index`);
            const cid = s.cid[o];
            if (cid !== null && this.cids.get(cidKey(s.userOf(o), cid)) !== o) {
              fail(`cid of order ${id} not indexed`);
            }
            eachOrder(o);
            total += s.remainingOf(o);
            count++;
            prev = o;
          }
          if (level.tail !== prev) fail(`level ${level.priceTicks} tail is wrong`);
          if (count === 0 || count !== level.count) {
            fail(`level ${level.priceTicks} count ${level.count}, found ${count}`);
          }
          if (total !== level.totalUnits) {
            fail(`level ${level.priceTicks} total ${level.totalUnits}, found ${total}`);
          }
          open += count;
        }
        if (side.byPrice.size !== side.levels.length) {
          fail(`level index of ${name} ${side.side} out of sync`);
        }
      }
    }
    if (open !== this.orders.size) fail(`${this.orders.size} indexed orders, ${open} in books`);
    if (open !== s.size) fail(`${s.size} order slots in use, ${open} in books`);
    if (this.cids.size > open) fail(`${this.cids.size} cids indexed for ${open} open orders`);
  }
}

/** Index of `status` in STATUS_CODES, without a search. */
function statusCode(status: OrderStatus): number {
  switch (status) {
    case "NEW":
      return 0;
    case "PARTIALLY_FILLED":
      return 1;
    case "FILLED":
      return 2;
    case "CANCELED":
      return 3;
    case "REJECTED":
      return 4;
    case "EXPIRED":
      return 5;
  }
}

function cidKey(userId: number, cid: string): string {
  return `${userId}:${cid}`;
}
