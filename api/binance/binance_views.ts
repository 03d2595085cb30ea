/**
 * How orders, fills, trades and balances look in Binance's JSON (spot API): camelCase
 * fields in Binance's order, decimal strings at the market's own scales, times in ms,
 * `orderListId: -1` (no order lists here). One normalised {@link BinanceOrderState} is
 * built from whichever source knows the order (the answer to a place, the live book, the
 * store), and every order view is built from it; the WebSocket `executionReport` can
 * reuse the same pieces.
 */

import type { OpenOrder } from "../../actors/exchange.ts";
import { formatUnits } from "../../domain/decimal.ts";
import type { Market } from "../../domain/market_config.ts";
import type { OrderAccepted, OrderUpdated, TradeEvent } from "../../domain/events.ts";
import type { OrderStatus, Side, StpMode, TimeInForce } from "../../domain/types.ts";
import type { OrderRow, TradeRow } from "../../persistence/storage_port.ts";
import type { MarketIndex } from "../market_index.ts";
import { binanceSymbol } from "./binance_markets.ts";

/** Binance order types this exchange runs. */
export type BinanceOrderType = "LIMIT" | "MARKET" | "LIMIT_MAKER";
/** Binance's response types of a new order. */
export type NewOrderRespType = "ACK" | "RESULT" | "FULL";

/** One order's state, whatever its source: what every Binance order view needs. */
export interface BinanceOrderState {
  orderId: number;
  symbolId: number;
  side: Side;
  type: BinanceOrderType;
  timeInForce: TimeInForce;
  status: OrderStatus;
  /** 0 for MARKET orders. */
  priceTicks: number;
  /** Base quantity ordered; 0 for a MARKET BUY by quote amount. */
  qtyUnits: number;
  /** Quote budget of a MARKET BUY by quote amount, else 0. */
  quoteUnits: number;
  filledUnits: number;
  quoteFilledUnits: number;
  cid: string | null;
  createdMs: number;
  updatedMs: number;
  stp: StpMode;
}

/**
 * The state an answer's update event tells, with what acceptance added (post-only, the
 * quote budget, the STP mode); without `accepted`, as for a cancel, the market's
 * default STP mode is shown. `updatedMs` is when the answer was produced.
 */
export function stateOfUpdate(
  m: Market,
  u: OrderUpdated,
  updatedMs: number,
  accepted?: OrderAccepted,
): BinanceOrderState {
  return {
    orderId: u.orderId,
    symbolId: u.symbolId,
    side: u.side,
    type: accepted?.postOnly === true ? "LIMIT_MAKER" : u.orderType,
    timeInForce: u.timeInForce,
    status: u.status,
    priceTicks: u.priceTicks,
    qtyUnits: u.qtyUnits,
    quoteUnits: accepted?.quoteUnits ?? 0,
    filledUnits: u.filledUnits,
    quoteFilledUnits: u.quoteFilledUnits,
    cid: u.cid,
    createdMs: u.createdMs,
    updatedMs,
    stp: accepted?.stp ?? m.spec.defaultStp,
  };
}

/**
 * A resting order from the live book (always a GTC limit; LIMIT_MAKER when placed
 * post-only), with the STP mode it was placed with. `updatedMs` is its last change if
 * known, else its creation.
 */
export function stateOfOpenOrder(_m: Market, o: OpenOrder, updatedMs?: number): BinanceOrderState {
  return {
    orderId: o.orderId,
    symbolId: o.symbolId,
    side: o.side,
    type: o.postOnly ? "LIMIT_MAKER" : "LIMIT",
    timeInForce: "GTC",
    status: o.filledUnits > 0 ? "PARTIALLY_FILLED" : "NEW",
    priceTicks: o.priceTicks,
    qtyUnits: o.qtyUnits,
    quoteUnits: 0,
    filledUnits: o.filledUnits,
    quoteFilledUnits: o.quoteFilledUnits,
    cid: o.cid,
    createdMs: o.createdMs,
    updatedMs: updatedMs ?? o.createdMs,
    stp: o.stp,
  };
}

/** An order's latest version in the store. */
export function stateOfRow(_m: Market, r: OrderRow): BinanceOrderState {
  return {
    orderId: r.orderId,
    symbolId: r.symbolId,
    side: r.side,
    type: r.postOnly ? "LIMIT_MAKER" : r.orderType,
    timeInForce: r.timeInForce,
    status: r.status,
    priceTicks: r.priceTicks,
    qtyUnits: r.qtyUnits,
    quoteUnits: r.quoteUnits,
    filledUnits: r.filledUnits,
    quoteFilledUnits: r.quoteFilledUnits,
    cid: r.cid,
    createdMs: r.createdMs,
    updatedMs: r.updatedMs,
    stp: r.stp,
  };
}

/** The fields every order view shares, in Binance's order. */
function figures(ix: MarketIndex, m: Market, s: BinanceOrderState) {
  return {
    price: ix.price(m, s.priceTicks),
    // A market buy by quote amount orders no base quantity: Binance shows what it bought.
    origQty: ix.qty(m, s.qtyUnits > 0 ? s.qtyUnits : s.filledUnits),
    executedQty: ix.qty(m, s.filledUnits),
  };
}

/** Binance shows MARKET orders with timeInForce GTC. */
function timeInForceOf(s: BinanceOrderState): TimeInForce {
  return s.type === "MARKET" ? "GTC" : s.timeInForce;
}

/** The answer to a new order with newOrderRespType ACK. */
export function orderAckView(ix: MarketIndex, s: BinanceOrderState, transactTime: number) {
  const m = ix.symbolById(s.symbolId);
  return {
    symbol: binanceSymbol(m),
    orderId: s.orderId,
    orderListId: -1,
    clientOrderId: s.cid ?? "",
    transactTime,
  };
}

/** The answer to a new order with newOrderRespType RESULT. */
export function orderResultView(ix: MarketIndex, s: BinanceOrderState, transactTime: number) {
  const m = ix.symbolById(s.symbolId);
  const f = figures(ix, m, s);
  return {
    ...orderAckView(ix, s, transactTime),
    price: f.price,
    origQty: f.origQty,
    executedQty: f.executedQty,
    origQuoteOrderQty: ix.quote(m, s.quoteUnits),
    cummulativeQuoteQty: ix.quote(m, s.quoteFilledUnits),
    status: s.status,
    timeInForce: timeInForceOf(s),
    type: s.type,
    side: s.side,
    workingTime: s.createdMs,
    selfTradePreventionMode: s.stp,
  };
}

/** One fill of a new order (FULL answers): price, qty, commission and trade id. */
export interface BinanceFill {
  price: string;
  qty: string;
  commission: string;
  commissionAsset: string;
  tradeId: number;
}

/** The answer to a new order with newOrderRespType FULL: RESULT and the order's fills. */
export function orderFullView(
  ix: MarketIndex,
  s: BinanceOrderState,
  transactTime: number,
  fills: BinanceFill[],
) {
  return { ...orderResultView(ix, s, transactTime), fills };
}

/**
 * A fill as the order on `side` saw it. The buyer pays its fee in base, the seller in
 * quote.
 */
export function fillView(ix: MarketIndex, t: TradeEvent | TradeRow, side: Side): BinanceFill {
  const m = ix.symbolById(t.symbolId);
  const buyer = side === "BUY";
  return {
    price: ix.price(m, t.priceTicks),
    qty: ix.qty(m, t.qtyUnits),
    commission: buyer ? ix.qty(m, t.buyerFeeUnits) : ix.quote(m, t.sellerFeeUnits),
    commissionAsset: buyer ? m.base.name : m.quote.name,
    tradeId: t.tradeId,
  };
}

/** An order as GET /api/v3/order, /openOrders and /allOrders show it. */
export function orderView(ix: MarketIndex, s: BinanceOrderState) {
  const m = ix.symbolById(s.symbolId);
  const f = figures(ix, m, s);
  return {
    symbol: binanceSymbol(m),
    orderId: s.orderId,
    orderListId: -1,
    clientOrderId: s.cid ?? "",
    price: f.price,
    origQty: f.origQty,
    executedQty: f.executedQty,
    cummulativeQuoteQty: ix.quote(m, s.quoteFilledUnits),
    status: s.status,
    timeInForce: timeInForceOf(s),
    type: s.type,
    side: s.side,
    stopPrice: ix.price(m, 0),
    icebergQty: ix.qty(m, 0),
    time: s.createdMs,
    updateTime: s.updatedMs,
    isWorking: true,
    workingTime: s.createdMs,
    origQuoteOrderQty: ix.quote(m, s.quoteUnits),
    selfTradePreventionMode: s.stp,
  };
}

/**
 * A cancelled order as DELETE /api/v3/order and /openOrders answer it: `clientOrderId`
 * is the cancel request's own id, `origClientOrderId` the order's.
 */
export function cancelView(
  ix: MarketIndex,
  s: BinanceOrderState,
  cancelClientOrderId: string,
  transactTime: number,
) {
  const m = ix.symbolById(s.symbolId);
  const f = figures(ix, m, s);
  return {
    symbol: binanceSymbol(m),
    origClientOrderId: s.cid ?? "",
    orderId: s.orderId,
    orderListId: -1,
    clientOrderId: cancelClientOrderId,
    transactTime,
    price: f.price,
    origQty: f.origQty,
    executedQty: f.executedQty,
    origQuoteOrderQty: ix.quote(m, s.quoteUnits),
    cummulativeQuoteQty: ix.quote(m, s.quoteFilledUnits),
    status: s.status,
    timeInForce: timeInForceOf(s),
    type: s.type,
    side: s.side,
    selfTradePreventionMode: s.stp,
  };
}

/** One of a user's trades as GET /api/v3/myTrades shows it. */
export interface BinanceMyTrade {
  symbol: string;
  id: number;
  orderId: number;
  orderListId: number;
  price: string;
  qty: string;
  quoteQty: string;
  commission: string;
  commissionAsset: string;
  time: number;
  isBuyer: boolean;
  isMaker: boolean;
  isBestMatch: boolean;
}

/**
 * A trade from the side of `userId`: one entry, or two for a self-trade (maker side
 * first, then taker), as Binance lists a self-trade once per order.
 */
export function myTradeViews(ix: MarketIndex, t: TradeRow, userId: number): BinanceMyTrade[] {
  const out: BinanceMyTrade[] = [];
  if (t.makerUserId === userId) out.push(myTradeView(ix, t, true));
  if (t.takerUserId === userId) out.push(myTradeView(ix, t, false));
  return out;
}

/** A trade as its maker (`asMaker`) or its taker saw it. */
export function myTradeView(ix: MarketIndex, t: TradeRow, asMaker: boolean): BinanceMyTrade {
  const m = ix.symbolById(t.symbolId);
  const side: Side = asMaker ? (t.takerSide === "BUY" ? "SELL" : "BUY") : t.takerSide;
  const fill = fillView(ix, t, side);
  return {
    symbol: binanceSymbol(m),
    id: t.tradeId,
    orderId: asMaker ? t.makerOrderId : t.takerOrderId,
    orderListId: -1,
    price: fill.price,
    qty: fill.qty,
    quoteQty: ix.quote(m, t.quoteUnits),
    commission: fill.commission,
    commissionAsset: fill.commissionAsset,
    time: t.tsMs,
    isBuyer: side === "BUY",
    isMaker: asMaker,
    isBestMatch: true,
  };
}

/** One asset's line of GET /api/v3/account. */
export interface BinanceBalance {
  asset: string;
  free: string;
  locked: string;
}

/**
 * A fee rate in parts per million as Binance's two forms: the integer commission in
 * hundredths of a percent (basis points) and the decimal rate with 8 places.
 */
export function commissionOf(ppm: number): { bps: number; rate: string } {
  return { bps: ppm / 100, rate: formatUnits(ppm * 100, 8) };
}
