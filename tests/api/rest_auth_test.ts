/**
 * Authentication and authorisation of the REST API over real sockets: missing, unknown,
 * badly signed, stale and replayed requests; another user's orders; revoked keys; the
 * admin token; the per-key rate limit; trusted-header mode.
 */

import assert from "node:assert/strict";
import { SignedClient, signedHeaders } from "../../api/signed_client.ts";
import { ApiCode } from "../../api/api_errors.ts";
import { RejectCode } from "../../domain/reject_codes.ts";
import { adminRequest, withTestService } from "./api_fixtures.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

const ORDER = { symbol: "BTC_USDT", side: "SELL", type: "LIMIT", price: "50000", qty: "0.1" };

Deno.test("requests without valid credentials are refused and change nothing", async () => {
  await withTestService(async (t) => {
    const alice = await t.user({ BTC: "1" });
    const anon = new SignedClient(t.baseUrl);
    const body = JSON.stringify(ORDER);
    const path = "/api/v1/create_order";

    const missing = await anon.post(path, ORDER);
    assert.equal(missing.status, 401);
    assert.equal(missing.code, ApiCode.MISSING_AUTH);

    const unknown = await new SignedClient(t.baseUrl, {
      apiKey: "0".repeat(32),
      secret: alice.secret,
    }).post(path, ORDER);
    assert.equal(unknown.status, 401);
    assert.equal(unknown.code, ApiCode.UNKNOWN_API_KEY);

    const wrongSecret = await new SignedClient(t.baseUrl, {
      apiKey: alice.apiKey,
      secret: "f".repeat(64),
    }).post(path, ORDER);
    assert.equal(wrongSecret.status, 401);
    assert.equal(wrongSecret.code, ApiCode.BAD_SIGNATURE);

    // Signed over one body, sent with another.
    const headers = signedHeaders(alice, "POST", path, body, Date.now());
    const tampered = await anon.request(
      "POST",
      path,
      JSON.stringify({ ...ORDER, qty: "0.9" }),
      headers,
    );
    assert.equal(tampered.code, ApiCode.BAD_SIGNATURE);

    // Signed for another path or query.
    const h2 = signedHeaders(alice, "GET", "/api/v1/orders?limit=1", "", Date.now());
    const otherQuery = await anon.request("GET", "/api/v1/orders?limit=2", "", h2);
    assert.equal(otherQuery.code, ApiCode.BAD_SIGNATURE);

    for (const skewMs of [-6_000, 6_000]) {
      const stale = await new SignedClient(
        t.baseUrl,
        alice,
        () => Date.now() + skewMs,
      ).post(path, ORDER);
      assert.equal(stale.status, 401, `skew ${skewMs}`);
      assert.equal(stale.code, ApiCode.STALE_TIMESTAMP);
    }
    const notANumber = await anon.request("POST", path, body, {
      ...signedHeaders(alice, "POST", path, body, Date.now()),
      "x-timestamp": "soon",
    });
    assert.equal(notANumber.code, ApiCode.STALE_TIMESTAMP);

    // A captured request replayed as is: the first goes through, the copy does not.
    const h3 = signedHeaders(alice, "POST", path, body, Date.now());
    const first = await anon.request("POST", path, body, h3);
    assert.equal(first.code, 0, first.msg);
    const replay = await anon.request("POST", path, body, h3);
    assert.equal(replay.status, 401);
    assert.equal(replay.code, ApiCode.REPLAYED_REQUEST);

    // Only the first request changed anything: one open order, 0.1 BTC frozen.
    const orders = await alice.client.get<Any>("/api/v1/orders");
    assert.equal(orders.data.orders.length, 1);
    const bal = await alice.client.get<Any>("/api/v1/balances");
    const btc = bal.data.balances.find((b: Any) => b.asset === "BTC");
    assert.deepEqual([btc.available, btc.frozen], ["0.90000000", "0.10000000"]);
  });
});

Deno.test("a user sees and cancels only their own orders", async () => {
  await withTestService(async (t) => {
    const alice = await t.user({ BTC: "1" });
    const mallory = await t.user({ BTC: "1" });
    const placed = await alice.client.post<Any>("/api/v1/create_order", ORDER);
    const id = placed.data.order_id;

    const peek = await mallory.client.get(`/api/v1/order/${id}`);
    assert.equal(peek.status, 404, "another user's order is not disclosed");
    const cancel = await mallory.client.post("/api/v1/cancel_order", { order_id: id });
    assert.equal(cancel.status, 403);
    assert.equal(cancel.code, RejectCode.NOT_ORDER_OWNER);
    const amend = await mallory.client.post("/api/v1/amend_order", { order_id: id, qty: "0.05" });
    assert.equal(amend.status, 404);
    const history = await mallory.client.get<Any>("/api/v1/orders");
    assert.deepEqual(history.data.orders, []);

    const still = await alice.client.get<Any>(`/api/v1/order/${id}`);
    assert.equal(still.data.status, "NEW");
    assert.equal(still.data.qty, "0.10000000");
  });
});

Deno.test("a revoked key stops working at once", async () => {
  await withTestService(async (t) => {
    const alice = await t.user({ BTC: "1" });
    assert.equal((await alice.client.get("/api/v1/balances")).code, 0);
    const del = await adminRequest(t, "DELETE", `/admin/v1/api_keys/${alice.apiKey}`);
    assert.equal(del.code, 0, del.msg);
    const after = await alice.client.get("/api/v1/balances");
    assert.equal(after.status, 401);
    assert.equal(after.code, ApiCode.UNKNOWN_API_KEY);
    const again = await adminRequest(t, "DELETE", `/admin/v1/api_keys/${alice.apiKey}`);
    assert.equal(again.status, 404);
  });
});

Deno.test("admin endpoints need the admin token", async () => {
  await withTestService(async (t) => {
    const anon = new SignedClient(t.baseUrl);
    const none = await anon.post("/admin/v1/users", {});
    assert.equal(none.status, 401);
    assert.equal(none.code, ApiCode.ADMIN_TOKEN_REQUIRED);
    const wrong = await adminRequest(t, "POST", "/admin/v1/users", {}, "not-the-admin-token-123");
    assert.equal(wrong.status, 403);
    assert.equal(wrong.code, ApiCode.FORBIDDEN);
    const user = await t.user({});
    // A user's signed credentials are no admin token either.
    const asUser = await user.client.post("/admin/v1/deposit", {
      user_id: user.userId,
      asset: "BTC",
      amount: "1",
    });
    assert.equal(asUser.status, 401);
    const totals = await adminRequest(t, "GET", "/admin/v1/totals");
    assert.equal(totals.code, 0);
    assert.equal(
      (totals.data as Any).assets.find((a: Any) => a.asset === "BTC").deposited,
      "0.00000000",
    );
  });
});

Deno.test("each API key is rate limited with 429 and Retry-After", async () => {
  await withTestService(async (t) => {
    const alice = await t.user({});
    const bob = await t.user({});
    const codes: number[] = [];
    for (let i = 0; i < 6; i++) codes.push((await alice.client.get("/api/v1/balances")).status);
    assert.deepEqual(codes, [200, 200, 200, 200, 200, 429]);
    const res = await fetch(`${t.baseUrl}/api/v1/balances`, {
      // A timestamp no earlier request of the client used (those would be replays).
      headers: signedHeaders(alice, "GET", "/api/v1/balances", "", Date.now() + 500),
    });
    assert.equal(res.status, 429, await res.clone().text());
    assert.equal(res.headers.get("retry-after"), "1");
    assert.equal((await res.json()).code, ApiCode.RATE_LIMITED);
    // Another key has its own budget.
    assert.equal((await bob.client.get("/api/v1/balances")).status, 200);
  }, { auth: { ratePerSecond: 1, burst: 5 } });
});

Deno.test("trusted-header mode takes X-User-ID, and only for known users", async () => {
  await withTestService(async (t) => {
    const alice = await t.user({ BTC: "1" });
    const res = await fetch(`${t.baseUrl}/api/v1/balances`, {
      headers: { "x-user-id": String(alice.userId) },
    });
    const body = await res.json();
    assert.equal(body.code, 0, body.msg);
    const btc = body.data.balances.find((b: Any) => b.asset === "BTC");
    assert.equal(btc.available, "1.00000000");
    const unknown = await fetch(`${t.baseUrl}/api/v1/balances`, {
      headers: { "x-user-id": "999" },
    });
    assert.equal(unknown.status, 404);
    await unknown.body?.cancel();
    const missing = await fetch(`${t.baseUrl}/api/v1/balances`);
    assert.equal(missing.status, 401);
    await missing.body?.cancel();
    assert.ok(t.logs.some((l) => l.startsWith("warn: Auth mode trusted-header")));
  }, { auth: { mode: "trusted-header" } });
});
