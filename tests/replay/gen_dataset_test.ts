/**
 * The dataset generator is deterministic for a seed, and a generated dataset replays to
 * the same state as applying the generator's command stream to the engine directly,
 * with every asset conserved.
 */

import assert from "node:assert/strict";
import { generateDataset } from "../../bench/gen_dataset.ts";
import { BENCH_ASSETS, BENCH_SYMBOL, generateStream } from "../../bench/command_stream.ts";
import { Engine } from "../../domain/engine.ts";
import { replayDirectory } from "../../replay/replay_job.ts";

const FILES = ["assets_config.csv", "symbols_config.csv", "balances_init.csv", "orders.csv"];

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "replay_gen_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Parses a CSV with a header into rows of numbers keyed by column name. */
function numericRows(text: string): Record<string, number>[] {
  const [header, ...lines] = text.trim().split("\n");
  const cols = header.split(",");
  return lines.map((l) => {
    const cells = l.split(",");
    const row: Record<string, number> = {};
    cols.forEach((c, i) => (row[c] = Number(cells[i])));
    return row;
  });
}

Deno.test("the generator writes the same bytes for the same seed and others for another", async () => {
  await withTempDir(async (root) => {
    const opts = { seed: 42, places: 600, cancels: 200, users: 7 };
    await generateDataset(`${root}/a`, opts);
    await generateDataset(`${root}/b`, opts);
    await generateDataset(`${root}/c`, { ...opts, seed: 43 });
    for (const f of FILES) {
      const a = await Deno.readFile(`${root}/a/${f}`);
      const b = await Deno.readFile(`${root}/b/${f}`);
      assert.deepEqual(a, b, `${f} differs between two runs with seed 42`);
    }
    assert.notDeepEqual(
      await Deno.readFile(`${root}/a/orders.csv`),
      await Deno.readFile(`${root}/c/orders.csv`),
    );
    const rows = (await Deno.readTextFile(`${root}/a/orders.csv`)).trim().split("\n");
    assert.equal(rows[0], "order_id,user_id,action,side,price,qty");
    assert.equal(rows.length - 1, 800);
    assert.equal(rows.filter((r) => r.includes(",cancel,,,")).length, 200);
  });
});

Deno.test("the generated symbol config keeps the bench symbol's decimals and fees", async () => {
  await withTempDir(async (dir) => {
    await generateDataset(dir, { seed: 1, places: 10, cancels: 0, users: 2 });
    const sym = (await Deno.readTextFile(`${dir}/symbols_config.csv`)).trim().split("\n")[1];
    const s = BENCH_SYMBOL;
    assert.equal(
      sym,
      [
        s.id,
        s.name,
        s.baseAssetId,
        s.quoteAssetId,
        s.priceDecimals,
        s.priceDisplayDecimals,
        s.makerFeePpm,
        s.takerFeePpm,
      ].join(","),
    );
    const assets = (await Deno.readTextFile(`${dir}/assets_config.csv`)).trim().split("\n").slice(
      1,
    );
    assert.deepEqual(
      assets,
      BENCH_ASSETS.map((a) => `${a.id},${a.name},${a.decimals},${a.displayDecimals},true`),
    );
  });
});

Deno.test("a generated dataset replays to the engine's own state and conserves every asset", async () => {
  const opts = { seed: 2024, places: 1500, cancels: 500, users: 12 };
  await withTempDir(async (root) => {
    await generateDataset(`${root}/in`, opts);
    const report = await replayDirectory(`${root}/in`, `${root}/out`, {
      progress: false,
      checkInvariants: true,
    });
    assert.equal(report.counts.commands, 2000);
    assert.equal(report.counts.places, 1500);
    assert.equal(report.counts.cancels, 500);
    assert.ok(report.trades > 100, `only ${report.trades} trades: the dataset should cross`);

    const deposits = new Map<number, number>();
    for (const r of numericRows(await Deno.readTextFile(`${root}/in/balances_init.csv`))) {
      deposits.set(r.asset_id, (deposits.get(r.asset_id) ?? 0) + r.avail);
    }
    const held = new Map<number, number>();
    const balances = numericRows(await Deno.readTextFile(`${root}/out/balances_final.csv`));
    for (const r of balances) {
      held.set(r.asset_id, (held.get(r.asset_id) ?? 0) + r.avail + r.frozen);
    }
    let baseFees = 0;
    let quoteFees = 0;
    for (const t of numericRows(await Deno.readTextFile(`${root}/out/trades.csv`))) {
      baseFees += t.buyer_fee;
      quoteFees += t.seller_fee;
    }
    const base = BENCH_SYMBOL.baseAssetId;
    const quote = BENCH_SYMBOL.quoteAssetId;
    assert.ok(baseFees > 0 && quoteFees > 0, "fees should be charged");
    assert.equal((held.get(base) ?? 0) + baseFees, deposits.get(base), "base asset conserved");
    assert.equal((held.get(quote) ?? 0) + quoteFees, deposits.get(quote), "quote asset conserved");

    // Decimal strings went out and came back exactly: the replay equals the engine run
    // on the generator's integer commands.
    const stream = generateStream({ ...opts });
    const engine = new Engine({
      assets: BENCH_ASSETS,
      symbols: [BENCH_SYMBOL],
      maxOpenOrdersPerUser: Number.MAX_SAFE_INTEGER,
    });
    const trades: string[] = [];
    for (const c of [...stream.funding, ...stream.commands]) {
      for (const e of engine.apply(c)) {
        if (e.type !== "trade") continue;
        trades.push(
          [
            e.tradeId,
            e.symbolId,
            e.priceTicks,
            e.qtyUnits,
            e.quoteUnits,
            e.takerSide.toLowerCase(),
            e.makerOrderId,
            e.takerOrderId,
            e.makerUserId,
            e.takerUserId,
            e.buyerFeeUnits,
            e.sellerFeeUnits,
          ].join(","),
        );
      }
    }
    engine.checkInvariants();
    const tradesCsv = (await Deno.readTextFile(`${root}/out/trades.csv`)).trim().split("\n");
    assert.deepEqual(
      tradesCsv.slice(1),
      trades,
      "trades.csv differs from the engine's trade events",
    );
    for (const r of balances) {
      const b = engine.balance(r.user_id, r.asset_id);
      assert.deepEqual(
        [r.avail, r.frozen],
        [b.availableUnits, b.frozenUnits],
        `user ${r.user_id} asset ${r.asset_id}`,
      );
    }
    assert.equal(engine.nextTradeId - 1, report.trades);
    assert.equal(engine.openOrderCount, report.restingOrders);
  });
});
