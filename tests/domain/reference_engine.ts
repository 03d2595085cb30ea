/**
 * A naive reference engine: the oracle the property tests hold domain/engine.ts to.
 *
 * It implements the same `apply(command)` for place, cancel, amend, deposit and withdraw,
 * written to be obviously right rather than fast: all open orders live in one plain array
 * that is filtered and sorted (price, then arrival) every time a book side is needed, every
 * amount is a bigint, quote amounts are recomputed from their definition, and a FOK order
 * is tried on a full copy of the state and kept only if it would fill. It shares no logic
 * with domain/: only the types and the table of reject codes.
 *
 * It emits the same events as the engine except book deltas: the tests check those by
 * rebuilding the book from them. Reject messages are left empty; tests compare reasons.
 */

import type {
  AmendOrder,
  CancelOrder,
  Command,
  Deposit,
  PlaceOrder,
  Withdraw,
} from "../../domain/commands.ts";
import type { BalanceChanged, CommandRejected, EngineEvent } from "../../domain/events.ts";
import type { AssetSpec, SymbolSpec } from "../../domain/market_config.ts";
import { RejectCode, type RejectReason } from "../../domain/reject_codes.ts";
import type {
  EndReason,
  OrderStatus,
  OrderType,
  Side,
  StpMode,
  TimeInForce,
} from "../../domain/types.ts";

const MAX_UNITS = 2n ** 53n - 1n;
const PPM = 1_000_000n;
const STP_MODES: readonly string[] = ["NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"];
const CID_RE = /^[A-Za-z0-9._:\/-]+$/;
const MAX_CID_LENGTH = 36;
const DEFAULT_MAX_OPEN_ORDERS = 10_000;

/** One order, open or being matched. Every quantity and amount is a bigint. */
export interface RefOrder {
  id: number;
  userId: number;
  symbolId: number;
  side: Side;
  orderType: OrderType;
  timeInForce: TimeInForce;
  /** 0n for MARKET orders. */
  priceTicks: bigint;
  /** 0n for a MARKET BUY by quote amount. */
  qtyUnits: bigint;
  filledUnits: bigint;
  quoteFilledUnits: bigint;
  stp: StpMode;
  cid: string | null;
  postOnly: boolean;
  /** Units held for this order (quote for a buy, base for a sell). */
  holdUnits: bigint;
  /** Order of entry into the book: lower is earlier. */
  arrival: number;
}

/** What the tests compare an engine's resting order with. */
export interface RefOrderView {
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

interface Balance {
  available: bigint;
  frozen: bigint;
}

export interface ReferenceOptions {
  assets: readonly AssetSpec[];
  symbols: readonly SymbolSpec[];
  maxOpenOrdersPerUser?: number;
}

function isPositiveInt(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v > 0;
}

function isUserId(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

function toNumber(v: bigint): number {
  if (v < 0n || v > MAX_UNITS) throw new Error(`reference: amount ${v} out of range`);
  return Number(v);
}

function opposite(side: Side): Side {
  return side === "BUY" ? "SELL" : "BUY";
}

export class ReferenceEngine {
  readonly assets: readonly AssetSpec[];
  readonly symbols: readonly SymbolSpec[];
  readonly maxOpenOrdersPerUser: number;
  /** userId -> assetId -> balance. A user has an account once it received a deposit. */
  accounts = new Map<number, Map<number, Balance>>();
  fees = new Map<number, bigint>();
  /** Deposits minus withdrawals per asset. */
  supply = new Map<number, bigint>();
  /** Every open order of every symbol, in no particular order. */
  open: RefOrder[] = [];
  nextOrderId = 1;
  nextTradeId = 1;
  arrivals = 0;
  private out: EngineEvent[] = [];

  constructor(opts: ReferenceOptions) {
    this.assets = opts.assets;
    this.symbols = opts.symbols;
    this.maxOpenOrdersPerUser = opts.maxOpenOrdersPerUser ?? DEFAULT_MAX_OPEN_ORDERS;
  }

  /** Applies one command and returns its events (book deltas left out). */
  apply(cmd: Command): EngineEvent[] {
    this.out = [];
    if (cmd.type === "place") this.place(cmd);
    else if (cmd.type === "cancel") this.cancel(cmd);
    else if (cmd.type === "amend") this.amend(cmd);
    else if (cmd.type === "deposit") this.deposit(cmd);
    else if (cmd.type === "withdraw") this.withdraw(cmd);
    else throw new Error(`reference: unknown command ${JSON.stringify(cmd)}`);
    return this.out;
  }

  // ------------------------------------------------------------------ queries

  /** Quote units for `qty` base units at `price` ticks, floored. */
  quote(spec: SymbolSpec, priceTicks: bigint, qtyUnits: bigint): bigint {
    const base = this.asset(spec.baseAssetId);
    const quote = this.asset(spec.quoteAssetId);
    const num = priceTicks * qtyUnits * 10n ** BigInt(quote.decimals);
    const den = 10n ** BigInt(spec.priceDecimals + base.decimals);
    return num / den;
  }

  /** The resting orders of one side, best first: by price, then by arrival. */
  side(symbolId: number, side: Side): RefOrder[] {
    return this.open
      .filter((o) => o.symbolId === symbolId && o.side === side)
      .sort((a, b) => {
        if (a.priceTicks !== b.priceTicks) {
          const better = side === "BUY" ? a.priceTicks > b.priceTicks : a.priceTicks < b.priceTicks;
          return better ? -1 : 1;
        }
        return a.arrival - b.arrival;
      });
  }

  /** Resting orders of a symbol as the engine lists them: bids best first, then asks. */
  restingOrders(symbolId: number): RefOrderView[] {
    return [...this.side(symbolId, "BUY"), ...this.side(symbolId, "SELL")].map((o) => ({
      orderId: o.id,
      userId: o.userId,
      symbolId: o.symbolId,
      side: o.side,
      priceTicks: toNumber(o.priceTicks),
      qtyUnits: toNumber(o.qtyUnits),
      filledUnits: toNumber(o.filledUnits),
      remainingUnits: toNumber(o.qtyUnits - o.filledUnits),
      quoteFilledUnits: toNumber(o.quoteFilledUnits),
      status: o.filledUnits > 0n ? "PARTIALLY_FILLED" : "NEW",
      stp: o.stp,
      cid: o.cid,
      postOnly: o.postOnly,
      holdUnits: toNumber(o.holdUnits),
    }));
  }

  /** Aggregated depth per side, best first: [priceTicks, qtyUnits]. */
  depth(symbolId: number): { bids: [number, number][]; asks: [number, number][] } {
    const agg = (side: Side) => {
      const levels: [number, number][] = [];
      for (const o of this.side(symbolId, side)) {
        const p = toNumber(o.priceTicks);
        const rem = toNumber(o.qtyUnits - o.filledUnits);
        const last = levels[levels.length - 1];
        if (last !== undefined && last[0] === p) last[1] += rem;
        else levels.push([p, rem]);
      }
      return levels;
    };
    return { bids: agg("BUY"), asks: agg("SELL") };
  }

  balance(userId: number, assetId: number): { availableUnits: number; frozenUnits: number } {
    const b = this.accounts.get(userId)?.get(assetId);
    return {
      availableUnits: toNumber(b?.available ?? 0n),
      frozenUnits: toNumber(b?.frozen ?? 0n),
    };
  }

  fee(assetId: number): number {
    return toNumber(this.fees.get(assetId) ?? 0n);
  }

  /**
   * The reference's own bookkeeping checks: conservation per asset, frozen equal to the
   * holds of open orders, nothing negative, no crossed book. Throws on the first failure.
   */
  checkInvariants(): void {
    for (const a of this.assets) {
      let sum = this.fees.get(a.id) ?? 0n;
      for (const [userId, acct] of this.accounts) {
        const b = acct.get(a.id);
        if (b === undefined) continue;
        if (b.available < 0n || b.frozen < 0n) {
          throw new Error(`reference: negative balance of user ${userId} asset ${a.id}`);
        }
        let held = 0n;
        for (const o of this.open) {
          const spec = this.spec(o.symbolId);
          const holdAsset = o.side === "BUY" ? spec.quoteAssetId : spec.baseAssetId;
          if (o.userId === userId && holdAsset === a.id) held += o.holdUnits;
        }
        if (held !== b.frozen) {
          throw new Error(`reference: user ${userId} frozen ${b.frozen} of ${a.id}, holds ${held}`);
        }
        sum += b.available + b.frozen;
      }
      if (sum !== (this.supply.get(a.id) ?? 0n)) {
        throw new Error(`reference: asset ${a.id} sums to ${sum}, supply ${this.supply.get(a.id)}`);
      }
    }
    for (const s of this.symbols) {
      const bid = this.side(s.id, "BUY")[0];
      const ask = this.side(s.id, "SELL")[0];
      if (bid !== undefined && ask !== undefined && bid.priceTicks >= ask.priceTicks) {
        throw new Error(`reference: book ${s.name} is crossed`);
      }
    }
  }

  // ------------------------------------------------------------------ helpers

  private asset(id: number): AssetSpec {
    const a = this.assets.find((x) => x.id === id);
    if (a === undefined) throw new Error(`reference: no asset ${id}`);
    return a;
  }

  private spec(symbolId: number): SymbolSpec {
    const s = this.symbols.find((x) => x.id === symbolId);
    if (s === undefined) throw new Error(`reference: no symbol ${symbolId}`);
    return s;
  }

  /** The balance of a user that has an account (created at zero for a new asset). */
  private bal(userId: number, assetId: number): Balance {
    const acct = this.accounts.get(userId);
    if (acct === undefined) throw new Error(`reference: user ${userId} has no account`);
    let b = acct.get(assetId);
    if (b === undefined) acct.set(assetId, b = { available: 0n, frozen: 0n });
    return b;
  }

  private holdAssetOf(o: RefOrder): number {
    const spec = this.spec(o.symbolId);
    return o.side === "BUY" ? spec.quoteAssetId : spec.baseAssetId;
  }

  private remaining(o: RefOrder): bigint {
    return o.qtyUnits - o.filledUnits;
  }

  private isByQuote(o: RefOrder): boolean {
    return o.orderType === "MARKET" && o.qtyUnits === 0n;
  }

  private freeze(userId: number, assetId: number, units: bigint): void {
    const b = this.bal(userId, assetId);
    if (b.available < units) throw new Error(`reference: cannot freeze ${units}`);
    b.available -= units;
    b.frozen += units;
  }

  private unfreeze(userId: number, assetId: number, units: bigint): void {
    const b = this.bal(userId, assetId);
    if (b.frozen < units) throw new Error(`reference: cannot release ${units}`);
    b.frozen -= units;
    b.available += units;
  }

  private addFee(assetId: number, units: bigint): void {
    this.fees.set(assetId, (this.fees.get(assetId) ?? 0n) + units);
  }

  /** `transferUnits`: what a deposit (+) or withdrawal (-) moved; absent for other changes. */
  private emitBalance(userId: number, assetId: number, transferUnits?: number): void {
    const b = this.bal(userId, assetId);
    const e: BalanceChanged = {
      type: "balance",
      userId,
      assetId,
      availableUnits: toNumber(b.available),
      frozenUnits: toNumber(b.frozen),
    };
    if (transferUnits !== undefined) e.transferUnits = transferUnits;
    this.out.push(e);
  }

  private emitOrder(o: RefOrder, status: OrderStatus, reason: EndReason | null): void {
    const live = status === "NEW" || status === "PARTIALLY_FILLED";
    this.out.push({
      type: "order",
      orderId: o.id,
      userId: o.userId,
      symbolId: o.symbolId,
      side: o.side,
      orderType: o.orderType,
      timeInForce: o.timeInForce,
      createdMs: 0,
      status,
      priceTicks: toNumber(o.priceTicks),
      qtyUnits: toNumber(o.qtyUnits),
      filledUnits: toNumber(o.filledUnits),
      remainingUnits: live ? toNumber(this.remaining(o)) : 0,
      quoteFilledUnits: toNumber(o.quoteFilledUnits),
      cid: o.cid,
      reason,
    });
  }

  private reject(
    command: CommandRejected["command"],
    userId: number,
    orderId: number | null,
    cid: string | null,
    reason: RejectReason,
  ): void {
    this.out.push({
      type: "rejected",
      command,
      code: RejectCode[reason],
      reason,
      message: "",
      userId,
      orderId,
      cid,
    });
  }

  /** A full independent copy of the state (for trying a FOK order). */
  private clone(): ReferenceEngine {
    const c = new ReferenceEngine({
      assets: this.assets,
      symbols: this.symbols,
      maxOpenOrdersPerUser: this.maxOpenOrdersPerUser,
    });
    c.accounts = structuredClone(this.accounts);
    c.fees = structuredClone(this.fees);
    c.supply = structuredClone(this.supply);
    c.open = structuredClone(this.open);
    c.nextOrderId = this.nextOrderId;
    c.nextTradeId = this.nextTradeId;
    c.arrivals = this.arrivals;
    return c;
  }

  // ------------------------------------------------------------------ transfers

  /** Rejects a malformed transfer; returns true if it did. */
  private badTransfer(c: Deposit | Withdraw): boolean {
    if (!isUserId(c.userId)) {
      this.reject(c.type, 0, null, null, "INVALID_USER");
      return true;
    }
    if (!this.assets.some((a) => a.id === c.assetId)) {
      this.reject(c.type, c.userId, null, null, "UNKNOWN_ASSET");
      return true;
    }
    if (!isPositiveInt(c.amountUnits)) {
      this.reject(c.type, c.userId, null, null, "INVALID_AMOUNT");
      return true;
    }
    return false;
  }

  private deposit(c: Deposit): void {
    if (this.badTransfer(c)) return;
    const amount = BigInt(c.amountUnits);
    const supply = this.supply.get(c.assetId) ?? 0n;
    if (supply + amount > MAX_UNITS) {
      return this.reject("deposit", c.userId, null, null, "AMOUNT_OVERFLOW");
    }
    if (!this.accounts.has(c.userId)) this.accounts.set(c.userId, new Map());
    this.bal(c.userId, c.assetId).available += amount;
    this.supply.set(c.assetId, supply + amount);
    this.emitBalance(c.userId, c.assetId, c.amountUnits);
  }

  private withdraw(c: Withdraw): void {
    if (this.badTransfer(c)) return;
    const amount = BigInt(c.amountUnits);
    const available = this.accounts.get(c.userId)?.get(c.assetId)?.available ?? 0n;
    if (!this.accounts.has(c.userId) || available < amount) {
      return this.reject("withdraw", c.userId, null, null, "INSUFFICIENT_BALANCE");
    }
    this.bal(c.userId, c.assetId).available -= amount;
    this.supply.set(c.assetId, (this.supply.get(c.assetId) ?? 0n) - amount);
    this.emitBalance(c.userId, c.assetId, -c.amountUnits);
  }

  // ------------------------------------------------------------------ place

  /** Lot filters on a base quantity; the reason it fails, or null. */
  private lotProblem(spec: SymbolSpec, qty: number): RejectReason | null {
    if (qty % spec.qtyStepUnits !== 0) return "QTY_STEP";
    if (qty < spec.minQtyUnits) return "QTY_TOO_SMALL";
    if (qty > spec.maxQtyUnits) return "QTY_TOO_LARGE";
    return null;
  }

  private priceOk(spec: SymbolSpec, p: unknown): p is number {
    return isPositiveInt(p) && p <= spec.maxPriceTicks;
  }

  /** True if a limit order at `price` on `side` would meet the best opposite order. */
  private wouldCross(symbolId: number, side: Side, price: bigint): boolean {
    const best = this.side(symbolId, opposite(side))[0];
    if (best === undefined) return false;
    return side === "BUY" ? best.priceTicks <= price : best.priceTicks >= price;
  }

  private place(c: PlaceOrder): void {
    const cid = c.cid ?? null;
    const rej = (reason: RejectReason) =>
      this.reject("place", c.userId, c.orderId ?? null, cid, reason);
    if (!isUserId(c.userId)) return rej("INVALID_USER");
    const spec = this.symbols.find((s) => s.id === c.symbolId);
    if (spec === undefined) return rej("UNKNOWN_SYMBOL");
    if (c.side !== "BUY" && c.side !== "SELL") return rej("INVALID_ORDER_SPEC");
    if (c.orderType !== "LIMIT" && c.orderType !== "MARKET") return rej("INVALID_ORDER_SPEC");
    const isLimit = c.orderType === "LIMIT";
    const isBuy = c.side === "BUY";
    let tif: TimeInForce;
    if (isLimit) {
      tif = c.timeInForce ?? "GTC";
      if (tif !== "GTC" && tif !== "IOC" && tif !== "FOK") return rej("INVALID_ORDER_SPEC");
    } else {
      if (c.timeInForce !== undefined && c.timeInForce !== "IOC") {
        return rej("INVALID_ORDER_SPEC");
      }
      tif = "IOC";
    }
    const postOnly = c.postOnly === true;
    if (postOnly && !(isLimit && tif === "GTC")) return rej("INVALID_ORDER_SPEC");
    const stp = c.stp ?? spec.defaultStp;
    if (!STP_MODES.includes(stp)) return rej("INVALID_ORDER_SPEC");
    if (
      cid !== null &&
      (typeof cid !== "string" || cid.length === 0 || cid.length > MAX_CID_LENGTH ||
        !CID_RE.test(cid))
    ) {
      return rej("INVALID_CID");
    }

    let price = 0n;
    let qty = 0n;
    let quoteBudget = 0n;
    let notional = 0n;
    if (isLimit) {
      if (c.quoteUnits !== undefined) return rej("INVALID_ORDER_SPEC");
      if (!this.priceOk(spec, c.priceTicks)) return rej("INVALID_PRICE");
      if (!isPositiveInt(c.qtyUnits)) return rej("INVALID_QTY");
      const lot = this.lotProblem(spec, c.qtyUnits);
      if (lot !== null) return rej(lot);
      price = BigInt(c.priceTicks);
      qty = BigInt(c.qtyUnits);
      notional = this.quote(spec, price, qty);
      if (notional > MAX_UNITS) return rej("AMOUNT_OVERFLOW");
      // An order worth nothing after flooring is too small whatever the symbol's minimum.
      if (notional < BigInt(spec.minNotionalUnits) || notional === 0n) {
        return rej("NOTIONAL_TOO_SMALL");
      }
    } else {
      if (c.priceTicks !== undefined) return rej("INVALID_ORDER_SPEC");
      if ((c.qtyUnits !== undefined) === (c.quoteUnits !== undefined)) {
        return rej("INVALID_ORDER_SPEC");
      }
      if (c.quoteUnits !== undefined) {
        if (!isBuy) return rej("INVALID_ORDER_SPEC");
        if (!isPositiveInt(c.quoteUnits)) return rej("INVALID_QTY");
        if (c.quoteUnits < spec.minNotionalUnits) return rej("NOTIONAL_TOO_SMALL");
        quoteBudget = BigInt(c.quoteUnits);
      } else {
        if (!isPositiveInt(c.qtyUnits)) return rej("INVALID_QTY");
        const lot = this.lotProblem(spec, c.qtyUnits);
        if (lot !== null) return rej(lot);
        qty = BigInt(c.qtyUnits);
      }
    }

    let orderId = this.nextOrderId;
    if (c.orderId !== undefined) {
      if (!isPositiveInt(c.orderId)) return rej("INVALID_ORDER_SPEC");
      // Ids are never reused: an explicit id must be at least the next free one.
      if (c.orderId < this.nextOrderId) return rej("DUPLICATE_ORDER_ID");
      orderId = c.orderId;
    }
    if (cid !== null && this.open.some((o) => o.userId === c.userId && o.cid === cid)) {
      return rej("DUPLICATE_CID");
    }
    const hasAccount = this.accounts.has(c.userId);
    const openCount = this.open.filter((o) => o.userId === c.userId).length;
    if (isLimit && tif === "GTC" && hasAccount && openCount >= this.maxOpenOrdersPerUser) {
      return rej("TOO_MANY_OPEN_ORDERS");
    }

    // Risk: what to hold.
    const holdAsset = isBuy ? spec.quoteAssetId : spec.baseAssetId;
    const available = this.accounts.get(c.userId)?.get(holdAsset)?.available ?? 0n;
    let hold: bigint;
    let budget: bigint | null = null; // market buys spend at most this much quote
    if (isLimit) hold = isBuy ? notional : qty;
    else if (!isBuy) hold = qty;
    else if (quoteBudget > 0n) hold = budget = quoteBudget;
    else hold = budget = available;
    if (!hasAccount || hold === 0n || available < hold) return rej("INSUFFICIENT_BALANCE");

    if (orderId >= this.nextOrderId) this.nextOrderId = orderId + 1;
    this.freeze(c.userId, holdAsset, hold);
    this.out.push({
      type: "accepted",
      orderId,
      userId: c.userId,
      symbolId: spec.id,
      side: c.side,
      orderType: c.orderType,
      timeInForce: tif,
      postOnly,
      priceTicks: toNumber(price),
      qtyUnits: toNumber(qty),
      quoteUnits: toNumber(quoteBudget),
      stp,
      cid,
      holdAssetId: holdAsset,
      holdUnits: toNumber(hold),
    });
    this.emitBalance(c.userId, holdAsset);

    const taker: RefOrder = {
      id: orderId,
      userId: c.userId,
      symbolId: spec.id,
      side: c.side,
      orderType: c.orderType,
      timeInForce: tif,
      priceTicks: price,
      qtyUnits: qty,
      filledUnits: 0n,
      quoteFilledUnits: 0n,
      stp,
      cid,
      postOnly,
      holdUnits: hold,
      arrival: 0,
    };
    if (postOnly && this.wouldCross(spec.id, c.side, price)) {
      return this.endTaker(taker, "REJECTED", "POST_ONLY_WOULD_TAKE");
    }
    if (tif === "FOK") {
      // Try it on a copy of everything: keep it only if it fills completely.
      const trial = this.clone();
      const trialTaker = structuredClone(taker);
      trial.match(trialTaker, price, null);
      if (this.remaining(trialTaker) !== 0n) {
        return this.endTaker(taker, "EXPIRED", "FOK_NOT_FILLED");
      }
    }
    const result = this.match(taker, isLimit ? price : null, budget);
    this.finishTaker(
      taker,
      result,
      isLimit && tif === "GTC",
      isLimit ? "IOC_REMAINDER" : "MARKET_REMAINDER",
    );
  }

  /** The most base units, a multiple of the qty step, that `budget` quote buys at `price`. */
  private affordable(spec: SymbolSpec, budget: bigint, price: bigint): bigint {
    const base = this.asset(spec.baseAssetId);
    const quote = this.asset(spec.quoteAssetId);
    // quote(p, f) <= B  <=>  p*f*10^qd < (B+1) * 10^(pd+bd)
    const den = price * 10n ** BigInt(quote.decimals);
    const lim = (budget + 1n) * 10n ** BigInt(spec.priceDecimals + base.decimals) - 1n;
    let f = lim / den;
    const step = BigInt(spec.qtyStepUnits);
    f -= f % step;
    if (f > MAX_UNITS) f = MAX_UNITS - MAX_UNITS % step;
    // The oracle checks its own arithmetic against the definition.
    if (this.quote(spec, price, f) > budget) throw new Error("reference: affordable too large");
    if (f < MAX_UNITS - step && this.quote(spec, price, f + step) <= budget) {
      throw new Error("reference: affordable too small");
    }
    return f;
  }

  /**
   * Matches `taker` with the opposite side while it crosses `limit` (null: any price)
   * and, for market buys, within `budget` quote units. Each visit of the best level may
   * take at most what the remaining budget affords at that level's price; the budget is
   * spent when that is nothing.
   */
  private match(
    taker: RefOrder,
    limit: bigint | null,
    budget: bigint | null,
  ): { stpExpired: boolean; budgetSpent: boolean } {
    const spec = this.spec(taker.symbolId);
    const isBuy = taker.side === "BUY";
    const byQuote = this.isByQuote(taker);
    let budgetLeft = budget;
    let stpExpired = false;
    let budgetSpent = false;
    let lastFillPrice = 0n;
    while ((byQuote || this.remaining(taker) > 0n) && !stpExpired) {
      const opp = this.side(taker.symbolId, opposite(taker.side));
      if (opp.length === 0) {
        // The book ran out: a budget that cannot buy one more step even at the price of
        // the last fill is spent all the same.
        if (
          budgetLeft !== null && lastFillPrice > 0n &&
          this.affordable(spec, budgetLeft, lastFillPrice) === 0n
        ) {
          budgetSpent = true;
        }
        break;
      }
      const price = opp[0].priceTicks;
      if (limit !== null && (isBuy ? price > limit : price < limit)) break;
      let cap = byQuote ? MAX_UNITS : this.remaining(taker);
      if (budgetLeft !== null) {
        const affordable = this.affordable(spec, budgetLeft, price);
        if (affordable === 0n) {
          budgetSpent = true;
          break;
        }
        cap = min(cap, affordable);
      }
      for (const maker of opp.filter((o) => o.priceTicks === price)) {
        if (cap === 0n) break;
        if (maker.userId === taker.userId && taker.stp !== "NONE") {
          if (taker.stp === "EXPIRE_TAKER") {
            stpExpired = true;
            break;
          }
          this.endResting(maker, "EXPIRED", "STP_MAKER");
          if (taker.stp === "EXPIRE_BOTH") {
            stpExpired = true;
            break;
          }
          continue;
        }
        const f = min(this.remaining(maker), cap);
        const paid = this.fill(spec, taker, maker, f);
        if (budgetLeft !== null) budgetLeft -= paid;
        lastFillPrice = price;
        cap -= f;
      }
    }
    return { stpExpired, budgetSpent };
  }

  /** Settles one fill of `f` units at the maker's price; returns the quote paid. */
  private fill(spec: SymbolSpec, taker: RefOrder, maker: RefOrder, f: bigint): bigint {
    const baseId = spec.baseAssetId;
    const quoteId = spec.quoteAssetId;
    const paid = this.quote(spec, maker.priceTicks, f);
    const takerIsBuy = taker.side === "BUY";
    const buyer = takerIsBuy ? taker : maker;
    const seller = takerIsBuy ? maker : taker;
    const buyerPpm = BigInt(takerIsBuy ? spec.takerFeePpm : spec.makerFeePpm);
    const sellerPpm = BigInt(takerIsBuy ? spec.makerFeePpm : spec.takerFeePpm);
    const buyerFee = f * buyerPpm / PPM;
    const sellerFee = paid * sellerPpm / PPM;

    for (const o of [maker, taker]) {
      o.filledUnits += f;
      o.quoteFilledUnits += paid;
    }
    // Seller: gives f base from its hold, receives paid quote less its fee.
    this.bal(seller.userId, baseId).frozen -= f;
    seller.holdUnits -= f;
    this.bal(seller.userId, quoteId).available += paid - sellerFee;
    this.addFee(quoteId, sellerFee);
    // Buyer: pays from its hold, receives f base less its fee.
    this.bal(buyer.userId, quoteId).frozen -= paid;
    buyer.holdUnits -= paid;
    this.bal(buyer.userId, baseId).available += f - buyerFee;
    this.addFee(baseId, buyerFee);
    if (takerIsBuy && taker.orderType === "LIMIT") {
      // Held at the limit price, paid at the maker's: the difference goes back.
      const improvement = this.quote(spec, taker.priceTicks, f) - paid;
      if (improvement > 0n) {
        this.unfreeze(taker.userId, quoteId, improvement);
        taker.holdUnits -= improvement;
      }
    }
    if (maker.holdUnits < 0n || taker.holdUnits < 0n) {
      throw new Error(`reference: negative hold after a fill of ${maker.id}`);
    }

    this.out.push({
      type: "trade",
      tradeId: this.nextTradeId++,
      symbolId: spec.id,
      priceTicks: toNumber(maker.priceTicks),
      qtyUnits: toNumber(f),
      quoteUnits: toNumber(paid),
      takerSide: taker.side,
      makerOrderId: maker.id,
      takerOrderId: taker.id,
      makerUserId: maker.userId,
      takerUserId: taker.userId,
      buyerFeeUnits: toNumber(buyerFee),
      sellerFeeUnits: toNumber(sellerFee),
    });
    if (this.remaining(maker) === 0n) {
      this.open = this.open.filter((o) => o !== maker);
      this.unfreeze(maker.userId, this.holdAssetOf(maker), maker.holdUnits);
      maker.holdUnits = 0n;
      this.emitOrder(maker, "FILLED", null);
    } else {
      this.emitOrder(maker, "PARTIALLY_FILLED", null);
    }
    this.emitBalance(maker.userId, baseId);
    this.emitBalance(maker.userId, quoteId);
    return paid;
  }

  /** Takes a resting order out of the book and releases what it holds. */
  private endResting(o: RefOrder, status: OrderStatus, reason: EndReason): void {
    this.open = this.open.filter((x) => x !== o);
    this.unfreeze(o.userId, this.holdAssetOf(o), o.holdUnits);
    o.holdUnits = 0n;
    this.emitOrder(o, status, reason);
    this.emitBalance(o.userId, this.holdAssetOf(o));
  }

  /** After matching: the taker is filled, ends, or rests with what it still holds. */
  private finishTaker(
    taker: RefOrder,
    result: { stpExpired: boolean; budgetSpent: boolean },
    canRest: boolean,
    remainderReason: EndReason,
  ): void {
    const byQuote = this.isByQuote(taker);
    if (!byQuote && this.remaining(taker) === 0n) return this.endTaker(taker, "FILLED", null);
    if (byQuote && result.budgetSpent && taker.filledUnits > 0n) {
      return this.endTaker(taker, "FILLED", null);
    }
    if (result.stpExpired) return this.endTaker(taker, "EXPIRED", "STP_TAKER");
    if (!canRest) return this.endTaker(taker, "EXPIRED", remainderReason);
    const spec = this.spec(taker.symbolId);
    taker.arrival = ++this.arrivals;
    this.open.push(taker);
    this.emitOrder(taker, taker.filledUnits > 0n ? "PARTIALLY_FILLED" : "NEW", null);
    if (taker.filledUnits > 0n) {
      this.emitBalance(taker.userId, spec.baseAssetId);
      this.emitBalance(taker.userId, spec.quoteAssetId);
    }
  }

  /** Ends an order that does not rest: releases its hold and reports its final state. */
  private endTaker(taker: RefOrder, status: OrderStatus, reason: EndReason | null): void {
    const spec = this.spec(taker.symbolId);
    const holdAsset = this.holdAssetOf(taker);
    this.unfreeze(taker.userId, holdAsset, taker.holdUnits);
    taker.holdUnits = 0n;
    this.emitOrder(taker, status, reason);
    if (taker.filledUnits > 0n) {
      this.emitBalance(taker.userId, spec.baseAssetId);
      this.emitBalance(taker.userId, spec.quoteAssetId);
    } else {
      this.emitBalance(taker.userId, holdAsset);
    }
  }

  // ------------------------------------------------------------------ cancel

  private cancel(c: CancelOrder): void {
    let o: RefOrder | undefined;
    if (c.orderId !== undefined) o = this.open.find((x) => x.id === c.orderId);
    else if (c.cid !== undefined) {
      o = this.open.find((x) => x.userId === c.userId && x.cid === c.cid);
    } else return this.reject("cancel", c.userId, null, null, "INVALID_ORDER_SPEC");
    const ids = [c.orderId ?? null, c.cid ?? null] as const;
    if (o === undefined || (c.symbolId !== undefined && o.symbolId !== c.symbolId)) {
      return this.reject("cancel", c.userId, ...ids, "UNKNOWN_ORDER");
    }
    if (o.userId !== c.userId) return this.reject("cancel", c.userId, ...ids, "NOT_ORDER_OWNER");
    this.endResting(o, "CANCELED", "USER_CANCEL");
  }

  // ------------------------------------------------------------------ amend

  private amend(c: AmendOrder): void {
    const rej = (reason: RejectReason) =>
      this.reject("amend", c.userId, c.orderId ?? null, null, reason);
    const o = this.open.find((x) => x.id === c.orderId);
    if (o === undefined) return rej("UNKNOWN_ORDER");
    if (o.userId !== c.userId) return rej("NOT_ORDER_OWNER");
    if (c.qtyUnits === undefined && c.priceTicks === undefined) return rej("AMEND_INVALID");
    const spec = this.spec(o.symbolId);
    const newQtyIn = c.qtyUnits ?? toNumber(o.qtyUnits);
    if (!isPositiveInt(newQtyIn)) return rej("INVALID_QTY");
    const lot = this.lotProblem(spec, newQtyIn);
    if (lot !== null) return rej(lot);
    const newQty = BigInt(newQtyIn);
    if (newQty <= o.filledUnits) return rej("AMEND_INVALID");
    const newRemaining = newQty - o.filledUnits;
    const isBuy = o.side === "BUY";
    const holdAsset = this.holdAssetOf(o);

    if (c.priceTicks === undefined || c.priceTicks === toNumber(o.priceTicks)) {
      // Reduce in place: keeps its place in the queue, holds exactly what it needs.
      if (newQty >= o.qtyUnits) return rej("AMEND_INVALID");
      const value = this.quote(spec, o.priceTicks, newQty);
      if (value < BigInt(spec.minNotionalUnits) || value === 0n) return rej("NOTIONAL_TOO_SMALL");
      const need = isBuy ? this.quote(spec, o.priceTicks, newRemaining) : newRemaining;
      if (need > o.holdUnits) throw new Error(`reference: order ${o.id} holds too little`);
      this.unfreeze(o.userId, holdAsset, o.holdUnits - need);
      o.holdUnits = need;
      o.qtyUnits = newQty;
      this.emitOrder(o, o.filledUnits > 0n ? "PARTIALLY_FILLED" : "NEW", null);
      this.emitBalance(o.userId, holdAsset);
      return;
    }

    // New price: the order is replaced and matched again as a taker.
    if (!this.priceOk(spec, c.priceTicks)) return rej("INVALID_PRICE");
    const price = BigInt(c.priceTicks);
    const notional = this.quote(spec, price, newQty);
    if (notional > MAX_UNITS) return rej("AMOUNT_OVERFLOW");
    if (notional < BigInt(spec.minNotionalUnits) || notional === 0n) {
      return rej("NOTIONAL_TOO_SMALL");
    }
    const need = isBuy ? this.quote(spec, price, newRemaining) : newRemaining;
    if (need > MAX_UNITS) return rej("AMOUNT_OVERFLOW");
    const available = this.bal(o.userId, holdAsset).available;
    const extra = need > o.holdUnits ? need - o.holdUnits : 0n;
    if (extra > available) return rej("INSUFFICIENT_BALANCE");
    // The account shard freezes the extra before the matcher (which alone sees the book)
    // judges the amend; a refusal there releases it again.
    if (extra > 0n) {
      this.freeze(o.userId, holdAsset, extra);
      this.emitBalance(o.userId, holdAsset);
    }
    if (o.postOnly && this.wouldCross(o.symbolId, o.side, price)) {
      rej("POST_ONLY_WOULD_TAKE");
      if (extra > 0n) {
        this.unfreeze(o.userId, holdAsset, extra);
        this.emitBalance(o.userId, holdAsset);
      }
      return;
    }

    this.open = this.open.filter((x) => x !== o);
    const held = o.holdUnits + extra;
    if (held > need) this.unfreeze(o.userId, holdAsset, held - need);
    o.holdUnits = need;
    o.priceTicks = price;
    o.qtyUnits = newQty;
    this.emitBalance(o.userId, holdAsset);
    const result = this.match(o, price, null);
    this.finishTaker(o, result, true, "IOC_REMAINDER");
  }
}
