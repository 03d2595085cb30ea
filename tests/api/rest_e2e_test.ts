/**
 * The native REST API end to end, over real sockets: a service started on an ephemeral
 * 127.0.0.1 port, users created and funded through the admin API, orders placed with
 * signed requests, and every answer checked against the exchange's state.
 */

import assert from "node:assert/strict";
import { RejectCode } from "../../domain/reject_codes.ts";
import { adminRequest, startTestService, withTestService } from "./api_fixtures.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

Deno.test("two users trade over REST: fills, balances, order states and history agree", async () => {
  await withTestService(async (t) => {
    const alice = await t.user({ BTC: "2" });
    const bob = await t.user({ USDT: "100000" });

    // Alice rests 1 BTC at 50,000; Bob takes 0.4 of it.
    const sell = await alice.client.post<Any>("/api/v1/create_order", {
      symbol: "BTC_USDT",
      side: "SELL",
      type: "LIMIT",
      price: "50000",
      qty: "1",
      cid: "alice-1",
    });
    assert.equal(sell.status, 202, sell.msg);
    assert.equal(sell.code, 0);
    assert.equal(sell.data.status, "NEW");
    assert.equal(sell.data.cid, "alice-1");
    assert.deepEqual(sell.data.fills, []);
    const sellId = sell.data.order_id;
    const twice = await alice.client.post<Any>("/api/v1/create_order", {
      symbol: "BTC_USDT",
      side: "SELL",
      type: "LIMIT",
      price: "51000",
      qty: "0.1",
      cid: "alice-1",
    });
    assert.equal(twice.status, 409, "a cid in use by an open order of the same user");
    assert.equal(twice.code, RejectCode.DUPLICATE_CID);

    const buy = await bob.client.post<Any>("/api/v1/create_order", {
      symbol: "BTC_USDT",
      side: "BUY",
      type: "LIMIT",
      price: "50100",
      qty: "0.4",
    });
    assert.equal(buy.status, 202, buy.msg);
    assert.equal(buy.data.status, "FILLED");
    assert.equal(buy.data.filled_qty, "0.40000000");
    assert.equal(buy.data.fills.length, 1);
    const fill = buy.data.fills[0];
    assert.equal(fill.price, "50000.00", "fills at the maker's price");
    assert.equal(fill.qty, "0.40000000");
    assert.equal(fill.role, "TAKER");
    assert.equal(fill.fee_asset, "BTC", "the buyer pays the fee in what it receives");
    assert.equal(fill.fee, "0.00040000", "0.1 % taker fee of 0.4 BTC");
    assert.equal(typeof buy.data.accepted_at, "number");

    // Balances: Bob paid 20,000 USDT (price improvement released) and received 0.4 BTC
    // minus the taker fee; Alice has 0.6 BTC frozen and 20,000 USDT minus the maker fee.
    const bal = async (c: typeof alice.client) => {
      const r = await c.get<Any>("/api/v1/balances");
      assert.equal(r.code, 0, r.msg);
      return Object.fromEntries(
        r.data.balances.map((b: Any) => [b.asset, [b.available, b.frozen]]),
      );
    };
    assert.deepEqual((await bal(bob.client)).USDT, ["80000.000000", "0.000000"]);
    assert.deepEqual((await bal(bob.client)).BTC, ["0.39960000", "0.00000000"]);
    assert.deepEqual((await bal(alice.client)).BTC, ["1.00000000", "0.60000000"]);
    assert.deepEqual((await bal(alice.client)).USDT, ["19980.000000", "0.000000"]);

    // The taker's order, just acknowledged and closed, is visible at once.
    const bobOrder = await bob.client.get<Any>(`/api/v1/order/${buy.data.order_id}`);
    assert.equal(bobOrder.code, 0, bobOrder.msg);
    assert.equal(bobOrder.data.status, "FILLED");
    const aliceOrder = await alice.client.get<Any>(`/api/v1/order/${sellId}`);
    assert.equal(aliceOrder.data.status, "PARTIALLY_FILLED");
    assert.equal(aliceOrder.data.filled_qty, "0.40000000");

    // Trade history from each side.
    const bobTrades = await bob.client.get<Any>("/api/v1/trades?symbol=BTC_USDT");
    assert.equal(bobTrades.code, 0, bobTrades.msg);
    assert.equal(bobTrades.data.trades.length, 1);
    assert.equal(bobTrades.data.trades[0].side, "BUY");
    const aliceTrades = await alice.client.get<Any>("/api/v1/trades");
    assert.equal(aliceTrades.data.trades[0].side, "SELL");
    assert.equal(aliceTrades.data.trades[0].role, "MAKER");
    assert.equal(aliceTrades.data.trades[0].fee, "20.000000", "0.1 % maker fee in USDT");
    assert.equal(aliceTrades.data.trades[0].trade_id, bobTrades.data.trades[0].trade_id);

    // Order history: filters by status.
    const filled = await bob.client.get<Any>("/api/v1/orders?status=FILLED");
    assert.deepEqual(filled.data.orders.map((o: Any) => o.order_id), [buy.data.order_id]);
    const aliceOpen = await alice.client.get<Any>("/api/v1/orders?symbol=BTC_USDT");
    assert.equal(aliceOpen.data.orders[0].order_id, sellId);
    assert.equal(aliceOpen.data.orders[0].status, "PARTIALLY_FILLED");

    // Public data.
    const depth = await t.admin.get<Any>("/api/v1/depth?symbol=BTC_USDT&limit=5");
    assert.deepEqual(depth.data.asks, [["50000.00", "0.60000000"]]);
    assert.deepEqual(depth.data.bids, []);
    assert.ok(depth.data.update_id > 0);
    const pub = await t.admin.get<Any>("/api/v1/public_trades?symbol=BTC_USDT");
    assert.equal(pub.data.trades.length, 1);
    assert.equal(pub.data.trades[0].taker_side, "BUY");
    const klines = await t.admin.get<Any>("/api/v1/klines?symbol=BTC_USDT&interval=1m");
    assert.equal(klines.code, 0, klines.msg);
    assert.equal(klines.data.klines.at(-1).close, "50000.00");
    assert.equal(klines.data.klines.at(-1).volume, "0.40000000");
    const ticker = await t.admin.get<Any>("/api/v1/ticker?symbol=BTC_USDT");
    assert.equal(ticker.data.last, "50000.00");
    assert.equal(ticker.data.best_ask, "50000.00");
    assert.equal(ticker.data.trades, 1);
    const time = await t.admin.get<Any>("/api/v1/time");
    assert.ok(Math.abs(time.data.server_time - Date.now()) < 5_000);

    // Cancel by cid releases the rest of the hold; amend on a closed order is refused.
    const cancel = await alice.client.post<Any>("/api/v1/cancel_order", {
      symbol: "BTC_USDT",
      cid: "alice-1",
    });
    assert.equal(cancel.code, 0, cancel.msg);
    assert.equal(cancel.data.status, "CANCELED");
    assert.deepEqual((await bal(alice.client)).BTC, ["1.60000000", "0.00000000"]);
    const amend = await alice.client.post<Any>("/api/v1/amend_order", {
      order_id: sellId,
      qty: "0.5",
    });
    assert.equal(amend.status, 404);

    // The conservation report balances.
    const totals = await adminRequest(t, "GET", "/admin/v1/totals");
    assert.equal(totals.code, 0, totals.msg);
    assert.equal((totals.data as Any).balanced, true);
    const btc = (totals.data as Any).assets.find((a: Any) => a.asset === "BTC");
    assert.equal(btc.deposited, "2.00000000");
    assert.equal(btc.fees, "0.00040000");
  });
});

Deno.test("amend reduces keeping the order, reprices, and market orders by qty and by quote_qty fill", async () => {
  await withTestService(async (t) => {
    const maker = await t.user({ ETH: "50" });
    const taker = await t.user({ USDT: "100000" });
    const a = await maker.client.post<Any>("/api/v1/create_order", {
      symbol: "ETH_USDT",
      side: "SELL",
      type: "LIMIT",
      price: "3000",
      qty: "10",
    });
    assert.equal(a.code, 0, a.msg);
    const reduced = await maker.client.post<Any>("/api/v1/amend_order", {
      order_id: a.data.order_id,
      qty: "8",
    });
    assert.equal(reduced.code, 0, reduced.msg);
    assert.equal(reduced.data.qty, "8.00000000");
    const repriced = await maker.client.post<Any>("/api/v1/amend_order", {
      order_id: a.data.order_id,
      price: "2990",
    });
    assert.equal(repriced.code, 0, repriced.msg);
    assert.equal(repriced.data.price, "2990.00");

    const byQty = await taker.client.post<Any>("/api/v1/create_order", {
      symbol: "ETH_USDT",
      side: "BUY",
      type: "MARKET",
      qty: "1",
    });
    assert.equal(byQty.code, 0, byQty.msg);
    assert.equal(byQty.data.status, "FILLED");
    assert.equal(byQty.data.fills[0].price, "2990.00");
    const byQuote = await taker.client.post<Any>("/api/v1/create_order", {
      symbol: "ETH_USDT",
      side: "BUY",
      type: "MARKET",
      quote_qty: "5980",
    });
    assert.equal(byQuote.code, 0, byQuote.msg);
    assert.equal(byQuote.data.filled_qty, "2.00000000");
    assert.equal(byQuote.data.quote_filled_qty, "5980.000000");
    const depth = await t.admin.get<Any>("/api/v1/depth?symbol=ETH_USDT");
    assert.deepEqual(depth.data.asks, [["2990.00", "5.00000000"]]);
  });
});

Deno.test("users, keys, balances and history survive a restart", async () => {
  const t = await startTestService();
  let dataDir = t.dataDir;
  try {
    const alice = await t.user({ BTC: "1" });
    const placed = await alice.client.post<Any>("/api/v1/create_order", {
      symbol: "BTC_USDT",
      side: "SELL",
      type: "LIMIT",
      price: "60000",
      qty: "0.5",
    });
    assert.equal(placed.code, 0, placed.msg);
    await t.stop();

    const again = await startTestService({ dataDir });
    dataDir = again.dataDir;
    try {
      alice.client = new (alice.client.constructor as Any)(again.baseUrl, {
        apiKey: alice.apiKey,
        secret: alice.secret,
      });
      const bal = await alice.client.get<Any>("/api/v1/balances");
      assert.equal(bal.code, 0, bal.msg);
      const btc = bal.data.balances.find((b: Any) => b.asset === "BTC");
      assert.deepEqual([btc.available, btc.frozen], ["0.50000000", "0.50000000"]);
      const order = await alice.client.get<Any>(`/api/v1/order/${placed.data.order_id}`);
      assert.equal(order.data.status, "NEW");
      const next = await again.user({});
      assert.ok(next.userId > alice.userId, "user ids keep increasing across restarts");
    } finally {
      await again.stop();
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("order and trade history page with a cursor, newest first, without repeats", async () => {
  await withTestService(async (t) => {
    const maker = await t.user({ BTC: "1" });
    const taker = await t.user({ USDT: "100000" });
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await maker.client.post<Any>("/api/v1/create_order", {
        symbol: "BTC_USDT",
        side: "SELL",
        type: "LIMIT",
        price: String(50_000 + i),
        qty: "0.01",
      });
      assert.equal(r.code, 0, r.msg);
      ids.push(r.data.order_id);
    }
    for (let i = 0; i < 3; i++) {
      const r = await taker.client.post<Any>("/api/v1/create_order", {
        symbol: "BTC_USDT",
        side: "BUY",
        type: "MARKET",
        qty: "0.01",
      });
      assert.equal(r.data.status, "FILLED", r.msg);
    }
    const pages = async (path: string, key: string) => {
      const seen: number[] = [];
      let cursor: string | null = null;
      for (let n = 0; n < 10; n++) {
        const q: string = cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`;
        const r = await maker.client.get<Any>(`${path}?limit=2${q}`);
        assert.equal(r.code, 0, r.msg);
        assert.ok(r.data[key].length <= 2);
        seen.push(...r.data[key].map((x: Any) => key === "orders" ? x.order_id : x.trade_id));
        cursor = r.data.next_cursor;
        if (cursor === null) break;
      }
      return seen;
    };
    assert.deepEqual(await pages("/api/v1/orders", "orders"), [...ids].reverse());
    const trades = await pages("/api/v1/trades", "trades");
    assert.equal(trades.length, 3);
    assert.deepEqual(trades, [...trades].sort((a, b) => b - a), "newest first");
    assert.equal(new Set(trades).size, 3, "no trade twice");
  });
});
