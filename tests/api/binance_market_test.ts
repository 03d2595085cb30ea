/**
 * Binance-compatible market data (`/api/v3`): every endpoint over real HTTP after two
 * users trade through the native API, with exact prices and quantities; klines checked
 * against candles computed here from the trades; every error with Binance's code, message
 * and HTTP status; and the pure parts (windows, aggregation, ticker arithmetic) directly.
 */

import assert from "node:assert/strict";
import { Hono } from "hono";
import type { Exchange } from "../../actors/exchange.ts";
import { formatUnits, parseUnits } from "../../domain/decimal.ts";
import {
  intervalNextOpenMs,
  intervalOpenMs,
  intervalsBeforeMs,
  KLINE_INTERVALS,
  type KlineInterval,
} from "../../domain/kline_intervals.ts";
import { buildMarkets, symbolSpec } from "../../domain/market_config.ts";
import type { TradeRow } from "../../persistence/storage_port.ts";
import type { ApiDeps } from "../../api/api_context.ts";
import { DEFAULT_AUTH } from "../../api/service_config.ts";
import { MarketIndex } from "../../api/market_index.ts";
import type { BinanceContext } from "../../api/binance/binance_context.ts";
import { BinanceMarkets } from "../../api/binance/binance_markets.ts";
import { binanceMarketRoutes } from "../../api/binance/binance_market_routes.ts";
import {
  AGG_TRADES_HORIZON,
  aggregateTrades,
  readAggTrades,
} from "../../api/binance/binance_market_history.ts";
import { percentChange, weightedAvgTicks } from "../../api/binance/binance_market_ticker.ts";
import { type TestService, tradeScenario as trade, withTestService } from "./api_fixtures.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

async function get(t: TestService, path: string): Promise<{ status: number; body: Any }> {
  const res = await fetch(`${t.baseUrl}/api/v3${path}`);
  return { status: res.status, body: await res.json() };
}

/** Asserts a Binance error answer: HTTP status and the exact body. */
async function assertError(
  t: TestService,
  path: string,
  status: number,
  code: number,
  msg: string,
): Promise<void> {
  const r = await get(t, path);
  assert.deepEqual({ status: r.status, body: r.body }, { status, body: { code, msg } }, path);
}

/** Candles of `interval` computed from Binance-shaped trades (oldest first). */
function expectedKlines(trades: Any[], interval: KlineInterval): Any[][] {
  const units = (s: string, d: number) => {
    const r = parseUnits(s, d, { field: "amount" });
    if (!r.ok) throw new Error(r.message);
    return r.units;
  };
  const out: Any[] = [];
  let c: Any;
  for (const tr of trades) {
    const openMs = intervalOpenMs(interval, tr.time);
    const price = units(tr.price, 2);
    if (c === undefined || c.openMs !== openMs) {
      c = { openMs, o: price, h: price, l: price, c: price, v: 0, q: 0, n: 0, bv: 0, bq: 0 };
      out.push(c);
    }
    c.h = Math.max(c.h, price);
    c.l = Math.min(c.l, price);
    c.c = price;
    c.v += units(tr.qty, 8);
    c.q += units(tr.quoteQty, 6);
    c.n += 1;
    if (!tr.isBuyerMaker) {
      c.bv += units(tr.qty, 8);
      c.bq += units(tr.quoteQty, 6);
    }
  }
  return out.map((k) => [
    k.openMs,
    formatUnits(k.o, 2),
    formatUnits(k.h, 2),
    formatUnits(k.l, 2),
    formatUnits(k.c, 2),
    formatUnits(k.v, 8),
    intervalNextOpenMs(interval, k.openMs) - 1,
    formatUnits(k.q, 6),
    k.n,
    formatUnits(k.bv, 8),
    formatUnits(k.bq, 6),
    "0",
  ]);
}

Deno.test("ping and time answer Binance's shapes", async () => {
  await withTestService(async (t) => {
    assert.deepEqual(await get(t, "/ping"), { status: 200, body: {} });
    const before = Date.now();
    const time = await get(t, "/time");
    assert.equal(time.status, 200);
    assert.deepEqual(Object.keys(time.body), ["serverTime"]);
    assert.ok(time.body.serverTime >= before - 1_000 && time.body.serverTime <= Date.now());
  });
});

Deno.test("exchangeInfo lists every market with exact filters and precisions", async () => {
  await withTestService(async (t) => {
    const all = await get(t, "/exchangeInfo");
    assert.equal(all.status, 200);
    assert.equal(all.body.timezone, "UTC");
    assert.equal(typeof all.body.serverTime, "number");
    assert.deepEqual(all.body.rateLimits, [{
      rateLimitType: "REQUEST_WEIGHT",
      interval: "SECOND",
      intervalNum: 1,
      limit: DEFAULT_AUTH.ratePerSecond,
    }]);
    assert.deepEqual(all.body.exchangeFilters, []);
    assert.deepEqual(all.body.symbols.map((s: Any) => s.symbol), ["BTCUSDT", "ETHUSDT"]);
    assert.deepEqual(all.body.symbols[0], {
      symbol: "BTCUSDT",
      status: "TRADING",
      baseAsset: "BTC",
      baseAssetPrecision: 8,
      quoteAsset: "USDT",
      quotePrecision: 6,
      quoteAssetPrecision: 6,
      baseCommissionPrecision: 8,
      quoteCommissionPrecision: 6,
      orderTypes: ["LIMIT", "LIMIT_MAKER", "MARKET"],
      icebergAllowed: false,
      ocoAllowed: false,
      otoAllowed: false,
      quoteOrderQtyMarketAllowed: true,
      allowTrailingStop: false,
      cancelReplaceAllowed: false,
      amendAllowed: false,
      isSpotTradingAllowed: true,
      isMarginTradingAllowed: false,
      filters: [
        {
          filterType: "PRICE_FILTER",
          minPrice: "0.01",
          maxPrice: "10000000.00",
          tickSize: "0.01",
        },
        {
          filterType: "LOT_SIZE",
          minQty: "0.00001000",
          maxQty: "1000.00000000",
          stepSize: "0.00001000",
        },
        {
          filterType: "NOTIONAL",
          minNotional: "5.000000",
          applyMinToMarket: true,
          maxNotional: "9007199254.740991",
          applyMaxToMarket: false,
          avgPriceMins: 0,
        },
      ],
      permissions: [],
      permissionSets: [["SPOT"]],
      defaultSelfTradePreventionMode: "NONE",
      allowedSelfTradePreventionModes: ["NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    });
    assert.equal(all.body.symbols[1].filters[1].stepSize, "0.00010000");

    const one = await get(t, "/exchangeInfo?symbol=ETHUSDT");
    assert.deepEqual(one.body.symbols.map((s: Any) => s.symbol), ["ETHUSDT"]);
    const list = await get(
      t,
      `/exchangeInfo?symbols=${encodeURIComponent('["ETHUSDT","BTCUSDT"]')}`,
    );
    assert.deepEqual(list.body.symbols.map((s: Any) => s.symbol), ["ETHUSDT", "BTCUSDT"]);
  });
});

Deno.test("exchangeInfo reflects a fractional request rate per minute", async () => {
  await withTestService(async (t) => {
    const info = await get(t, "/exchangeInfo?symbol=BTCUSDT");
    assert.deepEqual(info.body.rateLimits, [{
      rateLimitType: "REQUEST_WEIGHT",
      interval: "MINUTE",
      intervalNum: 1,
      limit: 30,
    }]);
  }, { auth: { ratePerSecond: 0.5 } });
});

Deno.test("market data after trading: depth, trades, aggTrades, tickers and klines", async () => {
  await withTestService(async (t) => {
    await trade(t);

    // Depth: levels as decimal strings, and the same update id as the native depth.
    const depth = await get(t, "/depth?symbol=BTCUSDT");
    assert.equal(depth.status, 200);
    const native = await t.admin.get<Any>("/api/v1/depth?symbol=BTC_USDT");
    assert.equal(native.code, 0, native.msg);
    assert.deepEqual(depth.body, {
      lastUpdateId: native.data.update_id,
      bids: [["9000.00", "0.01600000"]],
      asks: [["10100.00", "0.01500000"]],
    });
    assert.ok(depth.body.lastUpdateId > 0);
    const ethDepth = await get(t, "/depth?symbol=ETHUSDT&limit=5000");
    assert.deepEqual(ethDepth.body, { lastUpdateId: 0, bids: [], asks: [] });

    // Trades: oldest first, the buyer is the maker only in the last one.
    const trades = await get(t, "/trades?symbol=BTCUSDT");
    assert.equal(trades.status, 200);
    const tr = trades.body;
    assert.deepEqual(
      tr.map((x: Any) => [x.price, x.qty, x.quoteQty, x.isBuyerMaker, x.isBestMatch]),
      [
        ["10000.00", "0.01000000", "100.000000", false, true],
        ["10000.00", "0.02000000", "200.000000", false, true],
        ["10100.00", "0.00500000", "50.500000", false, true],
        ["9000.00", "0.00400000", "36.000000", true, true],
      ],
    );
    assert.deepEqual(Object.keys(tr[0]), [
      "id",
      "price",
      "qty",
      "quoteQty",
      "time",
      "isBuyerMaker",
      "isBestMatch",
    ]);
    for (let i = 1; i < tr.length; i++) {
      assert.ok(tr[i].id > tr[i - 1].id && tr[i].time >= tr[i - 1].time);
    }
    const lastTwo = await get(t, "/trades?symbol=BTCUSDT&limit=2");
    assert.deepEqual(lastTwo.body, tr.slice(2));
    assert.deepEqual((await get(t, "/trades?symbol=ETHUSDT")).body, []);

    // Aggregate trades: t1 and t2 share taker order, price and time.
    const aggs = await get(t, "/aggTrades?symbol=BTCUSDT");
    assert.equal(aggs.status, 200);
    assert.deepEqual(aggs.body, [
      {
        a: tr[0].id,
        p: "10000.00",
        q: "0.03000000",
        f: tr[0].id,
        l: tr[1].id,
        T: tr[0].time,
        m: false,
        M: true,
      },
      {
        a: tr[2].id,
        p: "10100.00",
        q: "0.00500000",
        f: tr[2].id,
        l: tr[2].id,
        T: tr[2].time,
        m: false,
        M: true,
      },
      {
        a: tr[3].id,
        p: "9000.00",
        q: "0.00400000",
        f: tr[3].id,
        l: tr[3].id,
        T: tr[3].time,
        m: true,
        M: true,
      },
    ]);
    assert.deepEqual(
      (await get(t, `/aggTrades?symbol=BTCUSDT&fromId=${tr[2].id}`)).body,
      aggs.body.slice(1),
    );
    assert.deepEqual((await get(t, "/aggTrades?symbol=BTCUSDT&limit=1")).body, aggs.body.slice(2));
    assert.deepEqual(
      (await get(t, `/aggTrades?symbol=BTCUSDT&startTime=${tr[3].time}`)).body,
      aggs.body.filter((a: Any) => a.T >= tr[3].time),
    );
    assert.deepEqual(
      (await get(t, `/aggTrades?symbol=BTCUSDT&startTime=0&endTime=${tr[0].time}&limit=1`)).body,
      aggs.body.slice(0, 1),
    );

    // 24 h ticker.
    const ticker = await get(t, "/ticker/24hr?symbol=BTCUSDT");
    assert.equal(ticker.status, 200);
    const tk = ticker.body;
    assert.ok(tk.closeTime - tk.openTime <= 24 * 3_600_000 && tk.openTime % 60_000 === 0);
    assert.ok(tk.openTime <= tr[0].time && tk.closeTime >= tr[3].time);
    assert.deepEqual(tk, {
      symbol: "BTCUSDT",
      priceChange: "-1000.00",
      priceChangePercent: "-10.000",
      weightedAvgPrice: "9910.26", // 386.5 / 0.039
      prevClosePrice: "0.00",
      lastPrice: "9000.00",
      lastQty: "0.00400000",
      bidPrice: "9000.00",
      bidQty: "0.01600000",
      askPrice: "10100.00",
      askQty: "0.01500000",
      openPrice: "10000.00",
      highPrice: "10100.00",
      lowPrice: "9000.00",
      volume: "0.03900000",
      quoteVolume: "386.500000",
      openTime: tk.openTime,
      closeTime: tk.closeTime,
      firstId: tr[0].id,
      lastId: tr[3].id,
      count: 4,
    });
    const mini = await get(t, "/ticker/24hr?symbol=BTCUSDT&type=MINI");
    assert.deepEqual(Object.keys(mini.body), [
      "symbol",
      "openPrice",
      "highPrice",
      "lowPrice",
      "lastPrice",
      "volume",
      "quoteVolume",
      "openTime",
      "closeTime",
      "firstId",
      "lastId",
      "count",
    ]);
    assert.equal(mini.body.lastPrice, "9000.00");
    const allTickers = await get(t, "/ticker/24hr");
    assert.equal(allTickers.body.length, 2);
    assert.equal(allTickers.body[0].lastPrice, "9000.00");
    assert.deepEqual(
      [allTickers.body[1].symbol, allTickers.body[1].lastPrice, allTickers.body[1].volume],
      ["ETHUSDT", "0.00", "0.00000000"],
    );
    assert.deepEqual([allTickers.body[1].firstId, allTickers.body[1].lastId], [-1, -1]);
    assert.equal(allTickers.body[1].count, 0);
    const listed = await get(t, `/ticker/24hr?symbols=${encodeURIComponent('["ETHUSDT"]')}`);
    assert.deepEqual(listed.body.map((x: Any) => x.symbol), ["ETHUSDT"]);

    // Last price and book ticker.
    assert.deepEqual((await get(t, "/ticker/price?symbol=BTCUSDT")).body, {
      symbol: "BTCUSDT",
      price: "9000.00",
    });
    assert.deepEqual((await get(t, "/ticker/price")).body, [
      { symbol: "BTCUSDT", price: "9000.00" },
      { symbol: "ETHUSDT", price: "0.00" },
    ]);
    assert.deepEqual((await get(t, "/ticker/bookTicker?symbol=BTCUSDT")).body, {
      symbol: "BTCUSDT",
      bidPrice: "9000.00",
      bidQty: "0.01600000",
      askPrice: "10100.00",
      askQty: "0.01500000",
    });
    assert.deepEqual(
      (await get(t, `/ticker/bookTicker?symbols=${encodeURIComponent('["ETHUSDT"]')}`)).body,
      [{
        symbol: "ETHUSDT",
        bidPrice: "0.00",
        bidQty: "0.00000000",
        askPrice: "0.00",
        askQty: "0.00000000",
      }],
    );

    // Klines of every interval equal the candles computed from the trades.
    for (const interval of KLINE_INTERVALS) {
      const k = await get(t, `/klines?symbol=BTCUSDT&interval=${interval}`);
      assert.equal(k.status, 200, interval);
      assert.deepEqual(k.body, expectedKlines(tr, interval), interval);
    }
    // Time filters and limits, on one-second candles.
    const secs = expectedKlines(tr, "1s");
    const first = secs[0][0];
    const last = secs.at(-1)![0];
    const q = (s: string) => get(t, `/klines?symbol=BTCUSDT&interval=1s${s}`);
    // Without a start: the last `limit` intervals up to the end (now when absent, and
    // "now" may already be a second with no trade, hence an end here).
    assert.deepEqual((await q(`&endTime=${last}&limit=1`)).body, secs.slice(-1));
    assert.deepEqual((await q(`&startTime=0&limit=1`)).body, secs.slice(0, 1));
    assert.deepEqual((await q(`&startTime=${first + 1}`)).body, secs.slice(1));
    assert.deepEqual((await q(`&endTime=${last - 1}`)).body, secs.slice(0, -1));
    assert.deepEqual((await q(`&startTime=${first}&endTime=${first}`)).body, secs.slice(0, 1));
    assert.deepEqual((await q(`&endTime=${first - 1}`)).body, []);
    assert.deepEqual((await q(`&startTime=${last + 1000}`)).body, []);
    assert.deepEqual((await get(t, "/klines?symbol=ETHUSDT&interval=1m")).body, []);
  });
});

Deno.test("every bad request gets Binance's error code, message and status", async () => {
  await withTestService(async (t) => {
    const mandatory = (p: string) =>
      `Mandatory parameter '${p}' was not sent, was empty/null, or malformed.`;
    const illegal = (p: string, range: string) =>
      `Illegal characters found in parameter '${p}'; legal range is '${range}'.`;
    const symbolRange = "^[A-Z0-9-_.]{1,20}$";
    const symbolsRange = '^\\[("[A-Z0-9-_.]{1,20}"(,"[A-Z0-9-_.]{1,20}"){0,}){0,1}\\]$';
    const digits = "^[0-9]{1,20}$";
    const invalid = (p: string, lo: number, hi: number, v: string) =>
      `Data sent for parameter '${p}' is not valid: ${p} must be an integer from ${lo} to ${hi}, received "${v}"`;
    const combo = "Combination of optional parameters invalid.";
    const list = (s: string) => encodeURIComponent(s);

    for (const path of ["/depth", "/trades", "/aggTrades", "/klines?interval=1m"]) {
      await assertError(t, path, 400, -1102, mandatory("symbol"));
    }
    await assertError(t, "/depth?symbol=", 400, -1102, mandatory("symbol"));
    await assertError(t, "/depth?symbol=NOPEUSDT", 400, -1121, "Invalid symbol.");
    await assertError(t, "/depth?symbol=btcusdt", 400, -1100, illegal("symbol", symbolRange));
    await assertError(
      t,
      "/depth?symbol=BTCUSDT&symbol=ETHUSDT",
      400,
      -1101,
      "Duplicate values for parameter 'symbol'.",
    );
    await assertError(t, "/depth?symbol=BTCUSDT&limit=abc", 400, -1100, illegal("limit", digits));
    await assertError(t, "/depth?symbol=BTCUSDT&limit=-5", 400, -1100, illegal("limit", digits));
    await assertError(t, "/depth?symbol=BTCUSDT&limit=1.5", 400, -1100, illegal("limit", digits));
    await assertError(
      t,
      "/depth?symbol=BTCUSDT&limit=",
      400,
      -1105,
      "Parameter 'limit' was empty.",
    );
    await assertError(
      t,
      "/depth?symbol=BTCUSDT&limit=0",
      400,
      -1130,
      invalid("limit", 1, 5000, "0"),
    );
    await assertError(
      t,
      "/depth?symbol=BTCUSDT&limit=5001",
      400,
      -1130,
      invalid("limit", 1, 5000, "5001"),
    );
    await assertError(
      t,
      "/depth?symbol=BTCUSDT&limit=123456789012345678901",
      400,
      -1100,
      illegal("limit", digits),
    );

    await assertError(t, "/klines?symbol=BTCUSDT", 400, -1102, mandatory("interval"));
    for (const bad of ["2m", "1H", "1y", "60"]) {
      await assertError(
        t,
        `/klines?symbol=BTCUSDT&interval=${bad}`,
        400,
        -1120,
        "Invalid interval.",
      );
    }
    await assertError(
      t,
      "/klines?symbol=BTCUSDT&interval=1m&startTime=-1",
      400,
      -1100,
      illegal("startTime", digits),
    );
    await assertError(
      t,
      "/klines?symbol=BTCUSDT&interval=1m&endTime=soon",
      400,
      -1100,
      illegal("endTime", digits),
    );
    await assertError(
      t,
      "/klines?symbol=BTCUSDT&interval=1m&startTime=99999999999999999",
      400,
      -1130,
      invalid("startTime", 0, 8_640_000_000_000_000, "99999999999999999"),
    );
    await assertError(
      t,
      "/klines?symbol=BTCUSDT&interval=1m&startTime=2&endTime=1",
      400,
      -1128,
      combo,
    );
    await assertError(
      t,
      "/klines?symbol=BTCUSDT&interval=1m&limit=1001",
      400,
      -1130,
      invalid("limit", 1, 1000, "1001"),
    );
    await assertError(
      t,
      "/trades?symbol=BTCUSDT&limit=1001",
      400,
      -1130,
      invalid("limit", 1, 1000, "1001"),
    );
    await assertError(
      t,
      "/trades?symbol=BTCUSDT&limit=0",
      400,
      -1130,
      invalid("limit", 1, 1000, "0"),
    );
    await assertError(t, "/aggTrades?symbol=BTCUSDT&fromId=1&startTime=1", 400, -1128, combo);
    await assertError(
      t,
      "/aggTrades?symbol=BTCUSDT&fromId=x",
      400,
      -1100,
      illegal("fromId", digits),
    );

    await assertError(
      t,
      "/exchangeInfo?symbol=BTCUSDT&symbols=%5B%22BTCUSDT%22%5D",
      400,
      -1128,
      combo,
    );
    await assertError(t, "/exchangeInfo?symbol=NOPE", 400, -1121, "Invalid symbol.");
    await assertError(
      t,
      `/exchangeInfo?symbols=${list('["BTCUSDT","NOPE"]')}`,
      400,
      -1121,
      "Invalid symbol.",
    );
    for (const bad of ["BTCUSDT", '["BTCUSDT", "ETHUSDT"]', '["btcusdt"]', "[BTCUSDT]"]) {
      await assertError(
        t,
        `/exchangeInfo?symbols=${list(bad)}`,
        400,
        -1100,
        illegal("symbols", symbolsRange),
      );
    }
    await assertError(t, `/exchangeInfo?symbols=${list("[]")}`, 400, -1102, mandatory("symbols"));
    await assertError(
      t,
      `/ticker/price?symbols=${list('["BTCUSDT","BTCUSDT"]')}`,
      400,
      -1101,
      "Duplicate values for parameter 'symbols'.",
    );
    await assertError(t, "/ticker/24hr?symbol=NOPE", 400, -1121, "Invalid symbol.");
    await assertError(t, "/ticker/24hr?type=FOO", 400, -1100, illegal("type", "FULL, MINI"));
    await assertError(t, "/ticker/bookTicker?symbol=ETHUSDT&symbols=x", 400, -1128, combo);
    await assertError(t, "/ticker/price?symbol=ETH", 400, -1121, "Invalid symbol.");

    // Refused requests changed nothing and logged nothing as a failure.
    assert.deepEqual(t.logs.filter((l) => l.startsWith("error")), []);
    assert.deepEqual((await get(t, "/depth?symbol=BTCUSDT")).body.lastUpdateId, 0);
  });
});

// ---------------------------------------------------------------- the sub-app's onError

/** A context over two real markets whose exchange fails every depth read. */
function failingContext(errors: string[]): BinanceContext {
  const { assetsById, marketsById } = buildMarkets(
    [
      { id: 0, name: "BTC", decimals: 8, displayDecimals: 8 },
      { id: 1, name: "USDT", decimals: 6, displayDecimals: 6 },
    ],
    [symbolSpec({ id: 0, name: "BTC_USDT", baseAssetId: 0, quoteAssetId: 1, priceDecimals: 2 })],
  );
  const ix = new MarketIndex(marketsById, assetsById);
  const exchange = {
    depth: () => {
      throw new Error("depth broke");
    },
  } as unknown as Exchange;
  const deps = {
    exchange,
    markets: ix,
    now: () => 1_700_000_000_000,
    auth: DEFAULT_AUTH,
    logger: { info: () => {}, warn: () => {}, error: (m: string) => errors.push(m) },
  } as unknown as ApiDeps;
  return { deps, markets: new BinanceMarkets(ix) } as unknown as BinanceContext;
}

Deno.test("the sub-app's onError answers when mounted with app.route under a parent with its own", async () => {
  const errors: string[] = [];
  const parent = new Hono();
  parent.onError((_err, c) => c.json({ parent: true }, 418));
  parent.route("/api/v3", binanceMarketRoutes(failingContext(errors)));

  const bad = await parent.request("/api/v3/depth?symbol=NOPE");
  assert.equal(bad.status, 400);
  assert.deepEqual(await bad.json(), { code: -1121, msg: "Invalid symbol." });

  const broken = await parent.request("/api/v3/depth?symbol=BTCUSDT");
  assert.equal(broken.status, 500);
  assert.deepEqual(await broken.json(), {
    code: -1000,
    msg: "An unknown error occurred while processing the request.",
  });
  assert.equal(errors.length, 1);
  assert.match(errors[0], /GET \/api\/v3\/depth failed: Error: depth broke/);

  const time = await parent.request("/api/v3/time");
  assert.deepEqual(await time.json(), { serverTime: 1_700_000_000_000 });
});

// ---------------------------------------------------------------- pure parts

Deno.test("intervalsBeforeMs steps back whole intervals, months by the calendar", () => {
  const mar1 = Date.UTC(2024, 2, 1);
  assert.equal(intervalsBeforeMs("1M", mar1, 2), Date.UTC(2024, 0, 1));
  assert.equal(intervalsBeforeMs("1M", mar1, 14), Date.UTC(2023, 0, 1));
  assert.equal(intervalsBeforeMs("1m", 600_000, 3), 420_000);
  assert.equal(intervalsBeforeMs("1w", Date.UTC(2024, 0, 8), 1), Date.UTC(2024, 0, 1));
  assert.equal(intervalsBeforeMs("1d", 86_400_000, 5), 0, "never before the epoch");
  assert.equal(intervalsBeforeMs("1h", 7_200_000, 0), 7_200_000);
});

function tradeRow(
  tradeId: number,
  takerOrderId: number,
  priceTicks: number,
  tsMs: number,
): TradeRow {
  return {
    tradeId,
    symbolId: 0,
    priceTicks,
    qtyUnits: 100,
    quoteUnits: 1,
    takerSide: "BUY",
    makerOrderId: 1,
    takerOrderId,
    makerUserId: 1,
    takerUserId: 2,
    buyerFeeUnits: 0,
    sellerFeeUnits: 0,
    tsMs,
  };
}

Deno.test("aggregateTrades merges consecutive fills of one taker order at one price and time", () => {
  const aggs = aggregateTrades([
    tradeRow(1, 7, 100, 5),
    tradeRow(2, 7, 100, 5),
    tradeRow(3, 7, 101, 5),
    tradeRow(4, 8, 101, 5),
    tradeRow(5, 8, 101, 6),
  ]);
  assert.deepEqual(
    aggs.map((a) => [a.firstId, a.lastId, a.priceTicks, a.qtyUnits, a.tsMs]),
    [[1, 2, 100, 200, 5], [3, 3, 101, 100, 5], [4, 4, 101, 100, 5], [5, 5, 101, 100, 6]],
  );
});

Deno.test("readAggTrades refuses bounds older than the trades it can read back", async () => {
  // Store: trades 1..1500, one per ms; the newest AGG_TRADES_HORIZON are read back.
  const total = 1_500;
  const ex = {
    whenStoredNow: () => Promise.resolve(true),
    store: {
      publicTrades: (_s: number, limit: number) => {
        const rows = [];
        for (let id = total; id > 0 && rows.length < limit; id--) {
          rows.push(tradeRow(id, id, 100, id));
        }
        return Promise.resolve(rows);
      },
    },
  } as unknown as Exchange;
  const oldestRead = total - AGG_TRADES_HORIZON + 1; // may have fills before it: left out
  const latest = await readAggTrades(ex, 0, { limit: 1000 });
  assert.equal(latest.length, AGG_TRADES_HORIZON - 1);
  assert.equal(latest[0].firstId, oldestRead + 1);
  assert.equal(latest.at(-1)!.firstId, total);
  const from = await readAggTrades(ex, 0, { fromId: oldestRead + 1, limit: 2 });
  assert.deepEqual(from.map((a) => a.firstId), [oldestRead + 1, oldestRead + 2]);
  await assert.rejects(
    () => readAggTrades(ex, 0, { fromId: oldestRead, limit: 2 }),
    (e: Any) =>
      e.code === -1130 &&
      e.message.includes(`fromId ${oldestRead} is older than the 1000 most recent trades`),
  );
  await assert.rejects(
    () => readAggTrades(ex, 0, { startMs: 10, limit: 2 }),
    (e: Any) => e.code === -1130 && /startTime 10 is older/.test(e.message),
  );
  await assert.rejects(
    () => readAggTrades(ex, 0, { endMs: oldestRead, limit: 2 }),
    (e: Any) => e.code === -1130 && /endTime/.test(e.message),
  );
  const window = await readAggTrades(ex, 0, { startMs: 1_400, endMs: 1_402, limit: 10 });
  assert.deepEqual(window.map((a) => a.tsMs), [1_400, 1_401, 1_402]);
});

Deno.test("ticker arithmetic: percent change and weighted average price round half away from zero", () => {
  assert.equal(percentChange(900_000, 1_000_000), "-10.000");
  assert.equal(percentChange(1_000_000, 1_000_000), "0.000");
  assert.equal(percentChange(5, 3), "66.667");
  assert.equal(percentChange(1, 3), "-66.667");
  assert.equal(percentChange(7, 0), "0.000");
  const { marketsById } = buildMarkets(
    [
      { id: 0, name: "BTC", decimals: 8, displayDecimals: 8 },
      { id: 1, name: "USDT", decimals: 6, displayDecimals: 6 },
    ],
    [symbolSpec({ id: 0, name: "BTC_USDT", baseAssetId: 0, quoteAssetId: 1, priceDecimals: 2 })],
  );
  const m = marketsById[0]!;
  // 386.5 USDT for 0.039 BTC = 9910.2564... → 9910.26
  assert.equal(weightedAvgTicks(m, 3_900_000, 386_500_000), 991_026);
  assert.equal(weightedAvgTicks(m, 0, 0), 0);
});
