/**
 * One command can make more store rows than one store write takes (a market order that
 * fills tens of thousands of makers): settlement stores them in several writes, with
 * either adapter, and every trade and order is there afterwards.
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { BENCH_ASSETS, BENCH_SYMBOL } from "../../bench/command_stream.ts";
import { Exchange } from "../../actors/exchange.ts";
import type { Command } from "../../domain/commands.ts";
import { splitWriteBatch } from "../../persistence/packed_rows.ts";
import { SqliteStore } from "../../persistence/sqlite_store.ts";
import { SqliteWorkerStore } from "../../persistence/sqlite_worker_store.ts";
import { MAX_BATCH_ROWS, type StoragePort } from "../../persistence/storage_port.ts";

const quiet = { info: () => {}, warn: () => {}, error: (m: string) => console.error(m) };

Deno.test("splitWriteBatch keeps every row, in order, in parts of at most the bound", () => {
  const rows = (n: number, tag: string) => Array.from({ length: n }, (_, i) => ({ tag, i }));
  const batch = {
    orders: rows(7, "o"),
    trades: rows(5, "t"),
    balances: rows(3, "b"),
    candles: rows(1, "c"),
  } as unknown as Parameters<typeof splitWriteBatch>[0];
  assert.deepEqual(splitWriteBatch(batch, 16), [batch], "a batch that fits is not split");
  const parts = splitWriteBatch(batch, 4);
  assert.equal(parts.length, 4);
  for (const p of parts) {
    const n = p.orders.length + p.trades.length + p.balances.length + p.candles.length;
    assert.ok(n <= 4 && n > 0);
  }
  for (const key of ["orders", "trades", "balances", "candles"] as const) {
    assert.deepEqual(parts.flatMap((p) => p[key] as unknown[]), batch[key], key);
  }
});

const MAKERS = Math.floor(MAX_BATCH_ROWS / 2) + 1;

for (
  const [name, makeStore] of [
    ["in-process SQLite", (path: string) => new SqliteStore({ path })],
    ["SQLite worker", (path: string) => new SqliteWorkerStore({ path })],
  ] as const
) {
  Deno.test(`a market order filling ${MAKERS} makers is stored in full (${name})`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "large_command_" });
    try {
      const store: StoragePort = makeStore(`${dir}/exchange.db`);
      const ex = await Exchange.open({
        dataDir: dir,
        assets: BENCH_ASSETS,
        symbols: [BENCH_SYMBOL],
        store,
        maxOpenOrdersPerUser: 1_000_000,
        logger: quiet,
      });
      const cmds: Command[] = [
        { type: "deposit", userId: 1, assetId: 1, amountUnits: MAKERS * 1_000 },
        { type: "deposit", userId: 2, assetId: 2, amountUnits: 1e15 },
      ];
      for (let i = 0; i < MAKERS; i++) {
        cmds.push({
          type: "place",
          userId: 1,
          symbolId: BENCH_SYMBOL.id,
          side: "SELL",
          orderType: "LIMIT",
          priceTicks: 5_000_000,
          qtyUnits: 1_000,
        });
      }
      let next = 0;
      await Promise.all(Array.from({ length: 256 }, async () => {
        while (next < cmds.length) {
          const r = await ex.submit(cmds[next++]);
          assert.equal(r.status, "done");
        }
      }));
      const sweep = await ex.submit({
        type: "place",
        userId: 2,
        symbolId: BENCH_SYMBOL.id,
        side: "BUY",
        orderType: "MARKET",
        qtyUnits: MAKERS * 1_000,
      });
      assert.equal(sweep.status, "done");
      await ex.whenIdle();
      assert.equal(ex.health().every((h) => h.state === "running"), true);
      await ex.stop();
      const db = new DatabaseSync(`${dir}/exchange.db`);
      try {
        const one = (sql: string) => Object.values(db.prepare(sql).get() as object)[0];
        assert.equal(one("SELECT COUNT(*) FROM trades"), MAKERS);
        assert.equal(
          one("SELECT COUNT(DISTINCT order_id) FROM orders WHERE status = 'FILLED'"),
          MAKERS + 1,
        );
      } finally {
        db.close();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}
