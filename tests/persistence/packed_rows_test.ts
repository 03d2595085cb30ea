/**
 * Packed store rows (persistence/packed_rows.ts): unpacked, they are exactly the rows
 * RowBatch makes from the same events; they survive the reuse of the event buffers; a
 * packed batch moved to the SQLite worker stores what the in-process adapter stores.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { BENCH_ASSETS, BENCH_SYMBOL, generateStream } from "../../bench/command_stream.ts";
import type { Command } from "../../domain/commands.ts";
import { Engine } from "../../domain/engine.ts";
import { PackedRowsBuilder, unpackRows, writePackedRows } from "../../persistence/packed_rows.ts";
import { SqliteStore } from "../../persistence/sqlite_store.ts";
import { SqliteWorkerStore } from "../../persistence/sqlite_worker_store.ts";
import type { StoragePort } from "../../persistence/storage_port.ts";
import { RowBatch } from "../../persistence/store_rows.ts";

/** A seeded stream with client order ids on some orders and a market buy by quote amount. */
function stream(seed: number, users = 8, places = 400, cancels = 120): Command[] {
  const s = generateStream({ seed, users, places, cancels });
  const cmds: Command[] = [...s.funding];
  let n = 0;
  for (const c of s.commands) {
    if (c.type === "place" && n++ % 3 === 0) {
      cmds.push({ ...c, orderId: undefined, cid: `c-${seed}-${n}` });
    } else cmds.push(c);
  }
  cmds.push({
    type: "place",
    userId: 1,
    symbolId: BENCH_SYMBOL.id,
    side: "BUY",
    orderType: "MARKET",
    quoteUnits: 5_000_000,
  });
  return cmds;
}

function engine(): Engine {
  return new Engine({
    assets: BENCH_ASSETS,
    symbols: [BENCH_SYMBOL],
    maxOpenOrdersPerUser: 10_000,
  });
}

Deno.test("unpacked rows equal RowBatch's rows of the same events, batch by batch", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 1_000_000 }),
      fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 8 }),
      (seed, sizes) => {
        const cmds = stream(seed);
        const e = engine();
        let packed = new PackedRowsBuilder();
        let rows = new RowBatch();
        // Balances touched in the batch, "user/asset", in order of first touch.
        let touched = new Set<string>();
        let batches = 0;
        let sizeAt = 0;
        for (let i = 0; i < cmds.length; i++) {
          const seq = i + 1;
          const tsMs = 1_700_000_000_000 + i * 7;
          // The engine reuses its buffer: the builder must have copied what it needs.
          const buf = e.execute(cmds[i], tsMs);
          rows.add(seq, tsMs, { buf, from: 0, to: buf.length });
          packed.add(seq, tsMs, { buf, from: 0, to: buf.length });
          for (const ev of buf.decode()) {
            if (ev.type === "balance") touched.add(`${ev.userId}/${ev.assetId}`);
          }
          assert.equal(packed.size, rows.size + touched.size, `size after command ${seq}`);
          if (packed.commands === sizes[sizeAt % sizes.length] || i === cmds.length - 1) {
            const nowMs = tsMs + 1;
            const p = packed.take(e.ledger, nowMs);
            const want = rows.take([...touched].map((k) => {
              const [userId, assetId] = k.split("/").map(Number);
              return { userId, assetId, version: seq, ...e.balance(userId, assetId), tsMs: nowMs };
            }));
            const got = unpackRows(p);
            assert.deepEqual(got, want, `batch ${batches} (seed ${seed})`);
            assert.equal(p.rows, want.orders.length + want.trades.length + want.balances.length);
            assert.equal(p.orderRows, want.orders.length);
            assert.equal(p.tradeRows, want.trades.length);
            assert.equal(p.balanceRows, want.balances.length);
            assert.equal(p.lastSeq, seq);
            assert.equal(p.maxTradeId, Math.max(0, ...want.trades.map((t) => t.tradeId)));
            packed = new PackedRowsBuilder();
            rows = new RowBatch();
            touched = new Set();
            batches++;
            sizeAt++;
          }
        }
        assert.ok(batches > 0);
      },
    ),
    { numRuns: 25, seed: 7 },
  );
});

Deno.test("client order ids travel with their orders; a truncated packed batch is refused", () => {
  const e = engine();
  const b = new PackedRowsBuilder();
  const cmds: Command[] = [
    { type: "deposit", userId: 1, assetId: 2, amountUnits: 10_000_000_000 },
    {
      type: "place",
      userId: 1,
      symbolId: BENCH_SYMBOL.id,
      side: "BUY",
      orderType: "LIMIT",
      priceTicks: 5_000_000,
      qtyUnits: 1_000,
      cid: "first",
    },
    {
      type: "place",
      userId: 1,
      symbolId: BENCH_SYMBOL.id,
      side: "BUY",
      orderType: "LIMIT",
      priceTicks: 5_000_100,
      qtyUnits: 1_000,
      cid: "second",
    },
  ];
  cmds.forEach((c, i) => {
    const buf = e.execute(c, 1_000 + i);
    b.add(i + 1, 1_000 + i, { buf, from: 0, to: buf.length });
  });
  const p = b.take(e.ledger, 2_000);
  const batch = unpackRows(p);
  assert.deepEqual(batch.orders.map((o) => [o.cid, o.priceTicks]), [
    ["first", 5_000_000],
    ["second", 5_000_100],
  ]);
  assert.deepEqual(
    batch.balances.map((r) => [r.userId, r.assetId, r.version, r.tsMs]),
    [[1, 2, 3, 2_000]],
  );
  assert.throws(
    () => unpackRows({ ...p, f: p.f.slice(0, p.f.length - 1) }),
    (err: unknown) => err instanceof RangeError && /corrupt/.test(err.message),
  );
});

Deno.test("a packed batch moved to the SQLite worker stores what the in-process adapter stores", async () => {
  const dir = await Deno.makeTempDir({ prefix: "packed_rows_" });
  const worker = new SqliteWorkerStore({ path: `${dir}/worker.db` });
  const local = new SqliteStore({ path: `${dir}/local.db` });
  try {
    await worker.init();
    await local.init();
    const e = engine();
    const cmds = stream(99, 6, 600, 200);
    let b = new PackedRowsBuilder();
    for (let i = 0; i < cmds.length; i++) {
      const buf = e.execute(cmds[i], 5_000 + i);
      b.add(i + 1, 5_000 + i, { buf, from: 0, to: buf.length });
      if (b.commands === 150 || i === cmds.length - 1) {
        const p = b.take(e.ledger, 9_000 + i);
        await local.write(unpackRows(p));
        await writePackedRows(worker, p);
        assert.equal(p.f.byteLength, 0, "the records were moved, not copied");
        b = new PackedRowsBuilder();
      }
    }
    const dump = async (s: StoragePort) => {
      const out: unknown[] = [await s.lastTradeId(), await s.publicTrades(BENCH_SYMBOL.id, 1000)];
      for (let u = 1; u <= 6; u++) {
        out.push(await s.balances(u), await s.orders(u, { limit: 1000 }));
        out.push(await s.userTrades(u, { limit: 1000 }));
      }
      return out;
    };
    const want = await dump(local);
    assert.ok((want[0] as number) > 0, "the stream traded");
    assert.deepEqual(await dump(worker), want);
  } finally {
    await worker.close();
    await local.close();
    await Deno.remove(dir, { recursive: true });
  }
});
