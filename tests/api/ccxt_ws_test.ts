/**
 * ccxt pro's unchanged `binance` class on our WebSocket streams: `watchOrderBook` keeps a
 * book by Binance's procedure (REST depth snapshot, then `@depth@100ms` diffs with their
 * U/u checks) that converges to the engine's while orders arrive; `watchTrades` receives
 * the trades made through the native API; `watchOrders` (WebSocket API user data
 * subscription) follows the user's own orders.
 */

import assert from "node:assert/strict";
import { Prng } from "../../bench/prng.ts";
import ccxt from "ccxt";
import { type TestService, type TestUser, withTestService } from "./api_fixtures.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

function proAt(t: TestService, user?: TestUser) {
  const ex = new ccxt.pro.binance({
    options: { fetchMarkets: ["spot"], fetchCurrencies: false, fetchMargins: false },
    ...(user === undefined ? {} : { apiKey: user.apiKey, secret: user.secret }),
  });
  const api = ex.urls["api"] as Any;
  const ws = `${t.baseUrl.replace("http", "ws")}`;
  ex.urls["api"] = {
    ...api,
    public: `${t.baseUrl}/api/v3`,
    private: `${t.baseUrl}/api/v3`,
    ws: { ...api.ws, spot: `${ws}/ws`, "ws-api": { ...api.ws["ws-api"], spot: `${ws}/ws-api/v3` } },
  };
  return ex;
}

function order(u: TestUser, side: string, price: string, qty: string) {
  return u.client.post<Any>("/api/v1/create_order", {
    symbol: "BTC_USDT",
    side,
    type: "LIMIT",
    price,
    qty,
  }).then((r) => {
    assert.equal(r.code, 0, r.msg);
    return r.data;
  });
}

/** `p`, or a rejection naming `what` after `ms`. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing in ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * What `probe` returns once it is not undefined (checked every 20 ms). ccxt resolves a
 * watch only for updates arriving while it waits, and keeps every update in its caches
 * (`orderbooks`, `trades`, `orders`): tests read those for updates that came between calls.
 */
async function eventually<T>(probe: () => T | undefined, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const levels = (side: [string, string][]) => side.map(([p, q]) => [Number(p), Number(q)]);

Deno.test("ccxt pro watchOrderBook converges to the engine's book while orders arrive", async () => {
  const seed = Number(Deno.env.get("CCXT_WS_TEST_SEED") ?? 5);
  console.log(`seed ${seed} (CCXT_WS_TEST_SEED to replay)`);
  await withTestService(async (t) => {
    const users = await Promise.all([0, 1].map(() => t.user({ BTC: "100", USDT: "10000000" })));
    await order(users[0], "SELL", "50100", "0.5");
    await order(users[1], "BUY", "49900", "0.5");
    const ex = proAt(t);
    try {
      const first = await within(ex.watchOrderBook("BTC/USDT"), 5_000, "first book");
      assert.deepEqual([...first.asks], [[50100, 0.5]]);
      assert.deepEqual([...first.bids], [[49900, 0.5]]);

      // Orders arrive in rounds; each round changes the book, and ccxt's watch sees it.
      const prng = new Prng(seed);
      const random = () => prng.next();
      // ccxt hands back the same book object, updated in place.
      let nonce = first.nonce as number;
      for (let round = 0; round < 10; round++) {
        const update = ex.watchOrderBook("BTC/USDT");
        const batch = [];
        for (let i = 0; i < 15; i++) {
          const side = random() < 0.5 ? "BUY" : "SELL";
          const price = (50_000 + Math.floor((random() - 0.5) * 30) * 10).toFixed(2);
          const qty = (Math.floor(random() * 40 + 1) / 1000).toFixed(3);
          batch.push(order(users[i % 2], side, price, qty));
        }
        await Promise.all(batch);
        const seen = await within(update, 5_000, `round ${round}'s update`) as Any;
        assert.ok(seen.nonce > nonce, `round ${round}: nonce ${seen.nonce} after ${nonce}`);
        nonce = seen.nonce;
      }
      await t.service.exchange.whenIdle();
      const engine = await (await fetch(`${t.baseUrl}/api/v3/depth?symbol=BTCUSDT&limit=1000`))
        .json();
      const book = await eventually(
        () => {
          const b = (ex.orderbooks as Any)["BTC/USDT"];
          return b.nonce >= engine.lastUpdateId ? b : undefined;
        },
        5_000,
        "the last update",
      );
      assert.equal(book.nonce, engine.lastUpdateId);
      assert.deepEqual([...book.bids], levels(engine.bids));
      assert.deepEqual([...book.asks], levels(engine.asks));
      assert.ok(engine.bids.length + engine.asks.length > 4, "the burst left a real book");
    } finally {
      await ex.close();
    }
  });
});

Deno.test("ccxt pro watchTrades receives the trades made through the native API", async () => {
  await withTestService(async (t) => {
    const alice = await t.user({ BTC: "10" });
    const bob = await t.user({ USDT: "1000000" });
    const ex = proAt(t);
    try {
      await ex.loadMarkets();
      // The subscription is live once a trade comes through: trade until one does.
      const watching = ex.watchTrades("BTC/USDT");
      let seen: Any[] | undefined;
      watching.then((trades: Any[]) => (seen = trades));
      for (let i = 0; i < 50 && seen === undefined; i++) {
        await order(alice, "SELL", "30000", "0.001");
        await order(bob, "BUY", "30000", "0.001");
        await new Promise((r) => setTimeout(r, 50));
      }
      await within(watching, 5_000, "first trade");

      // Three trades: two fills of one taker BUY, then a taker SELL.
      await order(alice, "SELL", "30100", "0.01");
      await order(alice, "SELL", "30200", "0.02");
      await order(bob, "BUY", "30200", "0.03");
      await order(bob, "BUY", "29000", "0.005");
      await order(alice, "SELL", "29000", "0.005");
      const stored: Any[] = await (await fetch(
        `${t.baseUrl}/api/v3/trades?symbol=BTCUSDT&limit=3`,
      )).json();
      const got = await eventually(
        () => {
          const cached: Any[] = [...((ex.trades as Any)["BTC/USDT"] ?? [])];
          const found = stored.map((s) => cached.find((tr) => tr.id === String(s.id)));
          return found.every((tr) => tr !== undefined) ? found : undefined;
        },
        5_000,
        "the three trades",
      );
      const view = (tr: Any) => [tr.symbol, tr.price, tr.amount, tr.cost, tr.side, tr.timestamp];
      assert.deepEqual(
        got.map(view),
        [
          ["BTC/USDT", 30100, 0.01, 301, "buy", stored[0].time],
          ["BTC/USDT", 30200, 0.02, 604, "buy", stored[1].time],
          ["BTC/USDT", 29000, 0.005, 145, "sell", stored[2].time],
        ],
      );
    } finally {
      await ex.close();
    }
  });
});

Deno.test("ccxt pro watchOrders follows the user's orders through the WebSocket API", async () => {
  await withTestService(async (t) => {
    const alice = await t.user({ BTC: "10" });
    const bob = await t.user({ USDT: "1000000" });
    const ex = proAt(t, alice);
    try {
      await ex.loadMarkets();
      // The first call subscribes (userDataStream.subscribe.signature), then waits for an
      // order: place some until one comes through.
      const first = ex.watchOrders("BTC/USDT");
      let ready = false;
      first.then(() => (ready = true));
      for (let i = 0; i < 50 && !ready; i++) {
        await order(alice, "SELL", String(60_000 + i), "0.001");
        await new Promise((r) => setTimeout(r, 50));
      }
      await within(first, 5_000, "first order");
      const placed = await order(alice, "SELL", "40000", "0.5");
      const find = (done: (o: Any) => boolean) =>
        eventually(
          () => {
            const o = [...(ex.orders as Any ?? [])].find((x: Any) =>
              x.id === String(placed.order_id)
            );
            return o !== undefined && done(o) ? o : undefined;
          },
          5_000,
          "order update",
        );
      const fresh = await find((o) => o.status === "open");
      assert.deepEqual(
        [fresh.side, fresh.type, fresh.price, fresh.amount, fresh.filled, fresh.remaining],
        ["sell", "limit", 40000, 0.5, 0, 0.5],
      );
      await order(bob, "BUY", "40000", "0.2");
      const o = await find((o) => o.filled === 0.2);
      assert.deepEqual(
        [o.symbol, o.side, o.type, o.price, o.amount, o.filled, o.remaining, o.status, o.cost],
        ["BTC/USDT", "sell", "limit", 40000, 0.5, 0.2, 0.3, "open", 8000],
      );
    } finally {
      await ex.close();
    }
  });
});
