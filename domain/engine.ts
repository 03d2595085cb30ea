/**
 * The exchange core: `apply(command)` validates, holds funds (risk), matches with
 * price-time priority (fills at the maker's price), settles each fill with fees, releases
 * what an ended order still holds, and returns the ordered events. Deterministic: the
 * same commands always give the same events and the same state. Pure: no clock, no
 * randomness, no I/O.
 *
 * Risk is not matching: the books ({@link OrderBook}) never see balances. Balances live
 * in the {@link Ledger}; what each open order still holds is a field of its record that
 * only the risk and settlement steps here read and write.
 *
 * Events are written in binary form into an {@link EventBuffer} ({@link Engine.execute});
 * {@link Engine.apply} decodes them into objects.
 */

import { assert, fail } from "./assert.ts";
import type {
  AmendOrder,
  CancelOrder,
  Command,
  Deposit,
  PlaceOrder,
  Withdraw,
} from "./commands.ts";
import type { CommandRejected, EngineEvent } from "./events.ts";
import { Account, Ledger } from "./ledger.ts";
import {
  DEFAULT_MAX_OPEN_ORDERS_PER_USER,
  MAX_ASSET_ID,
  MAX_CID_LENGTH,
  MAX_DEPTH_LEVELS,
  MAX_UNITS,
} from "./limits.ts";
import type { AssetSpec, Market, SymbolSpec } from "./market_config.ts";
import { buildMarkets } from "./market_config.ts";
import { feeUnits, maxQtyForQuote, OVERFLOW, quoteUnits } from "./money.ts";
import { END_REASONS, EventBuffer } from "./event_buffer.ts";
import { IdMap } from "./id_map.ts";
import { BookSide, type DepthSnapshot, Level, OrderBook } from "./order_book.ts";
import { NIL, OrderStore } from "./order_store.ts";
import type { RejectReason } from "./reject_codes.ts";
import type { EndReason, OrderStatus, Side, StpMode, TimeInForce } from "./types.ts";
import { STP_MODES } from "./types.ts";

export interface EngineOptions {
  assets: readonly AssetSpec[];
  symbols: readonly SymbolSpec[];
  /** Bound on a user's open orders (default 10,000). */
  maxOpenOrdersPerUser?: number;
  /**
   * Run the full audit ({@link Engine.checkInvariants}: frozen = what open orders hold,
   * conservation per asset, book structure) after every this many commands; 0 (default)
   * leaves it to the caller. The cheap invariants (no crossed book, no negative balance,
   * hold arithmetic) are checked on every command regardless.
   */
  auditEveryCommands?: number;
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
  /** Records of open orders (and of the taker being matched), by slot. */
  readonly store = new OrderStore();
  /** Slots of open orders by order id. */
  readonly orders = new IdMap();
  /** Slots of open orders by `${userId}:${cid}`. */
  readonly cids = new Map<string, number>();
  readonly maxOpenOrdersPerUser: number;
  readonly auditEveryCommands: number;

  nextOrderId = 1;
  nextTradeId = 1;
  /** Number of commands applied. */
  seq = 0;

  private readonly out = new EventBuffer();
  // State of the taker while one place or amend is being matched.
  private takerHold = 0;
  private takerStpExpired = false;
  private takerBudgetSpent = false;

  constructor(opts: EngineOptions) {
    const { assetsById, marketsById } = buildMarkets(opts.assets, opts.symbols);
    this.assetsById = assetsById;
    this.marketsById = marketsById;
    for (const m of marketsById) {
      if (m) this.books[m.spec.id] = new OrderBook(m.spec.id, this.store);
    }
    this.ledger = new Ledger(Math.min(assetsById.length, MAX_ASSET_ID + 1));
    this.maxOpenOrdersPerUser = opts.maxOpenOrdersPerUser ?? DEFAULT_MAX_OPEN_ORDERS_PER_USER;
    this.auditEveryCommands = opts.auditEveryCommands ?? 0;
  }

  /**
   * Applies one command and returns its events in order, as objects. Business rejections
   * are `rejected` events; a thrown error means a broken invariant (a bug).
   */
  apply(cmd: Command): EngineEvent[] {
    return this.execute(cmd).decode();
  }

  /**
   * Applies one command and returns its events in binary form: the engine's own buffer,
   * valid until the next call (copy or decode what you keep). The hot path of stages and
   * benchmarks; {@link apply} is this plus decoding.
   */
  execute(cmd: Command): EventBuffer {
    this.out.reset();
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
    if (this.auditEveryCommands > 0 && this.seq % this.auditEveryCommands === 0) {
      this.checkInvariants();
    }
    return this.out;
  }

  // ---------------------------------------------------------------- transfers

  private deposit(c: Deposit): void {
    if (this.transferProblem(c, "deposit")) return;
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
    if (this.transferProblem(c, "withdraw")) return;
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
      if (notional < spec.minNotionalUnits || notional === 0) {
        return this.rejectPlace(
          c,
          "NOTIONAL_TOO_SMALL",
          `order value must be at least ${
            Math.max(1, spec.minNotionalUnits)
          } quote units, received ${notional}`,
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
      // Every id below the next free one has been used (open or closed): an id is
      // never given to two orders.
      if (c.orderId < this.nextOrderId) {
        return this.rejectPlace(
          c,
          "DUPLICATE_ORDER_ID",
          `order id ${c.orderId} is already used (ids must be at least ${this.nextOrderId})`,
        );
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
        holdUnits === 0
          ? `a MARKET BUY by qty spends available ${this.assetName(holdAsset)}, available 0`
          : `needs ${holdUnits} units of ${this.assetName(holdAsset)}, available ${available}`,
      );
    }

    // Accepted.
    if (orderId >= this.nextOrderId) this.nextOrderId = orderId + 1;
    this.ledger.hold(acct, holdAsset, holdUnits);
    this.out.accepted(
      orderId,
      userId,
      spec.id,
      !isBuy,
      !isLimit,
      tif,
      postOnly,
      priceTicks,
      qtyUnits,
      quoteBudget,
      stp,
      cid,
      holdAsset,
      holdUnits,
    );
    this.emitBalance(acct, holdAsset);

    const book = this.books[spec.id] as OrderBook;
    const slot = this.store.alloc(
      orderId,
      userId,
      spec.id,
      side,
      priceTicks,
      qtyUnits,
      qtyUnits === 0 ? MAX_UNITS : qtyUnits,
      stp,
      cid,
      postOnly,
      this.seq,
    );
    this.takerHold = holdUnits;
    this.takerStpExpired = false;
    this.takerBudgetSpent = false;

    if (postOnly && this.wouldTake(book, side, priceTicks)) {
      return this.endTaker(market, acct, slot, "REJECTED", "POST_ONLY_WOULD_TAKE");
    }
    if (tif === "FOK" && !this.canFillFully(book, slot)) {
      return this.endTaker(market, acct, slot, "EXPIRED", "FOK_NOT_FILLED");
    }
    const limit = isLimit ? priceTicks : isBuy ? Infinity : 0;
    this.match(market, book, acct, slot, limit, budget);
    if (tif === "FOK" && this.store.remainingOf(slot) !== 0) {
      fail(`FOK order ${orderId} passed its pre-check but did not fill`);
    }
    this.finishTaker(
      market,
      book,
      acct,
      slot,
      isLimit && tif === "GTC",
      isLimit ? "IOC_REMAINDER" : "MARKET_REMAINDER",
    );
    if (book.isCrossed()) fail(`book ${spec.name} is crossed after order ${orderId}`);
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
    takerAcct: Account,
    taker: number,
    limit: number,
    budget: number,
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
          this.expireMaker(market, opp, level, o);
          if (stp === "EXPIRE_BOTH") {
            this.takerStpExpired = true;
            break;
          }
          o = after;
          continue;
        }
        const rest = s.remainingOf(o);
        const f = rest < cap ? rest : cap;
        const paid = this.fill(market, takerAcct, taker, opp, level, o, f);
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
   * Settles one fill of `f` units between order `taker` and resting order `maker` at the
   * maker's price; returns the quote amount paid.
   */
  private fill(
    market: Market,
    takerAcct: Account,
    taker: number,
    makerSide: BookSide,
    level: Level,
    maker: number,
    f: number,
  ): number {
    const s = this.store;
    const spec = market.spec;
    const price = level.priceTicks;
    const paid = quoteUnits(price, f, market.scale);
    if (paid === OVERFLOW) fail(`fill ${f} at ${price} overflows`);
    const baseId = spec.baseAssetId;
    const quoteId = spec.quoteAssetId;
    const ledger = this.ledger;
    const makerUser = s.userOf(maker);
    const makerAcct = makerUser === takerAcct.userId
      ? takerAcct
      : ledger.find(makerUser) as Account;
    const takerIsBuy = !s.isSell(taker);
    let buyerFee: number;
    let sellerFee: number;

    // The book's side of the fill.
    level.totalUnits -= f;
    s.addFill(maker, f, paid);
    s.addFill(taker, f, paid);

    // The money.
    let makerHold = s.holdOf(maker);
    if (takerIsBuy) {
      // The maker sells base and receives quote.
      sellerFee = feeUnits(paid, spec.makerFeePpm);
      ledger.spendFrozen(makerAcct, baseId, f);
      makerHold -= f;
      ledger.credit(makerAcct, quoteId, paid - sellerFee);
      ledger.creditFee(quoteId, sellerFee);
      // The taker buys base and pays quote from its hold.
      buyerFee = feeUnits(f, spec.takerFeePpm);
      ledger.spendFrozen(takerAcct, quoteId, paid);
      this.takerHold -= paid;
      const limit = s.priceOf(taker);
      if (limit !== 0 && limit !== price) {
        // A limit buy held at its limit price: release the price improvement.
        const improvement = quoteUnits(limit, f, market.scale) - paid;
        if (improvement > 0) {
          ledger.release(takerAcct, quoteId, improvement);
          this.takerHold -= improvement;
        }
      }
      ledger.credit(takerAcct, baseId, f - buyerFee);
      ledger.creditFee(baseId, buyerFee);
    } else {
      // The maker buys base at its own price: no improvement for a maker.
      buyerFee = feeUnits(f, spec.makerFeePpm);
      ledger.spendFrozen(makerAcct, quoteId, paid);
      makerHold -= paid;
      ledger.credit(makerAcct, baseId, f - buyerFee);
      ledger.creditFee(baseId, buyerFee);
      // The taker sells base.
      sellerFee = feeUnits(paid, spec.takerFeePpm);
      ledger.spendFrozen(takerAcct, baseId, f);
      this.takerHold -= f;
      ledger.credit(takerAcct, quoteId, paid - sellerFee);
      ledger.creditFee(quoteId, sellerFee);
    }
    if (!(makerHold >= 0 && this.takerHold >= 0)) {
      fail(`negative hold after a fill of order ${s.idOf(maker)}`);
    }

    this.out.trade(
      this.nextTradeId++,
      spec.id,
      price,
      f,
      paid,
      !takerIsBuy,
      s.idOf(maker),
      s.idOf(taker),
      makerUser,
      takerAcct.userId,
      buyerFee,
      sellerFee,
    );

    if (s.remainingOf(maker) === 0) {
      // Filled: leave the book (the level already lost f) and release any dust.
      makerSide.unlink(maker, level);
      if (makerHold > 0) ledger.release(makerAcct, takerIsBuy ? baseId : quoteId, makerHold);
      s.setHold(maker, 0);
      this.emitOrder(maker, "FILLED", null);
      this.forget(maker, makerAcct);
    } else {
      s.setHold(maker, makerHold);
      this.emitOrder(maker, "PARTIALLY_FILLED", null);
    }
    this.emitBalance(makerAcct, baseId);
    this.emitBalance(makerAcct, quoteId);
    return paid;
  }

  /** Ends a resting order of the taker's own user under STP (EXPIRE_MAKER, EXPIRE_BOTH). */
  private expireMaker(market: Market, side: BookSide, level: Level, o: number): void {
    // The level's delta is emitted by the match loop once it is done with the level.
    side.unlink(o, level);
    const acct = this.releaseHold(market, o);
    this.emitOrder(o, "EXPIRED", "STP_MAKER");
    this.emitBalance(
      acct,
      this.store.isSell(o) ? market.spec.baseAssetId : market.spec.quoteAssetId,
    );
    this.forget(o, acct);
  }

  /** Releases everything open order `o` holds; returns its account. */
  private releaseHold(market: Market, o: number): Account {
    const s = this.store;
    const acct = this.ledger.find(s.userOf(o)) as Account;
    const held = s.holdOf(o);
    const asset = s.isSell(o) ? market.spec.baseAssetId : market.spec.quoteAssetId;
    if (held > 0) this.ledger.release(acct, asset, held);
    s.setHold(o, 0);
    return acct;
  }

  /** Removes a closed order from the indexes and frees its slot. */
  private forget(o: number, acct: Account): void {
    const s = this.store;
    this.orders.delete(s.idOf(o));
    const cid = s.cid[o];
    if (cid !== null) this.cids.delete(cidKey(s.userOf(o), cid));
    acct.openOrders--;
    s.free(o);
  }

  /** After matching: rest the remainder of a GTC order, or end the taker. */
  private finishTaker(
    market: Market,
    book: OrderBook,
    acct: Account,
    taker: number,
    canRest: boolean,
    remainderReason: EndReason,
  ): void {
    const s = this.store;
    const remaining = s.remainingOf(taker);
    if (remaining === 0) return this.endTaker(market, acct, taker, "FILLED", null);
    if (s.qtyOf(taker) === 0 && this.takerBudgetSpent && s.filledOf(taker) > 0) {
      // A market buy by quote amount that spent its budget is filled.
      return this.endTaker(market, acct, taker, "FILLED", null);
    }
    if (this.takerStpExpired) return this.endTaker(market, acct, taker, "EXPIRED", "STP_TAKER");
    if (!canRest) return this.endTaker(market, acct, taker, "EXPIRED", remainderReason);

    // Rest in the book.
    const spec = market.spec;
    const isSell = s.isSell(taker);
    if (!isSell) {
      const need = quoteUnits(s.priceOf(taker), remaining, market.scale);
      if (!(this.takerHold >= need)) {
        fail(`order ${s.idOf(taker)} holds ${this.takerHold}, needs ${need}`);
      }
    } else {
      if (this.takerHold !== remaining) {
        fail(`sell order ${s.idOf(taker)} holds ${this.takerHold}, has ${remaining} left`);
      }
    }
    s.setSeq(taker, this.seq);
    s.setHold(taker, this.takerHold);
    const side = isSell ? book.asks : book.bids;
    const level = side.add(taker);
    this.orders.set(s.idOf(taker), taker);
    const cid = s.cid[taker];
    if (cid !== null) this.cids.set(cidKey(s.userOf(taker), cid), taker);
    acct.openOrders++;
    const filled = s.filledOf(taker) > 0;
    this.emitOrder(taker, filled ? "PARTIALLY_FILLED" : "NEW", null);
    if (filled) {
      this.emitBalance(acct, spec.baseAssetId);
      this.emitBalance(acct, spec.quoteAssetId);
    }
    this.emitLevel(book, side.side, level);
  }

  /** Ends a taker that does not rest: release what it still holds, emit its final state. */
  private endTaker(
    market: Market,
    acct: Account,
    taker: number,
    status: OrderStatus,
    reason: EndReason | null,
  ): void {
    const s = this.store;
    const spec = market.spec;
    const holdAsset = s.isSell(taker) ? spec.baseAssetId : spec.quoteAssetId;
    if (this.takerHold > 0) this.ledger.release(acct, holdAsset, this.takerHold);
    this.takerHold = 0;
    this.emitOrder(taker, status, reason);
    if (s.filledOf(taker) > 0) {
      this.emitBalance(acct, spec.baseAssetId);
      this.emitBalance(acct, spec.quoteAssetId);
    } else {
      this.emitBalance(acct, holdAsset);
    }
    s.free(taker);
  }

  // ---------------------------------------------------------------- cancel

  private cancel(c: CancelOrder): void {
    let o: number;
    if (c.orderId !== undefined) {
      o = typeof c.orderId === "number" && Number.isSafeInteger(c.orderId)
        ? this.orders.get(c.orderId)
        : NIL;
    } else if (c.cid !== undefined) {
      o = this.cids.get(cidKey(c.userId, c.cid)) ?? NIL;
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
    const s = this.store;
    if (o === NIL || (c.symbolId !== undefined && s.symbolOf(o) !== c.symbolId)) {
      const ref = c.orderId !== undefined ? `order ${c.orderId}` : `cid "${c.cid}"`;
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
      const ref = c.orderId !== undefined ? `order ${c.orderId}` : `cid "${c.cid}"`;
      return this.rejectRaw(
        "cancel",
        c.userId,
        c.orderId ?? null,
        c.cid ?? null,
        "NOT_ORDER_OWNER",
        `Cannot cancel: ${ref} belongs to another user`,
      );
    }
    const symbolId = s.symbolOf(o);
    this.removeResting(this.marketsById[symbolId] as Market, this.books[symbolId] as OrderBook, o);
  }

  /** Takes a resting order out of the book on a user's cancel, releases its hold. */
  private removeResting(market: Market, book: OrderBook, o: number): void {
    const s = this.store;
    const side = s.isSell(o) ? book.asks : book.bids;
    const level = side.levelOf(o);
    side.unlink(o, level);
    const acct = this.releaseHold(market, o);
    this.emitOrder(o, "CANCELED", "USER_CANCEL");
    this.emitBalance(acct, s.isSell(o) ? market.spec.baseAssetId : market.spec.quoteAssetId);
    this.emitLevel(book, side.side, level);
    side.dropIfEmpty(level);
    this.forget(o, acct);
  }

  // ---------------------------------------------------------------- amend

  private amend(c: AmendOrder): void {
    const s = this.store;
    const o = typeof c.orderId === "number" && Number.isSafeInteger(c.orderId)
      ? this.orders.get(c.orderId)
      : NIL;
    const rej = (reason: RejectReason, msg: string) =>
      this.rejectRaw(
        "amend",
        c.userId,
        c.orderId ?? null,
        null,
        reason,
        `Cannot amend order ${c.orderId}: ${msg}`,
      );
    if (o === NIL) return rej("UNKNOWN_ORDER", "it is not open");
    if (s.userOf(o) !== c.userId) return rej("NOT_ORDER_OWNER", "it belongs to another user");
    if (c.qtyUnits === undefined && c.priceTicks === undefined) {
      return rej("AMEND_INVALID", "give a new qty or a new price");
    }
    const symbolId = s.symbolOf(o);
    const market = this.marketsById[symbolId] as Market;
    const spec = market.spec;
    const book = this.books[symbolId] as OrderBook;
    const acct = this.ledger.find(s.userOf(o)) as Account;
    const isSell = s.isSell(o);
    const oldQty = s.qtyOf(o);
    const filled = s.filledOf(o);
    const newQty = c.qtyUnits ?? oldQty;
    if (!isPositiveUnits(newQty)) {
      return rej(
        "INVALID_QTY",
        `qty must be a positive integer number of units, received ${newQty}`,
      );
    }
    if (!this.lotOk(newQty, spec, (r, m) => rej(r, m))) return;
    if (newQty <= filled) {
      return rej("AMEND_INVALID", `new qty ${newQty} must exceed the filled qty ${filled}`);
    }
    const newRemaining = newQty - filled;
    const holdAsset = isSell ? spec.baseAssetId : spec.quoteAssetId;
    const held = s.holdOf(o);
    const side = isSell ? book.asks : book.bids;

    if (c.priceTicks === undefined || c.priceTicks === s.priceOf(o)) {
      // Reduce in place, keeping time priority.
      if (newQty >= oldQty) {
        return rej(
          "AMEND_INVALID",
          `without a new price qty can only go down, received ${newQty} (current ${oldQty})`,
        );
      }
      const value = quoteUnits(s.priceOf(o), newQty, market.scale);
      if (value < spec.minNotionalUnits || value === 0) {
        return rej(
          "NOTIONAL_TOO_SMALL",
          `order value must be at least ${
            Math.max(1, spec.minNotionalUnits)
          } quote units, received ${value}`,
        );
      }
      const need = isSell ? newRemaining : quoteUnits(s.priceOf(o), newRemaining, market.scale);
      if (!(held >= need)) fail(`order ${c.orderId} holds ${held}, needs ${need}`);
      const level = side.levelOf(o);
      level.totalUnits -= s.remainingOf(o) - newRemaining;
      s.setRemaining(o, newRemaining);
      s.setQty(o, newQty);
      if (held > need) this.ledger.release(acct, holdAsset, held - need);
      s.setHold(o, need);
      this.emitOrder(o, filled > 0 ? "PARTIALLY_FILLED" : "NEW", null);
      this.emitBalance(acct, holdAsset);
      this.emitLevel(book, side.side, level);
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
    if (notional < spec.minNotionalUnits || notional === 0) {
      return rej(
        "NOTIONAL_TOO_SMALL",
        `order value must be at least ${spec.minNotionalUnits} quote units, received ${notional}`,
      );
    }
    const need = isSell ? newRemaining : quoteUnits(p, newRemaining, market.scale);
    if (need > held && acct.available[holdAsset] < need - held) {
      return rej(
        "INSUFFICIENT_BALANCE",
        `needs ${need - held} more units of ${this.assetName(holdAsset)}, available ${
          acct.available[holdAsset]
        }`,
      );
    }
    if (s.postOnly(o) && this.wouldTake(book, s.side(o), p)) {
      return rej("POST_ONLY_WOULD_TAKE", `a post-only order at price ${p} would take liquidity`);
    }

    // Leave the book, adjust the hold, then match as a taker at the new price.
    const level = side.levelOf(o);
    side.unlink(o, level);
    this.emitLevel(book, side.side, level);
    side.dropIfEmpty(level);
    this.orders.delete(s.idOf(o));
    const cid = s.cid[o];
    if (cid !== null) this.cids.delete(cidKey(s.userOf(o), cid));
    acct.openOrders--;
    s.setHold(o, 0);
    if (need > held) this.ledger.hold(acct, holdAsset, need - held);
    else if (held > need) this.ledger.release(acct, holdAsset, held - need);
    s.setPrice(o, p);
    s.setQty(o, newQty);
    s.setRemaining(o, newRemaining);
    this.takerHold = need;
    this.takerStpExpired = false;
    this.takerBudgetSpent = false;
    this.emitBalance(acct, holdAsset);
    this.match(market, book, acct, o, p, -1);
    this.finishTaker(market, book, acct, o, true, "IOC_REMAINDER");
    if (book.isCrossed()) {
      fail(`book ${spec.name} is crossed after amending order ${c.orderId}`);
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
    );
  }

  private emitBalance(acct: Account, assetId: number): void {
    this.out.balance(acct.userId, assetId, acct.available[assetId], acct.frozen[assetId]);
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
    this.out.rejected(command, reason, userId, orderId, cid, message);
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

  /** Number of open orders. */
  get openOrderCount(): number {
    return this.orders.size;
  }

  /** An open order, or undefined. */
  openOrder(orderId: number): OpenOrderView | undefined {
    const o = this.orders.get(orderId);
    return o === NIL ? undefined : this.view(o);
  }

  /** An open order by its user and client order id, or undefined. */
  openOrderByCid(userId: number, cid: string): OpenOrderView | undefined {
    const o = this.cids.get(cidKey(userId, cid));
    return o === undefined ? undefined : this.view(o);
  }

  /** Resting orders of a symbol: bids best first, then asks best first, FIFO in a level. */
  *restingOrders(symbolId: number): Generator<OpenOrderView> {
    const book = this.books[symbolId];
    if (book === undefined) return;
    for (const o of book.ordersOf("BUY")) yield this.view(o);
    for (const o of book.ordersOf("SELL")) yield this.view(o);
  }

  /** Aggregated depth of a symbol, best first, or undefined for an unknown symbol. */
  depth(symbolId: number, limit: number): DepthSnapshot | undefined {
    return this.books[symbolId]?.depth(Math.max(0, Math.min(limit, MAX_DEPTH_LEVELS)));
  }

  private view(o: number): OpenOrderView {
    const s = this.store;
    return {
      orderId: s.idOf(o),
      userId: s.userOf(o),
      symbolId: s.symbolOf(o),
      side: s.side(o),
      priceTicks: s.priceOf(o),
      qtyUnits: s.qtyOf(o),
      filledUnits: s.filledOf(o),
      remainingUnits: s.remainingOf(o),
      quoteFilledUnits: s.quoteFilledOf(o),
      status: s.filledOf(o) > 0 ? "PARTIALLY_FILLED" : "NEW",
      stp: s.stp(o),
      cid: s.cid[o],
      postOnly: s.postOnly(o),
      holdUnits: s.holdOf(o),
    };
  }

  /**
   * Full audit of every invariant; O(orders + accounts). Throws InvariantError on the
   * first violation. The per-command checks (crossed book, negative balance, hold
   * arithmetic) run inside apply; this one is for tests, recovery and periodic audits.
   */
  checkInvariants(): void {
    const s = this.store;
    const slots = this.ledger.assetSlots;
    const frozenByUser = new Map<number, Float64Array>();
    const openByUser = new Map<number, number>();
    let open = 0;
    for (const book of this.books) {
      if (book === undefined) continue;
      const market = this.marketsById[book.symbolId] as Market;
      const name = market.spec.name;
      assert(!book.isCrossed(), `book ${name} is crossed`);
      for (const side of [book.bids, book.asks]) {
        for (let i = 0; i < side.levels.length; i++) {
          const level = side.levels[i];
          if (i > 0) {
            assert(
              side.better(level.priceTicks, side.levels[i - 1].priceTicks),
              `levels of ${name} ${side.side} out of order`,
            );
          }
          assert(
            side.byPrice.get(level.priceTicks) === level,
            `level ${level.priceTicks} not indexed`,
          );
          let total = 0;
          let count = 0;
          let prev = NIL;
          for (let o = level.head; o !== NIL; o = s.nextOf(o)) {
            const id = s.idOf(o);
            assert(s.inUse(o) && s.prevOf(o) === prev, `order ${id} badly linked`);
            assert(
              s.side(o) === side.side && s.priceOf(o) === level.priceTicks,
              `order ${id} misplaced`,
            );
            assert(s.symbolOf(o) === book.symbolId, `order ${id} in the wrong book`);
            assert(
              s.remainingOf(o) > 0 && s.filledOf(o) + s.remainingOf(o) === s.qtyOf(o),
              `order ${id} quantities do not add up`,
            );
            assert(this.orders.get(id) === o, `order ${id} missing from the order index`);
            const cid = s.cid[o];
            if (cid !== null) {
              assert(
                this.cids.get(cidKey(s.userOf(o), cid)) === o,
                `cid of order ${id} not indexed`,
              );
            }
            const held = s.holdOf(o);
            const need = s.isSell(o)
              ? s.remainingOf(o)
              : quoteUnits(s.priceOf(o), s.remainingOf(o), market.scale);
            assert(held >= need, `order ${id} holds ${held}, needs ${need}`);
            const user = s.userOf(o);
            let f = frozenByUser.get(user);
            if (f === undefined) frozenByUser.set(user, f = new Float64Array(slots));
            f[s.isSell(o) ? market.spec.baseAssetId : market.spec.quoteAssetId] += held;
            openByUser.set(user, (openByUser.get(user) ?? 0) + 1);
            total += s.remainingOf(o);
            count++;
            prev = o;
          }
          assert(level.tail === prev, `level ${level.priceTicks} tail is wrong`);
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
          `level index of ${name} ${side.side} out of sync`,
        );
      }
    }
    assert(open === this.orders.size, `${this.orders.size} indexed orders, ${open} in books`);
    assert(open === s.size, `${s.size} order slots in use, ${open} in books`);
    assert(this.cids.size <= open, `${this.cids.size} cids indexed for ${open} open orders`);
    const sums = new Float64Array(slots);
    for (const acct of this.ledger.accounts.values()) {
      const f = frozenByUser.get(acct.userId);
      assert(
        acct.openOrders === (openByUser.get(acct.userId) ?? 0),
        `user ${acct.userId} counts ${acct.openOrders} open orders, books hold ${
          openByUser.get(acct.userId) ?? 0
        }`,
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

function isPositiveUnits(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v > 0;
}

function isUserId(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}
