/**
 * ccxt's unchanged `binance` class reads the exchange's Binance-compatible market data:
 * markets with their precision and limits, order book, candles, trades (its default
 * aggTrades and the plain trades list), tickers, book tickers and server time; Binance
 * error codes map to ccxt's exception classes.
 */

import assert from "node:assert/strict";
import ccxt from "ccxt";
import { type TestService, tradeScenario as trade, withTestService } from "./api_fixtures.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

function binanceAt(t: TestService) {
  const ex = new ccxt.binance({
    options: { fetchMarkets: ["spot"], fetchCurrencies: false, fetchMargins: false },
  });
  ex.urls["api"] = {
    ...(ex.urls["api"] as Record<string, string>),
    public: `${t.baseUrl}/api/v3`,
    private: `${t.baseUrl}/api/v3`,
  };
  return ex;
}

Deno.test("ccxt binance loads our markets with their precision and limits", async () => {
  await withTestService(async (t) => {
    const ex = binanceAt(t);
    try {
      const markets = await ex.loadMarkets();
      assert.deepEqual(Object.keys(markets).sort(), ["BTC/USDT", "ETH/USDT"]);
      const btc: Any = markets["BTC/USDT"];
      assert.equal(btc.id, "BTCUSDT");
      assert.equal(btc.base, "BTC");
      assert.equal(btc.quote, "USDT");
      assert.equal(btc.type, "spot");
      assert.equal(btc.spot, true);
      assert.equal(btc.active, true);
      assert.deepEqual(btc.precision, { amount: 0.00001, price: 0.01, base: 1e-8, quote: 1e-6 });
      assert.deepEqual(btc.limits.amount, { min: 0.00001, max: 1000 });
      assert.deepEqual(btc.limits.price, { min: 0.01, max: 10_000_000 });
      assert.deepEqual(btc.limits.cost, { min: 5, max: 9007199254.740991 });
      assert.equal((markets["ETH/USDT"] as Any).precision.amount, 0.0001);
      // Amounts and prices round to the market's steps as on Binance.
      assert.equal(ex.amountToPrecision("BTC/USDT", 0.123456789), "0.12345");
      assert.equal(ex.priceToPrecision("BTC/USDT", 10000.129), "10000.13");
      const time = await ex.fetchTime();
      assert.ok(typeof time === "number" && Math.abs(time - Date.now()) < 5_000);
    } finally {
      await ex.close();
    }
  });
});

Deno.test("ccxt binance reads order book, candles, trades and tickers", async () => {
  await withTestService(async (t) => {
    await trade(t);
    const ex = binanceAt(t);
    try {
      await ex.loadMarkets();

      const book = await ex.fetchOrderBook("BTC/USDT");
      const native = await t.admin.get<Any>("/api/v1/depth?symbol=BTC_USDT");
      assert.deepEqual(book.bids, [[9000, 0.016]]);
      assert.deepEqual(book.asks, [[10100, 0.015]]);
      assert.equal(book.nonce, native.data.update_id);
      assert.deepEqual((await ex.fetchOrderBook("BTC/USDT", 1)).asks, [[10100, 0.015]]);

      // Candles: the same as the raw klines, and the day's volume is every trade's.
      const raw = await (await fetch(`${t.baseUrl}/api/v3/klines?symbol=BTCUSDT&interval=1m`))
        .json();
      const ohlcv = await ex.fetchOHLCV("BTC/USDT", "1m");
      assert.deepEqual(ohlcv, raw.map((k: Any) => [k[0], +k[1], +k[2], +k[3], +k[4], +k[5]]));
      const days = await ex.fetchOHLCV("BTC/USDT", "1d");
      const volume = days.reduce((s: number, k: Any) => s + k[5], 0);
      assert.equal(volume.toFixed(8), "0.03900000");
      assert.equal(Math.max(...days.map((k: Any) => k[2])), 10100);
      assert.equal(Math.min(...days.map((k: Any) => k[3])), 9000);
      assert.equal(days.at(-1)![4], 9000);

      // fetchTrades uses aggTrades by default: t1 and t2 are one aggregate.
      const aggs = await ex.fetchTrades("BTC/USDT");
      assert.deepEqual(aggs.map((x: Any) => [x.price, x.amount, x.side, x.cost]), [
        [10000, 0.03, "buy", 300],
        [10100, 0.005, "buy", 50.5],
        [9000, 0.004, "sell", 36],
      ]);
      const sinceMs = aggs[2].timestamp!;
      const since = await ex.fetchTrades("BTC/USDT", sinceMs);
      assert.deepEqual(
        since.map((x: Any) => x.id),
        aggs.filter((x: Any) => x.timestamp >= sinceMs).map((x: Any) => x.id),
      );
      const plain = await ex.fetchTrades("BTC/USDT", undefined, 2, {
        fetchTradesMethod: "publicGetTrades",
      });
      assert.deepEqual(plain.map((x: Any) => [x.price, x.amount, x.side]), [
        [10100, 0.005, "buy"],
        [9000, 0.004, "sell"],
      ]);

      const ticker = await ex.fetchTicker("BTC/USDT");
      assert.equal(ticker.symbol, "BTC/USDT");
      assert.deepEqual(
        [ticker.last, ticker.open, ticker.high, ticker.low, ticker.bid, ticker.ask],
        [9000, 10000, 10100, 9000, 9000, 10100],
      );
      assert.deepEqual([ticker.bidVolume, ticker.askVolume], [0.016, 0.015]);
      assert.deepEqual([ticker.baseVolume, ticker.quoteVolume], [0.039, 386.5]);
      assert.deepEqual([ticker.change, ticker.percentage, ticker.vwap], [-1000, -10, 9910.26]);
      const tickers = await ex.fetchTickers(["BTC/USDT", "ETH/USDT"]);
      assert.deepEqual(Object.keys(tickers).sort(), ["BTC/USDT", "ETH/USDT"]);
      assert.equal(tickers["BTC/USDT"].last, 9000);
      assert.equal(tickers["ETH/USDT"].baseVolume, 0);
      const bidsAsks = await ex.fetchBidsAsks(["BTC/USDT"]);
      assert.deepEqual([bidsAsks["BTC/USDT"].bid, bidsAsks["BTC/USDT"].ask], [9000, 10100]);
      const prices = await ex.fetchLastPrices();
      assert.equal(prices["BTC/USDT"].price, 9000);
    } finally {
      await ex.close();
    }
  });
});

Deno.test("ccxt binance maps our Binance errors to its exceptions", async () => {
  await withTestService(async (t) => {
    const ex = binanceAt(t);
    try {
      await ex.loadMarkets();
      // Unknown to ccxt's own market list: refused before any request.
      await assert.rejects(() => ex.fetchTicker("NOPE/USDT"), ccxt.BadSymbol);
      // Unknown to the server: -1121 becomes BadSymbol.
      await assert.rejects(
        () => (ex as Any).publicGetTicker24hr({ symbol: "NOPEUSDT" }),
        (e: Any) => e instanceof ccxt.BadSymbol && e.message.includes('"code":-1121'),
      );
      await assert.rejects(
        () => (ex as Any).publicGetDepth({ symbol: "NOPEUSDT" }),
        ccxt.BadSymbol,
      );
      // -1120 (bad interval) and -1130 (limit out of range) become BadRequest.
      await assert.rejects(
        () => (ex as Any).publicGetKlines({ symbol: "BTCUSDT", interval: "7m" }),
        (e: Any) => e instanceof ccxt.BadRequest && e.message.includes('"code":-1120'),
      );
      await assert.rejects(
        () => ex.fetchOrderBook("BTC/USDT", 6000),
        (e: Any) => e instanceof ccxt.BadRequest && e.message.includes('"code":-1130'),
      );
    } finally {
      await ex.close();
    }
  });
});
