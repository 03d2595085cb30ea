/**
 * Recovery with the store behind: `Exchange.open` returns once the engine state is
 * restored, the store catches up in the background, settlement checkpoints nothing past
 * the store's old point until it has, and a store that fails meanwhile stops the tree.
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { BENCH_ASSETS, BENCH_SYMBOL, generateStream } from "../../bench/command_stream.ts";
import { Exchange } from "../../actors/exchange.ts";
import type { Command } from "../../domain/commands.ts";
import { SqliteStore } from "../../persistence/sqlite_store.ts";
import { loadSettlementRecovery } from "../../persistence/settlement_checkpoint.ts";
import { SnapshotStore } from "../../persistence/snapshot_store.ts";
import type { StoragePort, WriteBatch } from "../../persistence/storage_port.ts";

const quiet = { info: () => {}, warn: () => {}, error: () => {} };

/**
 * The SQLite store behind a gate: "open" passes writes on; "held" keeps the writes offered
 * while in that mode (and their promises) until `release()`; "lost" never passes them on nor settles them (a store
 * that died); "failing" rejects them.
 */
class GatedStore implements StoragePort {
  mode: "open" | "held" | "lost" | "failing" = "open";
  private held: (() => void)[] = [];
  heldWrites = 0;
  readonly inner: SqliteStore;
  constructor(path: string) {
    this.inner = new SqliteStore({ path });
  }
  write(batch: WriteBatch): Promise<void> {
    switch (this.mode) {
      case "open":
        return this.inner.write(batch);
      case "lost":
        return new Promise(() => {});
      case "failing":
        return Promise.reject(new Error("disk I/O error"));
      case "held":
        this.heldWrites++;
        return new Promise<void>((resolve, reject) =>
          this.held.push(() => this.inner.write(batch).then(resolve, reject))
        );
    }
  }
  release(): void {
    this.mode = "open";
    for (const go of this.held.splice(0)) go();
  }
  init = () => this.inner.init();
  lastTradeId = () => this.inner.lastTradeId();
  order = (id: number) => this.inner.order(id);
  orders: StoragePort["orders"] = (u, q) => this.inner.orders(u, q);
  userTrades: StoragePort["userTrades"] = (u, q) => this.inner.userTrades(u, q);
  publicTrades: StoragePort["publicTrades"] = (s, l) => this.inner.publicTrades(s, l);
  balances: StoragePort["balances"] = (u) => this.inner.balances(u);
  candles: StoragePort["candles"] = (s, i, a, b, l) => this.inner.candles(s, i, a, b, l);
  close = () => this.inner.close();
}

function open(dir: string, store: StoragePort): Promise<Exchange> {
  return Exchange.open({
    dataDir: dir,
    assets: BENCH_ASSETS,
    symbols: [BENCH_SYMBOL],
    store,
    maxOpenOrdersPerUser: 1_000_000,
    snapshotEveryCommands: 1_000_000,
    logger: quiet,
  });
}

async function submitAll(ex: Exchange, cmds: readonly Command[], ref0: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < cmds.length) {
      const i = next++;
      const r = await ex.submit(cmds[i], ref0 + i);
      assert.equal(r.status, "done", `command ${i}: ${JSON.stringify(r)}`);
    }
  };
  await Promise.all(Array.from({ length: 256 }, worker));
}

function storedTrades(dir: string): { count: number; distinct: number; max: number } {
  const db = new DatabaseSync(`${dir}/exchange.db`);
  try {
    const r = db.prepare(
      "SELECT COUNT(*) AS c, COUNT(DISTINCT trade_id) AS d, COALESCE(MAX(trade_id), 0) AS m FROM trades",
    ).get() as { c: number; d: number; m: number };
    return { count: r.c, distinct: r.d, max: r.m };
  } finally {
    db.close();
  }
}

async function settlementPoint(dir: string): Promise<number> {
  const r = await loadSettlementRecovery(
    new SnapshotStore({ dir: `${dir}/settlement/snapshots` }),
    `${dir}/settlement/wal`,
  );
  return r.point.last_trade_id;
}

/** True if `p` has settled after a few turns of the event loop. */
async function settledSoon(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(() => (done = true), () => (done = true));
  for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 1));
  return done;
}

/** A data directory whose store stopped taking writes before the last `behind` commands. */
async function buildBehind(dir: string, cmds: readonly Command[], behind: number) {
  const store = new GatedStore(`${dir}/exchange.db`);
  const ex = await open(dir, store);
  await submitAll(ex, cmds.slice(0, cmds.length - behind), 1);
  await ex.whenIdle();
  const storedBefore = storedTrades(dir).max;
  store.mode = "lost";
  await submitAll(ex, cmds.slice(cmds.length - behind), cmds.length - behind + 1);
  const trades = ex.stats().persistedTradeId; // settlement stored nothing more
  const lastSeq = ex.stats().lastSeq;
  await ex.halt();
  return { storedBefore, lastSeq, trades };
}

function stream(): { cmds: Command[]; more: Command[] } {
  const s = generateStream({ seed: 23, users: 20, places: 6_000, cancels: 2_000 });
  const all = [...s.funding, ...s.commands];
  return { cmds: all.slice(0, all.length - 500), more: all.slice(all.length - 500) };
}

Deno.test("the store catches up in the background after recovery, and checkpoints wait for it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "catch_up_test_" });
  try {
    const { cmds, more } = stream();
    const built = await buildBehind(dir, cmds, 3_000);
    assert.ok(storedTrades(dir).max === built.storedBefore, "the store missed the last commands");

    // Start with the store's writes held: open returns with the state restored.
    const store = new GatedStore(`${dir}/exchange.db`);
    store.mode = "held";
    const ex = await open(dir, store);
    assert.equal(ex.recovery.replayed, built.lastSeq);
    assert.ok(ex.recovery.catchUpRows > 0, "recovery handed the store the rows it lacked");
    assert.equal(ex.recovery.storeCatchUpMs, null, "not caught up yet");
    assert.ok(store.heldWrites > 0);
    assert.equal(ex.stats().storeCatchingUp, true);
    // Later writes pass: only the catch-up is held.
    store.mode = "open";
    const idle = ex.whenIdle();
    assert.equal(await settledSoon(idle), false, "not idle while the store catches up");

    // It takes commands meanwhile; settlement writes and checkpoints nothing yet.
    await submitAll(ex, more, cmds.length + 1);
    assert.equal(ex.stats().persistedSeq, built.lastSeq);
    await ex.halt();
    assert.ok(
      (await settlementPoint(dir)) <= built.storedBefore,
      "no settlement checkpoint past what the store holds",
    );
    assert.equal(storedTrades(dir).max, built.storedBefore);

    // Again, and this time the store catches up: every trade stored once, no gaps.
    const store2 = new GatedStore(`${dir}/exchange.db`);
    store2.mode = "held";
    const again = await open(dir, store2);
    assert.equal(again.recovery.replayed, built.lastSeq + more.length);
    store2.release();
    await again.whenIdle();
    assert.ok(again.recovery.storeCatchUpMs !== null && again.recovery.storeCatchUpMs >= 0);
    assert.equal(again.stats().storeCatchingUp, false);
    const lastTrade = again.stats().persistedTradeId;
    assert.ok(lastTrade > built.storedBefore);
    await again.stop();
    const t = storedTrades(dir);
    assert.deepEqual(t, { count: lastTrade, distinct: lastTrade, max: lastTrade });
    assert.ok((await settlementPoint(dir)) === lastTrade, "checkpointed up to the last trade");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a store that fails while catching up after recovery stops the tree", async () => {
  const dir = await Deno.makeTempDir({ prefix: "catch_up_test_" });
  try {
    const { cmds } = stream();
    const built = await buildBehind(dir, cmds, 2_000);
    const store = new GatedStore(`${dir}/exchange.db`);
    store.mode = "failing";
    const ex = await open(dir, store);
    const end = await ex.terminated;
    assert.notEqual(end.code, 0, "the tree ends with a non-zero code");
    const r = await ex.submit({ type: "deposit", userId: 1, assetId: 1, amountUnits: 5 });
    assert.equal(r.status, "unavailable", JSON.stringify(r));
    assert.match(r.status === "unavailable" ? r.message : "", /catching up on recovery/);
    await ex.halt().catch(() => {});
    assert.ok((await settlementPoint(dir)) <= built.storedBefore);
    // A working store on the next start gets the same rows again.
    const again = await open(dir, new SqliteStore({ path: `${dir}/exchange.db` }));
    await again.whenIdle();
    const last = again.stats().persistedTradeId;
    await again.stop();
    assert.deepEqual(storedTrades(dir), { count: last, distinct: last, max: last });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
