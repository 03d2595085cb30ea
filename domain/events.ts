/**
 * Events the engine emits, in order, for each command. They are the payloads of the
 * change-log entries every stage speaks (ARCHITECTURE.md section 4).
 */

import type { RejectReason } from "./reject_codes.ts";
import type { EndReason, OrderStatus, OrderType, Side, StpMode, TimeInForce } from "./types.ts";

/** A place order passed validation and risk: its funds are held. */
export interface OrderAccepted {
  type: "accepted";
  orderId: number;
  userId: number;
  symbolId: number;
  side: Side;
  orderType: OrderType;
  timeInForce: TimeInForce;
  postOnly: boolean;
  /** 0 for MARKET orders. */
  priceTicks: number;
  /** 0 for a MARKET BUY by quote amount. */
  qtyUnits: number;
  /** Quote budget of a MARKET BUY by quote amount, else 0. */
  quoteUnits: number;
  stp: StpMode;
  cid: string | null;
  holdAssetId: number;
  holdUnits: number;
}

/** A command was refused; nothing changed. */
export interface CommandRejected {
  type: "rejected";
  command: "place" | "cancel" | "amend" | "deposit" | "withdraw";
  code: number;
  reason: RejectReason;
  message: string;
  userId: number;
  orderId: number | null;
  cid: string | null;
}

/** An order's status, fill or quantity changed. */
export interface OrderUpdated {
  type: "order";
  orderId: number;
  userId: number;
  symbolId: number;
  side: Side;
  orderType: OrderType;
  timeInForce: TimeInForce;
  /** When the order was accepted (ms; 0 when the caller gave no time). */
  createdMs: number;
  status: OrderStatus;
  priceTicks: number;
  qtyUnits: number;
  filledUnits: number;
  remainingUnits: number;
  quoteFilledUnits: number;
  cid: string | null;
  /** Why it ended, for CANCELED, REJECTED and EXPIRED; else null. */
  reason: EndReason | null;
}

/** One fill between a resting maker and an incoming taker, at the maker's price. */
export interface TradeEvent {
  type: "trade";
  tradeId: number;
  symbolId: number;
  priceTicks: number;
  qtyUnits: number;
  quoteUnits: number;
  takerSide: Side;
  makerOrderId: number;
  takerOrderId: number;
  makerUserId: number;
  takerUserId: number;
  /** Fee the buyer paid, in base units. */
  buyerFeeUnits: number;
  /** Fee the seller paid, in quote units. */
  sellerFeeUnits: number;
}

/** A user's balance of one asset after a change. */
export interface BalanceChanged {
  type: "balance";
  userId: number;
  assetId: number;
  availableUnits: number;
  frozenUnits: number;
  /** Present for a deposit (positive) or a withdrawal (negative): the amount moved. */
  transferUnits?: number;
}

/** The aggregate quantity at one price level after a change (0: the level is gone). */
export interface BookDelta {
  type: "book";
  symbolId: number;
  updateId: number;
  side: Side;
  priceTicks: number;
  qtyUnits: number;
}

export type EngineEvent =
  | OrderAccepted
  | CommandRejected
  | OrderUpdated
  | TradeEvent
  | BalanceChanged
  | BookDelta;
