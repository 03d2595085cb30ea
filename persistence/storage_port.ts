/**
 * The storage port: what the pipeline persists (as a side channel, in batches) and what
 * the API reads back for history. Every adapter (SQLite, TDengine) implements it and
 * passes the same conformance suite (tests/persistence/storage_conformance.ts).
 *
 * All amounts are integers in units (prices in ticks); timestamps are milliseconds since
 * the epoch. Writes are idempotent so a batch can be retried or re-delivered after a
 * crash: a trade is stored once per trade id, an order version once per (order id,
 * version), a balance version once per (user, asset, version), a candle is replaced by
 * a later write of the same (symbol, interval, open time).
 */

import type { OrderStatus, OrderType, Side, StpMode, TimeInForce } from "../domain/types.ts";
import type { PackedRows } from "./packed_rows.ts";

/** One state of an order: a new row per version (status, fill or amend change). */
export interface OrderRow {
  orderId: number;
  /** Increases by one with every change of the order, from 1 at acceptance. */
  version: number;
  userId: number;
  symbolId: number;
  side: Side;
  orderType: OrderType;
  timeInForce: TimeInForce;
  /** 0 for market orders. */
  priceTicks: number;
  /** 0 for a market buy by quote amount. */
  qtyUnits: number;
  /** Budget of a market buy by quote amount, else 0. */
  quoteUnits: number;
  filledUnits: number;
  quoteFilledUnits: number;
  status: OrderStatus;
  cid: string | null;
  /** Placed post-only (a maker-only limit order). */
  postOnly: boolean;
  /** Self-trade prevention mode the order was placed with. */
  stp: StpMode;
  /** When the order was accepted. */
  createdMs: number;
  /** When this version was produced. */
  updatedMs: number;
}

export interface TradeRow {
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
  /** Paid by the buyer, in base units. */
  buyerFeeUnits: number;
  /** Paid by the seller, in quote units. */
  sellerFeeUnits: number;
  tsMs: number;
}

/** A user's balance of one asset after a change. */
export interface BalanceRow {
  userId: number;
  assetId: number;
  /** Increases by one with every change of this user's balance of this asset. */
  version: number;
  availableUnits: number;
  frozenUnits: number;
  tsMs: number;
}

export interface CandleRow {
  symbolId: number;
  /** One of the 16 standard intervals: 1s 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w 1M. */
  interval: string;
  openMs: number;
  closeMs: number;
  openTicks: number;
  highTicks: number;
  lowTicks: number;
  closeTicks: number;
  baseVolumeUnits: number;
  quoteVolumeUnits: number;
  trades: number;
  takerBuyBaseUnits: number;
  takerBuyQuoteUnits: number;
  /** True once the interval has ended. */
  closed: boolean;
}

/** One write: everything is applied in one transaction, or nothing. */
export interface WriteBatch {
  orders: OrderRow[];
  trades: TradeRow[];
  balances: BalanceRow[];
  candles: CandleRow[];
}

/**
 * Filters of history queries. Results are newest first by (time, id): (createdMs, orderId)
 * for orders, (tsMs, tradeId) for trades; `cursor` continues a page (keyset, not offset).
 */
export interface HistoryQuery {
  symbolId?: number;
  /** Orders only: the status of the order's latest version. */
  status?: OrderStatus;
  /** Inclusive bounds on the row's time (createdMs for orders, tsMs for trades). */
  startMs?: number;
  endMs?: number;
  /** At most this many rows (adapters cap it at MAX_QUERY_ROWS). */
  limit: number;
  /** Opaque value from the previous page's `nextCursor`. */
  cursor?: string;
}

export interface Page<T> {
  rows: T[];
  /** Present when more rows may follow. */
  nextCursor?: string;
}

/** Most rows one query returns. */
export const MAX_QUERY_ROWS = 1000;

/** Most rows (orders + trades + balances + candles) one `write` accepts; split larger ones. */
export const MAX_BATCH_ROWS = 100_000;

export interface StoragePort {
  /** Creates the schema if needed (idempotent) and opens connections. */
  init(): Promise<void>;
  /**
   * Persists a batch atomically; idempotent as described above. Throws a RangeError, and
   * stores nothing, if the batch exceeds MAX_BATCH_ROWS or a row is invalid (an integer
   * field that is not a non-negative safe integer, an unknown enum value or interval, a cid
   * longer than MAX_CID_LENGTH).
   */
  write(batch: WriteBatch): Promise<void>;
  /**
   * Optional: persists a packed batch (persistence/packed_rows.ts), exactly as
   * `write(unpackRows(rows))` would. The caller gives up `rows`: its arrays may be moved
   * to another thread. For an adapter whose writes run elsewhere (the SQLite worker), so
   * that rows are built there instead of on the pipeline's thread.
   */
  writePacked?(rows: PackedRows): Promise<void>;
  /** Highest trade id stored, 0 if none. */
  lastTradeId(): Promise<number>;
  /** The latest version of an order, or undefined. */
  order(orderId: number): Promise<OrderRow | undefined>;
  /** Latest version of each of a user's orders, newest order first. */
  orders(userId: number, q: HistoryQuery): Promise<Page<OrderRow>>;
  /** A user's trades (as maker or taker; a self-trade once), newest first. */
  userTrades(userId: number, q: HistoryQuery): Promise<Page<TradeRow>>;
  /** A symbol's trades, newest first. */
  publicTrades(symbolId: number, limit: number): Promise<TradeRow[]>;
  /** Latest version of each of a user's balances, by asset id. */
  balances(userId: number): Promise<BalanceRow[]>;
  /**
   * Candles of one symbol and interval with openMs in [startMs, endMs], oldest first: the
   * first `limit` of them (capped at MAX_QUERY_ROWS).
   */
  candles(
    symbolId: number,
    interval: string,
    startMs: number,
    endMs: number,
    limit: number,
  ): Promise<CandleRow[]>;
  close(): Promise<void>;
}
