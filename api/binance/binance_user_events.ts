/**
 * A user's data stream in Binance's form: the user's change-log entries (accepted
 * orders, fills, order updates, balances) become `executionReport` and
 * `outboundAccountPosition` events.
 *
 * - An accepted order is reported `NEW` at once (before its fills, as Binance does).
 * - A fill is reported (`x: "TRADE"`) when its order's own update arrives, which the
 *   engine emits right after the fill for a maker and after the last fill for a taker:
 *   that update carries the order's fields and final status, so each fill's cumulative
 *   quantities and status (`PARTIALLY_FILLED`, or `FILLED` for the last fill of a filled
 *   order) are exact.
 * - An order ending without a fill in that update is reported `CANCELED`, `EXPIRED` or
 *   `REJECTED`; a resting order that changed without a fill (an amend) `REPLACED`.
 * - Balance changes in a row (one command's, or a few commands' delivered together) are
 *   one `outboundAccountPosition` listing the assets that changed. A deposit or a
 *   withdrawal (a balance change carrying `transferUnits`) is first told as a
 *   `balanceUpdate` with the signed amount, as Binance does.
 * - A command the engine refuses (a `rejected` entry) makes no event: its sender has the
 *   error in the answer, as on Binance, where a refused order is only a REST error.
 *
 * Pure: event times are the entries' times.
 */

import type { ChangeLogEntry } from "../../domain/change_log.ts";
import type {
  BalanceChanged,
  OrderAccepted,
  OrderUpdated,
  TradeEvent,
} from "../../domain/events.ts";
import type { Market } from "../../domain/market_config.ts";
import type { OrderType, Side, StpMode, TimeInForce } from "../../domain/types.ts";
import type { MarketIndex } from "../market_index.ts";
import { binanceSymbol } from "./binance_markets.ts";
import { fillView } from "./binance_views.ts";
import { MAX_PENDING_ORDERS, MAX_REMEMBERED_ORDERS } from "./binance_stream_limits.ts";

/** A Binance user data event (executionReport, outboundAccountPosition, ...). */
export type UserEvent = Record<string, unknown>;

/**
 * Does `e` concern one of `users` (by user id)? For the hub's filter: no allocation.
 * A trade concerns its maker and its taker.
 */
export function concernsAnyOf(e: ChangeLogEntry<unknown>, users: Map<number, unknown>): boolean {
  switch (e.type) {
    case "order":
    case "accepted":
    case "balance":
      return users.has((e.payload as { userId: number }).userId);
    case "trade": {
      const t = e.payload as TradeEvent;
      return users.has(t.makerUserId) || users.has(t.takerUserId);
    }
    default:
      return false;
  }
}

/** The users `e` concerns: one, two for a trade between users, none for others. */
export function usersOf(e: ChangeLogEntry<unknown>): number[] {
  switch (e.type) {
    case "order":
    case "accepted":
    case "balance":
      return [(e.payload as { userId: number }).userId];
    case "trade": {
      const t = e.payload as TradeEvent;
      return t.makerUserId === t.takerUserId ? [t.makerUserId] : [t.makerUserId, t.takerUserId];
    }
    default:
      return [];
  }
}

/** Binance's order type: a post-only limit order is `LIMIT_MAKER`. */
function orderTypeOf(type: OrderType, postOnly: boolean): string {
  return type === "LIMIT" && postOnly ? "LIMIT_MAKER" : type;
}

interface Fill {
  trade: TradeEvent;
  tsMs: number;
  seq: number;
  maker: boolean;
}

/** What a report needs of its order, from an accepted event or an order update. */
interface OrderFacts {
  orderId: number;
  symbolId: number;
  side: Side;
  orderType: OrderType;
  timeInForce: TimeInForce;
  priceTicks: number;
  qtyUnits: number;
  cid: string | null;
  createdMs: number;
}

/** Remembered from an order's `accepted` event. */
interface Placed {
  postOnly: boolean;
  quoteUnits: number;
  stp: StpMode;
  /** Its first order update is still to come (it is then the outcome of placing it). */
  fresh: boolean;
}

export class UserEvents {
  /** Fills waiting for their order's update, by order id. */
  readonly #fills = new Map<number, Fill[]>();
  /** Orders accepted while this stream listened, by order id, until they end. */
  readonly #placed = new Map<number, Placed>();
  /** Balances changed since the last position event, by asset id. */
  readonly #positions = new Map<number, BalanceChanged>();
  #positionsMs = 0;

  constructor(private readonly ix: MarketIndex, readonly userId: number) {}

  /** True when `e` concerns this user. */
  concerns(e: ChangeLogEntry<unknown>): boolean {
    switch (e.type) {
      case "order":
      case "accepted":
      case "balance":
        return (e.payload as { userId: number }).userId === this.userId;
      case "trade": {
        const t = e.payload as TradeEvent;
        return t.makerUserId === this.userId || t.takerUserId === this.userId;
      }
      default:
        return false;
    }
  }

  /** Appends to `out` the events `e` completes (it may complete none yet). */
  take(e: ChangeLogEntry<unknown>, out: UserEvent[]): void {
    if (!this.concerns(e)) return;
    if (e.type !== "balance") this.flushPositions(out);
    switch (e.type) {
      case "accepted":
        return this.accepted(e.payload as OrderAccepted, e.ts, out);
      case "trade":
        return this.trade(e.payload as TradeEvent, e.ts, e.seq);
      case "order":
        return this.updated(e.payload as OrderUpdated, e.ts, out);
      case "balance": {
        const b = e.payload as BalanceChanged;
        if (b.transferUnits !== undefined) out.push(this.balanceUpdate(b, e.ts));
        this.#positions.set(b.assetId, b);
        this.#positionsMs = e.ts;
        return;
      }
    }
  }

  /** Ends a batch of entries: balances changed in it are sent. */
  end(out: UserEvent[]): void {
    this.flushPositions(out);
  }

  private accepted(a: OrderAccepted, tsMs: number, out: UserEvent[]): void {
    if (this.#placed.size >= MAX_REMEMBERED_ORDERS) this.#placed.clear();
    this.#placed.set(a.orderId, {
      postOnly: a.postOnly,
      quoteUnits: a.quoteUnits,
      stp: a.stp,
      fresh: true,
    });
    const m = this.ix.symbolById(a.symbolId);
    out.push(this.report(m, { ...a, cid: a.cid, createdMs: tsMs }, tsMs, {
      x: "NEW",
      X: "NEW",
      filledUnits: 0,
      quoteFilledUnits: 0,
      onBook: a.orderType === "LIMIT" && a.timeInForce === "GTC",
    }));
  }

  private trade(t: TradeEvent, tsMs: number, seq: number): void {
    if (t.makerUserId === this.userId) {
      this.pend(t.makerOrderId, { trade: t, tsMs, seq, maker: true });
    }
    if (t.takerUserId === this.userId) {
      this.pend(t.takerOrderId, { trade: t, tsMs, seq, maker: false });
    }
  }

  private pend(orderId: number, f: Fill): void {
    const list = this.#fills.get(orderId);
    if (list !== undefined) return void list.push(f);
    // Updates follow their fills within the same command; many orders waiting at once
    // means updates were lost before this stream joined: forget the oldest.
    if (this.#fills.size >= MAX_PENDING_ORDERS) this.#fills.clear();
    this.#fills.set(orderId, [f]);
  }

  private updated(u: OrderUpdated, tsMs: number, out: UserEvent[]): void {
    const m = this.ix.symbolById(u.symbolId);
    const fills = this.#fills.get(u.orderId) ?? [];
    this.#fills.delete(u.orderId);
    const placed = this.#placed.get(u.orderId);
    const fresh = placed?.fresh ?? false;
    if (placed !== undefined) placed.fresh = false;
    const resting = u.status === "NEW" || u.status === "PARTIALLY_FILLED";
    const facts: OrderFacts = { ...u, createdMs: u.createdMs || tsMs };

    // Cumulative quantities before the fills of this update.
    let filledUnits = u.filledUnits;
    let quoteFilledUnits = u.quoteFilledUnits;
    for (const f of fills) {
      filledUnits -= f.trade.qtyUnits;
      quoteFilledUnits -= f.trade.quoteUnits;
    }
    fills.forEach((f, i) => {
      const lastFill = i === fills.length - 1;
      filledUnits += f.trade.qtyUnits;
      quoteFilledUnits += f.trade.quoteUnits;
      const X = lastFill && u.status === "FILLED" ? "FILLED" : "PARTIALLY_FILLED";
      out.push(this.report(m, facts, f.tsMs, {
        x: "TRADE",
        X,
        filledUnits,
        quoteFilledUnits,
        onBook: X === "PARTIALLY_FILLED" && (f.maker || (lastFill && resting)),
        fill: f,
      }));
    });
    if (u.status === "CANCELED" || u.status === "EXPIRED" || u.status === "REJECTED") {
      out.push(this.report(m, facts, tsMs, {
        x: u.status,
        X: u.status,
        filledUnits: u.filledUnits,
        quoteFilledUnits: u.quoteFilledUnits,
        onBook: false,
      }));
    } else if (resting && fills.length === 0 && !fresh) {
      out.push(this.report(m, facts, tsMs, {
        x: "REPLACED",
        X: u.status,
        filledUnits: u.filledUnits,
        quoteFilledUnits: u.quoteFilledUnits,
        onBook: true,
      }));
    }
    if (!resting) this.#placed.delete(u.orderId);
  }

  private report(
    m: Market,
    o: OrderFacts,
    tsMs: number,
    r: {
      x: string;
      X: string;
      filledUnits: number;
      quoteFilledUnits: number;
      onBook: boolean;
      fill?: Fill;
    },
  ): UserEvent {
    const ix = this.ix;
    const placed = this.#placed.get(o.orderId);
    const f = r.fill;
    // As the REST views show it: the client's id, or "" for an order placed without one.
    const cid = o.cid ?? "";
    const fee = f === undefined ? undefined : fillView(ix, f.trade, o.side);
    return {
      e: "executionReport",
      E: tsMs,
      s: binanceSymbol(m),
      c: cid,
      S: o.side,
      o: orderTypeOf(o.orderType, placed?.postOnly ?? false),
      f: o.orderType === "MARKET" ? "GTC" : o.timeInForce,
      // A market buy by quote amount orders no base quantity: what it bought, as in REST.
      q: ix.qty(m, o.qtyUnits > 0 ? o.qtyUnits : r.filledUnits),
      p: ix.price(m, o.orderType === "MARKET" ? 0 : o.priceTicks),
      P: ix.price(m, 0),
      F: ix.qty(m, 0),
      g: -1,
      // Binance names the original client order id here when a cancel reports it.
      C: r.x === "CANCELED" ? cid : "",
      x: r.x,
      X: r.X,
      r: "NONE",
      i: o.orderId,
      l: ix.qty(m, f?.trade.qtyUnits ?? 0),
      z: ix.qty(m, r.filledUnits),
      L: ix.price(m, f?.trade.priceTicks ?? 0),
      n: fee?.commission ?? "0",
      N: fee?.commissionAsset ?? null,
      T: tsMs,
      t: f?.trade.tradeId ?? -1,
      I: f?.seq ?? 0,
      w: r.onBook,
      m: f?.maker ?? false,
      M: false,
      O: o.createdMs,
      Z: ix.quote(m, r.quoteFilledUnits),
      Y: ix.quote(m, f?.trade.quoteUnits ?? 0),
      Q: ix.quote(m, placed?.quoteUnits ?? 0),
      W: o.createdMs,
      V: placed?.stp ?? m.spec.defaultStp,
    };
  }

  /** A deposit (positive `d`) or a withdrawal (negative). */
  private balanceUpdate(b: BalanceChanged, tsMs: number): UserEvent {
    const asset = this.ix.assetById(b.assetId);
    const units = b.transferUnits ?? 0;
    const d = (units < 0 ? "-" : "") + this.ix.amount(asset, Math.abs(units));
    return { e: "balanceUpdate", E: tsMs, a: asset.name, d, T: tsMs };
  }

  private flushPositions(out: UserEvent[]): void {
    if (this.#positions.size === 0) return;
    const ix = this.ix;
    const B = [...this.#positions.values()]
      .sort((a, b) => a.assetId - b.assetId)
      .map((b) => {
        const asset = ix.assetById(b.assetId);
        return {
          a: asset.name,
          f: ix.amount(asset, b.availableUnits),
          l: ix.amount(asset, b.frozenUnits),
        };
      });
    this.#positions.clear();
    out.push({ e: "outboundAccountPosition", E: this.#positionsMs, u: this.#positionsMs, B });
  }
}
