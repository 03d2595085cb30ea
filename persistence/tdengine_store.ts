/**
 * The TDengine adapter of the storage port, over TDengine's REST interface
 * (persistence/tdengine_rest.ts) with the schema of sql/tdengine.sql and the statements of
 * persistence/tdengine_sql.ts.
 *
 * TDengine has no transactions: a batch is written as a few multi-table INSERTs, trades
 * last (see `insertStatements`), each retried on transient failures. A batch that fails
 * part way may have stored some of its rows; writing it again (settlement does, until it
 * succeeds) stores the rest, and never a row twice, since every row has its own key.
 */

import SCHEMA_SQL from "../sql/tdengine.sql" with { type: "text" };
import { type CursorKey, decodeCursor, encodeCursor, pageLimit } from "./page_cursor.ts";
import type {
  BalanceRow,
  CandleRow,
  HistoryQuery,
  OrderRow,
  Page,
  StoragePort,
  TradeRow,
  WriteBatch,
} from "./storage_port.ts";
import {
  balancesSql,
  candlesSql,
  checkDatabaseName,
  DEFAULT_MAX_STATEMENT_BYTES,
  DEFAULT_TDENGINE_DATABASE,
  describeSql,
  insertStatements,
  lastTradeIdSql,
  ORDER_TYPE_CODES,
  ordersPageSql,
  orderSql,
  publicTradesSql,
  schemaStatements,
  SIDE_CODES,
  stableShape,
  STATUS_CODES,
  STP_CODES,
  TIME_IN_FORCE_CODES,
  userTradesPageSql,
} from "./tdengine_sql.ts";
import {
  TdengineRestClient,
  type TdengineRestOptions,
  TdengineUnavailableError,
  type TdResult,
  type TdValue,
} from "./tdengine_rest.ts";
import { checkWriteBatch } from "./write_batch_checks.ts";

export interface TdengineStoreOptions extends TdengineRestOptions {
  /** Database name (default `trading`, the seed's). */
  database?: string;
  /** Largest INSERT statement in bytes (default 1,000,000; TDengine's limit is 1 MiB). */
  maxStatementBytes?: number;
  /** Where a database created with weaker durability settings is reported. */
  logger?: { warn(message: string): void };
}

/** The schema's statements, once. */
const SCHEMA = SCHEMA_SQL;

export class TdengineStore implements StoragePort {
  readonly database: string;
  readonly #client: TdengineRestClient;
  readonly #maxStatementBytes: number;
  readonly #logger: { warn(message: string): void };
  #open = false;

  /** Throws a RangeError for a malformed URL, database name or option. */
  constructor(options: TdengineStoreOptions) {
    this.database = checkDatabaseName(options.database ?? DEFAULT_TDENGINE_DATABASE);
    this.#client = new TdengineRestClient(options);
    this.#maxStatementBytes = options.maxStatementBytes ?? DEFAULT_MAX_STATEMENT_BYTES;
    this.#logger = options.logger ?? console;
  }

  /** Where the store writes, for logs: `http://host:port/<database>` (no credentials). */
  get location(): string {
    return `${this.#client.endpoint.base}/${this.database}`;
  }

  /**
   * Creates the database and super tables if missing (idempotent) and checks the
   * database's time precision. Throws an Error saying TDengine is unreachable (with the
   * URL) when it does not answer, or naming the statement TDengine refused.
   */
  async init(): Promise<void> {
    if (this.#open) return;
    const { createDatabase, tables } = schemaStatements(SCHEMA, this.database);
    try {
      await this.#client.exec(createDatabase);
    } catch (e) {
      if (e instanceof TdengineUnavailableError) {
        throw new Error(
          `Cannot open the TDengine store: TDengine is unreachable at ${this.#client.endpoint.base} ` +
            `(is taosAdapter running and serving REST on that port?): ${e.message}`,
          { cause: e },
        );
      }
      throw new Error(`Cannot create TDengine database ${this.database}: ${message(e)}`, {
        cause: e,
      });
    }
    await this.#checkDatabase();
    for (const sql of tables) {
      try {
        await this.#client.exec(sql, this.database);
      } catch (e) {
        throw new Error(`Cannot apply sql/tdengine.sql to ${this.location}: ${message(e)}`, {
          cause: e,
        });
      }
      await this.#checkShape(sql);
    }
    this.#open = true;
  }

  /**
   * CREATE STABLE IF NOT EXISTS leaves a table of the same name alone: one made by the
   * seed (the default database name is the seed's) has other columns, and every write
   * would fail. Say so at start instead.
   */
  async #checkShape(createStable: string): Promise<void> {
    const { table, fields } = stableShape(createStable);
    const r = await this.#client.exec(describeSql(table), this.database);
    const field = r.columns.findIndex((c) => c.name === "field");
    const found = r.rows.map((row) => String(row[field < 0 ? 0 : field]));
    if (found.join(",") !== fields.join(",")) {
      throw new Error(
        `Cannot open the TDengine store: super table ${table} in ${this.location} has the columns ` +
          `(${found.join(", ")}), this exchange writes (${fields.join(", ")}). ` +
          `It was made by another program or version: use another database (--tdengine-db).`,
      );
    }
  }

  /** A database that existed before with another precision would misread every time. */
  async #checkDatabase(): Promise<void> {
    const r = await this.#client.exec(
      // These column names are keywords: TDengine wants them quoted with backticks.
      "SELECT `precision`, `wal_level`, `wal_fsync_period` FROM information_schema.ins_databases " +
        `WHERE name = '${this.database}'`,
    );
    const row = r.rows[0];
    if (row === undefined) {
      throw new Error(`Cannot open the TDengine store: database ${this.database} is not listed`);
    }
    const get = (name: string) => row[r.columns.findIndex((c) => c.name === name)];
    const precision = get("precision");
    if (precision !== "us") {
      throw new Error(
        `Cannot open the TDengine store: database ${this.database} has precision ${
          JSON.stringify(precision)
        }, this store writes microseconds ('us'); use another database name`,
      );
    }
    const walLevel = Number(get("wal_level"));
    const fsyncMs = Number(get("wal_fsync_period"));
    if (walLevel !== 2 || fsyncMs !== 0) {
      this.#logger.warn(
        `TDengine database ${this.database} has WAL_LEVEL ${walLevel}, WAL_FSYNC_PERIOD ${fsyncMs}: ` +
          `a power loss can drop its last writes (recovery re-writes them from the exchange's WAL); ` +
          `ALTER DATABASE ${this.database} WAL_LEVEL 2 WAL_FSYNC_PERIOD 0 makes each write durable`,
      );
    }
  }

  #check(action: string): void {
    if (!this.#open) {
      throw new Error(
        `Cannot ${action}: TDengine store ${this.location} is not open (call init())`,
      );
    }
  }

  async #query(sql: string): Promise<TdResult> {
    return await this.#client.exec(sql, this.database);
  }

  /**
   * Writes the batch's INSERT statements in order. Throws a RangeError for an invalid
   * batch (nothing sent), or the error of the statement that failed (those before it are
   * stored; writing the batch again completes it).
   */
  async write(batch: WriteBatch): Promise<void> {
    this.#check("write a batch");
    if (checkWriteBatch(batch) === 0) return;
    const statements = insertStatements(batch, this.#maxStatementBytes);
    for (let i = 0; i < statements.length; i++) {
      try {
        await this.#query(statements[i]);
      } catch (e) {
        throw new Error(
          `Cannot write batch to TDengine store ${this.location} (statement ${
            i + 1
          } of ${statements.length}): ${message(e)}`,
          { cause: e },
        );
      }
    }
  }

  async lastTradeId(): Promise<number> {
    this.#check("read the last trade id");
    const r = await this.#query(lastTradeIdSql());
    const v = r.rows[0]?.[0] ?? null;
    return v === null ? 0 : safeInt(v, "trade_id");
  }

  async order(orderId: number): Promise<OrderRow | undefined> {
    this.#check("read an order");
    const r = await this.#query(orderSql(checkId(orderId, "orderId")));
    return rowsOf(r, orderRow)[0];
  }

  /** Throws a RangeError for a malformed cursor or a limit that is not a positive integer. */
  async orders(userId: number, q: HistoryQuery): Promise<Page<OrderRow>> {
    this.#check("read orders");
    const limit = pageLimit(q.limit);
    const after = q.cursor === undefined ? undefined : decodeCursor("o", q.cursor);
    const sql = ordersPageSql({
      userId: checkId(userId, "userId"),
      symbolId: q.symbolId,
      status: q.status,
      ...timeRange(q),
      after,
      fetch: limit + 1,
    });
    const rows = rowsOf(await this.#query(sql), orderRow);
    return toPage(rows, limit, (o) => ({ timeMs: o.createdMs, id: o.orderId }), "o");
  }

  /** Throws a RangeError for a malformed cursor or a limit that is not a positive integer. */
  async userTrades(userId: number, q: HistoryQuery): Promise<Page<TradeRow>> {
    this.#check("read trades");
    const limit = pageLimit(q.limit);
    const after = q.cursor === undefined ? undefined : decodeCursor("t", q.cursor);
    const sql = userTradesPageSql({
      userId: checkId(userId, "userId"),
      symbolId: q.symbolId,
      ...timeRange(q),
      after,
      fetch: limit + 1,
    });
    const rows = rowsOf(await this.#query(sql), tradeRow);
    return toPage(rows, limit, (t) => ({ timeMs: t.tsMs, id: t.tradeId }), "t");
  }

  async publicTrades(symbolId: number, limit: number): Promise<TradeRow[]> {
    this.#check("read trades");
    const sql = publicTradesSql(checkId(symbolId, "symbolId"), pageLimit(limit));
    return rowsOf(await this.#query(sql), tradeRow);
  }

  async balances(userId: number): Promise<BalanceRow[]> {
    this.#check("read balances");
    const rows = rowsOf(await this.#query(balancesSql(checkId(userId, "userId"))), balanceRow);
    return rows.sort((a, b) => a.assetId - b.assetId);
  }

  async candles(
    symbolId: number,
    interval: string,
    startMs: number,
    endMs: number,
    limit: number,
  ): Promise<CandleRow[]> {
    this.#check("read candles");
    const sql = candlesSql(
      checkId(symbolId, "symbolId"),
      interval,
      checkId(startMs, "startMs"),
      checkId(endMs, "endMs"),
      pageLimit(limit),
    );
    return rowsOf(await this.#query(sql), candleRow);
  }

  /** Marks the store closed (idempotent): REST keeps no connection to release. */
  // deno-lint-ignore require-await
  async close(): Promise<void> {
    this.#open = false;
  }
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** An id or time used in SQL: a non-negative safe integer, or a RangeError. */
function checkId(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`Invalid ${name}: must be a non-negative safe integer, received ${value}`);
  }
  return value;
}

function timeRange(q: HistoryQuery): { startMs: number; endMs: number } {
  return {
    startMs: checkId(q.startMs ?? 0, "startMs"),
    endMs: checkId(q.endMs ?? Number.MAX_SAFE_INTEGER, "endMs"),
  };
}

function toPage<T>(
  rows: T[],
  limit: number,
  key: (row: T) => CursorKey,
  kind: "o" | "t",
): Page<T> {
  if (rows.length <= limit) return { rows };
  rows.length = limit;
  return { rows, nextCursor: encodeCursor(kind, key(rows[limit - 1])) };
}

// -------------------------------------------------------------------------- row decoding

/** One result row, read by column name. */
type Cells = (name: string) => TdValue;

function rowsOf<T>(r: TdResult, decode: (cell: Cells) => T): T[] {
  const index = new Map(r.columns.map((c, i) => [c.name, i]));
  return r.rows.map((row) =>
    decode((name) => {
      const i = index.get(name);
      if (i === undefined) {
        throw new Error(`TDengine answered without column ${name} (columns: ${[...index.keys()]})`);
      }
      return row[i];
    })
  );
}

/**
 * A stored integer as a JS number. Throws if it is not an integer or lies beyond
 * 2^53 - 1 (written by another tool: this store never writes one), instead of rounding it.
 */
export function safeInt(v: TdValue, column: string): number {
  if (typeof v === "number" && Number.isSafeInteger(v)) return v;
  if (typeof v === "bigint") {
    throw new RangeError(
      `TDengine column ${column} holds ${v}, beyond 2^53 - 1: this exchange reads only exact integers`,
    );
  }
  throw new RangeError(
    `TDengine column ${column} holds ${JSON.stringify(String(v))}, not an integer`,
  );
}

function enumOf<T>(codes: readonly T[], v: TdValue, column: string): T {
  const i = safeInt(v, column);
  const value = codes[i];
  if (value === undefined) {
    throw new RangeError(`TDengine column ${column} holds unknown code ${i}`);
  }
  return value;
}

function orderRow(cell: Cells): OrderRow {
  const cid = cell("cid");
  return {
    orderId: safeInt(cell("order_id"), "order_id"),
    version: safeInt(cell("version"), "version"),
    userId: safeInt(cell("user_id"), "user_id"),
    symbolId: safeInt(cell("symbol_id"), "symbol_id"),
    side: enumOf(SIDE_CODES, cell("side"), "side"),
    orderType: enumOf(ORDER_TYPE_CODES, cell("order_type"), "order_type"),
    timeInForce: enumOf(TIME_IN_FORCE_CODES, cell("time_in_force"), "time_in_force"),
    priceTicks: safeInt(cell("price"), "price"),
    qtyUnits: safeInt(cell("qty"), "qty"),
    quoteUnits: safeInt(cell("quote_qty"), "quote_qty"),
    filledUnits: safeInt(cell("filled_qty"), "filled_qty"),
    quoteFilledUnits: safeInt(cell("quote_filled_qty"), "quote_filled_qty"),
    status: enumOf(STATUS_CODES, cell("status"), "status"),
    cid: cid === null ? null : String(cid),
    postOnly: boolOf(cell("post_only"), "post_only"),
    stp: enumOf(STP_CODES, cell("stp"), "stp"),
    createdMs: safeInt(cell("created_ms"), "created_ms"),
    updatedMs: safeInt(cell("updated_ms"), "updated_ms"),
  };
}

function boolOf(v: TdValue, column: string): boolean {
  if (typeof v !== "boolean") {
    throw new RangeError(`TDengine column ${column} holds ${JSON.stringify(v)}, not a BOOL`);
  }
  return v;
}

function tradeRow(cell: Cells): TradeRow {
  return {
    tradeId: safeInt(cell("trade_id"), "trade_id"),
    symbolId: safeInt(cell("symbol_id"), "symbol_id"),
    priceTicks: safeInt(cell("price"), "price"),
    qtyUnits: safeInt(cell("qty"), "qty"),
    quoteUnits: safeInt(cell("quote_qty"), "quote_qty"),
    takerSide: enumOf(SIDE_CODES, cell("taker_side"), "taker_side"),
    makerOrderId: safeInt(cell("maker_order_id"), "maker_order_id"),
    takerOrderId: safeInt(cell("taker_order_id"), "taker_order_id"),
    makerUserId: safeInt(cell("maker_user_id"), "maker_user_id"),
    takerUserId: safeInt(cell("taker_user_id"), "taker_user_id"),
    buyerFeeUnits: safeInt(cell("buyer_fee"), "buyer_fee"),
    sellerFeeUnits: safeInt(cell("seller_fee"), "seller_fee"),
    tsMs: safeInt(cell("ts_ms"), "ts_ms"),
  };
}

function balanceRow(cell: Cells): BalanceRow {
  return {
    userId: safeInt(cell("user_id"), "user_id"),
    assetId: safeInt(cell("asset_id"), "asset_id"),
    version: safeInt(cell("version"), "version"),
    availableUnits: safeInt(cell("avail"), "avail"),
    frozenUnits: safeInt(cell("frozen"), "frozen"),
    tsMs: safeInt(cell("ts_ms"), "ts_ms"),
  };
}

function candleRow(cell: Cells): CandleRow {
  const closed = boolOf(cell("closed"), "closed");
  return {
    symbolId: safeInt(cell("symbol_id"), "symbol_id"),
    interval: String(cell("intv")),
    openMs: safeInt(cell("open_ms"), "open_ms"),
    closeMs: safeInt(cell("close_ms"), "close_ms"),
    openTicks: safeInt(cell("open"), "open"),
    highTicks: safeInt(cell("high"), "high"),
    lowTicks: safeInt(cell("low"), "low"),
    closeTicks: safeInt(cell("close"), "close"),
    baseVolumeUnits: safeInt(cell("volume"), "volume"),
    quoteVolumeUnits: safeInt(cell("quote_volume"), "quote_volume"),
    trades: safeInt(cell("trade_count"), "trade_count"),
    takerBuyBaseUnits: safeInt(cell("taker_buy_volume"), "taker_buy_volume"),
    takerBuyQuoteUnits: safeInt(cell("taker_buy_quote_volume"), "taker_buy_quote_volume"),
    closed,
  };
}
