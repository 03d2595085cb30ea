/** `GET /metrics` over a real socket: Prometheus text with the counters the API keeps. */

import assert from "node:assert/strict";
import { withTestService } from "./api_fixtures.ts";

/** The value of the sample line starting with `prefix` (labels included), or undefined. */
function sample(text: string, prefix: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(prefix + " "));
  return line === undefined ? undefined : Number(line.slice(prefix.length + 1));
}

Deno.test("/metrics counts commands, rejects, requests, WAL fsyncs and subscribers", async () => {
  await withTestService(async (t) => {
    const alice = await t.user({ BTC: "1" });
    const order = { symbol: "BTC_USDT", side: "SELL", type: "LIMIT", price: "50000" };
    assert.equal(
      (await alice.client.post("/api/v1/create_order", { ...order, qty: "0.1" })).code,
      0,
    );
    assert.equal(
      (await alice.client.post("/api/v1/create_order", { ...order, qty: "0.2" })).code,
      0,
    );
    const poor = await alice.client.post("/api/v1/create_order", { ...order, qty: "5" });
    assert.equal(poor.status, 400);
    const ws = new WebSocket(`${t.baseUrl.replace("http", "ws")}/ws`);
    await new Promise((r) => (ws.onopen = r));

    await alice.client.get("/api/v1/order/1");
    await alice.client.get("/api/v1/order/999");
    await (await fetch(`${t.baseUrl}/no/such/${Date.now()}`)).body?.cancel();
    const res = await fetch(`${t.baseUrl}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0.0.4/);
    const text = await res.text();
    assert.equal(sample(text, 'exchange_commands_total{type="place",outcome="done"}'), 2);
    assert.equal(sample(text, 'exchange_commands_total{type="place",outcome="rejected"}'), 1);
    assert.equal(sample(text, 'exchange_commands_total{type="deposit",outcome="done"}'), 1);
    assert.equal(
      sample(text, 'exchange_rejects_total{code="-2001",reason="INSUFFICIENT_BALANCE"}'),
      1,
    );
    assert.equal(
      sample(text, 'exchange_http_requests_total{route="/api/v1/create_order",status="202"}'),
      2,
    );
    assert.equal(
      sample(text, 'exchange_http_requests_total{route="/api/v1/create_order",status="400"}'),
      1,
    );
    // Requests are labelled by route pattern, never by id or unknown path.
    assert.equal(
      sample(text, 'exchange_http_requests_total{route="/api/v1/order/:order_id",status="200"}'),
      1,
    );
    assert.equal(
      sample(text, 'exchange_http_requests_total{route="/api/v1/order/:order_id",status="404"}'),
      1,
    );
    assert.equal(sample(text, 'exchange_http_requests_total{route="unmatched",status="404"}'), 1);
    assert.ok((sample(text, "exchange_wal_fsync_seconds_count") ?? 0) >= 1);
    assert.equal(
      sample(text, 'exchange_wal_fsync_seconds_bucket{le="+Inf"}'),
      sample(text, "exchange_wal_fsync_seconds_count"),
    );
    assert.equal(sample(text, "exchange_push_subscribers"), 1, "the WebSocket connection");
    assert.equal(sample(text, 'exchange_stage_running{stage="match"}'), 1);
    // A place refused by the account shard never reaches the WAL.
    assert.equal(sample(text, "exchange_last_seq"), 3, "deposit + 2 accepted places");
    assert.ok((sample(text, 'exchange_command_answer_seconds_bucket{le="+Inf"}') ?? 0) >= 4);
    const closed = new Promise((r) => (ws.onclose = r));
    ws.close();
    await closed;
  });
});

Deno.test("/openapi.json documents the routes with their schemas, and /docs renders it", async () => {
  await withTestService(async (t) => {
    const doc = await (await fetch(`${t.baseUrl}/openapi.json`)).json();
    assert.equal(doc.openapi, "3.1.0");
    const create = doc.paths["/api/v1/create_order"].post;
    const schema = doc.components
      .schemas[create.requestBody.content["application/json"].schema.$ref.split("/").pop()];
    assert.deepEqual(schema.required.sort(), ["side", "symbol", "type"]);
    assert.deepEqual(schema.properties.side.enum, ["BUY", "SELL"]);
    for (
      const p of ["/api/v1/cancel_order", "/api/v1/orders", "/api/v1/depth", "/admin/v1/deposit"]
    ) {
      assert.ok(doc.paths[p] !== undefined, `${p} is documented`);
    }
    const docs = await fetch(`${t.baseUrl}/docs`);
    assert.match(docs.headers.get("content-type") ?? "", /text\/html/);
    const html = await docs.text();
    assert.match(html, /<code>\/api\/v1\/create_order<\/code> Place an order/);
    assert.match(html, /<code>time_in_force<\/code> GTC \| IOC \| FOK/);
    assert.match(html, /INSUFFICIENT_BALANCE/);
  });
});
