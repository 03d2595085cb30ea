/**
 * The TDengine adapter's SQL, offline: the schema for a chosen database, string escaping,
 * timestamps in the database's precision, the INSERTs of every kind of row and how they
 * are packed under the statement limit, and the queries of the storage port.
 */

import assert from "node:assert/strict";
import SCHEMA_SQL from "../../sql/tdengine.sql" with { type: "text" };
import {
  balancesSql,
  candlesSql,
  DEFAULT_MAX_STATEMENT_BYTES,
  insertStatements,
  lastTradeIdSql,
  ordersPageSql,
  orderSql,
  publicTradesSql,
  schemaStatements,
  sqlString,
  stableShape,
  userTradesPageSql,
  usTimestamp,
} from "../../persistence/tdengine_sql.ts";
import {
  balanceRow,
  batch,
  candleRow,
  MAX,
  orderRow,
  T0_MS,
  tradeRow,
} from "./storage_fixtures.ts";

/** The VALUES tuples of a statement, counted by their opening parenthesis after VALUES. */
function tupleCount(statement: string): number {
  return statement.match(/\) \(|VALUES \(/g)?.length ?? 0;
}

Deno.test("tdengine schema: the seed's database with durable fsync, then four super tables", () => {
  const { createDatabase, tables } = schemaStatements(SCHEMA_SQL, "trading");
  assert.equal(
    createDatabase,
    "CREATE DATABASE IF NOT EXISTS trading KEEP 365d DURATION 10d BUFFER 256 WAL_LEVEL 2 " +
      "WAL_FSYNC_PERIOD 0 PRECISION 'us'",
  );
  assert.deepEqual(
    tables.map((t) => /^CREATE STABLE IF NOT EXISTS (\w+) \(/.exec(t)?.[1]),
    ["orders", "trades", "balances", "candles"],
  );
  assert.match(tables[0], /row_key +VARCHAR\(40\) PRIMARY KEY/);
  assert.match(tables[0], /TAGS \(symbol_id INT UNSIGNED\)$/);
  assert.match(tables[1], /trade_id +BIGINT UNSIGNED PRIMARY KEY/);
  assert.match(tables[2], /version BIGINT UNSIGNED PRIMARY KEY/);
  assert.match(tables[2], /TAGS \(user_id BIGINT UNSIGNED, asset_id INT UNSIGNED\)$/);
  assert.match(tables[3], /TAGS \(symbol_id INT UNSIGNED, intv VARCHAR\(4\)\)$/);
  for (const t of tables) assert.ok(!t.includes("--"), `a comment survived in ${t}`);
});

Deno.test("tdengine schema: each super table's columns then tags, as DESCRIBE lists them", () => {
  const shapes = schemaStatements(SCHEMA_SQL, "trading").tables.map(stableShape);
  assert.deepEqual(shapes.map((s) => s.table), ["orders", "trades", "balances", "candles"]);
  assert.deepEqual(shapes[2].fields, [
    "ts",
    "version",
    "avail",
    "frozen",
    "ts_ms",
    "user_id",
    "asset_id",
  ]);
  assert.equal(shapes[0].fields.length, 20);
  assert.deepEqual(shapes[0].fields.slice(-3), ["post_only", "stp", "symbol_id"]);
  assert.throws(() => stableShape("CREATE DATABASE x"), RangeError);
});

Deno.test("tdengine schema: the database name is configurable and must be an identifier", () => {
  const { createDatabase } = schemaStatements(SCHEMA_SQL, "exchange_2");
  assert.match(createDatabase, /^CREATE DATABASE IF NOT EXISTS exchange_2 KEEP 365d/);
  for (const bad of ["", "2x", "a-b", "x; DROP DATABASE y", "a".repeat(65), "`q`"]) {
    assert.throws(() => schemaStatements(SCHEMA_SQL, bad), RangeError, bad);
  }
  assert.throws(() => schemaStatements("CREATE STABLE x (ts TIMESTAMP);", "trading"), RangeError);
});

Deno.test("tdengine sqlString escapes quotes, backslashes and line breaks, keeps unicode", () => {
  assert.equal(sqlString(`it's "q"`), `'it\\'s \\"q\\"'`);
  assert.equal(sqlString("back\\slash"), "'back\\\\slash'");
  assert.equal(sqlString("a\nb\rc\td"), "'a\\nb\\rc\\td'");
  assert.equal(sqlString("注文-ß-🚀"), "'注文-ß-🚀'");
  assert.equal(sqlString("'); DROP DATABASE trading; --"), "'\\'); DROP DATABASE trading; --'");
  assert.equal(sqlString(""), "''");
  for (const bad of ["\u0000", "a\u0001b", "\u001b[31m", "\u007f"]) {
    assert.throws(() => sqlString(bad), /control character/);
  }
});

Deno.test("tdengine timestamps are exact microseconds, also beyond 2^53", () => {
  assert.equal(usTimestamp(0), "0");
  assert.equal(usTimestamp(1_700_000_000_123), "1700000000123000");
  assert.equal(usTimestamp(MAX), "9007199254740991000");
});

Deno.test("tdengine INSERT of each kind of row, with its subtable and tags", () => {
  const o = orderRow({
    orderId: 7,
    version: 2,
    cid: "a'b",
    status: "PARTIALLY_FILLED",
    postOnly: true,
    stp: "EXPIRE_MAKER",
  });
  const b = balanceRow({ userId: 3, assetId: 2, version: 5 });
  const k = candleRow({ openMs: T0_MS, interval: "1M", symbolId: 4 });
  const t = tradeRow({ tradeId: 9, takerSide: "SELL" });
  const [first, second] = insertStatements(
    batch({ orders: [o], balances: [b], candles: [k], trades: [t] }),
  );
  assert.equal(
    first,
    `INSERT INTO o_1 USING orders TAGS (1) VALUES (${
      usTimestamp(o.updatedMs)
    }, '7.2', 7, 2, 1, 0, 0, 0, ` +
      `5000000, 1000, 0, 0, 0, 1, 'a\\'b', ${o.createdMs}, ${o.updatedMs}, true, 2)` +
      ` b_3_2 USING balances TAGS (3, 2) VALUES (${usTimestamp(b.tsMs)}, 5, 5000, 0, ${b.tsMs})` +
      ` k_4_15 USING candles TAGS (4, '1M') VALUES (${usTimestamp(T0_MS)}, ${T0_MS}, ${
        T0_MS + 59_999
      }, 100, 120, 90, 110, 5000, 550000, 5, 2000, 220000, true)`,
  );
  assert.equal(
    second,
    `INSERT INTO t_1 USING trades TAGS (1) VALUES (${
      usTimestamp(t.tsMs)
    }, 9, 5000000, 1000, 50000, 1, ` +
      `18, 19, 1, 2, 1, 50, ${t.tsMs})`,
  );
  const nullCid = insertStatements(batch({ orders: [orderRow({ orderId: 1 })] }))[0];
  assert.match(nullCid, /, 0, NULL, \d+, \d+, false, 0\)$/);
});

Deno.test("tdengine intervals 1m and 1M get different subtables (names ignore case)", () => {
  const [s] = insertStatements(
    batch({
      candles: [
        candleRow({ openMs: T0_MS, interval: "1m" }),
        candleRow({ openMs: T0_MS, interval: "1M" }),
      ],
    }),
  );
  assert.match(s, / k_1_1 USING candles TAGS \(1, '1m'\) VALUES /);
  assert.match(s, / k_1_15 USING candles TAGS \(1, '1M'\) VALUES /);
});

Deno.test("tdengine trades go last, in ascending id, in statements of their own", () => {
  const trades = [5, 1, 3].map((id) => tradeRow({ tradeId: id, symbolId: id % 2 === 0 ? 2 : 1 }));
  const statements = insertStatements(batch({ trades, orders: [orderRow({ orderId: 1 })] }));
  assert.equal(statements.length, 2);
  assert.match(statements[0], /^INSERT INTO o_1 /);
  assert.doesNotMatch(statements[0], /trades/);
  const ids = [...statements[1].matchAll(/VALUES \(\d+, (\d+),|\) \(\d+, (\d+),/g)].map((m) =>
    Number(m[1] ?? m[2])
  );
  assert.deepEqual(ids, [1, 3, 5]);
});

Deno.test("tdengine rows of one subtable share one USING clause per statement", () => {
  const orders = Array.from(
    { length: 10 },
    (_, i) => orderRow({ orderId: i + 1, symbolId: 1 + (i % 2) }),
  );
  const [s] = insertStatements(batch({ orders }));
  assert.equal(s.match(/USING orders TAGS \(1\)/g)?.length, 1);
  assert.equal(s.match(/USING orders TAGS \(2\)/g)?.length, 1);
  assert.equal(tupleCount(s), 10);
});

Deno.test("tdengine batches: under the statement limit, at least 1,000 rows per statement", () => {
  const orders = Array.from(
    { length: 12_000 },
    (_, i) =>
      orderRow({
        orderId: MAX - i,
        version: MAX,
        userId: MAX,
        cid: "x".repeat(36),
        symbolId: 1 + (i % 3),
      }),
  );
  const trades = Array.from({ length: 9_000 }, (_, i) => tradeRow({ tradeId: i + 1 }));
  const statements = insertStatements(batch({ orders, trades }));
  const bytes = statements.map((s) => new TextEncoder().encode(s).length);
  assert.ok(bytes.every((n) => n <= DEFAULT_MAX_STATEMENT_BYTES), `sizes ${bytes}`);
  const counts = statements.map(tupleCount);
  assert.equal(counts.reduce((a, b) => a + b, 0), 21_000);
  const orderStatements = statements.filter((s) => s.includes("USING orders"));
  const tradeStatements = statements.filter((s) => s.includes("USING trades"));
  assert.equal(orderStatements.length + tradeStatements.length, statements.length);
  for (const group of [orderStatements, tradeStatements]) {
    group.slice(0, -1).forEach((s) => assert.ok(tupleCount(s) >= 1_000, `${tupleCount(s)} rows`));
  }
  assert.ok(orderStatements.length >= 2, "12,000 long orders fill more than one statement");
});

Deno.test("tdengine batches split at a small limit and refuse a row that cannot fit", () => {
  const orders = Array.from({ length: 50 }, (_, i) => orderRow({ orderId: i + 1 }));
  const statements = insertStatements(batch({ orders }), 1_000);
  assert.ok(statements.length >= 5, `${statements.length} statements`);
  for (const s of statements) assert.ok(s.length <= 1_000, `${s.length}`);
  assert.equal(statements.map(tupleCount).reduce((a, b) => a + b, 0), 50);
  assert.throws(
    () => insertStatements(batch({ orders }), 150),
    /more than the statement limit 150/,
  );
});

Deno.test("tdengine queries: order, trades, balances, candles filter by tag where they can", () => {
  assert.equal(lastTradeIdSql(), "SELECT MAX(trade_id) AS trade_id FROM trades");
  assert.match(orderSql(42), /FROM orders WHERE order_id = 42 ORDER BY version DESC LIMIT 1$/);
  assert.match(
    publicTradesSql(3, 50),
    /FROM trades WHERE symbol_id = 3 ORDER BY ts DESC, trade_id DESC LIMIT 50$/,
  );
  assert.equal(
    balancesSql(8),
    "SELECT MAX(version) AS version, user_id, asset_id, avail, frozen, ts_ms FROM balances " +
      "WHERE user_id = 8 PARTITION BY asset_id",
  );
  assert.match(
    candlesSql(2, "1M", 1_000, 2_000, 10),
    /WHERE symbol_id = 2 AND intv = '1M' AND ts >= 1000000 AND ts <= 2000000 ORDER BY ts LIMIT 10$/,
  );
  assert.throws(() => candlesSql(2, "7m", 0, 1, 1), /unknown interval "7m"/);
});

Deno.test("tdengine order pages: latest version inside, status outside, cursor below", () => {
  const plain = ordersPageSql({ userId: 5, startMs: 0, endMs: MAX, fetch: 11 });
  assert.match(
    plain,
    /^SELECT order_id, version, .* FROM \(SELECT MAX\(version\) AS version, order_id, user_id, .* FROM orders WHERE user_id = 5 AND created_ms >= 0 AND created_ms <= 9007199254740991 PARTITION BY order_id\) ORDER BY created_ms DESC, order_id DESC LIMIT 11$/,
  );
  const filtered = ordersPageSql({
    userId: 5,
    symbolId: 2,
    status: "CANCELED",
    startMs: 100,
    endMs: 900,
    after: { timeMs: 500, id: 77 },
    fetch: 3,
  });
  assert.match(
    filtered,
    /WHERE user_id = 5 AND created_ms >= 100 AND created_ms <= 500 AND \(created_ms < 500 OR order_id < 77\) AND symbol_id = 2 PARTITION BY order_id\) WHERE status = 3 ORDER BY/,
  );
});

Deno.test("tdengine trade pages: maker or taker, bounds on the primary timestamp", () => {
  const sql = userTradesPageSql({
    userId: 4,
    symbolId: 1,
    startMs: 10,
    endMs: 30,
    after: { timeMs: 20, id: 6 },
    fetch: 5,
  });
  assert.match(
    sql,
    /WHERE \(maker_user_id = 4 OR taker_user_id = 4\) AND ts >= 10000 AND ts <= 20000 AND \(ts < 20000 OR trade_id < 6\) AND symbol_id = 1 ORDER BY ts DESC, trade_id DESC LIMIT 5$/,
  );
});
