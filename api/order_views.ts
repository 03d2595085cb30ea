/**
 * How orders, trades and balances look on the wire (native API): snake_case fields,
 * SCREAMING_CASE enums, decimal strings for prices and quantities, times in ms. One
 * function per source shape: live open orders, order updates from an answer, store rows.
 */

import type { OrderUpdated, TradeEvent } from "../domain/events.ts";
import type { OrderStatus, OrderType, Side, TimeInForce } from "../domain/types.ts";
import type { Exchange, OpenOrder } from "../actors/exchange.ts";
import type { OrderRow, TradeRow } from "../persistence/storage_port.ts";
import type { MarketIndex } from "./market_index.ts";

export interface OrderView {
  order_id: number;
  symbol: string;
  side: Side;
  type: OrderType;
  time_in_force: TimeInForce;
  status: OrderStatus;
  price: string;
  qty: string;
  quote_qty: string;
  filled_qty: string;
  quote_filled_qty: string;
  cid: string | null;
  created_at: number;
}

export interface TradeView {
  trade_id: number;
  symbol: string;
  order_id: number;
  side: Side;
  role: "MAKER" | "TAKER";
  price: string;
  qty: string;
  quote_qty: string;
  fee: string;
  fee_asset: string;
  time: number;
}

export interface PublicTradeView {
  trade_id: number;
  symbol: string;
  price: string;
  qty: string;
  quote_qty: string;
  taker_side: Side;
  time: number;
}

/** A resting order read from the live book (always LIMIT GTC). */
export function openOrderView(ix: MarketIndex, o: OpenOrder): OrderView {
  const m = ix.symbolById(o.symbolId);
  return {
    order_id: o.orderId,
    symbol: m.spec.name,
    side: o.side,
    type: "LIMIT",
    time_in_force: "GTC",
    status: o.filledUnits > 0 ? "PARTIALLY_FILLED" : "NEW",
    price: ix.price(m, o.priceTicks),
    qty: ix.qty(m, o.qtyUnits),
    quote_qty: ix.quote(m, 0),
    filled_qty: ix.qty(m, o.filledUnits),
    quote_filled_qty: ix.quote(m, o.quoteFilledUnits),
    cid: o.cid,
    created_at: o.createdMs,
  };
}

/** An order as an update event of an answer states it. */
export function updateView(ix: MarketIndex, u: OrderUpdated, quoteUnits = 0): OrderView {
  const m = ix.symbolById(u.symbolId);
  return {
    order_id: u.orderId,
    symbol: m.spec.name,
    side: u.side,
    type: u.orderType,
    time_in_force: u.timeInForce,
    status: u.status,
    price: ix.price(m, u.priceTicks),
    qty: ix.qty(m, u.qtyUnits),
    quote_qty: ix.quote(m, quoteUnits),
    filled_qty: ix.qty(m, u.filledUnits),
    quote_filled_qty: ix.quote(m, u.quoteFilledUnits),
    cid: u.cid,
    created_at: u.createdMs,
  };
}

/** An order's latest version in the store. */
export function orderRowView(ix: MarketIndex, r: OrderRow): OrderView {
  const m = ix.symbolById(r.symbolId);
  return {
    order_id: r.orderId,
    symbol: m.spec.name,
    side: r.side,
    type: r.orderType,
    time_in_force: r.timeInForce,
    status: r.status,
    price: ix.price(m, r.priceTicks),
    qty: ix.qty(m, r.qtyUnits),
    quote_qty: ix.quote(m, r.quoteUnits),
    filled_qty: ix.qty(m, r.filledUnits),
    quote_filled_qty: ix.quote(m, r.quoteFilledUnits),
    cid: r.cid,
    created_at: r.createdMs,
  };
}

/**
 * A trade from the side of `userId` (who may be maker, taker, or both in a self-trade:
 * then as taker). The buyer's fee is in base, the seller's in quote.
 */
export function tradeView(
  ix: MarketIndex,
  t: TradeRow | (TradeEvent & { tsMs: number }),
  userId: number,
): TradeView {
  const m = ix.symbolById(t.symbolId);
  const taker = t.takerUserId === userId;
  const side: Side = taker ? t.takerSide : t.takerSide === "BUY" ? "SELL" : "BUY";
  const buyer = side === "BUY";
  return {
    trade_id: t.tradeId,
    symbol: m.spec.name,
    order_id: taker ? t.takerOrderId : t.makerOrderId,
    side,
    role: taker ? "TAKER" : "MAKER",
    price: ix.price(m, t.priceTicks),
    qty: ix.qty(m, t.qtyUnits),
    quote_qty: ix.quote(m, t.quoteUnits),
    fee: buyer ? ix.qty(m, t.buyerFeeUnits) : ix.quote(m, t.sellerFeeUnits),
    fee_asset: buyer ? m.base.name : m.quote.name,
    time: t.tsMs,
  };
}

export function publicTradeView(ix: MarketIndex, t: TradeRow): PublicTradeView {
  const m = ix.symbolById(t.symbolId);
  return {
    trade_id: t.tradeId,
    symbol: m.spec.name,
    price: ix.price(m, t.priceTicks),
    qty: ix.qty(m, t.qtyUnits),
    quote_qty: ix.quote(m, t.quoteUnits),
    taker_side: t.takerSide,
    time: t.tsMs,
  };
}

export interface BalanceView {
  asset: string;
  available: string;
  frozen: string;
}

/** Every configured asset's balance of `userId` (zero for assets never touched). */
export function balanceViews(ix: MarketIndex, exchange: Exchange, userId: number): BalanceView[] {
  const held = new Map(exchange.balances(userId).map((b) => [b.assetId, b]));
  return ix.assetList().map((a) => ({
    asset: a.name,
    available: ix.amount(a, held.get(a.id)?.availableUnits ?? 0),
    frozen: ix.amount(a, held.get(a.id)?.frozenUnits ?? 0),
  }));
}
