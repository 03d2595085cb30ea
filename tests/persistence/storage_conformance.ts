/**
 * The storage port's conformance suite: one set of behaviours every adapter (SQLite,
 * TDengine) must show, registered against a factory of stores.
 *
 * ```ts
 * registerStorageConformance("sqlite", async () => new SqliteStore({ path }), { dispose });
 * registerStorageConformance("tdengine", factory, { ignore: "TDENGINE_URL is not set" });
 * ```
 *
 * Each case gets a fresh store from the factory (over empty storage), calls `init()`,
 * and closes it afterwards, then calls `dispose` if given. With `ignore`, every case is
 * registered as ignored (reported as skipped, never as passed) with the reason in its name.
 */

import assert from "node:assert/strict";
import {
  MAX_QUERY_ROWS,
  type OrderRow,
  type StoragePort,
  type TradeRow,
  type WriteBatch,
} from "../../persistence/storage_port.ts";
import {
  balanceRow,
  batch,
  candleRow,
  MAX,
  orderRow,
  ordersNewestFirst,
  T0_MS,
  tradeRow,
  tradesNewestFirst,
  walkPages,
} from "./storage_fixtures.ts";

export interface ConformanceOptions {
  /** Registers every case as ignored, with this reason (e.g. "TDENGINE_URL is not set"). */
  ignore?: string;
  /** Called after each case has closed its store, e.g. to delete its file or database. */
  dispose?: (store: StoragePort) => Promise<void>;
}

type Case = [name: string, fn: (s: StoragePort) => Promise<void>];

/** Registers one Deno.test per behaviour, named `<name> storage: <behaviour>`. */
export function registerStorageConformance(
  name: string,
  factory: () => Promise<StoragePort>,
  options: ConformanceOptions = {},
): void {
  const skipped = options.ignore === undefined ? "" : ` (skipped: ${options.ignore})`;
  for (const [title, fn] of CASES) {
    Deno.test({
      name: `${name} storage: ${title}${skipped}`,
      ignore: options.ignore !== undefined,
      async fn() {
        const store = await factory();
        await store.init();
        try {
          await fn(store);
        } finally {
          await store.close();
          await options.dispose?.(store);
        }
      },
    });
  }
}

async function assertEmpty(s: StoragePort): Promise<void> {
  assert.equal(await s.lastTradeId(), 0);
  assert.equal(await s.order(1), undefined);
  assert.deepEqual(await s.orders(1, { limit: 10 }), { rows: [] });
  assert.deepEqual(await s.userTrades(1, { limit: 10 }), { rows: [] });
  assert.deepEqual(await s.publicTrades(1, 10), []);
  assert.deepEqual(await s.balances(1), []);
  assert.deepEqual(await s.candles(1, "1m", 0, MAX, 10), []);
}

/** Orders, trades, balances and candles of two users, for the read-back cases. */
function sampleBatch(): WriteBatch {
  return batch({
    orders: [
      orderRow({ orderId: 1, userId: 1, cid: "a-1" }),
      orderRow({ orderId: 2, userId: 2, side: "SELL" }),
      orderRow({ orderId: 1, userId: 1, version: 2, status: "FILLED", filledUnits: 1_000 }),
      orderRow({ orderId: 3, userId: 1, symbolId: 2, orderType: "MARKET", priceTicks: 0 }),
    ],
    trades: [
      tradeRow({ tradeId: 1, makerUserId: 2, takerUserId: 1 }),
      tradeRow({ tradeId: 2, makerUserId: 1, takerUserId: 2, takerSide: "SELL" }),
      tradeRow({ tradeId: 3, symbolId: 2, makerUserId: 2, takerUserId: 2 }),
    ],
    balances: [
      balanceRow({ userId: 1, assetId: 2, version: 1 }),
      balanceRow({ userId: 1, assetId: 1, version: 1 }),
      balanceRow({ userId: 1, assetId: 1, version: 2, frozenUnits: 7 }),
      balanceRow({ userId: 2, assetId: 1, version: 1 }),
    ],
    candles: [candleRow({ openMs: T0_MS }), candleRow({ openMs: T0_MS + 60_000 })],
  });
}

/** Writes `rows` trades in batches of at most `per`. */
async function writeTrades(s: StoragePort, rows: TradeRow[], per = 500): Promise<void> {
  for (let i = 0; i < rows.length; i += per) {
    await s.write(batch({ trades: rows.slice(i, i + per) }));
  }
}

const CASES: Case[] = [
  ["an empty store answers every query with nothing", assertEmpty],

  ["init is idempotent and keeps what was written", async (s) => {
    await s.init();
    await s.write(sampleBatch());
    await s.init();
    assert.equal(await s.lastTradeId(), 3);
  }],

  ["a written batch reads back through every query", async (s) => {
    const b = sampleBatch();
    await s.write(b);
    assert.equal(await s.lastTradeId(), 3);
    assert.deepEqual(await s.order(1), b.orders[2]);
    assert.deepEqual(await s.order(2), b.orders[1]);
    assert.equal(await s.order(99), undefined);
    assert.deepEqual(await s.orders(1, { limit: 10 }), { rows: [b.orders[3], b.orders[2]] });
    assert.deepEqual(await s.orders(2, { limit: 10 }), { rows: [b.orders[1]] });
    assert.deepEqual(await s.userTrades(1, { limit: 10 }), { rows: [b.trades[1], b.trades[0]] });
    assert.deepEqual(await s.userTrades(2, { limit: 10 }), {
      rows: [b.trades[2], b.trades[1], b.trades[0]],
    });
    assert.deepEqual(await s.publicTrades(1, 10), [b.trades[1], b.trades[0]]);
    assert.deepEqual(await s.publicTrades(2, 10), [b.trades[2]]);
    assert.deepEqual(await s.balances(1), [b.balances[2], b.balances[0]]);
    assert.deepEqual(await s.balances(2), [b.balances[3]]);
    assert.deepEqual(await s.candles(1, "1m", 0, MAX, 10), b.candles);
  }],

  ["writing the same batch twice stores every row once", async (s) => {
    await s.write(sampleBatch());
    await s.write(sampleBatch());
    assert.equal((await s.orders(1, { limit: 10 })).rows.length, 2);
    assert.equal((await s.userTrades(2, { limit: 10 })).rows.length, 3);
    assert.equal((await s.publicTrades(1, 10)).length, 2);
    assert.equal((await s.balances(1)).length, 2);
    assert.equal((await s.candles(1, "1m", 0, MAX, 10)).length, 2);
  }],

  ["re-delivered trades are stored once", async (s) => {
    const trades = Array.from({ length: 30 }, (_, i) => tradeRow({ tradeId: i + 1 }));
    await s.write(batch({ trades: trades.slice(0, 20) }));
    await s.write(batch({ trades: trades.slice(10, 30) }));
    await s.write(batch({ trades: trades.slice(25, 30) }));
    const pages = await walkPages(7, (cursor) => s.userTrades(1, { limit: 7, cursor }));
    assert.deepEqual(pages.flat(), tradesNewestFirst(trades));
    assert.deepEqual(await s.publicTrades(1, 100), tradesNewestFirst(trades));
    assert.equal(await s.lastTradeId(), 30);
  }],

  ["a batch with an invalid row is refused and stores nothing", async (s) => {
    const bad: [string, Partial<WriteBatch>][] = [
      ["negative qty", { orders: [orderRow({ orderId: 9, qtyUnits: -5 })] }],
      ["fractional price", { trades: [tradeRow({ tradeId: 9, priceTicks: 1.5 })] }],
      ["unsafe integer", { balances: [balanceRow({ userId: 1, assetId: 1, version: 2 ** 53 })] }],
      ["NaN time", { trades: [tradeRow({ tradeId: 9, tsMs: NaN })] }],
      ["unknown side", { orders: [orderRow({ orderId: 9, side: "UP" as "BUY" })] }],
      ["unknown status", { orders: [orderRow({ orderId: 9, status: "OPEN" as "NEW" })] }],
      ["unknown interval", { candles: [candleRow({ openMs: 0, interval: "2m" })] }],
      ["version 0", { orders: [orderRow({ orderId: 9, version: 0 })] }],
      ["trade id 0", { trades: [tradeRow({ tradeId: 0 })] }],
      ["cid too long", { orders: [orderRow({ orderId: 9, cid: "x".repeat(37) })] }],
    ];
    for (const [why, extra] of bad) {
      const good = sampleBatch();
      const b = batch({
        orders: [...good.orders, ...(extra.orders ?? [])],
        trades: [...good.trades, ...(extra.trades ?? [])],
        balances: [...good.balances, ...(extra.balances ?? [])],
        candles: [...good.candles, ...(extra.candles ?? [])],
      });
      await assert.rejects(s.write(b), Error, `a batch with ${why} was accepted`);
      await assertEmpty(s);
    }
    await s.write(sampleBatch());
    assert.equal(await s.lastTradeId(), 3);
  }],

  ["order(id) is the highest version, whatever order versions arrive in", async (s) => {
    const v = (version: number) => orderRow({ orderId: 5, version, filledUnits: version });
    await s.write(batch({ orders: [v(1), v(3)] }));
    await s.write(batch({ orders: [v(2)] }));
    assert.deepEqual(await s.order(5), v(3));
    assert.deepEqual(await s.orders(1, { limit: 10 }), { rows: [v(3)] });
  }],

  ["a rewritten candle replaces the stored one", async (s) => {
    const open = candleRow({ openMs: T0_MS, closed: false, trades: 1, highTicks: 100 });
    const closed = candleRow({ openMs: T0_MS, closed: true, trades: 9, highTicks: 130 });
    await s.write(batch({ candles: [open] }));
    assert.deepEqual(await s.candles(1, "1m", T0_MS, T0_MS, 10), [open]);
    await s.write(batch({ candles: [closed] }));
    assert.deepEqual(await s.candles(1, "1m", T0_MS, T0_MS, 10), [closed]);
  }],

  ["candles are one symbol and interval, oldest first, in [startMs, endMs]", async (s) => {
    const mins = Array.from({ length: 10 }, (_, i) => candleRow({ openMs: T0_MS + i * 60_000 }));
    const others = [
      candleRow({ openMs: T0_MS, interval: "1M" }),
      candleRow({ openMs: T0_MS, symbolId: 2 }),
    ];
    await s.write(batch({ candles: [...mins].reverse().concat(others) }));
    assert.deepEqual(await s.candles(1, "1m", 0, MAX, 100), mins);
    assert.deepEqual(
      await s.candles(1, "1m", mins[2].openMs, mins[5].openMs, 100),
      mins.slice(2, 6),
    );
    assert.deepEqual(await s.candles(1, "1m", mins[2].openMs, MAX, 3), mins.slice(2, 5));
    assert.deepEqual(await s.candles(1, "1M", 0, MAX, 100), [others[0]]);
    assert.deepEqual(await s.candles(1, "5m", 0, MAX, 100), []);
  }],

  ["balances are the latest version of each asset, by asset id", async (s) => {
    const b = (assetId: number, version: number) => balanceRow({ userId: 4, assetId, version });
    await s.write(batch({ balances: [b(3, 1), b(3, 4), b(1, 2), b(2, 1)] }));
    await s.write(batch({ balances: [b(3, 2), b(1, 1), b(1, 3), b(3, 3)] }));
    assert.deepEqual(await s.balances(4), [b(1, 3), b(2, 1), b(3, 4)]);
    assert.deepEqual(await s.balances(5), []);
  }],

  ["publicTrades are one symbol's trades, newest first, up to limit", async (s) => {
    const trades = Array.from(
      { length: 40 },
      (_, i) =>
        tradeRow({ tradeId: i + 1, symbolId: 1 + (i % 2), tsMs: T0_MS + Math.floor(i / 4) }),
    );
    await s.write(batch({ trades }));
    const sym1 = tradesNewestFirst(trades.filter((t) => t.symbolId === 1));
    assert.deepEqual(await s.publicTrades(1, 100), sym1);
    assert.deepEqual(await s.publicTrades(1, 5), sym1.slice(0, 5));
    assert.deepEqual(await s.publicTrades(3, 5), []);
  }],

  ["order pages cover each order once, newest first, ties broken by id", async (s) => {
    const orders: OrderRow[] = [];
    for (let id = 1; id <= 23; id++) {
      orders.push(orderRow({ orderId: id, userId: 7, createdMs: T0_MS + Math.floor(id / 3) }));
    }
    const latest = orders.map((o) =>
      o.orderId % 2 === 0 ? { ...o, version: 2, status: "CANCELED" as const } : o
    );
    await s.write(batch({ orders: [...orders, ...latest.filter((o) => o.version === 2)] }));
    await s.write(batch({ orders: [orderRow({ orderId: 24, userId: 8 })] }));
    for (const limit of [1, 5, 23, 50]) {
      const pages = await walkPages(limit, (cursor) => s.orders(7, { limit, cursor }));
      assert.deepEqual(pages.flat(), ordersNewestFirst(latest), `limit ${limit}`);
    }
  }],

  ["user trade pages cover maker, taker and self trades once, newest first", async (s) => {
    const trades: TradeRow[] = [];
    for (let id = 1; id <= 60; id++) {
      const maker = [7, 8, 7, 9][id % 4], taker = [8, 7, 7, 8][id % 5 % 4];
      trades.push(
        tradeRow({ tradeId: id, makerUserId: maker, takerUserId: taker, tsMs: T0_MS + (id >> 2) }),
      );
    }
    await writeTrades(s, trades, 16);
    const mine = tradesNewestFirst(
      trades.filter((t) => t.makerUserId === 7 || t.takerUserId === 7),
    );
    for (const limit of [1, 4, 9, 100]) {
      const pages = await walkPages(limit, (cursor) => s.userTrades(7, { limit, cursor }));
      assert.deepEqual(pages.flat(), mine, `limit ${limit}`);
    }
  }],

  ["order filters: symbol, status of the latest version, created time", async (s) => {
    const orders = Array.from(
      { length: 12 },
      (_, i) =>
        orderRow({ orderId: i + 1, userId: 3, symbolId: 1 + (i % 3), createdMs: T0_MS + i * 10 }),
    );
    const filled = orders.filter((o) => o.orderId % 4 === 0)
      .map((o) => ({ ...o, version: 2, status: "FILLED" as const }));
    await s.write(batch({ orders: [...orders, ...filled] }));
    const latest = orders.map((o) => filled.find((f) => f.orderId === o.orderId) ?? o);
    const rows = async (q: Parameters<StoragePort["orders"]>[1]) => (await s.orders(3, q)).rows;
    const expect = (f: (o: OrderRow) => boolean) => ordersNewestFirst(latest.filter(f));
    assert.deepEqual(await rows({ limit: 50, symbolId: 2 }), expect((o) => o.symbolId === 2));
    assert.deepEqual(await rows({ limit: 50, status: "FILLED" }), expect((o) => o.version === 2));
    assert.deepEqual(await rows({ limit: 50, status: "NEW" }), expect((o) => o.version === 1));
    assert.deepEqual(
      await rows({ limit: 50, startMs: T0_MS + 20, endMs: T0_MS + 70 }),
      expect((o) => o.createdMs >= T0_MS + 20 && o.createdMs <= T0_MS + 70),
    );
    assert.deepEqual(await rows({ limit: 50, startMs: T0_MS + 70, endMs: T0_MS + 20 }), []);
    const pages = await walkPages(
      2,
      (cursor) => s.orders(3, { limit: 2, cursor, symbolId: 1, status: "NEW", endMs: T0_MS + 100 }),
    );
    assert.deepEqual(
      pages.flat(),
      expect((o) => o.symbolId === 1 && o.version === 1 && o.createdMs <= T0_MS + 100),
    );
  }],

  ["trade filters: symbol and time, inclusive, also across pages", async (s) => {
    const trades = Array.from(
      { length: 30 },
      (_, i) => tradeRow({ tradeId: i + 1, symbolId: 1 + (i % 2), tsMs: T0_MS + i * 10 }),
    );
    await s.write(batch({ trades }));
    const expect = (f: (t: TradeRow) => boolean) => tradesNewestFirst(trades.filter(f));
    const q = { limit: 50, symbolId: 2 };
    assert.deepEqual((await s.userTrades(1, q)).rows, expect((t) => t.symbolId === 2));
    const window = { startMs: T0_MS + 50, endMs: T0_MS + 150 };
    assert.deepEqual(
      (await s.userTrades(2, { limit: 50, ...window })).rows,
      expect((t) => t.tsMs >= window.startMs && t.tsMs <= window.endMs),
    );
    const pages = await walkPages(
      3,
      (cursor) => s.userTrades(1, { limit: 3, cursor, symbolId: 1, ...window }),
    );
    assert.deepEqual(
      pages.flat(),
      expect((t) => t.symbolId === 1 && t.tsMs >= window.startMs && t.tsMs <= window.endMs),
    );
  }],

  [`limits above MAX_QUERY_ROWS (${MAX_QUERY_ROWS}) are capped`, async (s) => {
    const trades = Array.from(
      { length: MAX_QUERY_ROWS + 5 },
      (_, i) => tradeRow({ tradeId: i + 1 }),
    );
    await writeTrades(s, trades);
    const all = tradesNewestFirst(trades);
    assert.deepEqual(await s.publicTrades(1, MAX_QUERY_ROWS * 5), all.slice(0, MAX_QUERY_ROWS));
    const first = await s.userTrades(1, { limit: MAX_QUERY_ROWS * 5 });
    assert.deepEqual(first.rows, all.slice(0, MAX_QUERY_ROWS));
    assert.ok(first.nextCursor !== undefined);
    const rest = await s.userTrades(1, { limit: MAX_QUERY_ROWS, cursor: first.nextCursor });
    assert.deepEqual(rest.rows, all.slice(MAX_QUERY_ROWS));
  }],

  ["integers up to 2^53 - 1 round-trip exactly, also in keys and cursors", async (s) => {
    // Ids and amounts only: times stay realistic (TDengine refuses far-future timestamps).
    const big = (n: number) => MAX - n;
    const orders = [0, 1].map((n) =>
      orderRow({
        orderId: big(n),
        version: big(0),
        userId: big(0),
        symbolId: 1,
        priceTicks: big(n),
        qtyUnits: big(1),
        quoteUnits: big(2),
        filledUnits: big(3),
        quoteFilledUnits: big(4),
        createdMs: T0_MS,
        updatedMs: T0_MS,
      })
    );
    const trades = [0, 1, 2].map((n) =>
      tradeRow({
        tradeId: big(n),
        symbolId: 1,
        priceTicks: big(n),
        qtyUnits: big(1),
        quoteUnits: big(2),
        makerOrderId: big(3),
        takerOrderId: big(4),
        makerUserId: big(0),
        takerUserId: big(1),
        buyerFeeUnits: big(5),
        sellerFeeUnits: big(6),
        tsMs: T0_MS,
      })
    );
    const balance = balanceRow({
      userId: big(0),
      assetId: 1,
      version: big(0),
      availableUnits: big(0),
      frozenUnits: big(1),
      tsMs: T0_MS,
    });
    const candle = candleRow({ openMs: T0_MS, highTicks: big(0), quoteVolumeUnits: big(1) });
    await s.write(batch({ orders, trades, balances: [balance], candles: [candle] }));
    assert.equal(await s.lastTradeId(), MAX);
    assert.deepEqual(await s.order(MAX), orders[0]);
    assert.deepEqual(await s.order(MAX - 1), orders[1]);
    const orderPages = await walkPages(1, (cursor) => s.orders(MAX, { limit: 1, cursor }));
    assert.deepEqual(orderPages.flat(), orders);
    const tradePages = await walkPages(1, (cursor) => s.userTrades(MAX, { limit: 1, cursor }));
    assert.deepEqual(tradePages.flat(), trades);
    assert.deepEqual(await s.balances(MAX), [balance]);
    assert.deepEqual(await s.candles(1, "1m", T0_MS, T0_MS, 5), [candle]);
  }],

  ["post-only flags and STP modes round-trip", async (s) => {
    const modes = ["NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"] as const;
    const orders = modes.map((stp, i) => orderRow({ orderId: i + 1, stp, postOnly: i % 2 === 1 }));
    await s.write(batch({ orders }));
    for (const o of orders) assert.deepEqual(await s.order(o.orderId), o);
    assert.deepEqual((await s.orders(1, { limit: 10 })).rows, ordersNewestFirst(orders));
  }],

  ["cids with quotes, backslashes and unicode round-trip", async (s) => {
    const cids = [`it's "quoted"`, `back\\slash;--`, "注文-ß-🚀", "tab\there\nline", "'); DROP"];
    const orders = cids.map((cid, i) => orderRow({ orderId: i + 1, cid }));
    await s.write(batch({ orders }));
    for (const o of orders) assert.deepEqual(await s.order(o.orderId), o);
    assert.deepEqual((await s.orders(1, { limit: 10 })).rows, ordersNewestFirst(orders));
  }],

  ["malformed cursors and limits are refused", async (s) => {
    await s.write(sampleBatch());
    const tradeCursor = (await s.userTrades(2, { limit: 1 })).nextCursor;
    assert.ok(tradeCursor !== undefined);
    await assert.rejects(s.orders(1, { limit: 1, cursor: tradeCursor }));
    await assert.rejects(s.userTrades(1, { limit: 1, cursor: "not a cursor" }));
    await assert.rejects(s.userTrades(1, { limit: 0 }));
    await assert.rejects(s.orders(1, { limit: 2.5 }));
    await assert.rejects(s.publicTrades(1, -1));
  }],

  ["lastTradeId is the highest trade id stored, not the last written", async (s) => {
    await s.write(batch({ trades: [tradeRow({ tradeId: 20 }), tradeRow({ tradeId: 10 })] }));
    await s.write(batch({ trades: [tradeRow({ tradeId: 5 })] }));
    assert.equal(await s.lastTradeId(), 20);
  }],
];
