/**
 * ccxt's `binance` class, unchanged, trading on the exchange through the
 * Binance-compatible API: orders of every kind, queries, cancels, balances, own trades,
 * and Binance's errors arriving as ccxt's exception classes.
 */

import assert from "node:assert/strict";
import ccxt from "ccxt";
import { type TestService, type TestUser, withTestService } from "./api_fixtures.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

const SYMBOL = "BTC/USDT";

/** A ccxt binance client of `user` pointed at the service, markets loaded. */
async function binanceFor(
  t: TestService,
  user: Pick<TestUser, "apiKey" | "secret">,
): Promise<Any> {
  const ex: Any = new ccxt.binance({
    apiKey: user.apiKey,
    secret: user.secret,
    options: { fetchMarkets: ["spot"], fetchCurrencies: false, fetchMargins: false },
  });
  ex.urls["api"] = {
    ...ex.urls["api"],
    public: `${t.baseUrl}/api/v3`,
    private: `${t.baseUrl}/api/v3`,
  };
  await ex.loadMarkets();
  return ex;
}

Deno.test(
  "ccxt places limit GTC/IOC/FOK, market by amount and by cost, and post-only orders",
  async () => {
    await withTestService(async (t) => {
      const alice = await binanceFor(t, await t.user({ BTC: "2" }));
      const bob = await binanceFor(t, await t.user({ USDT: "100000" }));

      const rest = await alice.createOrder(SYMBOL, "limit", "sell", 1, 50000);
      assert.equal(rest.status, "open");
      assert.equal(rest.type, "limit");
      assert.equal(rest.side, "sell");
      assert.equal(rest.timeInForce, "GTC");
      assert.equal(rest.price, 50000);
      assert.equal(rest.amount, 1);
      assert.equal(rest.filled, 0);
      assert.equal(rest.remaining, 1);
      assert.match(rest.clientOrderId, /^x-TKT5PX2F/);
      assert.deepEqual(rest.trades, []);

      const ioc = await bob.createOrder(SYMBOL, "limit", "buy", 0.3, 50100, { timeInForce: "IOC" });
      assert.equal(ioc.status, "closed");
      assert.equal(ioc.timeInForce, "IOC");
      assert.equal(ioc.filled, 0.3);
      assert.equal(ioc.cost, 15000);
      assert.equal(ioc.average, 50000);
      assert.equal(ioc.trades.length, 1);
      assert.equal(ioc.trades[0].price, 50000);
      assert.deepEqual(ioc.fee, { cost: 0.0003, currency: "BTC" });

      // FOK for more than rests (0.7) expires without a fill.
      const fok = await bob.createOrder(SYMBOL, "limit", "buy", 0.8, 50000, { timeInForce: "FOK" });
      assert.equal(fok.status, "expired");
      assert.equal(fok.filled, 0);

      const byAmount = await bob.createOrder(SYMBOL, "market", "buy", 0.1);
      assert.equal(byAmount.type, "market");
      assert.equal(byAmount.status, "closed");
      assert.equal(byAmount.filled, 0.1);
      assert.equal(byAmount.cost, 5000);

      const byCost = await bob.createMarketBuyOrderWithCost(SYMBOL, 5000);
      assert.equal(byCost.status, "closed");
      assert.equal(byCost.filled, 0.1);
      assert.equal(byCost.cost, 5000);
      const byQuoteParam = await bob.createOrder(SYMBOL, "market", "buy", undefined, undefined, {
        quoteOrderQty: 2500,
      });
      assert.equal(byQuoteParam.filled, 0.05);
      assert.equal(byQuoteParam.cost, 2500);

      // Post-only below the ask rests as LIMIT_MAKER.
      const maker = await bob.createOrder(SYMBOL, "limit", "buy", 0.1, 49000, { postOnly: true });
      assert.equal(maker.status, "open");
      assert.equal(maker.postOnly, true);
      assert.equal(maker.info.type, "LIMIT_MAKER");

      // A client order id of our own comes back as given.
      const named = await alice.createOrder(SYMBOL, "limit", "sell", 0.1, 60000, {
        clientOrderId: "alice-named",
      });
      assert.equal(named.clientOrderId, "alice-named");
      const balance = await alice.fetchBalance();
      assert.equal(balance.BTC.used, 0.55);
    });
  },
);

Deno.test("ccxt fetches, lists and cancels orders", async () => {
  await withTestService(async (t) => {
    const alice = await binanceFor(t, await t.user({ BTC: "1", ETH: "1" }));
    const bob = await binanceFor(t, await t.user({ USDT: "100000" }));
    const a = await alice.createOrder(SYMBOL, "limit", "sell", 0.2, 50000);
    const b = await alice.createOrder(SYMBOL, "limit", "sell", 0.3, 51000, {
      clientOrderId: "alice-b",
    });
    const eth = await alice.createOrder("ETH/USDT", "limit", "sell", 0.5, 3000);
    await bob.createOrder(SYMBOL, "market", "buy", 0.05);

    const fetched = await alice.fetchOrder(a.id, SYMBOL);
    assert.equal(fetched.id, a.id);
    assert.equal(fetched.status, "open");
    assert.equal(fetched.filled, 0.05);
    assert.equal(fetched.remaining, 0.15);
    assert.equal(fetched.cost, 2500);
    const byClientId = await alice.fetchOrder(undefined, SYMBOL, { clientOrderId: "alice-b" });
    assert.equal(byClientId.id, b.id);

    const open = await alice.fetchOpenOrders(SYMBOL);
    assert.deepEqual(open.map((o: Any) => o.id), [a.id, b.id]);
    alice.options["warnOnFetchOpenOrdersWithoutSymbol"] = false;
    const everywhere = await alice.fetchOpenOrders();
    assert.deepEqual(everywhere.map((o: Any) => o.id).sort(), [a.id, b.id, eth.id].sort());

    const cancelled = await alice.cancelOrder(b.id, SYMBOL);
    assert.equal(cancelled.id, b.id);
    assert.equal(cancelled.status, "canceled");
    assert.equal((await alice.fetchOrder(b.id, SYMBOL)).status, "canceled");

    const all = await alice.cancelAllOrders(SYMBOL);
    assert.deepEqual(all.map((o: Any) => [o.id, o.status]), [[a.id, "canceled"]]);
    assert.deepEqual(await alice.fetchOpenOrders(SYMBOL), []);
    const history = await alice.fetchOrders(SYMBOL);
    assert.deepEqual(history.map((o: Any) => [o.id, o.status]), [
      [a.id, "canceled"],
      [b.id, "canceled"],
    ]);
    assert.equal((await alice.fetchOpenOrders("ETH/USDT")).length, 1);
  });
});

Deno.test("ccxt reads balances and own trades with fees", async () => {
  await withTestService(async (t) => {
    const alice = await binanceFor(t, await t.user({ BTC: "1" }));
    const bob = await binanceFor(t, await t.user({ USDT: "100000" }));
    const sell = await alice.createOrder(SYMBOL, "limit", "sell", 0.5, 40000);
    const buy = await bob.createOrder(SYMBOL, "market", "buy", 0.2);
    await alice.createOrder(SYMBOL, "limit", "sell", 0.1, 45000);

    const ab = await alice.fetchBalance();
    assert.deepEqual(ab.BTC, { free: 0.4, used: 0.4, total: 0.8 });
    assert.deepEqual(ab.USDT, { free: 7992, used: 0, total: 7992 });
    const bb = await bob.fetchBalance();
    assert.deepEqual(bb.BTC, { free: 0.1998, used: 0, total: 0.1998 });
    assert.deepEqual(bb.USDT, { free: 92000, used: 0, total: 92000 });

    const [mine] = await alice.fetchMyTrades(SYMBOL);
    assert.equal(mine.order, sell.id);
    assert.equal(mine.side, "sell");
    assert.equal(mine.takerOrMaker, "maker");
    assert.equal(mine.price, 40000);
    assert.equal(mine.amount, 0.2);
    assert.equal(mine.cost, 8000);
    assert.deepEqual(mine.fee, { cost: 8, currency: "USDT" });
    const theirs = await bob.fetchMyTrades(SYMBOL);
    assert.equal(theirs.length, 1);
    assert.equal(theirs[0].id, mine.id);
    assert.equal(theirs[0].order, buy.id);
    assert.equal(theirs[0].side, "buy");
    assert.equal(theirs[0].takerOrMaker, "taker");
    assert.deepEqual(theirs[0].fee, { cost: 0.0002, currency: "BTC" });
    assert.deepEqual(await bob.fetchMyTrades(SYMBOL, theirs[0].timestamp + 1), []);
  });
});

Deno.test("Binance's errors reach ccxt as its exception classes", async () => {
  await withTestService(async (t) => {
    const aliceUser = await t.user({ BTC: "1", USDT: "100" });
    const alice = await binanceFor(t, aliceUser);
    await alice.createOrder(SYMBOL, "limit", "sell", 0.5, 50000);

    await assert.rejects(
      () => alice.createOrder(SYMBOL, "limit", "buy", 1, 40000),
      ccxt.InsufficientFunds,
    );
    await assert.rejects(() => alice.cancelOrder("999999", SYMBOL), ccxt.OrderNotFound);
    await assert.rejects(() => alice.fetchOrder("999999", SYMBOL), ccxt.OrderNotFound);
    // Post-only that would take, and a quantity off the lot size (sent raw past ccxt's
    // own rounding).
    await assert.rejects(
      () => alice.createOrder(SYMBOL, "limit", "buy", 0.001, 50000, { postOnly: true }),
      ccxt.InvalidOrder,
    );
    await assert.rejects(
      () =>
        alice.privatePostOrder({
          symbol: "BTCUSDT",
          side: "SELL",
          type: "LIMIT",
          timeInForce: "GTC",
          price: "50000",
          quantity: "0.000001",
        }),
      ccxt.InvalidOrder,
    );
    const wrongSecret = await binanceFor(t, { apiKey: aliceUser.apiKey, secret: "f".repeat(64) });
    await assert.rejects(() => wrongSecret.fetchBalance(), ccxt.AuthenticationError);
    const unknownKey = await binanceFor(t, { apiKey: "0".repeat(32), secret: "f".repeat(64) });
    await assert.rejects(() => unknownKey.fetchBalance(), ccxt.AuthenticationError);
    // Nothing above changed alice's orders.
    assert.equal((await alice.fetchOpenOrders(SYMBOL)).length, 1);
  });
});
