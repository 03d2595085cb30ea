/**
 * The exchange core: `apply(command)` validates, holds funds (risk), matches with
 * price-time priority (fills at the maker's price), settles each fill with fees, releases
 * what an ended order still holds, and returns the ordered events. Deterministic: the
 * same commands always give the same events and the same state. Pure: no clock, no
 * randomness, no I/O.
 *
 * Risk is not matching: the books ({@link OrderBook}) never see balances; holds live in
 * the {@link Ledger}, keyed by order id.
 */

import { assert } from "./assert.ts";
import type {
  AmendOrder,
  CancelOrder,
  Command,
  Deposit,
  PlaceOrder,
  Withdraw,
} from "./commands.ts";
import type {
  BookDelta,
  CommandRejected,
  EngineEvent,
  OrderUpdated,
  TradeEvent,
} from "./events.ts";
import { Account, Ledger } from "./ledger.ts";
import {
  DEFAULT_MAX_OPEN_ORDERS_PER_USER,
  MAX_ASSET_ID,
  MAX_CID_LENGTH,
  MAX_UNITS,
} from "./limits.ts";
import type { AssetSpec, Market, SymbolSpec } from "./market_config.ts";
import { buildMarkets } from "./market_config.ts";
import { feeUnits, maxQtyForQuote, OVERFLOW, quoteUnits } from "./money.ts";
import { IdMap } from "./id_map.ts";
import { BookOrder, BookSide, Level, OrderBook } from "./order_book.ts";
import { RejectCode, type RejectReason } from "./reject_codes.ts";
import type { EndReason, OrderStatus, Side, StpMode, TimeInForce } from "./types.ts";
import { STP_MODES } from "./types.ts";

export interface EngineOptions {
  assets: readonly AssetSpec[];
  symbols: readonly SymbolSpec[];
  /** Bound on a user's open orders (default 10,000). */
  maxOpenOrdersPerUser?: number;
}

const CID_RE = /^[A-Za-z0-9._:\/-]+$/;

/** Snapshot of one open order, for queries. */
export interface OpenOrderView {
  orderId: number;
  userId: number;
  symbolId: number;
  side: Side;
  priceTicks: number;
  qtyUnits: number;
  filledUnits: number;
  remainingUnits: number;
  quoteFilledUnits: number;
  status: OrderStatus;
  stp: StpMode;
  cid: string | null;
  postOnly: boolean;
  holdUnits: number;
}

export class Engine {
  readonly assetsById: (AssetSpec | undefined)[];
  readonly marketsById: (Market | undefined)[];
  readonly books: (OrderBook | undefined)[] = [];
  readonly ledger: Ledger;
  /** Open orders by id. */
  readonly orders = new IdMap<BookOrder>();
  /** Open orders by `${userId}:${cid}`. */
  readonly cids = new Map<string, BookOrder>();
  readonly maxOpenOrdersPerUser: number;

  nextOrderId = 1;
  nextTradeId = 1;
  /** Number of commands applied. */
  seq = 0;

  private out: EngineEvent[] = [];
  // State of the taker while one place or amend is being matched.
  private takerHold = 0;
  private takerStpExpired = false;
  private takerBudgetSpent = false;

  constructor(opts: EngineOptions) {
    const { assetsById, marketsById } = buildMarkets(opts.assets, opts.symbols);
    this.assetsById = assetsById;
    this.marketsById = marketsById;
    for (const m of marketsById) if (m) this.books[m.spec.id] = new OrderBook(m.spec.id);
    this.ledger = new Ledger(Math.min(assetsById.length, MAX_ASSET_ID + 1));
    this.maxOpenOrdersPerUser = opts.maxOpenOrdersPerUser ?? DEFAULT_MAX_OPEN_ORDERS_PER_USER;
  }

  /**
   * Applies one command and returns its events in order. Business rejections are
   * `rejected` events; a thrown error means a broken invariant (a bug).
   */
  apply(cmd: Command): EngineEvent[] {
    this.out = [];
    this.seq++;
    switch (cmd.type) {
      case "place":
        this.place(cmd);
        break;
      case "cancel":
        this.cancel(cmd);
        break;
      case "amend":
        this.amend(cmd);
        break;
      case "deposit":
        this.deposit(cmd);
        break;
      case "withdraw":
        this.withdraw(cmd);
        break;
      default:
        this.rejectRaw(
          "place",
          (cmd as { userId?: number }).userId ?? 0,
          null,
          null,
          "INVALID_ORDER_SPEC",
          `Cannot apply command: unknown type "${(cmd as { type?: unknown }).type}"`,
        );
    }
    return this.out;
  }

  // ---------------------------------------------------------------- transfers

  private deposit(c: Deposit): void {
    const why = this.transferProblem(c, "deposit");
    if (why) return;
    if (!this.ledger.canDeposit(c.assetId, c.amountUnits)) {
      this.rejectRaw(
        "deposit",
        c.userId,
        null,
        null,
        "AMOUNT_OVERFLOW",
        `Cannot deposit: total supply of asset ${c.assetId} would exceed ${MAX_UNITS}, received ${c.amountUnits}`,
      );
      return;
    }
    const acct = this.ledger.open(c.userId);
    this.ledger.deposit(acct, c.assetId, c.amountUnits);
    this.emitBalance(acct, c.assetId);
  }

  private withdraw(c: Withdraw): void {
    const why = this.transferProblem(c, "withdraw");
    if (why) return;
    const acct = this.ledger.find(c.userId);
    const avail = acct ? acct.available[c.assetId] : 0;
    if (acct === undefined || avail < c.amountUnits) {
      this.rejectRaw(
        "withdraw",
        c.userId,
        null,
        null,
        "INSUFFICIENT_BALANCE",
        `Cannot withdraw ${c.amountUnits} units of asset ${c.assetId}: available is ${avail}`,
      );
      return;
    }
    this.ledger.withdraw(acct, c.assetId, c.amountUnits);
    this.emitBalance(acct, c.assetId);
  }

  /** Emits the rejection and returns true if the transfer is malformed. */
  private transferProblem(c: Deposit | Withdraw, kind: "deposit" | "withdraw"): boolean {
    if (!isUserId(c.userId)) {
      this.rejectRaw(
        kind,
        0,
        null,
        null,
        "INVALID_USER",
        `Cannot ${kind}: invalid user id ${c.userId}`,
      );
      return true;
    }
    if (!Number.isInteger(c.assetId) || this.assetsById[c.assetId] === undefined) {
      this.rejectRaw(
        kind,
        c.userId,
        null,
        null,
        "UNKNOWN_ASSET",
        `Cannot ${kind}: unknown asset id ${c.assetId}`,
      );
      return true;
    }
    if (!isPositiveUnits(c.amountUnits)) {
      this.rejectRaw(
        kind,
        c.userId,
        null,
        null,
        "INVALID_AMOUNT",
        `Cannot ${kind}: amount must be a positive integer number of units, received ${c.amountUnits}`,
      );
      return true;
    }
    return false;
  }

  // ---------------------------------------------------------------- place

  private place(c: PlaceOrder): void {
    const userId = c.userId;
    const cid = c.cid ?? null;
    if (!isUserId(userId)) {
      return this.rejectPlace(c, "INVALID_USER", `invalid user id ${userId}`);
    }
    const market = this.marketsById[c.symbolId];
    if (market === undefined) {
      return this.rejectPlace(c, "UNKNOWN_SYMBOL", `unknown symbol id ${c.symbolId}`);
    }
    const spec = market.spec;
    const side = c.side;
    if (side !== "BUY" && side !== "SELL") {
      return this.rejectPlace(
        c,
        "INVALID_ORDER_SPEC",
        `side must be BUY or SELL, received "${side}"`,
      );
    }
    const isBuy = side === "BUY";
    const orderType = c.orderType;
    if (orderType !== "LIMIT" && orderType !== "MARKET") {
      return this.rejectPlace(
        c,
        "INVALID_ORDER_SPEC",
        `type must be LIMIT or MARKET, received "${orderType}"`,
      );
    }
    const isLimit = orderType === "LIMIT";
    let tif: TimeInForce;
    if (isLimit) {
      tif = c.timeInForce ?? "GTC";
      if (tif !== "GTC" && tif !== "IOC" && tif !== "FOK") {
        return this.rejectPlace(
          c,
          "INVALID_ORDER_SPEC",
          `time in force must be GTC, IOC or FOK, received "${tif}"`,
        );
      }
    } else {
      if (c.timeInForce !== undefined && c.timeInForce !== "IOC") {
        return this.rejectPlace(
          c,
          "INVALID_ORDER_SPEC",
          `a MARKET order is immediate-or-cancel, received time in force "${c.timeInForce}"`,
        );
      }
      tif = "IOC";
    }
    const postOnly = c.postOnly === true;
    if (postOnly && !(isLimit && tif === "GTC")) {
      return this.rejectPlace(
        c,
        "INVALID_ORDER_SPEC",
        `post-only needs a LIMIT GTC order, received ${orderType} ${tif}`,
      );
    }
    const stp = c.stp ?? spec.defaultStp;
    if (!STP_MODES.includes(stp)) {
      return this.rejectPlace(
        c,
        "INVALID_ORDER_SPEC",
        `unknown self-trade prevention mode "${stp}"`,
      );
    }
    if (cid !== null) {
      if (
        typeof cid !== "string" || cid.length === 0 || cid.length > MAX_CID_LENGTH ||
        !CID_RE.test(cid)
      ) {
        return this.rejectPlace(
          c,
          "INVALID_CID",
          `cid must be 1 to ${MAX_CID_LENGTH} characters of A-Z a-z 0-9 . _ : / -, received "${
            String(cid)
          }"`,
        );
      }
    }

    let priceTicks = 0;
    let qtyUnits = 0;
    let quoteBudget = 0;
    let notional = 0;
    if (isLimit) {
      if (c.quoteUnits !== undefined) {
        return this.rejectPlace(
          c,
          "INVALID_ORDER_SPEC",
          `a LIMIT order takes qty, not a quote amount`,
        );
      }
      const p = c.priceTicks;
      if (p === undefined || !isPositiveUnits(p) || p > spec.maxPriceTicks) {
        return this.rejectPlace(
          c,
          "INVALID_PRICE",
          `price must be a positive integer number of ticks up to ${spec.maxPriceTicks}, received ${p}`,
        );
      }
      priceTicks = p;
      if (!this.qtyOk(c, spec, c.qtyUnits)) return;
      qtyUnits = c.qtyUnits as number;
      notional = quoteUnits(priceTicks, qtyUnits, market.scale);
      if (notional === OVERFLOW) {
        return this.rejectPlace(
          c,
          "AMOUNT_OVERFLOW",
          `price ${priceTicks} × qty ${qtyUnits} exceeds the largest representable amount`,
        );
      }
      if (notional < spec.minNotionalUnits) {
        return this.rejectPlace(
          c,
          "NOTIONAL_TOO_SMALL",
          `order value must be at least ${spec.minNotionalUnits} quote units, received ${notional}`,
        );
      }
    } else {
      if (c.priceTicks !== undefined) {
        return this.rejectPlace(
          c,
          "INVALID_ORDER_SPEC",
          `a MARKET order takes no price, received ${c.priceTicks}`,
        );
      }
      const hasQty = c.qtyUnits !== undefined;
      const hasQuote = c.quoteUnits !== undefined;
      if (hasQty === hasQuote) {
        return this.rejectPlace(
          c,
          "INVALID_ORDER_SPEC",
          `a MARKET order takes exactly one of qty and quote amount`,
        );
      }
      if (hasQuote) {
        if (!isBuy) {
          return this.rejectPlace(
            c,
            "INVALID_ORDER_SPEC",
            `a MARKET SELL takes qty, not a quote amount`,
          );
        }
        const q = c.quoteUnits as number;
        if (!isPositiveUnits(q)) {
          return this.rejectPlace(
            c,
            "INVALID_QTY",
            `quote amount must be a positive integer number of units, received ${q}`,
          );
        }
        if (q < spec.minNotionalUnits) {
          return this.rejectPlace(
            c,
            "NOTIONAL_TOO_SMALL",
            `quote amount must be at least ${spec.minNotionalUnits} units, received ${q}`,
          );
        }
        quoteBudget = q;
      } else {
        if (!this.qtyOk(c, spec, c.qtyUnits)) return;
        qtyUnits = c.qtyUnits as number;
      }
    }

    let orderId: number;
    if (c.orderId !== undefined) {
      if (!isPositiveUnits(c.orderId)) {
        return this.rejectPlace(
          c,
          "INVALID_ORDER_SPEC",
          `order id must be a positive integer, received ${c.orderId}`,
        );
      }
      if (this.orders.has(c.orderId)) {
        return this.rejectPlace(c, "DUPLICATE_ORDER_ID", `order id ${c.orderId} is already open`);
      }
      orderId = c.orderId;
    } else {
      orderId = this.nextOrderId;
    }
    if (cid !== null && this.cids.has(cidKey(userId, cid))) {
      return this.rejectPlace(c, "DUPLICATE_CID", `cid "${cid}" is already used by an open order`);
    }

    // Risk: what to hold.
    const acct = this.ledger.find(userId);
    if (
      isLimit && tif === "GTC" && acct !== undefined && acct.openOrders >= this.maxOpenOrdersPerUser
    ) {
      return this.rejectPlace(
        c,
        "TOO_MANY_OPEN_ORDERS",
        `user ${userId} already has ${acct.openOrders} open orders`,
      );
    }
    const holdAsset = isBuy ? spec.quoteAssetId : spec.baseAssetId;
    const available = acct === undefined ? 0 : acct.available[holdAsset];
    let holdUnits: number;
    let budget = -1; // quote budget for market buys; -1: not budget-limited
    if (isLimit) holdUnits = isBuy ? notional : qtyUnits;
    else if (!isBuy) holdUnits = qtyUnits;
    else if (quoteBudget > 0) budget = holdUnits = quoteBudget;
    else budget = holdUnits = available; // market buy by qty: hold what is available, release the rest
    if (acct === undefined || holdUnits === 0 || available < holdUnits) {
      return this.rejectPlace(
        c,
        "INSUFFICIENT_BALANCE",
        `needs ${holdUnits} units of ${this.assetName(holdAsset)}, available ${available}`,
      );
    }

    // Accepted.
    if (orderId >= this.nextOrderId) this.nextOrderId = orderId + 1;
    this.ledger.hold(acct, holdAsset, holdUnits);
    this.out.push({
      type: "accepted",
      orderId,
      userId,
      symbolId: spec.id,
      side,
      orderType,
      timeInForce: tif,
      postOnly,
      priceTicks,
      qtyUnits,
      quoteUnits: quoteBudget,
      stp,
      cid,
      holdAssetId: holdAsset,
      holdUnits,
    });
    this.emitBalance(acct, holdAsset);

    const order = new BookOrder(
      orderId,
      userId,
      spec.id,
      side,
      priceTicks,
      qtyUnits,
      qtyUnits === 0 ? MAX_UNITS : qtyUnits,
      0,
      0,
      stp,
      cid,
      postOnly,
      this.seq,
    );
    const book = this.books[spec.id] as OrderBook;
    this.takerHold = holdUnits;
    this.takerStpExpired = false;
    this.takerBudgetSpent = false;

    if (postOnly && this.wouldTake(book, side, priceTicks)) {
      return this.endTaker(market, acct, order, "REJECTED", "POST_ONLY_WOULD_TAKE");
    }
    if (tif === "FOK" && !this.canFillFully(book, order)) {
      return this.endTaker(market, acct, order, "EXPIRED", "FOK_NOT_FILLED");
    }
    const limit = isLimit ? priceTicks : isBuy ? Infinity : 0;
    this.match(market, book, acct, order, limit, budget);
    assert(
      tif !== "FOK" || order.remainingUnits === 0,
      `FOK order ${orderId} passed its pre-check but did not fill`,
    );
    this.finishTaker(
      market,
      book,
      acct,
      order,
      isLimit && tif === "GTC",
      isLimit ? "IOC_REMAINDER" : "MARKET_REMAINDER",
    );
    assert(!book.isCrossed(), `book ${spec.name} is crossed after order ${orderId}`);
  }

  /** Validates a base quantity against the symbol's lot filters; emits the rejection. */
  private qtyOk(c: PlaceOrder, spec: SymbolSpec, q: number | undefined): boolean {
    if (q === undefined || !isPositiveUnits(q)) {
      this.rejectPlace(
        c,
        "INVALID_QTY",
        `qty must be a positive integer number of units, received ${q}`,
      );
      return false;
    }
    return this.lotOk(q, spec, (reason, msg) => this.rejectPlace(c, reason, msg));
  }

  private lotOk(q: number, spec: SymbolSpec, fail: (r: RejectReason, m: string) => void): boolean {
    if (q % spec.qtyStepUnits !== 0) {
      fail("QTY_STEP", `qty must be a multiple of ${spec.qtyStepUnits} units, received ${q}`);
      return false;
    }
    if (q < spec.minQtyUnits) {
      fail("QTY_TOO_SMALL", `qty must be at least ${spec.minQtyUnits} units, received ${q}`);
      return false;
    }
    if (q > spec.maxQtyUnits) {
      fail("QTY_TOO_LARGE", `qty must be at most ${spec.maxQtyUnits} units, received ${q}`);
      return false;
    }
    return true;
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
  private canFillFully(book: OrderBook, taker: BookOrder): boolean {
    const opp = book.oppositeOf(taker.side);
    const isBuy = taker.side === "BUY";
    let need = taker.remainingUnits;
    const levels = opp.levels;
    for (let i = levels.length - 1; i >= 0; i--) {
      const level = levels[i];
      if (isBuy ? level.priceTicks > taker.priceTicks : level.priceTicks < taker.priceTicks) {
        return false;
      }
      for (let o = level.head; o !== null; o = o.next) {
        if (o.userId === taker.userId && taker.stp !== "NONE") {
          if (taker.stp === "EXPIRE_MAKER") continue;
          return false;
        }
        need -= o.remainingUnits;
        if (need <= 0) return true;
      }
    }
    return false;
  }

  /**
   * Matches `taker` against the opposite side up to `limit` (ticks; Infinity/0 for market)
   * and, for market buys, within `budget` quote units (-1: no budget).
   */
  private match(
    market: Market,
    book: OrderBook,
    takerAcct: Account,
    taker: BookOrder,
    limit: number,
    budget: number,
  ): void {
    const isBuy = taker.side === "BUY";
    const opp = book.oppositeOf(taker.side);
    const spec = market.spec;
    const scale = market.scale;
    const stp = taker.stp;
    let budgetLeft = budget;
    while (taker.remainingUnits > 0 && !this.takerStpExpired) {
      const level = opp.best();
      if (level === undefined) break;
      const price = level.priceTicks;
      if (isBuy ? price > limit : price < limit) break;
      let cap = taker.remainingUnits;
      if (budgetLeft >= 0) {
        const affordable = maxQtyForQuote(budgetLeft, price, scale, spec.qtyStepUnits);
        if (affordable === 0) {
          this.takerBudgetSpent = true;
          break;
        }
        if (affordable < cap) cap = affordable;
      }
      let o = level.head;
      while (o !== null && cap > 0) {
        const next = o.next;
        if (o.userId === taker.userId && stp !== "NONE") {
          if (stp === "EXPIRE_TAKER") {
            this.takerStpExpired = true;
            break;
          }
          this.expireMaker(market, opp, o);
          if (stp === "EXPIRE_BOTH") {
            this.takerStpExpired = true;
            break;
          }
          o = next;
          continue;
        }
        const f = o.remainingUnits < cap ? o.remainingUnits : cap;
        const paid = this.fill(market, takerAcct, taker, opp, o, level, f);
        if (budgetLeft >= 0) budgetLeft -= paid;
        cap -= f;
        o = next;
      }
      this.emitLevel(book, opp.side, level);
      opp.dropIfEmpty(level);
    }
  }

  /**
   * Settles one fill of `f` units between `taker` and resting `maker` at the maker's
   * price; returns the quote amount paid.
   */
  private fill(
    market: Market,
    takerAcct: Account,
    taker: BookOrder,
    makerSide: BookSide,
    maker: BookOrder,
    level: Level,
    f: number,
  ): number {
    const spec = market.spec;
    const price = maker.priceTicks;
    const paid = quoteUnits(price, f, market.scale);
    assert(paid !== OVERFLOW, `fill ${f} at ${price} overflows`);
    const baseId = spec.baseAssetId;
    const quoteId = spec.quoteAssetId;
    const ledger = this.ledger;
    const makerAcct = ledger.find(maker.userId) as Account;
    const takerIsBuy = taker.side === "BUY";
    const takerFeePpm = spec.takerFeePpm;
    const makerFeePpm = spec.makerFeePpm;
    let buyerFee: number;
    let sellerFee: number;

    // Book bookkeeping.
    level.totalUnits -= f;
    maker.remainingUnits -= f;
    maker.filledUnits += f;
    maker.quoteFilledUnits += paid;
    taker.remainingUnits -= f;
    taker.filledUnits += f;
    taker.quoteFilledUnits += paid;

    // Maker side of the money.
    let makerHold = maker.holdUnits;
    if (takerIsBuy) {
      // maker sells base, receives quote
      sellerFee = feeUnits(paid, makerFeePpm);
      ledger.spendFrozen(makerAcct, baseId, f);
      makerHold -= f;
      ledger.credit(makerAcct, quoteId, paid - sellerFee);
      ledger.creditFee(quoteId, sellerFee);
      // taker buys base, pays quote from its hold
      buyerFee = feeUnits(f, takerFeePpm);
      ledger.spendFrozen(takerAcct, quoteId, paid);
      this.takerHold -= paid;
      if (taker.priceTicks !== 0) {
        // limit buy: the hold was computed at the limit price; release the improvement
        const atLimit = quoteUnits(taker.priceTicks, f, market.scale);
        const improvement = atLimit - paid;
        if (improvement > 0) {
          ledger.release(takerAcct, quoteId, improvement);
          this.takerHold -= improvement;
        }
      }
      ledger.credit(takerAcct, baseId, f - buyerFee);
      ledger.creditFee(baseId, buyerFee);
    } else {
      // maker buys base at its own price: no improvement for the maker
      buyerFee = feeUnits(f, makerFeePpm);
      ledger.spendFrozen(makerAcct, quoteId, paid);
      makerHold -= paid;
      ledger.credit(makerAcct, baseId, f - buyerFee);
      ledger.creditFee(baseId, buyerFee);
      // taker sells base
      sellerFee = feeUnits(paid, takerFeePpm);
      ledger.spendFrozen(takerAcct, baseId, f);
      this.takerHold -= f;
      ledger.credit(takerAcct, quoteId, paid - sellerFee);
      ledger.creditFee(quoteId, sellerFee);
    }
    assert(makerHold >= 0 && this.takerHold >= 0, `negative hold after fill of order ${maker.id}`);

    const trade: TradeEvent = {
      type: "trade",
      tradeId: this.nextTradeId++,
      symbolId: spec.id,
      priceTicks: price,
      qtyUnits: f,
      quoteUnits: paid,
      takerSide: taker.side,
      makerOrderId: maker.id,
      takerOrderId: taker.id,
      makerUserId: maker.userId,
      takerUserId: taker.userId,
      buyerFeeUnits: buyerFee,
      sellerFeeUnits: sellerFee,
    };
    this.out.push(trade);

    if (maker.remainingUnits === 0) {
      // Filled: leave the book, release any dust still held.
      makerSide.unlink(maker); // the level total already dropped by f; 0 remains to subtract
      if (makerHold > 0) ledger.release(makerAcct, takerIsBuy ? baseId : quoteId, makerHold);
      maker.holdUnits = 0;
      this.forget(maker, makerAcct);
      this.emitOrder(maker, "FILLED", null);
    } else {
      maker.holdUnits = makerHold;
      this.emitOrder(maker, "PARTIALLY_FILLED", null);
    }
    this.emitBalance(makerAcct, baseId);
    this.emitBalance(makerAcct, quoteId);
    return paid;
  }

  /** Cancels a resting maker of the taker's own user under STP (EXPIRE_MAKER / BOTH). */
  private expireMaker(market: Market, side: BookSide, o: BookOrder): void {
    // The level's delta is emitted by the match loop once it is done with the level.
    side.unlink(o);
    this.releaseAndForget(market, o);
    this.emitOrder(o, "EXPIRED", "STP_MAKER");
    const acct = this.ledger.find(o.userId) as Account;
    this.emitBalance(acct, o.side === "BUY" ? market.spec.quoteAssetId : market.spec.baseAssetId);
  }

  /** Releases everything an open order holds and removes it from the indexes. */
  private releaseAndForget(market: Market, o: BookOrder): void {
    const acct = this.ledger.find(o.userId) as Account;
    const held = o.holdUnits;
    const asset = o.side === "BUY" ? market.spec.quoteAssetId : market.spec.baseAssetId;
    if (held > 0) this.ledger.release(acct, asset, held);
    o.holdUnits = 0;
    this.forget(o, acct);
  }

  private forget(o: BookOrder, acct: Account): void {
    this.orders.delete(o.id);
    if (o.cid !== null) this.cids.delete(cidKey(o.userId, o.cid));
    acct.openOrders--;
  }

  /** After matching: rest the remainder of a GTC order, or end the taker. */
  private finishTaker(
    market: Market,
    book: OrderBook,
    acct: Account,
    taker: BookOrder,
    canRest: boolean,
    remainderReason: EndReason,
  ): void {
    if (taker.remainingUnits === 0) return this.endTaker(market, acct, taker, "FILLED", null);
    if (taker.qtyUnits === 0 && this.takerBudgetSpent && taker.filledUnits > 0) {
      // A market buy by quote amount that spent its budget is filled.
      return this.endTaker(market, acct, taker, "FILLED", null);
    }
    if (this.takerStpExpired) return this.endTaker(market, acct, taker, "EXPIRED", "STP_TAKER");
    if (!canRest) return this.endTaker(market, acct, taker, "EXPIRED", remainderReason);

    // Rest in the book.
    const spec = market.spec;
    if (taker.side === "BUY") {
      const need = quoteUnits(taker.priceTicks, taker.remainingUnits, market.scale);
      assert(this.takerHold >= need, `order ${taker.id} holds ${this.takerHold}, needs ${need}`);
    } else {
      assert(
        this.takerHold === taker.remainingUnits,
        `sell order ${taker.id} holds ${this.takerHold}, has ${taker.remainingUnits} left`,
      );
    }
    taker.seq = this.seq;
    const side = book.sideOf(taker.side);
    const level = side.add(taker);
    this.orders.set(taker.id, taker);
    if (taker.cid !== null) this.cids.set(cidKey(taker.userId, taker.cid), taker);
    taker.holdUnits = this.takerHold;
    acct.openOrders++;
    this.emitOrder(taker, taker.filledUnits > 0 ? "PARTIALLY_FILLED" : "NEW", null);
    if (taker.filledUnits > 0) {
      this.emitBalance(acct, spec.baseAssetId);
      this.emitBalance(acct, spec.quoteAssetId);
    }
    this.emitLevel(book, taker.side, level);
  }

  /** Ends a taker that does not rest: release what it still holds, emit its final state. */
  private endTaker(
    market: Market,
    acct: Account,
    taker: BookOrder,
    status: OrderStatus,
    reason: EndReason | null,
  ): void {
    const spec = market.spec;
    const holdAsset = taker.side === "BUY" ? spec.quoteAssetId : spec.baseAssetId;
    if (this.takerHold > 0) this.ledger.release(acct, holdAsset, this.takerHold);
    this.takerHold = 0;
    if (taker.qtyUnits === 0) taker.remainingUnits = 0; // market buy by quote amount
    this.emitOrder(taker, status, reason);
    if (taker.filledUnits > 0) {
      this.emitBalance(acct, spec.baseAssetId);
      this.emitBalance(acct, spec.quoteAssetId);
    } else {
      this.emitBalance(acct, holdAsset);
    }
  }

  // ---------------------------------------------------------------- cancel

  private cancel(c: CancelOrder): void {
    let o: BookOrder | undefined;
    if (c.orderId !== undefined) {
      o = this.orders.get(c.orderId);
    } else if (c.cid !== undefined) {
      o = this.cids.get(cidKey(c.userId, c.cid));
    } else {
      return this.rejectRaw(
        "cancel",
        c.userId,
        null,
        null,
        "INVALID_ORDER_SPEC",
        `Cannot cancel: give an order id or a cid`,
      );
    }
    const ref = c.orderId !== undefined ? `order ${c.orderId}` : `cid "${c.cid}"`;
    if (o === undefined || (c.symbolId !== undefined && o.symbolId !== c.symbolId)) {
      return this.rejectRaw(
        "cancel",
        c.userId,
        c.orderId ?? null,
        c.cid ?? null,
        "UNKNOWN_ORDER",
        `Cannot cancel: ${ref} is not open`,
      );
    }
    if (o.userId !== c.userId) {
      return this.rejectRaw(
        "cancel",
        c.userId,
        c.orderId ?? null,
        c.cid ?? null,
        "NOT_ORDER_OWNER",
        `Cannot cancel: ${ref} belongs to another user`,
      );
    }
    const market = this.marketsById[o.symbolId] as Market;
    const book = this.books[o.symbolId] as OrderBook;
    this.removeResting(market, book, o, "CANCELED", "USER_CANCEL");
  }

  /** Takes a resting order out of the book, releases its hold, emits its end. */
  private removeResting(
    market: Market,
    book: OrderBook,
    o: BookOrder,
    status: OrderStatus,
    reason: EndReason,
  ): void {
    const side = book.sideOf(o.side);
    const level = side.unlink(o);
    this.releaseAndForget(market, o);
    this.emitOrder(o, status, reason);
    const acct = this.ledger.find(o.userId) as Account;
    this.emitBalance(acct, o.side === "BUY" ? market.spec.quoteAssetId : market.spec.baseAssetId);
    this.emitLevel(book, o.side, level);
    side.dropIfEmpty(level);
  }

  // ---------------------------------------------------------------- amend

  private amend(c: AmendOrder): void {
    const o = this.orders.get(c.orderId);
    const rej = (reason: RejectReason, msg: string) =>
      this.rejectRaw(
        "amend",
        c.userId,
        c.orderId ?? null,
        null,
        reason,
        `Cannot amend order ${c.orderId}: ${msg}`,
      );
    if (o === undefined) return rej("UNKNOWN_ORDER", "it is not open");
    if (o.userId !== c.userId) return rej("NOT_ORDER_OWNER", "it belongs to another user");
    if (c.qtyUnits === undefined && c.priceTicks === undefined) {
      return rej("AMEND_INVALID", "give a new qty or a new price");
    }
    const market = this.marketsById[o.symbolId] as Market;
    const spec = market.spec;
    const book = this.books[o.symbolId] as OrderBook;
    const acct = this.ledger.find(o.userId) as Account;
    const newQty = c.qtyUnits ?? o.qtyUnits;
    if (!isPositiveUnits(newQty)) {
      return rej(
        "INVALID_QTY",
        `qty must be a positive integer number of units, received ${newQty}`,
      );
    }
    if (!this.lotOk(newQty, spec, (r, m) => rej(r, m))) return;
    if (newQty <= o.filledUnits) {
      return rej("AMEND_INVALID", `new qty ${newQty} must exceed the filled qty ${o.filledUnits}`);
    }
    const newRemaining = newQty - o.filledUnits;
    const holdAsset = o.side === "BUY" ? spec.quoteAssetId : spec.baseAssetId;
    const held = o.holdUnits;

    if (c.priceTicks === undefined || c.priceTicks === o.priceTicks) {
      // Reduce in place, keeping time priority.
      if (newQty >= o.qtyUnits) {
        return rej(
          "AMEND_INVALID",
          `without a new price qty can only go down, received ${newQty} (current ${o.qtyUnits})`,
        );
      }
      const need = o.side === "BUY"
        ? quoteUnits(o.priceTicks, newRemaining, market.scale)
        : newRemaining;
      assert(held >= need, `order ${o.id} holds ${held}, needs ${need}`);
      const level = o.level as Level;
      level.totalUnits -= o.remainingUnits - newRemaining;
      o.remainingUnits = newRemaining;
      o.qtyUnits = newQty;
      if (held > need) this.ledger.release(acct, holdAsset, held - need);
      o.holdUnits = need;
      this.emitOrder(o, o.filledUnits > 0 ? "PARTIALLY_FILLED" : "NEW", null);
      this.emitBalance(acct, holdAsset);
      this.emitLevel(book, o.side, level);
      return;
    }

    // Replace the price: check everything before touching anything.
    const p = c.priceTicks;
    if (!isPositiveUnits(p) || p > spec.maxPriceTicks) {
      return rej(
        "INVALID_PRICE",
        `price must be a positive integer number of ticks up to ${spec.maxPriceTicks}, received ${p}`,
      );
    }
    const notional = quoteUnits(p, newQty, market.scale);
    if (notional === OVERFLOW) {
      return rej(
        "AMOUNT_OVERFLOW",
        `price ${p} × qty ${newQty} exceeds the largest representable amount`,
      );
    }
    if (notional < spec.minNotionalUnits) {
      return rej(
        "NOTIONAL_TOO_SMALL",
        `order value must be at least ${spec.minNotionalUnits} quote units, received ${notional}`,
      );
    }
    const need = o.side === "BUY" ? quoteUnits(p, newRemaining, market.scale) : newRemaining;
    if (need === OVERFLOW) {
      return rej(
        "AMOUNT_OVERFLOW",
        `price ${p} × qty ${newRemaining} exceeds the largest representable amount`,
      );
    }
    if (need > held && acct.available[holdAsset] < need - held) {
      return rej(
        "INSUFFICIENT_BALANCE",
        `needs ${need - held} more units of ${this.assetName(holdAsset)}, available ${
          acct.available[holdAsset]
        }`,
      );
    }
    if (o.postOnly && this.wouldTake(book, o.side, p)) {
      return rej("POST_ONLY_WOULD_TAKE", `a post-only order at price ${p} would take liquidity`);
    }

    // Leave the book, adjust the hold, then match as a new taker at the new price.
    const side = book.sideOf(o.side);
    const level = side.unlink(o);
    this.emitLevel(book, o.side, level);
    side.dropIfEmpty(level);
    this.orders.delete(o.id);
    if (o.cid !== null) this.cids.delete(cidKey(o.userId, o.cid));
    acct.openOrders--;
    o.holdUnits = 0;
    if (need > held) this.ledger.hold(acct, holdAsset, need - held);
    else if (held > need) this.ledger.release(acct, holdAsset, held - need);
    o.priceTicks = p;
    o.qtyUnits = newQty;
    o.remainingUnits = newRemaining;
    this.takerHold = need;
    this.takerStpExpired = false;
    this.takerBudgetSpent = false;
    this.emitBalance(acct, holdAsset);
    this.match(market, book, acct, o, p, -1);
    this.finishTaker(market, book, acct, o, true, "IOC_REMAINDER");
    assert(!book.isCrossed(), `book ${spec.name} is crossed after amending order ${o.id}`);
  }

  // ---------------------------------------------------------------- events

  private emitOrder(o: BookOrder, status: OrderStatus, reason: EndReason | null): void {
    const e: OrderUpdated = {
      type: "order",
      orderId: o.id,
      userId: o.userId,
      symbolId: o.symbolId,
      side: o.side,
      status,
      priceTicks: o.priceTicks,
      qtyUnits: o.qtyUnits,
      filledUnits: o.filledUnits,
      remainingUnits: status === "NEW" || status === "PARTIALLY_FILLED" ? o.remainingUnits : 0,
      quoteFilledUnits: o.quoteFilledUnits,
      cid: o.cid,
      reason,
    };
    this.out.push(e);
  }

  private emitBalance(acct: Account, assetId: number): void {
    this.out.push({
      type: "balance",
      userId: acct.userId,
      assetId,
      availableUnits: acct.available[assetId],
      frozenUnits: acct.frozen[assetId],
    });
  }

  private emitLevel(book: OrderBook, side: Side, level: Level): void {
    const e: BookDelta = {
      type: "book",
      symbolId: book.symbolId,
      updateId: ++book.updateId,
      side,
      priceTicks: level.priceTicks,
      qtyUnits: level.totalUnits,
    };
    this.out.push(e);
  }

  private rejectPlace(c: PlaceOrder, reason: RejectReason, message: string): void {
    this.rejectRaw(
      "place",
      c.userId,
      c.orderId ?? null,
      c.cid ?? null,
      reason,
      `Cannot place order: ${message}`,
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
    this.out.push({
      type: "rejected",
      command,
      code: RejectCode[reason],
      reason,
      message,
      userId,
      orderId,
      cid,
    });
  }

  private assetName(assetId: number): string {
    return this.assetsById[assetId]?.name ?? String(assetId);
  }

  // ---------------------------------------------------------------- queries

  /** Available and frozen units of one user and asset (zeros if unknown). */
  balance(userId: number, assetId: number): { availableUnits: number; frozenUnits: number } {
    const a = this.ledger.find(userId);
    return { availableUnits: a?.available[assetId] ?? 0, frozenUnits: a?.frozen[assetId] ?? 0 };
  }

  /** An open order, or undefined. */
  openOrder(orderId: number): OpenOrderView | undefined {
    const o = this.orders.get(orderId);
    return o === undefined ? undefined : this.view(o);
  }

  /** Resting orders of a symbol: bids best first, then asks best first, FIFO in a level. */
  *restingOrders(symbolId: number): Generator<OpenOrderView> {
    const book = this.books[symbolId];
    if (book === undefined) return;
    for (const o of book.ordersOf("BUY")) yield this.view(o);
    for (const o of book.ordersOf("SELL")) yield this.view(o);
  }

  private view(o: BookOrder): OpenOrderView {
    return {
      orderId: o.id,
      userId: o.userId,
      symbolId: o.symbolId,
      side: o.side,
      priceTicks: o.priceTicks,
      qtyUnits: o.qtyUnits,
      filledUnits: o.filledUnits,
      remainingUnits: o.remainingUnits,
      quoteFilledUnits: o.quoteFilledUnits,
      status: o.filledUnits > 0 ? "PARTIALLY_FILLED" : "NEW",
      stp: o.stp,
      cid: o.cid,
      postOnly: o.postOnly,
      holdUnits: o.holdUnits,
    };
  }

  /**
   * Full audit of every invariant; O(orders + accounts). Throws InvariantError on the
   * first violation. The per-command checks (crossed book, negative balance, hold
   * arithmetic) run inside apply; this one is for tests, recovery and periodic audits.
   */
  checkInvariants(): void {
    const slots = this.ledger.assetSlots;
    const frozenByUser = new Map<number, Float64Array>();
    let open = 0;
    const openByUser = new Map<number, number>();
    for (const book of this.books) {
      if (book === undefined) continue;
      const market = this.marketsById[book.symbolId] as Market;
      assert(!book.isCrossed(), `book ${market.spec.name} is crossed`);
      for (const side of [book.bids, book.asks]) {
        for (let i = 0; i < side.levels.length; i++) {
          const level = side.levels[i];
          if (i > 0) {
            assert(
              side.better(level.priceTicks, side.levels[i - 1].priceTicks),
              `levels of ${market.spec.name} ${side.side} out of order`,
            );
          }
          assert(
            side.byPrice.get(level.priceTicks) === level,
            `level ${level.priceTicks} missing from index`,
          );
          let total = 0;
          let count = 0;
          for (let o = level.head; o !== null; o = o.next) {
            assert(
              o.level === level && o.priceTicks === level.priceTicks,
              `order ${o.id} misplaced`,
            );
            assert(
              o.remainingUnits > 0 && o.filledUnits + o.remainingUnits === o.qtyUnits,
              `order ${o.id} quantities do not add up`,
            );
            assert(this.orders.get(o.id) === o, `order ${o.id} missing from the order index`);
            const held = o.holdUnits;
            const need = o.side === "BUY"
              ? quoteUnits(o.priceTicks, o.remainingUnits, market.scale)
              : o.remainingUnits;
            assert(held >= need, `order ${o.id} holds ${held}, needs ${need}`);
            let f = frozenByUser.get(o.userId);
            if (f === undefined) frozenByUser.set(o.userId, f = new Float64Array(slots));
            f[o.side === "BUY" ? market.spec.quoteAssetId : market.spec.baseAssetId] += held;
            openByUser.set(o.userId, (openByUser.get(o.userId) ?? 0) + 1);
            total += o.remainingUnits;
            count++;
          }
          assert(
            count > 0 && count === level.count,
            `level ${level.priceTicks} count ${level.count}, found ${count}`,
          );
          assert(
            total === level.totalUnits,
            `level ${level.priceTicks} total ${level.totalUnits}, found ${total}`,
          );
          open += count;
        }
        assert(
          side.byPrice.size === side.levels.length,
          `level index of ${market.spec.name} ${side.side} out of sync`,
        );
      }
    }
    assert(open === this.orders.size, `${this.orders.size} indexed orders, ${open} in books`);
    const sums = new Float64Array(slots);
    for (const acct of this.ledger.accounts.values()) {
      const f = frozenByUser.get(acct.userId);
      assert(
        acct.openOrders === (openByUser.get(acct.userId) ?? 0),
        `user ${acct.userId} open order count is wrong`,
      );
      for (let a = 0; a < slots; a++) {
        assert(
          acct.available[a] >= 0,
          `user ${acct.userId} available ${acct.available[a]} of asset ${a} is negative`,
        );
        const expected = f ? f[a] : 0;
        assert(
          acct.frozen[a] === expected,
          `user ${acct.userId} frozen ${
            acct.frozen[a]
          } of asset ${a}, but open orders hold ${expected}`,
        );
        sums[a] += acct.available[a] + acct.frozen[a];
      }
    }
    for (let a = 0; a < slots; a++) {
      assert(this.ledger.fees[a] >= 0, `fee account of asset ${a} is negative`);
      assert(
        sums[a] + this.ledger.fees[a] === this.ledger.supply[a],
        `asset ${a}: users ${sums[a]} + fees ${this.ledger.fees[a]} != deposits - withdrawals ${
          this.ledger.supply[a]
        }`,
      );
    }
  }
}

function cidKey(userId: number, cid: string): string {
  return `${userId}:${cid}`;
}

function isPositiveUnits(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v > 0;
}

function isUserId(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}
