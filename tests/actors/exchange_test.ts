/**
 * The exchange facade end to end in one process: commands through the five stages,
 * graceful stop and recovery (snapshot + WAL), recovery equal to a full WAL replay, WAL
 * corruption at start, and the store kept in step.
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { BENCH_ASSETS, BENCH_SYMBOL, generateStream } from "../../bench/command_stream.ts";
import { Exchange } from "../../actors/exchange.ts";
import type { Command } from "../../domain/commands.ts";
import { SqliteStore } from "../../persistence/sqlite_store.ts";
import { FaultyFs } from "../../persistence/fs_port.ts";

const quiet = { info: () => {}, warn: () => {}, error: (m: string) => console.error(m) };

function open(dir: string, snapshotEveryCommands = 1_000_000): Promise<Exchange> {
  return Exchange.open({
    dataDir: dir,
    assets: BENCH_ASSETS,
    symbols: [BENCH_SYMBOL],
    store: new SqliteStore({ path: `${dir}/exchange.db` }),
    maxOpenOrdersPerUser: 1_000_000,
    snapshotEveryCommands,
    logger: quiet,
  });
}

function commands(n: number, seed = 11): Command[] {
  const s = generateStream({
    seed,
    users: 20,
    places: Math.floor(n * 0.75),
    cancels: Math.ceil(n * 0.25),
  });
  return [...s.funding, ...s.commands];
}

/** Submits all commands keeping up to `window` in flight; fails on anything but "done". */
async function submitAll(ex: Exchange, cmds: Command[], window = 512): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < cmds.length) {
      const i = next++;
      const r = await ex.submit(cmds[i], i + 1);
      assert.equal(r.status, "done", `command ${i}: ${JSON.stringify(r)}`);
    }
  };
  await Promise.all(Array.from({ length: window }, worker));
}

/** Live state that must survive a restart: balances, open orders, depth. */
function stateOf(ex: Exchange) {
  const users = Array.from({ length: 21 }, (_, u) => ex.balances(u));
  const orders = Array.from({ length: 21 }, (_, u) => ex.openOrders(u));
  return { users, orders, depth: ex.depth(0, 1_000) };
}

function storeCounts(dir: string) {
  const db = new DatabaseSync(`${dir}/exchange.db`);
  try {
    const one = (sql: string) => Object.values(db.prepare(sql).get() as Record<string, number>)[0];
    return {
      trades: one("SELECT COUNT(*) FROM trades"),
      distinctTrades: one("SELECT COUNT(DISTINCT trade_id) FROM trades"),
      maxTrade: one("SELECT COALESCE(MAX(trade_id), 0) FROM trades"),
    };
  } finally {
    db.close();
  }
}

Deno.test("commands run through the stages, and a graceful stop recovers the same state", async () => {
  const dir = await Deno.makeTempDir({ prefix: "exchange_test_" });
  try {
    const ex = await open(dir, 3_000);
    await submitAll(ex, commands(10_000));
    await ex.whenIdle();
    const before = stateOf(ex);
    assert.ok(ex.health().every((h) => h.state === "running"), JSON.stringify(ex.health()));
    const stats = ex.stats();
    assert.equal(stats.persistedSeq, stats.lastSeq);
    await ex.stop();
    const counts = storeCounts(dir);
    assert.equal(counts.trades, counts.distinctTrades, "no duplicate trade rows");
    assert.equal(counts.trades, counts.maxTrade, "trade ids stored without gaps");

    const again = await open(dir);
    assert.deepEqual(stateOf(again), before);
    assert.equal(
      again.recoveredClientRef,
      10_000 + 40,
      "the last command's reference is recovered",
    );
    await again.stop();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("recovery from a snapshot plus the WAL equals recovery from the whole WAL", async () => {
  const dir = await Deno.makeTempDir({ prefix: "exchange_test_" });
  try {
    const ex = await open(dir, 2_500);
    await submitAll(ex, commands(8_000, 5));
    await ex.whenIdle();
    const live = stateOf(ex);
    const last = ex.stats().lastSeq;
    await ex.halt(); // like a crash: the latest snapshot is behind the WAL
    const viaSnapshot = await open(dir);
    assert.ok(viaSnapshot.recovery.snapshotSeq > 0, "a periodic snapshot was taken");
    assert.ok(viaSnapshot.recovery.replayed > 0, "and the WAL after it was replayed");
    assert.deepEqual(stateOf(viaSnapshot), live);
    assert.equal(viaSnapshot.stats().lastSeq, last);
    await viaSnapshot.halt();
    // The same WAL without any engine snapshot must rebuild the same state.
    await Deno.remove(`${dir}/snapshots`, { recursive: true });
    const viaWal = await open(dir);
    assert.equal(viaWal.recovery.snapshotSeq, 0);
    assert.equal(viaWal.recovery.replayed, last);
    assert.deepEqual(stateOf(viaWal), live);
    await viaWal.stop();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a corrupted record in the middle of the WAL stops the start with the file and offset", async () => {
  const dir = await Deno.makeTempDir({ prefix: "exchange_test_" });
  try {
    const ex = await open(dir);
    await submitAll(ex, commands(2_000, 3));
    await ex.whenIdle();
    await ex.halt(); // no snapshot: the start must read the WAL
    const [segment] = [...Deno.readDirSync(`${dir}/wal`)].filter((e) => e.name.endsWith(".log"));
    const path = `${dir}/wal/${segment.name}`;
    const bytes = await Deno.readFile(path);
    bytes[Math.floor(bytes.length / 2)] ^= 0xff;
    await Deno.writeFile(path, bytes);
    await assert.rejects(
      () => open(dir),
      (e: Error) => e.message.includes(segment.name) && /offset/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("candles and the 24-hour ticker count every trade once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "exchange_test_" });
  try {
    const ex = await open(dir);
    await submitAll(ex, commands(3_000, 9));
    await ex.whenIdle();
    const trades = ex.stats().persistedTradeId;
    assert.ok(trades > 0);
    const now = Date.now();
    const ticker = await ex.ticker(0, now);
    assert.ok(ticker !== undefined);
    assert.equal(ticker.trades, trades);
    const minutes = await ex.candles(0, "1m", 0, now, 1_000);
    assert.equal(minutes.reduce((n, c) => n + c.trades, 0), trades);
    const days = await ex.candles(0, "1d", 0, now, 10);
    assert.equal(days.reduce((n, c) => n + c.trades, 0), trades);
    assert.ok(ticker.lowTicks <= ticker.lastTicks && ticker.lastTicks <= ticker.highTicks);
    await ex.stop();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a failed fsync stops intake, acknowledges nothing undurable, and shuts the tree down", async () => {
  const dir = await Deno.makeTempDir({ prefix: "exchange_test_" });
  try {
    const fs = new FaultyFs();
    const ex = await Exchange.open({
      dataDir: dir,
      assets: BENCH_ASSETS,
      symbols: [BENCH_SYMBOL],
      store: new SqliteStore({ path: `${dir}/exchange.db` }),
      logger: quiet,
      walFs: fs,
    });
    const ok = await ex.submit({ type: "deposit", userId: 1, assetId: 2, amountUnits: 1_000 });
    assert.equal(ok.status, "done");
    // The disk fails at the next fsync: the deposit after it must not be acknowledged.
    fs.failOn("syncData", new Error("ENOSPC: no space left on device"));
    const lost = await ex.submit({ type: "deposit", userId: 1, assetId: 2, amountUnits: 5 });
    assert.equal(lost.status, "unavailable", JSON.stringify(lost));
    const after = await ex.submit({ type: "deposit", userId: 1, assetId: 2, amountUnits: 7 });
    assert.equal(after.status, "unavailable");
    const end = await ex.terminated;
    assert.notEqual(end.code, 0, "the tree ends with a non-zero code");
    await ex.halt().catch(() => {});
    // What is durable is exactly what was acknowledged.
    const again = await open(dir);
    assert.deepEqual(again.balance(1, 2), { availableUnits: 1_000, frozenUnits: 0 });
    await again.stop();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("candles without a start are the latest `limit` intervals; with one, the first", async () => {
  const dir = await Deno.makeTempDir({ prefix: "exchange_candles_" });
  try {
    const t0 = Date.UTC(2026, 0, 5, 10, 0);
    const store = new SqliteStore({ path: `${dir}/exchange.db` });
    await store.init();
    const candle = (i: number) => ({
      symbolId: 0,
      interval: "1m",
      openMs: t0 + i * 60_000,
      closeMs: t0 + (i + 1) * 60_000 - 1,
      openTicks: 100 + i,
      highTicks: 100 + i,
      lowTicks: 100 + i,
      closeTicks: 100 + i,
      baseVolumeUnits: 1,
      quoteVolumeUnits: 1,
      trades: 1,
      takerBuyBaseUnits: 0,
      takerBuyQuoteUnits: 0,
      closed: true,
    });
    await store.write({
      orders: [],
      trades: [],
      balances: [],
      candles: [0, 1, 2, 3, 4, 5].map(candle),
    });
    await store.close();
    const ex = await open(dir);
    const opens = (rows: { openMs: number }[]) => rows.map((r) => (r.openMs - t0) / 60_000);
    assert.deepEqual(opens(await ex.candles(0, "1m", undefined, t0 + 5 * 60_000 + 30_000, 3)), [
      3,
      4,
      5,
    ]);
    assert.deepEqual(opens(await ex.candles(0, "1m", undefined, t0 + 4 * 60_000, 2)), [3, 4]);
    assert.deepEqual(opens(await ex.candles(0, "1m", t0, undefined, 3)), [0, 1, 2]);
    assert.deepEqual(opens(await ex.candles(0, "1m", t0 + 60_000, t0 + 2 * 60_000, 10)), [1, 2]);
    // Without start or end, the window ends now: these candles are long past.
    assert.deepEqual(await ex.candles(0, "1m", undefined, undefined, 3), []);
    await ex.stop();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
