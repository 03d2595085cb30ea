/**
 * The SQLite adapter: the storage conformance suite, then what only SQLite can show (a
 * failure inside a transaction, the file's journal mode and schema version, integers as
 * stored, reopening a file).
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { dirname } from "node:path";
import { SqliteStore } from "../../persistence/sqlite_store.ts";
import type { StoragePort } from "../../persistence/storage_port.ts";
import { registerStorageConformance } from "./storage_conformance.ts";
import {
  balanceRow,
  batch,
  candleRow,
  MAX,
  orderRow,
  T0_MS,
  tradeRow,
} from "./storage_fixtures.ts";

async function tempPath(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "sqlite_store_test_" });
  return `${dir}/data/exchange.db`;
}

async function removeStore(store: StoragePort): Promise<void> {
  await Deno.remove(dirname(dirname((store as SqliteStore).path)), { recursive: true });
}

registerStorageConformance("sqlite", async () => new SqliteStore({ path: await tempPath() }), {
  dispose: removeStore,
});

/** Runs `fn` with an open store over a fresh file, then deletes the file. */
async function withStore(fn: (s: SqliteStore) => Promise<void>): Promise<void> {
  const store = new SqliteStore({ path: await tempPath() });
  await store.init();
  try {
    await fn(store);
  } finally {
    await store.close();
    await removeStore(store);
  }
}

/** A second connection to the store's file, as another process would open it. */
function peek<T>(store: SqliteStore, fn: (db: DatabaseSync) => T): T {
  const db = new DatabaseSync(store.path);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

function sample() {
  return batch({
    orders: [orderRow({ orderId: 1 }), orderRow({ orderId: 2 })],
    trades: [tradeRow({ tradeId: 1 }), tradeRow({ tradeId: 2 }), tradeRow({ tradeId: 3 })],
    balances: [balanceRow({ userId: 1, assetId: 1, version: 1 })],
    candles: [candleRow({ openMs: 0 })],
  });
}

Deno.test("sqlite: a batch that fails inside SQLite is rolled back whole", async () => {
  await withStore(async (s) => {
    // A trigger makes the second trade fail after the orders and the first trade went in.
    peek(
      s,
      (db) =>
        db.exec(`CREATE TRIGGER fail_trade_2 BEFORE INSERT ON trades WHEN NEW.trade_id = 2
        BEGIN SELECT RAISE(ABORT, 'injected failure'); END`),
    );
    await assert.rejects(
      s.write(sample()),
      /Cannot write batch to SQLite store .*injected failure/,
    );
    assert.equal(await s.lastTradeId(), 0);
    assert.equal(await s.order(1), undefined);
    assert.deepEqual(await s.balances(1), []);
    assert.deepEqual(await s.candles(1, "1m", 0, MAX, 10), []);
    // The connection is usable again: the same batch goes through once the cause is gone.
    peek(s, (db) => db.exec("DROP TRIGGER fail_trade_2"));
    await s.write(sample());
    assert.equal(await s.lastTradeId(), 3);
  });
});

Deno.test("sqlite: an invalid batch is refused with the row, field and value", async () => {
  await withStore(async (s) => {
    const b = batch({ orders: [orderRow({ orderId: 1 }), orderRow({ orderId: 2, qtyUnits: -5 })] });
    await assert.rejects(
      s.write(b),
      new RangeError(
        "Cannot write batch: orders[1].qtyUnits must be a non-negative safe integer, received -5",
      ),
    );
  });
});

Deno.test("sqlite: the file is in WAL mode and holds schema version 2", async () => {
  await withStore(async (s) => {
    await s.write(sample());
    const [mode, version] = peek(s, (db) => [
      db.prepare("PRAGMA journal_mode").get()?.journal_mode,
      db.prepare("PRAGMA user_version").get()?.user_version,
    ]);
    assert.equal(mode, "wal");
    assert.equal(version, 2);
  });
});

Deno.test("sqlite: integers near 2^53 are stored as exact INTEGERs, times too", async () => {
  await withStore(async (s) => {
    const trades = [0, 1].map((n) =>
      tradeRow({ tradeId: MAX - n, qtyUnits: MAX - 1, makerOrderId: 1, takerOrderId: 2, tsMs: MAX })
    );
    await s.write(batch({ trades }));
    const row = peek(s, (db) => {
      const stmt = db.prepare("SELECT trade_id, qty, ts_ms, typeof(qty) AS t FROM trades");
      stmt.setReadBigInts(true);
      return stmt.get();
    });
    const exact = { trade_id: 2n ** 53n - 2n, qty: 2n ** 53n - 2n, ts_ms: 2n ** 53n - 1n };
    assert.deepEqual({ ...row }, { ...exact, t: "integer" });
    const first = await s.userTrades(1, { limit: 1 });
    assert.deepEqual(first.rows, [trades[0]]);
    const second = await s.userTrades(1, { limit: 1, cursor: first.nextCursor });
    assert.deepEqual(second, { rows: [trades[1]] });
  });
});

Deno.test("sqlite: rows survive close and reopen; init twice is harmless", async () => {
  const path = await tempPath();
  const first = new SqliteStore({ path });
  await first.init();
  await first.write(sample());
  await first.close();
  await first.close();
  const second = new SqliteStore({ path, fsyncEveryBatch: true });
  await second.init();
  await second.init();
  try {
    assert.equal(await second.lastTradeId(), 3);
    assert.deepEqual(await second.order(2), orderRow({ orderId: 2 }));
  } finally {
    await second.close();
    await removeStore(second);
  }
});

Deno.test("sqlite: a file with another schema version refuses to open", async () => {
  const path = await tempPath();
  const store = new SqliteStore({ path });
  await store.init();
  await store.close();
  peek(store, (db) => db.exec("PRAGMA user_version = 99"));
  await assert.rejects(store.init(), /schema version 99, this build reads version 2/);
  await removeStore(store);
});

Deno.test("sqlite: a version-1 file gains post_only and stp, keeping its rows", async () => {
  const path = await tempPath();
  // A version-1 orders table, as the previous build made it, with one row.
  await Deno.mkdir(dirname(path), { recursive: true });
  const v1 = new DatabaseSync(path);
  v1.exec(`PRAGMA user_version = 1;
    CREATE TABLE orders (order_id INTEGER NOT NULL, version INTEGER NOT NULL,
      user_id INTEGER NOT NULL, symbol_id INTEGER NOT NULL, side TEXT NOT NULL,
      order_type TEXT NOT NULL, time_in_force TEXT NOT NULL, price INTEGER NOT NULL,
      qty INTEGER NOT NULL, quote_qty INTEGER NOT NULL, filled_qty INTEGER NOT NULL,
      quote_filled_qty INTEGER NOT NULL, status TEXT NOT NULL, cid TEXT,
      created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,
      PRIMARY KEY (order_id, version)) STRICT, WITHOUT ROWID;
    INSERT INTO orders VALUES (7, 1, 1, 1, 'BUY', 'LIMIT', 'GTC', 100, 5, 0, 0, 0, 'NEW', NULL,
      ${T0_MS}, ${T0_MS});`);
  v1.close();
  const store = new SqliteStore({ path });
  await store.init();
  assert.deepEqual(
    await store.order(7),
    orderRow({ orderId: 7, priceTicks: 100, qtyUnits: 5, createdMs: T0_MS, updatedMs: T0_MS }),
    "an old row reads as not post-only, STP NONE",
  );
  const maker = orderRow({ orderId: 8, postOnly: true, stp: "EXPIRE_BOTH" });
  await store.write(batch({ orders: [maker] }));
  assert.deepEqual(await store.order(8), maker);
  await store.close();
  const version = new DatabaseSync(path);
  assert.equal(version.prepare("PRAGMA user_version").get()?.user_version, 2);
  version.close();
  await removeStore(store);
});

Deno.test("sqlite: calls before init or after close fail with a clear error", async () => {
  const store = new SqliteStore({ path: await tempPath() });
  await assert.rejects(store.lastTradeId(), /Cannot read the last trade id: .* is not open/);
  await store.init();
  await store.close();
  await assert.rejects(store.write(sample()), /Cannot write a batch: .* is not open/);
  await removeStore(store);
});

Deno.test("sqlite: the default path is ./data/exchange.db", () => {
  assert.equal(new SqliteStore().path, "./data/exchange.db");
});

Deno.test("sqlite: an in-memory store answers like a file", async () => {
  const store = new SqliteStore({ path: ":memory:" });
  await store.init();
  await store.write(sample());
  assert.equal(await store.lastTradeId(), 3);
  await store.close();
});
