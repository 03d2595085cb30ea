/**
 * The service with `--store tdengine`: it refuses to start, saying so, when TDengine does
 * not answer; against a stand-in taosAdapter it writes the trades of two users as INSERTs
 * into the trades super table and serves trade history from TDengine's answers.
 */

import assert from "node:assert/strict";
import type { Logger } from "../../actors/actor.ts";
import { startService } from "../../api/service.ts";
import { loadServiceConfig } from "../../api/service_config.ts";
import { SignedClient } from "../../api/signed_client.ts";
import { TRADE_COLUMNS } from "../../persistence/tdengine_sql.ts";
import {
  affectedRows,
  closedUrl,
  queryAnswer,
  schemaAnswer,
  startFakeTaosAdapter,
  type TaosRequest,
} from "../persistence/fake_taosadapter.ts";

function quietLogger(logs: string[]): Logger {
  return { info: (m) => logs.push(m), warn: (m) => logs.push(m), error: (m) => logs.push(m) };
}

async function config(dataDir: string, url: string) {
  return await loadServiceConfig(
    ["--port", "0", "--data-dir", dataDir, "--store", "tdengine", "--tdengine-url", url],
    {},
  );
}

Deno.test("service: --store tdengine with nothing listening fails to start, saying where", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "service_td_" });
  const url = closedUrl();
  try {
    await assert.rejects(
      startService(await config(dataDir, url), { logger: quietLogger([]) }),
      new RegExp(`TDengine is unreachable at ${url.replace(/[.]/g, "\\.")}`),
    );
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("service: with TDengine, trades are INSERTed there and history is read from it", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "service_td_" });
  const storedTrade = TRADE_COLUMNS.map((c) =>
    ({
      trade_id: 41,
      symbol_id: 1,
      price: 1_000_000,
      qty: 100_000,
      quote_qty: 10_000_000,
      ts_ms: 1_000,
    })[
      c as string
    ] ?? 0
  );
  const fake = await startFakeTaosAdapter((req: TaosRequest) => {
    const schema = schemaAnswer(req);
    if (schema !== undefined) return schema;
    if (req.sql.startsWith("SELECT MAX(trade_id)")) {
      return queryAnswer([["trade_id", "BIGINT UNSIGNED", 8]], "[[null]]");
    }
    if (req.sql.startsWith("SELECT") && req.sql.includes("FROM trades")) {
      return queryAnswer(
        TRADE_COLUMNS.map((c) => [c, "BIGINT UNSIGNED", 8] as [string, string, number]),
        JSON.stringify([storedTrade]),
      );
    }
    return affectedRows(1);
  });
  const logs: string[] = [];
  const service = await startService(await config(dataDir, fake.url), {
    logger: quietLogger(logs),
  });
  try {
    assert.ok(logs.includes(`Store: TDengine at ${fake.url}/trading (REST)`), logs.join("\n"));
    const demo = logs.find((l) => l.startsWith("Created two demo users"))!;
    const client = (name: string) => {
      const m = new RegExp(`${name}: user_id \\d+, api_key (\\w+), secret (\\w+)`).exec(demo)!;
      return new SignedClient(`http://127.0.0.1:${service.port}`, { apiKey: m[1], secret: m[2] });
    };
    const [alice, bob] = [client("alice"), client("bob")];
    const order = { symbol: "BTC_USDT", type: "LIMIT", price: "10000", qty: "0.01" };
    assert.equal((await alice.post("/api/v1/create_order", { ...order, side: "SELL" })).code, 0);
    const buy = await bob.post<{ status: string }>("/api/v1/create_order", {
      ...order,
      side: "BUY",
    });
    assert.equal(buy.data?.status, "FILLED", buy.msg);
    assert.ok(await service.exchange.whenStoredNow(10_000), "the trade reached the store");
    const inserts = fake.requests.filter((r) => r.sql.startsWith("INSERT INTO"));
    assert.ok(
      inserts.some((r) => /USING trades TAGS \(1\) VALUES \(\d+, 1, 1000000, 1000000,/.test(r.sql)),
    );
    assert.ok(inserts.some((r) => r.sql.includes("USING orders TAGS (1)")));
    assert.ok(inserts.every((r) => r.path === "/rest/sql/trading"));
    const history = await bob.get<{ trades: { trade_id: number }[] }>(
      "/api/v1/trades?symbol=BTC_USDT",
    );
    assert.equal(history.code, 0, history.msg);
    assert.deepEqual(history.data!.trades.map((t) => t.trade_id), [41], "the answer TDengine gave");
  } finally {
    await service.stop();
    await fake.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});
