/**
 * The SQL the TDengine adapter sends (sql/tdengine.sql holds the schema): the schema's
 * statements for a chosen database name, the batched multi-table INSERTs of a write, and
 * the queries of the storage port. Pure functions of their arguments, so every statement
 * is checked offline (tests/persistence/tdengine_sql_test.ts).
 *
 * Values are written as literals: integers are checked safe integers (checkWriteBatch),
 * timestamps are microseconds (the database's precision) computed exactly with bigint, and
 * the only free text (cid) goes through {@link sqlString}.
 */

import { KLINE_INTERVALS } from "../domain/kline_intervals.ts";
import type { OrderStatus, OrderType, Side, StpMode, TimeInForce } from "../domain/types.ts";
import { type CursorKey } from "./page_cursor.ts";
import type { BalanceRow, CandleRow, OrderRow, TradeRow, WriteBatch } from "./storage_port.ts";

/** TDengine's default statement limit is 1,048,576 characters; stay under it. */
export const DEFAULT_MAX_STATEMENT_BYTES = 1_000_000;
/** The database the seed names, used when none is configured. */
export const DEFAULT_TDENGINE_DATABASE = "trading";

// The TINYINT codes stored in TDengine (listed in sql/tdengine.sql). They are a stored
// format, so they are spelled out here rather than taken from the domain's enumeration
// lists, whose order may change freely: a code's meaning never does.
export const SIDE_CODES: readonly Side[] = ["BUY", "SELL"];
export const ORDER_TYPE_CODES: readonly OrderType[] = ["LIMIT", "MARKET"];
export const TIME_IN_FORCE_CODES: readonly TimeInForce[] = ["GTC", "IOC", "FOK"];
export const STP_CODES: readonly StpMode[] = [
  "NONE",
  "EXPIRE_TAKER",
  "EXPIRE_MAKER",
  "EXPIRE_BOTH",
];
export const STATUS_CODES: readonly OrderStatus[] = [
  "NEW",
  "PARTIALLY_FILLED",
  "FILLED",
  "CANCELED",
  "REJECTED",
  "EXPIRED",
];

const DATABASE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const SEED_DATABASE_LINE = /^CREATE DATABASE IF NOT EXISTS trading\b/;

/** Throws a RangeError unless `name` is a plain TDengine identifier (letters, digits, _). */
export function checkDatabaseName(name: string): string {
  if (!DATABASE_NAME.test(name)) {
    throw new RangeError(
      `Invalid TDengine database name: use letters, digits and _ (at most 64, not starting with a digit), received "${name}"`,
    );
  }
  return name;
}

/**
 * The statements of `ddl` (sql/tdengine.sql) for `database`: the CREATE DATABASE with
 * the seed's name replaced, then the rest in order. Comment lines are dropped; statements
 * end with ";" at the end of a line. Throws a RangeError for a bad name or a schema
 * without its CREATE DATABASE line.
 */
export function schemaStatements(
  ddl: string,
  database: string,
): { createDatabase: string; tables: string[] } {
  checkDatabaseName(database);
  const text = ddl.split("\n").filter((l) => !l.trimStart().startsWith("--")).join("\n");
  const statements = text.split(/;\s*$/m).map((s) => s.trim()).filter((s) => s !== "");
  const [first, ...tables] = statements;
  if (first === undefined || !SEED_DATABASE_LINE.test(first)) {
    throw new RangeError("sql/tdengine.sql must begin with CREATE DATABASE IF NOT EXISTS trading");
  }
  return {
    createDatabase: first.replace(SEED_DATABASE_LINE, `CREATE DATABASE IF NOT EXISTS ${database}`),
    tables,
  };
}

/**
 * The super table a CREATE STABLE statement makes and its columns then tags, in order,
 * as `DESCRIBE <table>` lists them. Throws a RangeError for another kind of statement.
 */
export function stableShape(statement: string): { table: string; fields: string[] } {
  const m = /^CREATE STABLE IF NOT EXISTS (\w+) \(([^]*?)\)\s*TAGS \(([^]*)\)$/.exec(statement);
  if (m === null) throw new RangeError(`Not a CREATE STABLE statement: ${statement.slice(0, 60)}`);
  const names = (list: string) => list.split(",").map((c) => c.trim().split(/\s+/)[0]);
  return { table: m[1], fields: [...names(m[2]), ...names(m[3])] };
}

/** `DESCRIBE <table>`: one row per column and tag, `field` first. */
export function describeSql(table: string): string {
  return `DESCRIBE ${table}`;
}

/**
 * A TDengine string literal: single-quoted, with backslash, quotes, newline, carriage
 * return and tab escaped (the escapes TDengine documents). Other control characters
 * cannot be written safely and are refused with a RangeError.
 */
export function sqlString(value: string): string {
  let out = "'";
  for (const ch of value) {
    switch (ch) {
      case "\\":
        out += "\\\\";
        break;
      case "'":
        out += "\\'";
        break;
      case '"':
        out += '\\"';
        break;
      case "\n":
        out += "\\n";
        break;
      case "\r":
        out += "\\r";
        break;
      case "\t":
        out += "\\t";
        break;
      default:
        if (ch < " " || ch === "\u007f") {
          throw new RangeError(
            `Cannot write string to TDengine: control character U+${
              ch.charCodeAt(0).toString(16).padStart(4, "0")
            } in ${JSON.stringify(value.slice(0, 80))}`,
          );
        }
        out += ch;
    }
  }
  return out + "'";
}

/** Milliseconds as the database's microsecond timestamp, exactly (no float rounding). */
export function usTimestamp(ms: number): string {
  return (BigInt(ms) * 1000n).toString();
}

function code<T>(codes: readonly T[], value: T, what: string): number {
  const i = codes.indexOf(value);
  if (i < 0) throw new RangeError(`Cannot write to TDengine: unknown ${what} ${String(value)}`);
  return i;
}

function intervalIndex(interval: string): number {
  const i = (KLINE_INTERVALS as readonly string[]).indexOf(interval);
  if (i < 0) throw new RangeError(`Cannot write to TDengine: unknown interval "${interval}"`);
  return i;
}

/** One row bound for a subtable: the subtable's USING clause and the row's VALUES tuple. */
interface InsertRow {
  table: string;
  using: string;
  values: string;
}

function orderInsert(o: OrderRow): InsertRow {
  const values = [
    usTimestamp(o.updatedMs),
    sqlString(`${o.orderId}.${o.version}`),
    o.orderId,
    o.version,
    o.userId,
    code(SIDE_CODES, o.side, "side"),
    code(ORDER_TYPE_CODES, o.orderType, "order type"),
    code(TIME_IN_FORCE_CODES, o.timeInForce, "time in force"),
    o.priceTicks,
    o.qtyUnits,
    o.quoteUnits,
    o.filledUnits,
    o.quoteFilledUnits,
    code(STATUS_CODES, o.status, "status"),
    o.cid === null ? "NULL" : sqlString(o.cid),
    o.createdMs,
    o.updatedMs,
    o.postOnly ? "true" : "false",
    code(STP_CODES, o.stp, "STP mode"),
  ];
  return {
    table: `o_${o.symbolId}`,
    using: `USING orders TAGS (${o.symbolId})`,
    values: `(${values.join(", ")})`,
  };
}

function tradeInsert(t: TradeRow): InsertRow {
  const values = [
    usTimestamp(t.tsMs),
    t.tradeId,
    t.priceTicks,
    t.qtyUnits,
    t.quoteUnits,
    code(SIDE_CODES, t.takerSide, "side"),
    t.makerOrderId,
    t.takerOrderId,
    t.makerUserId,
    t.takerUserId,
    t.buyerFeeUnits,
    t.sellerFeeUnits,
    t.tsMs,
  ];
  return {
    table: `t_${t.symbolId}`,
    using: `USING trades TAGS (${t.symbolId})`,
    values: `(${values.join(", ")})`,
  };
}

function balanceInsert(b: BalanceRow): InsertRow {
  const values = [usTimestamp(b.tsMs), b.version, b.availableUnits, b.frozenUnits, b.tsMs];
  return {
    table: `b_${b.userId}_${b.assetId}`,
    using: `USING balances TAGS (${b.userId}, ${b.assetId})`,
    values: `(${values.join(", ")})`,
  };
}

function candleInsert(c: CandleRow): InsertRow {
  const values = [
    usTimestamp(c.openMs),
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
    c.closed ? "true" : "false",
  ];
  return {
    table: `k_${c.symbolId}_${intervalIndex(c.interval)}`,
    using: `USING candles TAGS (${c.symbolId}, ${sqlString(c.interval)})`,
    values: `(${values.join(", ")})`,
  };
}

const encoder = new TextEncoder();
const INSERT_HEAD = "INSERT INTO";

/**
 * Packs rows into multi-table INSERT statements of at most `maxBytes` (UTF-8), rows of one
 * subtable under one USING clause per statement, in the order given.
 */
class StatementPacker {
  readonly statements: string[] = [];
  #tables = new Map<string, { using: string; values: string[] }>();
  #bytes = INSERT_HEAD.length;

  constructor(private readonly maxBytes: number) {}

  add(row: InsertRow): void {
    const valueBytes = encoder.encode(row.values).length + 1;
    const known = this.#tables.get(row.table);
    const headBytes = known === undefined
      ? encoder.encode(` ${row.table} ${row.using} VALUES`).length
      : 0;
    if (INSERT_HEAD.length + headBytes + valueBytes > this.maxBytes) {
      throw new RangeError(
        `Cannot write to TDengine: one row of ${row.table} needs ${
          headBytes + valueBytes
        } bytes, more than the statement limit ${this.maxBytes}`,
      );
    }
    if (this.#bytes + headBytes + valueBytes > this.maxBytes) {
      this.flush();
      this.add(row);
      return;
    }
    if (known === undefined) {
      this.#tables.set(row.table, { using: row.using, values: [row.values] });
    } else {
      known.values.push(row.values);
    }
    this.#bytes += headBytes + valueBytes;
  }

  /** Ends the statement being packed, if it holds any row. */
  flush(): void {
    if (this.#tables.size === 0) return;
    const parts = [INSERT_HEAD];
    for (const [table, t] of this.#tables) {
      parts.push(` ${table} ${t.using} VALUES`);
      for (const v of t.values) parts.push(` ${v}`);
    }
    this.statements.push(parts.join(""));
    this.#tables = new Map();
    this.#bytes = INSERT_HEAD.length;
  }
}

/**
 * The INSERT statements that write `batch`, each at most `maxBytes`: orders, balances and
 * candles first, then the trades in ascending id in statements of their own. TDengine has
 * no transactions; writing trades last means that whenever the store holds a trade, it
 * holds everything the batches before it and the non-trade rows of its own batch wrote, so
 * `lastTradeId()` never runs ahead of the rows recovery relies on. Every row has its own
 * primary key (see sql/tdengine.sql), so running the statements again stores nothing twice.
 * Throws a RangeError for a value that cannot be written or a row over `maxBytes`.
 */
export function insertStatements(
  batch: WriteBatch,
  maxBytes: number = DEFAULT_MAX_STATEMENT_BYTES,
): string[] {
  const packer = new StatementPacker(maxBytes);
  for (const o of batch.orders) packer.add(orderInsert(o));
  for (const b of batch.balances) packer.add(balanceInsert(b));
  for (const c of batch.candles) packer.add(candleInsert(c));
  packer.flush();
  const trades = [...batch.trades].sort((a, b) => a.tradeId - b.tradeId);
  for (const t of trades) packer.add(tradeInsert(t));
  packer.flush();
  return packer.statements;
}

// ------------------------------------------------------------------------------ queries

export const ORDER_COLUMNS = [
  "order_id",
  "version",
  "user_id",
  "symbol_id",
  "side",
  "order_type",
  "time_in_force",
  "price",
  "qty",
  "quote_qty",
  "filled_qty",
  "quote_filled_qty",
  "status",
  "cid",
  "created_ms",
  "updated_ms",
  "post_only",
  "stp",
] as const;

export const TRADE_COLUMNS = [
  "trade_id",
  "symbol_id",
  "price",
  "qty",
  "quote_qty",
  "taker_side",
  "maker_order_id",
  "taker_order_id",
  "maker_user_id",
  "taker_user_id",
  "buyer_fee",
  "seller_fee",
  "ts_ms",
] as const;

export const BALANCE_COLUMNS = ["user_id", "asset_id", "version", "avail", "frozen", "ts_ms"];

export const CANDLE_COLUMNS = [
  "symbol_id",
  "intv",
  "open_ms",
  "close_ms",
  "open",
  "high",
  "low",
  "close",
  "volume",
  "quote_volume",
  "trade_count",
  "taker_buy_volume",
  "taker_buy_quote_volume",
  "closed",
] as const;

/** Highest trade id: one row, NULL (or no row) when there are no trades. */
export function lastTradeIdSql(): string {
  return "SELECT MAX(trade_id) AS trade_id FROM trades";
}

/** The highest version of one order. */
export function orderSql(orderId: number): string {
  return `SELECT ${ORDER_COLUMNS.join(", ")} FROM orders WHERE order_id = ${orderId} ` +
    `ORDER BY version DESC LIMIT 1`;
}

/** Filters of an orders page, already checked: times in ms, the cursor decoded. */
export interface OrderPageFilter {
  userId: number;
  symbolId?: number;
  status?: OrderStatus;
  startMs: number;
  endMs: number;
  after?: CursorKey;
  /** Rows to fetch (the page's limit + 1, to know whether another page follows). */
  fetch: number;
}

/**
 * The latest version of each of a user's orders, newest first by (created_ms, order_id).
 * The inner query picks each order's highest version (MAX is a selection function: the
 * other columns come from that row); the status filter applies to that version, outside.
 * The cursor's time bounds the range so a deep page does not rescan earlier ones.
 */
export function ordersPageSql(f: OrderPageFilter): string {
  const end = f.after === undefined ? f.endMs : Math.min(f.endMs, f.after.timeMs);
  const conds = [`user_id = ${f.userId}`, `created_ms >= ${f.startMs}`, `created_ms <= ${end}`];
  if (f.after !== undefined) {
    conds.push(`(created_ms < ${f.after.timeMs} OR order_id < ${f.after.id})`);
  }
  if (f.symbolId !== undefined) conds.push(`symbol_id = ${f.symbolId}`);
  const others = ORDER_COLUMNS.filter((c) => c !== "version");
  const inner = `SELECT MAX(version) AS version, ${others.join(", ")} FROM orders ` +
    `WHERE ${conds.join(" AND ")} PARTITION BY order_id`;
  const outer = f.status === undefined
    ? ""
    : ` WHERE status = ${code(STATUS_CODES, f.status, "status")}`;
  return `SELECT ${ORDER_COLUMNS.join(", ")} FROM (${inner})${outer} ` +
    `ORDER BY created_ms DESC, order_id DESC LIMIT ${f.fetch}`;
}

/** Filters of a user's trades page, already checked. */
export interface TradePageFilter {
  userId: number;
  symbolId?: number;
  startMs: number;
  endMs: number;
  after?: CursorKey;
  fetch: number;
}

/**
 * A user's trades as maker or taker (one row per trade, so a self-trade once), newest
 * first by (ts, trade_id); time bounds on `ts`, the primary timestamp TDengine prunes by.
 */
export function userTradesPageSql(f: TradePageFilter): string {
  const end = f.after === undefined ? f.endMs : Math.min(f.endMs, f.after.timeMs);
  const conds = [
    `(maker_user_id = ${f.userId} OR taker_user_id = ${f.userId})`,
    `ts >= ${usTimestamp(f.startMs)}`,
    `ts <= ${usTimestamp(end)}`,
  ];
  if (f.after !== undefined) {
    conds.push(`(ts < ${usTimestamp(f.after.timeMs)} OR trade_id < ${f.after.id})`);
  }
  if (f.symbolId !== undefined) conds.push(`symbol_id = ${f.symbolId}`);
  return `SELECT ${TRADE_COLUMNS.join(", ")} FROM trades WHERE ${conds.join(" AND ")} ` +
    `ORDER BY ts DESC, trade_id DESC LIMIT ${f.fetch}`;
}

/** A symbol's newest trades (the symbol is the tag: one subtable is read). */
export function publicTradesSql(symbolId: number, limit: number): string {
  return `SELECT ${TRADE_COLUMNS.join(", ")} FROM trades WHERE symbol_id = ${symbolId} ` +
    `ORDER BY ts DESC, trade_id DESC LIMIT ${limit}`;
}

/** The latest version of each of a user's balances (tag filter, one subtable per asset). */
export function balancesSql(userId: number): string {
  const others = BALANCE_COLUMNS.filter((c) => c !== "version");
  return `SELECT MAX(version) AS version, ${others.join(", ")} FROM balances ` +
    `WHERE user_id = ${userId} PARTITION BY asset_id`;
}

/** Candles of one symbol and interval (both tags) with open time in [startMs, endMs]. */
export function candlesSql(
  symbolId: number,
  interval: string,
  startMs: number,
  endMs: number,
  limit: number,
): string {
  intervalIndex(interval);
  return `SELECT ${CANDLE_COLUMNS.join(", ")} FROM candles ` +
    `WHERE symbol_id = ${symbolId} AND intv = ${sqlString(interval)} ` +
    `AND ts >= ${usTimestamp(startMs)} AND ts <= ${usTimestamp(endMs)} ORDER BY ts LIMIT ${limit}`;
}
