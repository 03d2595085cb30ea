/**
 * The read path of the SQLite adapter: the port's queries as SQL over the indexes of
 * sql/sqlite.sql, with keyset paging (page_cursor.ts). Columns are aliased to the port's
 * field names so a result row converts to a port row by a plain copy.
 *
 * Every statement is prepared once per distinct SQL text (a handful of filter variants)
 * and reads integers as JS numbers: writes only store safe integers, so they are exact.
 * History queries name their index (INDEXED BY): with a symbol or time filter the planner
 * could otherwise prefer the symbol index and sort a whole symbol's history for one page.
 */

import type { DatabaseSync, StatementSync } from "node:sqlite";
import { type CursorKind, decodeCursor, encodeCursor, pageLimit } from "./page_cursor.ts";
import type {
  BalanceRow,
  CandleRow,
  HistoryQuery,
  OrderRow,
  Page,
  TradeRow,
} from "./storage_port.ts";

const ORDER_COLUMNS = `o.order_id AS orderId, o.version, o.user_id AS userId,
  o.symbol_id AS symbolId, o.side, o.order_type AS orderType, o.time_in_force AS timeInForce,
  o.price AS priceTicks, o.qty AS qtyUnits, o.quote_qty AS quoteUnits,
  o.filled_qty AS filledUnits, o.quote_filled_qty AS quoteFilledUnits, o.status, o.cid,
  o.post_only AS postOnly, o.stp, o.created_ms AS createdMs, o.updated_ms AS updatedMs`;

const TRADE_COLUMNS = `trade_id AS tradeId, symbol_id AS symbolId, price AS priceTicks,
  qty AS qtyUnits, quote_qty AS quoteUnits, taker_side AS takerSide,
  maker_order_id AS makerOrderId, taker_order_id AS takerOrderId,
  maker_user_id AS makerUserId, taker_user_id AS takerUserId, buyer_fee AS buyerFeeUnits,
  seller_fee AS sellerFeeUnits, ts_ms AS tsMs`;

const BALANCE_COLUMNS = `b.user_id AS userId, b.asset_id AS assetId, b.version,
  b.avail AS availableUnits, b.frozen AS frozenUnits, b.ts_ms AS tsMs`;

const CANDLE_COLUMNS = `symbol_id AS symbolId, intv AS interval, open_ms AS openMs,
  close_ms AS closeMs, open AS openTicks, high AS highTicks, low AS lowTicks,
  close AS closeTicks, volume AS baseVolumeUnits, quote_volume AS quoteVolumeUnits,
  trade_count AS trades, taker_buy_volume AS takerBuyBaseUnits,
  taker_buy_quote_volume AS takerBuyQuoteUnits, closed`;

/**
 * Latest version of each asset: a skip-scan over the primary key, two seeks per asset
 * however many versions the user has. CROSS JOIN keeps the asset list as the outer loop
 * (a plain JOIN lets the planner scan every version of the user's balances instead).
 */
const LATEST_BALANCES = `WITH RECURSIVE a(asset_id) AS (
    SELECT MIN(asset_id) FROM balances WHERE user_id = ?1
    UNION ALL
    SELECT (SELECT MIN(n.asset_id) FROM balances n WHERE n.user_id = ?1 AND n.asset_id > a.asset_id)
    FROM a WHERE a.asset_id IS NOT NULL)
  SELECT ${BALANCE_COLUMNS} FROM a CROSS JOIN balances b
  WHERE b.user_id = ?1 AND b.asset_id = a.asset_id
    AND b.version = (SELECT MAX(m.version) FROM balances m
                     WHERE m.user_id = ?1 AND m.asset_id = a.asset_id)
  ORDER BY a.asset_id`;

const ORDER_KEY = { time: "o.created_ms", id: "o.order_id", symbol: "o.symbol_id" };
const TRADE_KEY = { time: "ts_ms", id: "trade_id", symbol: "symbol_id" };

type SqlArg = number | string | null;
type DbRow = Record<string, SqlArg>;

/** Conditions and arguments of a history query on a (time, id) key, newest first. */
interface Window {
  conds: string[];
  args: SqlArg[];
}

/** Column names of a history query's key and symbol. */
interface KeyColumns {
  time: string;
  id: string;
  symbol: string;
}

/**
 * The filters of `q` on `cols`, continued below the cursor if any. The cursor's time is
 * folded into the upper time bound so the index range starts at the cursor instead of
 * scanning the rows of earlier pages again.
 */
function window(kind: CursorKind, q: HistoryQuery, cols: KeyColumns): Window {
  const { time, id } = cols;
  const start = q.startMs ?? 0;
  let end = q.endMs ?? Number.MAX_SAFE_INTEGER;
  const conds = [`${time} BETWEEN ? AND ?`];
  const args: SqlArg[] = [start];
  if (q.cursor === undefined) {
    args.push(end);
  } else {
    const key = decodeCursor(kind, q.cursor);
    end = Math.min(end, key.timeMs);
    args.push(end, key.timeMs, key.id);
    conds.push(`(${time} < ? OR ${id} < ?)`);
  }
  if (q.symbolId !== undefined) {
    conds.push(`${cols.symbol} = ?`);
    args.push(q.symbolId);
  }
  return { conds, args };
}

/** An order row as the port gives it (post_only is stored as 0 or 1). */
function orderOf(r: DbRow): OrderRow {
  return { ...r, postOnly: r.postOnly === 1 } as unknown as OrderRow;
}

/** Splits `limit + 1` fetched rows into a page, with a cursor when the extra row exists. */
function toPage<T>(rows: T[], limit: number, cursorOf: (row: T) => string): Page<T> {
  if (rows.length <= limit) return { rows };
  rows.length = limit;
  return { rows, nextCursor: cursorOf(rows[limit - 1]) };
}

/** Prepared reads of one connection. */
export class SqliteReader {
  readonly #db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();

  constructor(db: DatabaseSync) {
    this.#db = db;
  }

  #all(sql: string, args: SqlArg[]): DbRow[] {
    let stmt = this.#statements.get(sql);
    if (stmt === undefined) {
      stmt = this.#db.prepare(sql);
      stmt.setReadBigInts(false); // numbers, exact: only safe integers are ever written
      this.#statements.set(sql, stmt);
    }
    return stmt.all(...args) as DbRow[];
  }

  /** Highest trade id stored, 0 if none. */
  lastTradeId(): number {
    return this.#all(`SELECT COALESCE(MAX(trade_id), 0) AS id FROM trades`, [])[0].id as number;
  }

  /** The highest version of an order, or undefined. */
  order(orderId: number): OrderRow | undefined {
    const rows = this.#all(
      `SELECT ${ORDER_COLUMNS} FROM orders o WHERE o.order_id = ? ORDER BY o.version DESC LIMIT 1`,
      [orderId],
    );
    return rows.length === 0 ? undefined : orderOf(rows[0]);
  }

  /** Latest version of each of a user's orders, by (createdMs, orderId) descending. */
  orders(userId: number, q: HistoryQuery): Page<OrderRow> {
    const limit = pageLimit(q.limit);
    const w = window("o", q, ORDER_KEY);
    const conds = [
      "o.user_id = ?",
      ...w.conds,
      "o.version = (SELECT MAX(m.version) FROM orders m WHERE m.order_id = o.order_id)",
    ];
    const args = [userId, ...w.args];
    if (q.status !== undefined) {
      conds.push("o.status = ?");
      args.push(q.status);
    }
    const sql = `SELECT ${ORDER_COLUMNS} FROM orders AS o INDEXED BY orders_by_user
      WHERE ${conds.join(" AND ")}
      ORDER BY o.created_ms DESC, o.order_id DESC LIMIT ?`;
    const rows = this.#all(sql, [...args, limit + 1]).map(orderOf);
    return toPage(rows, limit, (o) => encodeCursor("o", { timeMs: o.createdMs, id: o.orderId }));
  }

  /**
   * A user's trades as maker or taker, by (tsMs, tradeId) descending: the newest `limit + 1`
   * of each side, merged. A self-trade (maker = taker) comes from the maker side only.
   */
  userTrades(userId: number, q: HistoryQuery): Page<TradeRow> {
    const limit = pageLimit(q.limit);
    const w = window("t", q, TRADE_KEY);
    const where = w.conds.join(" AND ");
    const sql = `SELECT * FROM (SELECT ${TRADE_COLUMNS} FROM trades INDEXED BY trades_by_maker
        WHERE maker_user_id = ? AND ${where} ORDER BY ts_ms DESC, trade_id DESC LIMIT ?)
      UNION ALL
      SELECT * FROM (SELECT ${TRADE_COLUMNS} FROM trades INDEXED BY trades_by_taker
        WHERE taker_user_id = ? AND maker_user_id <> ? AND ${where}
        ORDER BY ts_ms DESC, trade_id DESC LIMIT ?)
      ORDER BY tsMs DESC, tradeId DESC LIMIT ?`;
    const n = limit + 1;
    const args = [userId, ...w.args, n, userId, userId, ...w.args, n, n];
    const rows = this.#all(sql, args).map((r) => ({ ...r }) as unknown as TradeRow);
    return toPage(rows, limit, (t) => encodeCursor("t", { timeMs: t.tsMs, id: t.tradeId }));
  }

  /** A symbol's newest trades, newest first. */
  publicTrades(symbolId: number, limit: number): TradeRow[] {
    const sql = `SELECT ${TRADE_COLUMNS} FROM trades INDEXED BY trades_by_symbol WHERE symbol_id = ?
      ORDER BY ts_ms DESC, trade_id DESC LIMIT ?`;
    return this.#all(sql, [symbolId, pageLimit(limit)]).map((r) =>
      ({ ...r }) as unknown as TradeRow
    );
  }

  /** Latest version of each of a user's balances, by asset id. */
  balances(userId: number): BalanceRow[] {
    return this.#all(LATEST_BALANCES, [userId]).map((r) => ({ ...r }) as unknown as BalanceRow);
  }

  /** The first `limit` candles with openMs in [startMs, endMs], oldest first. */
  candles(
    symbolId: number,
    interval: string,
    startMs: number,
    endMs: number,
    limit: number,
  ): CandleRow[] {
    const sql = `SELECT ${CANDLE_COLUMNS} FROM candles
      WHERE symbol_id = ? AND intv = ? AND open_ms BETWEEN ? AND ? ORDER BY open_ms LIMIT ?`;
    const rows = this.#all(sql, [symbolId, interval, startMs, endMs, pageLimit(limit)]);
    return rows.map((r) => ({ ...r, closed: r.closed === 1 }) as unknown as CandleRow);
  }
}
