/**
 * Commands the engine applies. Input is already parsed into integers: prices in ticks,
 * quantities in base units, quote amounts and transfers in units of their asset.
 */

import type { OrderType, Side, StpMode, TimeInForce } from "./types.ts";

export interface PlaceOrder {
  type: "place";
  userId: number;
  symbolId: number;
  side: Side;
  orderType: OrderType;
  /** LIMIT only; default GTC. MARKET orders are IOC. */
  timeInForce?: TimeInForce;
  /** LIMIT GTC only: reject instead of taking liquidity. */
  postOnly?: boolean;
  /** LIMIT only. */
  priceTicks?: number;
  /** Base quantity: required for LIMIT and MARKET SELL; a MARKET BUY gives this or quoteUnits. */
  qtyUnits?: number;
  /** MARKET BUY by quote amount. */
  quoteUnits?: number;
  /** Default: the symbol's default mode. */
  stp?: StpMode;
  /** Client order id, unique among the user's open orders. */
  cid?: string;
  /** Use this order id instead of the engine's next one (batch replay). */
  orderId?: number;
}

/** Cancel by order id, or by client order id of the same user. */
export interface CancelOrder {
  type: "cancel";
  userId: number;
  orderId?: number;
  cid?: string;
  /** If given, the order must belong to this symbol. */
  symbolId?: number;
}

/**
 * Amend an open order. `qtyUnits` is the new total quantity (filled included). Without a
 * new price, the quantity must go down and the order keeps its time priority; with a new
 * price the order is replaced: it loses priority and may match at once.
 */
export interface AmendOrder {
  type: "amend";
  userId: number;
  orderId: number;
  qtyUnits?: number;
  priceTicks?: number;
}

export interface Deposit {
  type: "deposit";
  userId: number;
  assetId: number;
  amountUnits: number;
}

export interface Withdraw {
  type: "withdraw";
  userId: number;
  assetId: number;
  amountUnits: number;
}

export type Command = PlaceOrder | CancelOrder | AmendOrder | Deposit | Withdraw;
