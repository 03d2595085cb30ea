/**
 * Two storage adapters fed the same seeded stream of writes must answer every query the
 * same way: SQLite against TDengine when TDENGINE_URL is set (reported as skipped
 * otherwise), and, always, SQLite in this thread against the SQLite worker.
 *
 * The stream mimics settlement's: orders passing through several versions (some versions
 * of one order in one batch, some in later batches), trades with ties in time and
 * self-trades, balance versions, and candles rewritten until they close. A failure prints
 * the seed; `STORE_SEED=<n>` replays it.
 */

import assert from "node:assert/strict";
import { Prng } from "../../bench/prng.ts";
import { SqliteStore } from "../../persistence/sqlite_store.ts";
import { SqliteWorkerStore } from "../../persistence/sqlite_worker_store.ts";
import { TdengineRestClient } from "../../persistence/tdengine_rest.ts";
import { TdengineStore } from "../../persistence/tdengine_store.ts";
import type {
  BalanceRow,
  CandleRow,
  HistoryQuery,
  OrderRow,
  StoragePort,
  WriteBatch,
} from "../../persistence/storage_port.ts";
import type { OrderStatus } from "../../domain/types.ts";
import { batch, candleRow, orderRow, T0_MS, tradeRow, walkPages } from "./storage_fixtures.ts";

const USERS = [1, 2, 3, 4];
const SYMBOLS = [1, 2];
const ASSETS = [1, 2, 3];
const STATUSES: OrderStatus[] = ["NEW", "PARTIALLY_FILLED", "FILLED", "CANCELED", "EXPIRED"];

/** A seeded stream of batches. */
function writeStream(seed: number): WriteBatch[] {
  const rng = new Prng(seed);
  const pick = <T>(xs: readonly T[]) => xs[rng.int(0, xs.length - 1)];
  const batches: WriteBatch[] = Array.from({ length: 12 }, () => batch({}));
  const at = (minBatch: number) => batches[rng.int(minBatch, batches.length - 1)];
  let tsMs = T0_MS;
  // Orders: each version in a batch at or after the previous version's.
  for (let orderId = 1; orderId <= 120; orderId++) {
    tsMs += rng.int(0, 2);
    const base: Partial<OrderRow> = {
      userId: pick(USERS),
      symbolId: pick(SYMBOLS),
      side: rng.int(0, 1) === 0 ? "BUY" : "SELL",
      cid: rng.int(0, 3) === 0 ? null : `c-${orderId}'"\\${rng.int(0, 9)}`,
      createdMs: tsMs,
    };
    let where = rng.int(0, batches.length - 1);
    const versions = rng.int(1, 4);
    for (let version = 1; version <= versions; version++) {
      const status = version === versions ? pick(STATUSES) : "PARTIALLY_FILLED";
      batches[where].orders.push(
        orderRow({
          ...base,
          orderId,
          version,
          status,
          filledUnits: version,
          updatedMs: tsMs + version,
        }),
      );
      where = rng.int(where, batches.length - 1);
    }
  }
  // Trades: ids ascend with time across batches, ties in time, some self-trades.
  let tradeId = 0;
  for (let b = 0; b < batches.length; b++) {
    for (let n = rng.int(0, 25); n > 0; n--) {
      tsMs += rng.int(0, 1);
      const maker = pick(USERS);
      batches[b].trades.push(
        tradeRow({
          tradeId: ++tradeId,
          symbolId: pick(SYMBOLS),
          makerUserId: maker,
          takerUserId: rng.int(0, 5) === 0 ? maker : pick(USERS),
          takerSide: rng.int(0, 1) === 0 ? "BUY" : "SELL",
          tsMs,
        }),
      );
    }
  }
  // Balances: versions of (user, asset), not necessarily in order across batches.
  for (const userId of USERS) {
    for (const assetId of ASSETS) {
      for (let version = 1, n = rng.int(0, 6); version <= n; version++) {
        const row: BalanceRow = {
          userId,
          assetId,
          version,
          availableUnits: rng.int(0, 1e9),
          frozenUnits: rng.int(0, 1e6),
          tsMs: T0_MS + version,
        };
        at(0).balances.push(row);
      }
    }
  }
  // Candles: rewritten in later batches, the last write closed.
  for (let i = 0; i < 20; i++) {
    const first = rng.int(0, batches.length - 2);
    const c: Partial<CandleRow> & { openMs: number } = {
      openMs: T0_MS + 60_000 * rng.int(0, 9),
      symbolId: pick(SYMBOLS),
      interval: pick(["1m", "1M", "5m"]),
    };
    batches[first].candles.push(candleRow({ ...c, closed: false, trades: 1 }));
    at(first + 1).candles.push(candleRow({ ...c, closed: true, trades: 1 + rng.int(1, 9) }));
  }
  // A candle appears once per batch in a real stream; keep the last of each key.
  for (const b of batches) {
    const seen = new Map<string, CandleRow>();
    for (const c of b.candles) seen.set(`${c.symbolId}/${c.interval}/${c.openMs}`, c);
    b.candles = [...seen.values()];
  }
  return batches;
}

/** Every query, with paging, filters and windows, as one comparable value. */
async function answers(s: StoragePort): Promise<unknown> {
  const out: Record<string, unknown> = { lastTradeId: await s.lastTradeId() };
  for (let id = 1; id <= 121; id += 7) out[`order ${id}`] = await s.order(id);
  const queries: (Partial<HistoryQuery> & { name: string })[] = [
    { name: "all" },
    { name: "symbol 2", symbolId: 2 },
    { name: "status FILLED", status: "FILLED" },
    { name: "window", startMs: T0_MS + 40, endMs: T0_MS + 120 },
  ];
  for (const userId of USERS) {
    for (const q of queries) {
      const orders = await walkPages(3, (cursor) => s.orders(userId, { ...q, limit: 3, cursor }));
      const trades = await walkPages(
        4,
        (cursor) => s.userTrades(userId, { ...q, limit: 4, cursor }),
      );
      out[`orders ${userId} ${q.name}`] = orders;
      out[`trades ${userId} ${q.name}`] = trades;
    }
    out[`balances ${userId}`] = await s.balances(userId);
  }
  for (const symbolId of SYMBOLS) {
    out[`public ${symbolId}`] = await s.publicTrades(symbolId, 15);
    for (const interval of ["1m", "1M", "5m", "1h"]) {
      out[`candles ${symbolId} ${interval}`] = await s.candles(
        symbolId,
        interval,
        0,
        Number.MAX_SAFE_INTEGER,
        6,
      );
    }
  }
  return out;
}

async function compare(a: StoragePort, b: StoragePort): Promise<void> {
  const seed = Number(Deno.env.get("STORE_SEED") ?? (Date.now() % 1_000_000));
  try {
    await a.init();
    await b.init();
    for (const w of writeStream(seed)) {
      await a.write(w);
      await b.write(w);
    }
    assert.deepEqual(await answers(b), await answers(a));
  } catch (e) {
    console.error(`store equivalence failed with STORE_SEED=${seed}`);
    throw e;
  } finally {
    await a.close();
    await b.close();
  }
}

Deno.test("stores: SQLite and the SQLite worker answer a seeded stream alike", async () => {
  const dir = await Deno.makeTempDir({ prefix: "store_equivalence_" });
  try {
    await compare(
      new SqliteStore({ path: `${dir}/a.db` }),
      new SqliteWorkerStore({ path: `${dir}/b.db` }),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const TDENGINE_URL = Deno.env.get("TDENGINE_URL");

Deno.test({
  name: `stores: SQLite and TDengine answer a seeded stream alike${
    TDENGINE_URL === undefined ? " (skipped: TDENGINE_URL is not set)" : ""
  }`,
  ignore: TDENGINE_URL === undefined,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "store_equivalence_" });
    const database = `exchange_eq_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
    try {
      await compare(
        new SqliteStore({ path: `${dir}/a.db` }),
        new TdengineStore({ url: TDENGINE_URL!, database }),
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
      await new TdengineRestClient({ url: TDENGINE_URL! }).exec(
        `DROP DATABASE IF EXISTS ${database}`,
      );
    }
  },
});
