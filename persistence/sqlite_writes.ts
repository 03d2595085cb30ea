/**
 * The write path of the SQLite adapter: one prepared INSERT per table, reused by every
 * batch, binding positional parameters (the cheapest way through `node:sqlite`).
 *
 * Idempotency uses `ON CONFLICT (key) DO NOTHING` rather than `INSERT OR IGNORE`: OR IGNORE
 * would also skip rows that break a NOT NULL or CHECK constraint, silently dropping a bad
 * row instead of failing its batch. Candles are upserted: a later write replaces the row.
 */

import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { BalanceRow, CandleRow, OrderRow, TradeRow, WriteBatch } from "./storage_port.ts";

const INSERT_ORDER = `INSERT INTO orders (order_id, version, user_id, symbol_id, side, order_type,
  time_in_force, price, qty, quote_qty, filled_qty, quote_filled_qty, status, cid, created_ms,
  updated_ms, post_only, stp) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (order_id, version) DO NOTHING`;

const INSERT_TRADE = `INSERT INTO trades (trade_id, symbol_id, price, qty, quote_qty, taker_side,
  maker_order_id, taker_order_id, maker_user_id, taker_user_id, buyer_fee, seller_fee, ts_ms)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (trade_id) DO NOTHING`;

const INSERT_BALANCE = `INSERT INTO balances (user_id, asset_id, version, avail, frozen, ts_ms)
  VALUES (?, ?, ?, ?, ?, ?)
  ON CONFLICT (user_id, asset_id, version) DO NOTHING`;

const UPSERT_CANDLE = `INSERT INTO candles (symbol_id, intv, open_ms, close_ms, open, high, low,
  close, volume, quote_volume, trade_count, taker_buy_volume, taker_buy_quote_volume, closed)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (symbol_id, intv, open_ms) DO UPDATE SET close_ms = excluded.close_ms,
    open = excluded.open, high = excluded.high, low = excluded.low, close = excluded.close,
    volume = excluded.volume, quote_volume = excluded.quote_volume,
    trade_count = excluded.trade_count, taker_buy_volume = excluded.taker_buy_volume,
    taker_buy_quote_volume = excluded.taker_buy_quote_volume, closed = excluded.closed`;

/** Prepared inserts of one connection; `insert` runs inside the caller's transaction. */
export class SqliteWriter {
  readonly #order: StatementSync;
  readonly #trade: StatementSync;
  readonly #balance: StatementSync;
  readonly #candle: StatementSync;

  constructor(db: DatabaseSync) {
    this.#order = db.prepare(INSERT_ORDER);
    this.#trade = db.prepare(INSERT_TRADE);
    this.#balance = db.prepare(INSERT_BALANCE);
    this.#candle = db.prepare(UPSERT_CANDLE);
  }

  /** Inserts every row of a validated batch; throws the first SQLite error. */
  insert(batch: WriteBatch): void {
    for (const o of batch.orders) this.#insertOrder(o);
    for (const t of batch.trades) this.#insertTrade(t);
    for (const b of batch.balances) this.#insertBalance(b);
    for (const c of batch.candles) this.#upsertCandle(c);
  }

  #insertOrder(o: OrderRow): void {
    this.#order.run(
      o.orderId,
      o.version,
      o.userId,
      o.symbolId,
      o.side,
      o.orderType,
      o.timeInForce,
      o.priceTicks,
      o.qtyUnits,
      o.quoteUnits,
      o.filledUnits,
      o.quoteFilledUnits,
      o.status,
      o.cid,
      o.createdMs,
      o.updatedMs,
      o.postOnly ? 1 : 0,
      o.stp,
    );
  }

  #insertTrade(t: TradeRow): void {
    this.#trade.run(
      t.tradeId,
      t.symbolId,
      t.priceTicks,
      t.qtyUnits,
      t.quoteUnits,
      t.takerSide,
      t.makerOrderId,
      t.takerOrderId,
      t.makerUserId,
      t.takerUserId,
      t.buyerFeeUnits,
      t.sellerFeeUnits,
      t.tsMs,
    );
  }

  #insertBalance(b: BalanceRow): void {
    this.#balance.run(b.userId, b.assetId, b.version, b.availableUnits, b.frozenUnits, b.tsMs);
  }

  #upsertCandle(c: CandleRow): void {
    this.#candle.run(
      c.symbolId,
      c.interval,
      c.openMs,
      c.closeMs,
      c.openTicks,
      c.highTicks,
      c.lowTicks,
      c.closeTicks,
      c.baseVolumeUnits,
      c.quoteVolumeUnits,
      c.trades,
      c.takerBuyBaseUnits,
      c.takerBuyQuoteUnits,
      c.closed ? 1 : 0,
    );
  }
}
