/**
 * The TDengine adapter: the storage conformance suite against a real TDengine when
 * TDENGINE_URL is set (reported as skipped otherwise), then offline tests against a fake
 * taosAdapter: schema set-up and its checks, the write path, and decoding of documented
 * answers into port rows.
 */

import assert from "node:assert/strict";
import { TdengineStore } from "../../persistence/tdengine_store.ts";
import { TdengineRestClient } from "../../persistence/tdengine_rest.ts";
import { BALANCE_COLUMNS, ORDER_COLUMNS, TRADE_COLUMNS } from "../../persistence/tdengine_sql.ts";
import type { StoragePort } from "../../persistence/storage_port.ts";
import { registerStorageConformance } from "./storage_conformance.ts";
import {
  affectedRows,
  closedUrl,
  databaseSettings,
  describeAnswer,
  type FakeTaosAdapter,
  queryAnswer,
  schemaAnswer,
  startFakeTaosAdapter,
  type TaosAnswer,
  taosError,
  type TaosRequest,
} from "./fake_taosadapter.ts";
import { balanceRow, batch, orderRow, T0_MS, tradeRow } from "./storage_fixtures.ts";

const TDENGINE_URL = Deno.env.get("TDENGINE_URL");

/** A database of its own per conformance case, dropped afterwards. */
function conformanceDatabase(): string {
  return `exchange_test_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
}

registerStorageConformance(
  "tdengine",
  () =>
    Promise.resolve(
      new TdengineStore({ url: TDENGINE_URL ?? "", database: conformanceDatabase() }),
    ),
  {
    ignore: TDENGINE_URL === undefined ? "TDENGINE_URL is not set" : undefined,
    dispose: async (store: StoragePort) => {
      const db = (store as TdengineStore).database;
      await new TdengineRestClient({ url: TDENGINE_URL! }).exec(`DROP DATABASE IF EXISTS ${db}`);
    },
  },
);

// ------------------------------------------------------------------------------ offline

/** Answers schema set-up as a fresh TDengine does; `rest` answers everything else. */
function schemaThen(
  rest: (req: TaosRequest) => TaosAnswer,
  settings: TaosAnswer = databaseSettings(),
): (req: TaosRequest) => TaosAnswer {
  return (req) => schemaAnswer(req, settings) ?? rest(req);
}

async function withStore(
  handler: (req: TaosRequest) => TaosAnswer,
  fn: (store: TdengineStore, fake: FakeTaosAdapter) => Promise<void>,
  logger = { warn: (_: string) => {} },
): Promise<void> {
  const fake = await startFakeTaosAdapter(handler);
  try {
    const store = new TdengineStore({
      url: fake.url,
      database: "ex",
      attempts: 2,
      backoffMs: 1,
      logger,
    });
    await fn(store, fake);
  } finally {
    await fake.close();
  }
}

Deno.test("tdengine store: init creates the database, checks it, then the super tables", async () => {
  await withStore(schemaThen(() => affectedRows(0)), async (store, fake) => {
    await store.init();
    await store.init();
    assert.deepEqual(
      fake.requests.map((r) => [r.path, r.sql.split(/ KEEP| \(|, /)[0]]),
      [
        ["/rest/sql", "CREATE DATABASE IF NOT EXISTS ex"],
        ["/rest/sql", "SELECT `precision`"],
        ["/rest/sql/ex", "CREATE STABLE IF NOT EXISTS orders"],
        ["/rest/sql/ex", "DESCRIBE orders"],
        ["/rest/sql/ex", "CREATE STABLE IF NOT EXISTS trades"],
        ["/rest/sql/ex", "DESCRIBE trades"],
        ["/rest/sql/ex", "CREATE STABLE IF NOT EXISTS balances"],
        ["/rest/sql/ex", "DESCRIBE balances"],
        ["/rest/sql/ex", "CREATE STABLE IF NOT EXISTS candles"],
        ["/rest/sql/ex", "DESCRIBE candles"],
      ],
    );
    assert.match(fake.requests[1].sql, /WHERE name = 'ex'$/);
    assert.equal(store.location, `${fake.url}/ex`);
  });
});

Deno.test("tdengine store: a database in another precision is refused at init", async () => {
  await withStore(schemaThen(() => affectedRows(0), databaseSettings("ms")), async (store) => {
    await assert.rejects(
      store.init(),
      /database ex has precision "ms", this store writes microseconds/,
    );
    await assert.rejects(store.lastTradeId(), /is not open \(call init\(\)\)/);
  });
});

Deno.test("tdengine store: a database without per-write fsync is reported at init", async () => {
  const warnings: string[] = [];
  await withStore(
    schemaThen(() => affectedRows(0), databaseSettings("us", 1, 3000)),
    async (store) => {
      await store.init();
      assert.equal(warnings.length, 1);
      assert.match(warnings[0], /WAL_LEVEL 1, WAL_FSYNC_PERIOD 3000: a power loss can drop/);
      assert.match(warnings[0], /ALTER DATABASE ex WAL_LEVEL 2 WAL_FSYNC_PERIOD 0/);
    },
    { warn: (m) => warnings.push(m) },
  );
});

Deno.test("tdengine store: init says clearly when TDengine is unreachable", async () => {
  const url = closedUrl();
  const store = new TdengineStore({ url, attempts: 2, backoffMs: 1 });
  await assert.rejects(store.init(), (e: Error) => {
    assert.match(
      e.message,
      new RegExp(`TDengine is unreachable at ${url} \\(is taosAdapter running`),
    );
    return true;
  });
});

Deno.test("tdengine store: a super table of another shape (the seed's) is refused at init", async () => {
  const seedOrders = [
    "ts",
    "order_id",
    "user_id",
    "side",
    "order_type",
    "price",
    "qty",
    "filled_qty",
    "status",
    "cid",
    "symbol_id",
  ];
  const handler = (req: TaosRequest) =>
    req.sql === "DESCRIBE orders"
      ? describeAnswer("orders", seedOrders)
      : schemaThen(() => affectedRows(0))(req);
  await withStore(handler, async (store) => {
    await assert.rejects(
      store.init(),
      /super table orders in .*\/ex has the columns \(ts, order_id, user_id, .*\), this exchange writes \(ts, row_key, order_id, version,.*use another database \(--tdengine-db\)/,
    );
  });
});

Deno.test("tdengine store: a refused schema statement is named", async () => {
  const handler = (req: TaosRequest) =>
    req.sql.startsWith("CREATE STABLE IF NOT EXISTS trades")
      ? taosError(0x2603, "Invalid column name")
      : schemaThen(() => affectedRows(0))(req);
  await withStore(handler, async (store) => {
    await assert.rejects(
      store.init(),
      /Cannot apply sql\/tdengine.sql to .*\/ex: TDengine error 0x2603/,
    );
  });
});

Deno.test("tdengine store: a batch is sent as its statements, trades last", async () => {
  await withStore(schemaThen(() => affectedRows(1)), async (store, fake) => {
    await store.init();
    const before = fake.requests.length;
    await store.write(batch({
      trades: [tradeRow({ tradeId: 2 }), tradeRow({ tradeId: 1 })],
      orders: [orderRow({ orderId: 1 })],
      balances: [balanceRow({ userId: 1, assetId: 1, version: 1 })],
    }));
    const sent = fake.requests.slice(before);
    assert.equal(sent.length, 2);
    assert.ok(sent.every((r) => r.path === "/rest/sql/ex"));
    assert.match(sent[0].sql, /^INSERT INTO o_1 USING orders .* b_1_1 USING balances /);
    assert.match(
      sent[1].sql,
      /^INSERT INTO t_1 USING trades TAGS \(1\) VALUES \(\d+, 1, .*\) \(\d+, 2, /,
    );
    await store.write(batch({}));
    assert.equal(fake.requests.length, before + 2, "an empty batch sends nothing");
  });
});

Deno.test("tdengine store: an invalid batch sends nothing; a failed statement is named", async () => {
  let failTrades = true;
  const handler = schemaThen((req) =>
    failTrades && req.sql.includes("USING trades")
      ? taosError(0x060b, "Timestamp data out of range")
      : affectedRows(1)
  );
  await withStore(handler, async (store, fake) => {
    await store.init();
    const before = fake.requests.length;
    await assert.rejects(
      store.write(batch({ orders: [orderRow({ orderId: 1, qtyUnits: -5 })] })),
      /orders\[0\]\.qtyUnits must be a non-negative safe integer, received -5/,
    );
    assert.equal(fake.requests.length, before);
    const b = batch({ orders: [orderRow({ orderId: 1 })], trades: [tradeRow({ tradeId: 1 })] });
    await assert.rejects(
      store.write(b),
      /statement 2 of 2\): TDengine error 0x060b: Timestamp data out of range/,
    );
    failTrades = false;
    await store.write(b);
    assert.equal(fake.requests.length, before + 4, "the retried batch is sent whole again");
  });
});

/** Column meta of the port's queries, as TDengine describes them. */
const TYPES: Record<string, [string, number]> = {
  cid: ["NCHAR", 64],
  post_only: ["BOOL", 1],
  stp: ["TINYINT UNSIGNED", 1],
  side: ["TINYINT UNSIGNED", 1],
  order_type: ["TINYINT UNSIGNED", 1],
  time_in_force: ["TINYINT UNSIGNED", 1],
  status: ["TINYINT UNSIGNED", 1],
  taker_side: ["TINYINT UNSIGNED", 1],
  symbol_id: ["INT UNSIGNED", 4],
  asset_id: ["INT UNSIGNED", 4],
  created_ms: ["BIGINT", 8],
  updated_ms: ["BIGINT", 8],
  ts_ms: ["BIGINT", 8],
};
const meta = (names: readonly string[]): [string, string, number][] =>
  names.map((n) => [n, ...(TYPES[n] ?? ["BIGINT UNSIGNED", 8])]);

Deno.test("tdengine store: answers decode into port rows, enums and nulls included", async () => {
  const handler = schemaThen((req) => {
    if (req.sql.startsWith("SELECT MAX(trade_id)")) {
      return queryAnswer([["trade_id", "BIGINT UNSIGNED", 8]], "[[null]]");
    }
    if (req.sql.includes("FROM orders WHERE order_id = 7")) {
      // Columns in another order than asked: decoding goes by name.
      const cols = [...ORDER_COLUMNS].reverse();
      const row: Record<string, unknown> = {
        order_id: 7,
        version: 3,
        user_id: 9,
        symbol_id: 2,
        side: 1,
        order_type: 0,
        time_in_force: 2,
        price: 123,
        qty: 10,
        quote_qty: 0,
        filled_qty: 4,
        quote_filled_qty: 492,
        status: 3,
        cid: "it's",
        created_ms: T0_MS,
        updated_ms: T0_MS + 5,
        post_only: true,
        stp: 3,
      };
      return queryAnswer(meta(cols), JSON.stringify([cols.map((c) => row[c])]));
    }
    if (req.sql.includes("FROM balances")) {
      const cols = ["version", ...BALANCE_COLUMNS.filter((c) => c !== "version")];
      return queryAnswer(
        meta(cols),
        JSON.stringify([[4, 9, 3, 100, 5, T0_MS], [2, 9, 1, 7, 0, T0_MS]]),
      );
    }
    return queryAnswer(meta(TRADE_COLUMNS), "[]");
  });
  await withStore(handler, async (store) => {
    await store.init();
    assert.equal(await store.lastTradeId(), 0);
    assert.deepEqual(await store.order(7), {
      orderId: 7,
      version: 3,
      userId: 9,
      symbolId: 2,
      side: "SELL",
      orderType: "LIMIT",
      timeInForce: "FOK",
      priceTicks: 123,
      qtyUnits: 10,
      quoteUnits: 0,
      filledUnits: 4,
      quoteFilledUnits: 492,
      status: "CANCELED",
      cid: "it's",
      postOnly: true,
      stp: "EXPIRE_BOTH",
      createdMs: T0_MS,
      updatedMs: T0_MS + 5,
    });
    assert.deepEqual(await store.balances(9), [
      { userId: 9, assetId: 1, version: 2, availableUnits: 7, frozenUnits: 0, tsMs: T0_MS },
      { userId: 9, assetId: 3, version: 4, availableUnits: 100, frozenUnits: 5, tsMs: T0_MS },
    ]);
    assert.deepEqual(await store.userTrades(9, { limit: 5 }), { rows: [] });
  });
});

Deno.test("tdengine store: a value beyond 2^53 - 1 is refused by name, never rounded", async () => {
  const handler = schemaThen((req) =>
    req.sql.startsWith("SELECT MAX(trade_id)")
      ? queryAnswer([["trade_id", "BIGINT UNSIGNED", 8]], "[[18446744073709551615]]")
      : queryAnswer(meta(TRADE_COLUMNS), "[]")
  );
  await withStore(handler, async (store) => {
    await store.init();
    await assert.rejects(
      store.lastTradeId(),
      /column trade_id holds 18446744073709551615, beyond 2\^53 - 1/,
    );
  });
});

Deno.test("tdengine store: a page of limit + 1 rows ends with a cursor for the next", async () => {
  const trade = (id: number) =>
    TRADE_COLUMNS.map((
      c,
    ) => (c === "trade_id" ? id : c === "ts_ms" ? T0_MS + id : c === "taker_side" ? 0 : 1));
  const handler = schemaThen((req) => {
    if (req.sql.includes("trade_id < 2")) {
      return queryAnswer(meta(TRADE_COLUMNS), JSON.stringify([trade(1)]));
    }
    return queryAnswer(meta(TRADE_COLUMNS), JSON.stringify([trade(3), trade(2), trade(1)]));
  });
  await withStore(handler, async (store, fake) => {
    await store.init();
    const first = await store.userTrades(1, { limit: 2 });
    assert.deepEqual(first.rows.map((t) => t.tradeId), [3, 2]);
    assert.ok(first.nextCursor !== undefined);
    assert.match(fake.requests.at(-1)!.sql, /LIMIT 3$/);
    const second = await store.userTrades(1, { limit: 2, cursor: first.nextCursor });
    assert.deepEqual(second.rows.map((t) => t.tradeId), [1]);
    assert.equal(second.nextCursor, undefined);
    assert.match(
      fake.requests.at(-1)!.sql,
      new RegExp(`\\(ts < ${T0_MS + 2}000 OR trade_id < 2\\)`),
    );
    await assert.rejects(
      store.orders(1, { limit: 2, cursor: first.nextCursor }),
      /cursor of another query/,
    );
  });
});
