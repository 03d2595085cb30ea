/**
 * The account shard: the only code that touches balances (ARCHITECTURE.md section 3,
 * exchange-core's R1 and R2). Acquiring calls `acquire*`: validation against the
 * symbol's filters, order ids, and the hold of funds before matching (R1). The matcher
 * calls the {@link SettlementSink} methods for every money effect of matching: fills
 * settled with fees and price improvement, and the release of whatever an ended order
 * still holds (R2). Both sides share one {@link Ledger}.
 *
 * Events (accepted, rejected, balance changed) are written to `out`, which the caller
 * points at its own buffer before calling.
 */

import { assert, fail } from "./assert.ts";
import type { AmendOrder, CancelOrder, Deposit, PlaceOrder, Withdraw } from "./commands.ts";
import type { CommandRejected } from "./events.ts";
import { EventBuffer } from "./event_buffer.ts";
import { HoldStore } from "./hold_store.ts";
import { IdIndex } from "./id_index.ts";
import { Account, Ledger } from "./ledger.ts";
import {
  DEFAULT_MAX_OPEN_ORDERS_PER_USER,
  MAX_CID_LENGTH,
  MAX_OPEN_ORDERS,
  MAX_UNITS,
} from "./limits.ts";
import type { AssetSpec, Market, SymbolSpec } from "./market_config.ts";
import type { MatchAmend, MatchCancel, MatchPlace, SettlementSink } from "./match_input.ts";
import { OVERFLOW, quoteUnits } from "./money.ts";
import type { RejectReason } from "./reject_codes.ts";
import type { TimeInForce } from "./types.ts";
import { STP_MODES } from "./types.ts";

const CID_RE = /^[A-Za-z0-9._:\/-]+$/;

/** An accepted place order: what the command WAL records and replay applies again. */
export interface PlaceDecision extends Omit<MatchPlace, "riskRef"> {
  /** Budget of a market buy by quote amount (for the accepted event), else 0. */
  quoteUnits: number;
  /** Units held at acceptance (quote for a buy, base for a sell). */
  holdUnits: number;
}

/** An accepted amend: what the command WAL records and replay applies again. */
export type AmendDecision = Omit<MatchAmend, "riskRef">;

export interface RiskOptions {
  assetsById: readonly (AssetSpec | undefined)[];
  marketsById: readonly (Market | undefined)[];
  assetSlots: number;
  /** Bound on a user's open LIMIT GTC orders (default 10,000). */
  maxOpenOrdersPerUser?: number;
  /**
   * Finds the hold slot of a resting order by id (for amends), or -1. When the matcher
   * lives in the same thread it already indexes resting orders and can answer; without
   * it the shard keeps its own index.
   */
  locateResting?: (orderId: number) => number;
}

export class Risk implements SettlementSink {
  readonly assetsById: readonly (AssetSpec | undefined)[];
  readonly marketsById: readonly (Market | undefined)[];
  readonly ledger: Ledger;
  /** One record per order from acceptance to its end; the slot is the matcher's riskRef. */
  readonly holds = new HoldStore();
  /** Hold slots of resting orders by order id, unless `locateResting` answers instead. */
  readonly orderIndex: IdIndex | null;
  private readonly locateResting: (orderId: number) => number;
  /** Hold slots by `${userId}:${cid}`, for orders with a client order id. */
  readonly cids = new Map<string, number>();
  readonly maxOpenOrdersPerUser: number;
  nextOrderId = 1;
  /**
   * Sequence of the last command whose settlement was applied: a settlement stage that
   * restarts and is handed commands again skips the ones at or below it (exactly once).
   */
  lastSettledSeq = 0;
  private readonly cancelOut: MatchCancel = { userId: 0 };
  /** The decision of the last place accepted (reused by the next call; copy to keep it). */
  readonly placeDecision: PlaceDecision = {
    orderId: 0,
    userId: 0,
    symbolId: 0,
    side: "BUY",
    orderType: "LIMIT",
    timeInForce: "GTC",
    postOnly: false,
    priceTicks: 0,
    qtyUnits: 0,
    quoteUnits: 0,
    budgetUnits: -1,
    stp: "NONE",
    cid: null,
    holdUnits: 0,
    tsMs: 0,
  };
  private readonly placeOut: MatchPlace = {
    orderId: 0,
    userId: 0,
    symbolId: 0,
    side: "BUY",
    orderType: "LIMIT",
    timeInForce: "GTC",
    postOnly: false,
    priceTicks: 0,
    qtyUnits: 0,
    budgetUnits: -1,
    stp: "NONE",
    cid: null,
    tsMs: 0,
    riskRef: 0,
  };
  /** Where events go; the caller points it at its buffer. */
  out: EventBuffer = new EventBuffer(16);

  constructor(opts: RiskOptions) {
    this.assetsById = opts.assetsById;
    this.marketsById = opts.marketsById;
    this.ledger = new Ledger(opts.assetSlots);
    this.maxOpenOrdersPerUser = opts.maxOpenOrdersPerUser ?? DEFAULT_MAX_OPEN_ORDERS_PER_USER;
    if (opts.locateResting !== undefined) {
      this.orderIndex = null;
      this.locateResting = opts.locateResting;
    } else {
      const index = new IdIndex();
      this.orderIndex = index;
      this.locateResting = (orderId) => index.get(orderId);
    }
  }

  // ---------------------------------------------------------------- transfers

  /** Credits a deposit to available; emits the balance (or a rejection). */
  deposit(c: Deposit): void {
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
    this.applyDeposit(c);
  }

  /** Applies an accepted deposit (checked just now, or read back from the WAL). */
  applyDeposit(c: Deposit): void {
    const acct = this.ledger.open(c.userId);
    this.ledger.deposit(acct, c.assetId, c.amountUnits);
    this.emitBalance(acct, c.assetId, c.amountUnits);
  }

  /** Debits a withdrawal from available; emits the balance (or a rejection). */
  withdraw(c: Withdraw): void {
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
    this.applyWithdraw(c);
  }

  /** Applies an accepted withdrawal (checked just now, or read back from the WAL). */
  applyWithdraw(c: Withdraw): void {
    const acct = this.ledger.find(c.userId);
    if (acct === undefined) fail(`accepted withdrawal of user ${c.userId} without an account`);
    this.ledger.withdraw(acct, c.assetId, c.amountUnits);
    this.emitBalance(acct, c.assetId, -c.amountUnits);
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

  /**
   * Acquiring a place order: checks it against the symbol's filters, assigns its order
   * id, holds its funds and emits `accepted` (or `rejected`). Returns what the matcher
   * needs — an object reused by the next call, so copy it to keep it — or null if the
   * order was rejected (nothing changed).
   */
  acquirePlace(c: PlaceOrder, tsMs = 0): MatchPlace | null {
    const userId = c.userId;
    const cid = c.cid ?? null;
    if (!isUserId(userId)) {
      return this.rejectPlaceNull(c, "INVALID_USER", `invalid user id ${userId}`);
    }
    const market = this.marketsById[c.symbolId];
    if (market === undefined) {
      return this.rejectPlaceNull(c, "UNKNOWN_SYMBOL", `unknown symbol id ${c.symbolId}`);
    }
    const spec = market.spec;
    const side = c.side;
    if (side !== "BUY" && side !== "SELL") {
      return this.rejectPlaceNull(
        c,
        "INVALID_ORDER_SPEC",
        `side must be BUY or SELL, received "${side}"`,
      );
    }
    const isBuy = side === "BUY";
    const orderType = c.orderType;
    if (orderType !== "LIMIT" && orderType !== "MARKET") {
      return this.rejectPlaceNull(
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
        return this.rejectPlaceNull(
          c,
          "INVALID_ORDER_SPEC",
          `time in force must be GTC, IOC or FOK, received "${tif}"`,
        );
      }
    } else {
      if (c.timeInForce !== undefined && c.timeInForce !== "IOC") {
        return this.rejectPlaceNull(
          c,
          "INVALID_ORDER_SPEC",
          `a MARKET order is immediate-or-cancel, received time in force "${c.timeInForce}"`,
        );
      }
      tif = "IOC";
    }
    const postOnly = c.postOnly === true;
    if (postOnly && !(isLimit && tif === "GTC")) {
      return this.rejectPlaceNull(
        c,
        "INVALID_ORDER_SPEC",
        `post-only needs a LIMIT GTC order, received ${orderType} ${tif}`,
      );
    }
    const stp = c.stp ?? spec.defaultStp;
    if (!STP_MODES.includes(stp)) {
      return this.rejectPlaceNull(
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
        return this.rejectPlaceNull(
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
        return this.rejectPlaceNull(
          c,
          "INVALID_ORDER_SPEC",
          `a LIMIT order takes qty, not a quote amount`,
        );
      }
      const p = c.priceTicks;
      if (p === undefined || !isPositiveUnits(p) || p > spec.maxPriceTicks) {
        return this.rejectPlaceNull(
          c,
          "INVALID_PRICE",
          `price must be a positive integer number of ticks up to ${spec.maxPriceTicks}, received ${p}`,
        );
      }
      priceTicks = p;
      if (!this.qtyOk(c, spec, c.qtyUnits)) return null;
      qtyUnits = c.qtyUnits as number;
      notional = quoteUnits(priceTicks, qtyUnits, market.scale);
      if (notional === OVERFLOW) {
        return this.rejectPlaceNull(
          c,
          "AMOUNT_OVERFLOW",
          `price ${priceTicks} × qty ${qtyUnits} exceeds the largest representable amount`,
        );
      }
      if (notional < spec.minNotionalUnits || notional === 0) {
        return this.rejectPlaceNull(
          c,
          "NOTIONAL_TOO_SMALL",
          `order value must be at least ${
            Math.max(1, spec.minNotionalUnits)
          } quote units, received ${notional}`,
        );
      }
    } else {
      if (c.priceTicks !== undefined) {
        return this.rejectPlaceNull(
          c,
          "INVALID_ORDER_SPEC",
          `a MARKET order takes no price, received ${c.priceTicks}`,
        );
      }
      const hasQty = c.qtyUnits !== undefined;
      const hasQuote = c.quoteUnits !== undefined;
      if (hasQty === hasQuote) {
        return this.rejectPlaceNull(
          c,
          "INVALID_ORDER_SPEC",
          `a MARKET order takes exactly one of qty and quote amount`,
        );
      }
      if (hasQuote) {
        if (!isBuy) {
          return this.rejectPlaceNull(
            c,
            "INVALID_ORDER_SPEC",
            `a MARKET SELL takes qty, not a quote amount`,
          );
        }
        const q = c.quoteUnits as number;
        if (!isPositiveUnits(q)) {
          return this.rejectPlaceNull(
            c,
            "INVALID_QTY",
            `quote amount must be a positive integer number of units, received ${q}`,
          );
        }
        if (q < spec.minNotionalUnits) {
          return this.rejectPlaceNull(
            c,
            "NOTIONAL_TOO_SMALL",
            `quote amount must be at least ${spec.minNotionalUnits} units, received ${q}`,
          );
        }
        quoteBudget = q;
      } else {
        if (!this.qtyOk(c, spec, c.qtyUnits)) return null;
        qtyUnits = c.qtyUnits as number;
      }
    }

    let orderId: number;
    if (c.orderId !== undefined) {
      if (!isPositiveUnits(c.orderId)) {
        return this.rejectPlaceNull(
          c,
          "INVALID_ORDER_SPEC",
          `order id must be a positive integer, received ${c.orderId}`,
        );
      }
      // Every id below the next free one has been used (open or closed): an id is
      // never given to two orders.
      if (c.orderId < this.nextOrderId) {
        return this.rejectPlaceNull(
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
      return this.rejectPlaceNull(
        c,
        "DUPLICATE_CID",
        `cid "${cid}" is already used by an open order`,
      );
    }

    if (this.holds.size >= MAX_OPEN_ORDERS) {
      return this.rejectPlaceNull(
        c,
        "TOO_MANY_OPEN_ORDERS",
        `the engine already holds the maximum of ${MAX_OPEN_ORDERS} open orders`,
      );
    }
    // Risk: what to hold.
    const acct = this.ledger.find(userId);
    if (
      isLimit && tif === "GTC" && acct !== undefined && acct.openOrders >= this.maxOpenOrdersPerUser
    ) {
      return this.rejectPlaceNull(
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
      return this.rejectPlaceNull(
        c,
        "INSUFFICIENT_BALANCE",
        holdUnits === 0
          ? `a MARKET BUY by qty spends available ${this.assetName(holdAsset)}, available 0`
          : `needs ${holdUnits} units of ${this.assetName(holdAsset)}, available ${available}`,
      );
    }

    // Accepted.
    const d = this.placeDecision;
    d.orderId = orderId;
    d.userId = userId;
    d.symbolId = spec.id;
    d.side = side;
    d.orderType = orderType;
    d.timeInForce = tif;
    d.postOnly = postOnly;
    d.priceTicks = priceTicks;
    d.qtyUnits = qtyUnits;
    d.quoteUnits = quoteBudget;
    d.budgetUnits = budget;
    d.stp = stp;
    d.cid = cid;
    d.holdUnits = holdUnits;
    d.tsMs = tsMs;
    return this.applyPlace(d);
  }

  /**
   * Applies an accepted place: decided just now by {@link acquirePlace}, or read back
   * from the command WAL on recovery (decisions are never taken again: funds available
   * then are available on replay too, since settlement only ever adds to available).
   * Holds the funds, records the hold, emits `accepted` and the balance. Returns the
   * message for the matcher (reused by the next call).
   */
  applyPlace(d: PlaceDecision): MatchPlace {
    const spec = (this.marketsById[d.symbolId] as Market).spec;
    const isSell = d.side === "SELL";
    const holdAsset = isSell ? spec.baseAssetId : spec.quoteAssetId;
    const acct = this.ledger.find(d.userId);
    if (acct === undefined) {
      fail(`accepted order ${d.orderId} of user ${d.userId} without an account`);
    }
    if (d.orderId >= this.nextOrderId) this.nextOrderId = d.orderId + 1;
    this.ledger.hold(acct, holdAsset, d.holdUnits);
    const counted = d.orderType === "LIMIT" && d.timeInForce === "GTC";
    const ref = this.holds.alloc(
      d.orderId,
      d.userId,
      d.symbolId,
      isSell,
      counted,
      d.holdUnits,
      d.priceTicks,
      d.qtyUnits,
      d.cid,
    );
    if (d.cid !== null) this.cids.set(cidKey(d.userId, d.cid), ref);
    if (counted) acct.openOrders++;
    this.out.accepted(
      d.orderId,
      d.userId,
      d.symbolId,
      isSell,
      d.orderType === "MARKET",
      d.timeInForce,
      d.postOnly,
      d.priceTicks,
      d.qtyUnits,
      d.quoteUnits,
      d.stp,
      d.cid,
      holdAsset,
      d.holdUnits,
    );
    this.emitBalance(acct, holdAsset);
    const m = this.placeOut;
    m.orderId = d.orderId;
    m.userId = d.userId;
    m.symbolId = d.symbolId;
    m.side = d.side;
    m.orderType = d.orderType;
    m.timeInForce = d.timeInForce;
    m.postOnly = d.postOnly;
    m.priceTicks = d.priceTicks;
    m.qtyUnits = d.qtyUnits;
    m.budgetUnits = d.budgetUnits;
    m.stp = d.stp;
    m.cid = d.cid;
    m.tsMs = d.tsMs;
    m.riskRef = ref;
    return m;
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

  // ---------------------------------------------------------------- cancel and amend

  /**
   * Acquiring a cancel: only its shape is checked here (an order id or a cid); whether
   * the order is open and the user's is the matcher's call. Returns the message for the
   * matcher (reused by the next call), or null if rejected.
   */
  acquireCancel(c: CancelOrder): MatchCancel | null {
    if (c.orderId === undefined && c.cid === undefined) {
      this.rejectRaw(
        "cancel",
        c.userId,
        null,
        null,
        "INVALID_ORDER_SPEC",
        `Cannot cancel: give an order id or a cid`,
      );
      return null;
    }
    const m = this.cancelOut;
    m.userId = c.userId;
    m.orderId = c.orderId;
    m.cid = c.cid;
    m.symbolId = c.symbolId;
    return m;
  }

  /**
   * Acquiring an amend: validates the new quantity and price against the filters and,
   * for a new price, freezes what the order may need beyond its current hold (computed
   * from the quantity this shard still believes open, which is never less than the
   * truth). One amend per order at a time. Returns the message for the matcher, or null
   * if rejected (nothing changed).
   */
  acquireAmend(c: AmendOrder): MatchAmend | null {
    const h = this.holds;
    const ref = typeof c.orderId === "number" && Number.isSafeInteger(c.orderId) && c.orderId > 0
      ? this.locateResting(c.orderId)
      : -1;
    const rej = (reason: RejectReason, msg: string): null => {
      this.rejectRaw(
        "amend",
        c.userId,
        c.orderId ?? null,
        null,
        reason,
        `Cannot amend order ${c.orderId}: ${msg}`,
      );
      return null;
    };
    if (ref === -1) return rej("UNKNOWN_ORDER", "it is not open");
    if (h.userOf(ref) !== c.userId) return rej("NOT_ORDER_OWNER", "it belongs to another user");
    if (c.qtyUnits === undefined && c.priceTicks === undefined) {
      return rej("AMEND_INVALID", "give a new qty or a new price");
    }
    if (h.amending(ref)) return rej("AMEND_INVALID", "another amend of this order is in progress");
    const market = this.marketsById[h.symbolOf(ref)] as Market;
    const spec = market.spec;
    const isSell = h.isSell(ref);
    const oldQty = h.qtyOf(ref);
    const filled = oldQty - h.remainingOf(ref);
    const price = h.limitOf(ref);
    const newQty = c.qtyUnits ?? oldQty;
    if (!isPositiveUnits(newQty)) {
      return rej(
        "INVALID_QTY",
        `qty must be a positive integer number of units, received ${newQty}`,
      );
    }
    if (!this.lotOk(newQty, spec, (r, m) => rej(r, m))) return null;
    if (newQty <= filled) {
      return rej("AMEND_INVALID", `new qty ${newQty} must exceed the filled qty ${filled}`);
    }
    const newRemaining = newQty - filled;

    if (c.priceTicks === undefined || c.priceTicks === price) {
      // Reduce in place: the hold only shrinks, settlement releases the difference.
      if (newQty >= oldQty) {
        return rej(
          "AMEND_INVALID",
          `without a new price qty can only go down, received ${newQty} (current ${oldQty})`,
        );
      }
      const value = quoteUnits(price, newQty, market.scale);
      if (value < spec.minNotionalUnits || value === 0) {
        return rej(
          "NOTIONAL_TOO_SMALL",
          `order value must be at least ${
            Math.max(1, spec.minNotionalUnits)
          } quote units, received ${value}`,
        );
      }
      return this.applyAmend({
        userId: c.userId,
        orderId: c.orderId,
        qtyUnits: newQty,
        priceTicks: price,
        extraHoldUnits: 0,
      });
    }

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
        `order value must be at least ${
          Math.max(1, spec.minNotionalUnits)
        } quote units, received ${notional}`,
      );
    }
    const need = isSell ? newRemaining : quoteUnits(p, newRemaining, market.scale);
    const held = h.holdOf(ref);
    const extra = need > held ? need - held : 0;
    const holdAsset = isSell ? spec.baseAssetId : spec.quoteAssetId;
    const acct = this.ledger.find(h.userOf(ref)) as Account;
    if (extra > acct.available[holdAsset]) {
      return rej(
        "INSUFFICIENT_BALANCE",
        `needs ${extra} more units of ${this.assetName(holdAsset)}, available ${
          acct.available[holdAsset]
        }`,
      );
    }
    return this.applyAmend({
      userId: c.userId,
      orderId: c.orderId,
      qtyUnits: newQty,
      priceTicks: p,
      extraHoldUnits: extra,
    });
  }

  /**
   * Applies an accepted amend (decided by {@link acquireAmend}, or read back from the
   * WAL): freezes the extra it needs and marks the order as being amended. On replay the
   * order may already have ended before this point (live, the shard accepted the amend
   * before it learned of the end); then nothing is frozen and the matcher refuses it.
   */
  applyAmend(d: AmendDecision): MatchAmend {
    const h = this.holds;
    const ref = this.locateResting(d.orderId);
    if (ref === -1) {
      return { ...d, extraHoldUnits: 0, riskRef: -1 };
    }
    if (d.extraHoldUnits > 0) {
      const market = this.marketsById[h.symbolOf(ref)] as Market;
      const holdAsset = h.isSell(ref) ? market.spec.baseAssetId : market.spec.quoteAssetId;
      const acct = this.ledger.find(h.userOf(ref)) as Account;
      this.ledger.hold(acct, holdAsset, d.extraHoldUnits);
      h.setPending(ref, h.pendingOf(ref) + d.extraHoldUnits);
      this.emitBalance(acct, holdAsset);
    }
    h.setAmending(ref, true);
    return { ...d, riskRef: ref };
  }

  // ---------------------------------------------------------------- settlement (SettlementSink)

  settleFill(
    symbolId: number,
    makerRef: number,
    takerRef: number,
    takerIsSell: boolean,
    priceTicks: number,
    qtyUnits: number,
    paidUnits: number,
    buyerFeeUnits: number,
    sellerFeeUnits: number,
    makerDone: boolean,
  ): void {
    const h = this.holds;
    const spec = (this.marketsById[symbolId] as Market).spec;
    const market = this.marketsById[symbolId] as Market;
    const baseId = spec.baseAssetId;
    const quoteId = spec.quoteAssetId;
    const ledger = this.ledger;
    const takerAcct = ledger.find(h.userOf(takerRef)) as Account;
    const makerUser = h.userOf(makerRef);
    const makerAcct = makerUser === takerAcct.userId
      ? takerAcct
      : ledger.find(makerUser) as Account;
    let makerHold = h.holdOf(makerRef);
    let takerHold = h.holdOf(takerRef);
    if (!takerIsSell) {
      // The maker sells base and receives quote.
      ledger.spendFrozen(makerAcct, baseId, qtyUnits);
      makerHold -= qtyUnits;
      ledger.credit(makerAcct, quoteId, paidUnits - sellerFeeUnits);
      ledger.creditFee(quoteId, sellerFeeUnits);
      // The taker buys base and pays quote from its hold.
      ledger.spendFrozen(takerAcct, quoteId, paidUnits);
      takerHold -= paidUnits;
      const limit = h.limitOf(takerRef);
      if (limit !== 0 && limit !== priceTicks) {
        // A limit buy held at its limit price: release the price improvement.
        const improvement = quoteUnits(limit, qtyUnits, market.scale) - paidUnits;
        if (improvement > 0) {
          ledger.release(takerAcct, quoteId, improvement);
          takerHold -= improvement;
        }
      }
      ledger.credit(takerAcct, baseId, qtyUnits - buyerFeeUnits);
      ledger.creditFee(baseId, buyerFeeUnits);
    } else {
      // The maker buys base at its own price: no improvement for a maker.
      ledger.spendFrozen(makerAcct, quoteId, paidUnits);
      makerHold -= paidUnits;
      ledger.credit(makerAcct, baseId, qtyUnits - buyerFeeUnits);
      ledger.creditFee(baseId, buyerFeeUnits);
      // The taker sells base.
      ledger.spendFrozen(takerAcct, baseId, qtyUnits);
      takerHold -= qtyUnits;
      ledger.credit(takerAcct, quoteId, paidUnits - sellerFeeUnits);
      ledger.creditFee(quoteId, sellerFeeUnits);
    }
    if (!(makerHold >= 0 && takerHold >= 0)) {
      fail(`negative hold after a fill of order ${h.orderIdOf(makerRef)}`);
    }
    h.setHold(makerRef, makerHold);
    h.setHold(takerRef, takerHold);
    h.setRemaining(makerRef, h.remainingOf(makerRef) - qtyUnits);
    if (h.qtyOf(takerRef) !== 0) h.setRemaining(takerRef, h.remainingOf(takerRef) - qtyUnits);
    h.markFilled(makerRef);
    h.markFilled(takerRef);
    if (makerDone) this.close(makerRef, makerAcct);
    this.emitBalance(makerAcct, baseId);
    this.emitBalance(makerAcct, quoteId);
  }

  endOrder(ref: number, reportBoth: boolean): void {
    const h = this.holds;
    const spec = (this.marketsById[h.symbolOf(ref)] as Market).spec;
    const acct = this.ledger.find(h.userOf(ref)) as Account;
    const holdAsset = h.isSell(ref) ? spec.baseAssetId : spec.quoteAssetId;
    this.close(ref, acct);
    if (reportBoth) {
      this.emitBalance(acct, spec.baseAssetId);
      this.emitBalance(acct, spec.quoteAssetId);
    } else {
      this.emitBalance(acct, holdAsset);
    }
  }

  restOrder(ref: number, reportBoth: boolean): void {
    const h = this.holds;
    if (!h.resting(ref)) {
      // Only resting orders can be amended: index them now (an amended one already is).
      h.markResting(ref);
      this.orderIndex?.set(h.orderIdOf(ref), ref);
    }
    const market = this.marketsById[h.symbolOf(ref)] as Market;
    const remaining = h.remainingOf(ref);
    const held = h.holdOf(ref);
    const need = h.isSell(ref) ? remaining : quoteUnits(h.limitOf(ref), remaining, market.scale);
    if (!(held >= need)) fail(`order ${h.orderIdOf(ref)} rests holding ${held}, needs ${need}`);
    if (reportBoth) {
      const acct = this.ledger.find(h.userOf(ref)) as Account;
      this.emitBalance(acct, market.spec.baseAssetId);
      this.emitBalance(acct, market.spec.quoteAssetId);
    }
  }

  amendApplied(
    ref: number,
    priceTicks: number,
    qtyUnits: number,
    remainingUnits: number,
    extraHoldUnits: number,
  ): void {
    const h = this.holds;
    const market = this.marketsById[h.symbolOf(ref)] as Market;
    const isSell = h.isSell(ref);
    const holdAsset = isSell ? market.spec.baseAssetId : market.spec.quoteAssetId;
    const acct = this.ledger.find(h.userOf(ref)) as Account;
    const held = h.holdOf(ref) + extraHoldUnits;
    h.setPending(ref, h.pendingOf(ref) - extraHoldUnits);
    h.setAmending(ref, false);
    h.setLimit(ref, priceTicks);
    h.setQty(ref, qtyUnits);
    h.setRemaining(ref, remainingUnits);
    const need = isSell ? remainingUnits : quoteUnits(priceTicks, remainingUnits, market.scale);
    if (!(held >= need)) fail(`amended order ${h.orderIdOf(ref)} holds ${held}, needs ${need}`);
    if (held > need) this.ledger.release(acct, holdAsset, held - need);
    h.setHold(ref, need);
    this.emitBalance(acct, holdAsset);
  }

  amendRejected(ref: number, orderId: number, extraHoldUnits: number): void {
    const h = this.holds;
    // The order may have ended (and released everything, the extra included) before the
    // matcher saw the amend; then this slot is free or holds another order.
    if (!h.inUse(ref) || h.orderIdOf(ref) !== orderId) return;
    h.setAmending(ref, false);
    if (extraHoldUnits === 0) return;
    const market = this.marketsById[h.symbolOf(ref)] as Market;
    const holdAsset = h.isSell(ref) ? market.spec.baseAssetId : market.spec.quoteAssetId;
    const acct = this.ledger.find(h.userOf(ref)) as Account;
    h.setPending(ref, h.pendingOf(ref) - extraHoldUnits);
    this.ledger.release(acct, holdAsset, extraHoldUnits);
    this.emitBalance(acct, holdAsset);
  }

  /** Releases everything order `ref` holds and forgets it. */
  private close(ref: number, acct: Account): void {
    const h = this.holds;
    const spec = (this.marketsById[h.symbolOf(ref)] as Market).spec;
    const held = h.holdOf(ref) + h.pendingOf(ref);
    if (held > 0) {
      this.ledger.release(acct, h.isSell(ref) ? spec.baseAssetId : spec.quoteAssetId, held);
    }
    if (h.counted(ref)) acct.openOrders--;
    if (h.resting(ref)) this.orderIndex?.delete(h.orderIdOf(ref));
    const cid = h.cid[ref];
    if (cid !== null) this.cids.delete(cidKey(h.userOf(ref), cid));
    h.free(ref);
  }

  // ---------------------------------------------------------------- events

  /** `transferUnits`: what a deposit (+) or withdrawal (-) moved; 0 for other changes. */
  private emitBalance(acct: Account, assetId: number, transferUnits = 0): void {
    this.out.balance(
      acct.userId,
      assetId,
      acct.available[assetId],
      acct.frozen[assetId],
      transferUnits,
    );
  }

  private rejectPlaceNull(c: PlaceOrder, reason: RejectReason, message: string): null {
    this.rejectRaw(
      "place",
      c.userId,
      c.orderId ?? null,
      c.cid ?? null,
      reason,
      `Cannot place order: ${message}`,
    );
    return null;
  }

  private rejectPlace(c: PlaceOrder, reason: RejectReason, message: string): void {
    this.rejectPlaceNull(c, reason, message);
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

  // ---------------------------------------------------------------- queries and audit

  /** Available and frozen units of one user and asset (zeros if unknown). */
  balance(userId: number, assetId: number): { availableUnits: number; frozenUnits: number } {
    const a = this.ledger.find(userId);
    return { availableUnits: a?.available[assetId] ?? 0, frozenUnits: a?.frozen[assetId] ?? 0 };
  }

  /**
   * Full audit of the shard: every user's frozen units equal what their orders hold
   * (pending amend extras included), no balance is negative, the open-order counts and
   * indexes match the hold records, and per asset users' available + frozen + the fee
   * account equal deposits - withdrawals. Throws InvariantError on the first violation.
   */
  checkInvariants(): void {
    const h = this.holds;
    const slots = this.ledger.assetSlots;
    const frozenByUser = new Map<number, Float64Array>();
    const countedByUser = new Map<number, number>();
    let records = 0;
    let resting = 0;
    for (const ref of h.slots()) {
      records++;
      const user = h.userOf(ref);
      const orderId = h.orderIdOf(ref);
      if (h.resting(ref)) {
        resting++;
        // With an outside locator (the matcher of the same thread) the books may be ahead
        // of this shard; that agreement is checked once drained (Engine.checkInvariants).
        if (this.orderIndex !== null) {
          assert(
            this.orderIndex.get(orderId) === ref,
            `hold of resting order ${orderId} not indexed`,
          );
        }
      }
      const cid = h.cid[ref];
      if (cid !== null) {
        assert(this.cids.get(cidKey(user, cid)) === ref, `cid of order ${orderId} not indexed`);
      }
      const market = this.marketsById[h.symbolOf(ref)] as Market;
      const asset = h.isSell(ref) ? market.spec.baseAssetId : market.spec.quoteAssetId;
      assert(
        h.holdOf(ref) >= 0 && h.pendingOf(ref) >= 0,
        `order ${orderId} holds a negative amount`,
      );
      let f = frozenByUser.get(user);
      if (f === undefined) frozenByUser.set(user, f = new Float64Array(slots));
      f[asset] += h.holdOf(ref) + h.pendingOf(ref);
      if (h.counted(ref)) countedByUser.set(user, (countedByUser.get(user) ?? 0) + 1);
    }
    if (this.orderIndex !== null) {
      assert(
        resting === this.orderIndex.size,
        `${this.orderIndex.size} orders indexed, ${resting} resting`,
      );
    }
    assert(this.cids.size <= records, `${this.cids.size} cids indexed for ${records} holds`);
    const sums = new Float64Array(slots);
    for (const acct of this.ledger.accounts.values()) {
      const f = frozenByUser.get(acct.userId);
      const counted = countedByUser.get(acct.userId) ?? 0;
      assert(
        acct.openOrders === counted,
        `user ${acct.userId} counts ${acct.openOrders} open orders, holds show ${counted}`,
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
