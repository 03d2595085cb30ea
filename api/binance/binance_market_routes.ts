/**
 * Binance's public market-data REST endpoints under `/api/v3`, no auth: ping, time,
 * exchangeInfo, depth, klines, trades, aggTrades, ticker/24hr, ticker/price and
 * ticker/bookTicker, in Binance's shapes so that ccxt's `binance` class and Binance bots
 * read them unchanged. Errors are answered as Binance's `{"code", "msg"}` by this app's own
 * error handler (Hono applies a sub-app's onError to its routes when it is mounted).
 */

import { type Context, Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { MAX_DEPTH_LEVELS } from "../../domain/limits.ts";
import { STORE_BARRIER_MAX_WAIT_MS } from "../api_context.ts";
import type { BinanceContext } from "./binance_context.ts";
import { BinanceError, BinanceErrors } from "./binance_errors.ts";
import {
  MAX_KLINES,
  MAX_TRADES,
  readAggTrades,
  readKlines,
  readRecentTrades,
} from "./binance_market_history.ts";
import {
  intervalParam,
  intParam,
  symbolParam,
  symbolsChoice,
  tickerTypeParam,
  timeRange,
} from "./binance_market_params.ts";
import { lastTrade, ticker24h } from "./binance_market_ticker.ts";
import {
  aggTradeView,
  bookTickerView,
  depthView,
  klineView,
  rateLimitsView,
  symbolInfoView,
  tradeView,
} from "./binance_market_views.ts";
import { binanceSymbol } from "./binance_markets.ts";

/** Depth levels per side when `limit` is not sent (Binance's default). */
export const DEFAULT_DEPTH_LIMIT = 100;
/** Klines when `limit` is not sent (Binance's default). */
export const DEFAULT_KLINES_LIMIT = 500;
/** Trades and aggregate trades when `limit` is not sent (Binance's default). */
export const DEFAULT_TRADES_LIMIT = 500;

/** The market-data routes, relative to `/api/v3`. */
export function binanceMarketRoutes(ctx: BinanceContext): Hono {
  const app = new Hono();
  const { deps, markets } = ctx;
  const ix = deps.markets;
  const exchange = deps.exchange;
  const emptyBook = { updateId: 0, bids: [], asks: [] };

  // Set before any route: Hono reads a sub-app's error handler when it is mounted.
  app.onError((err, c) => errorAnswer(ctx, err, c));

  app.get("/ping", (c) => c.json({}));

  app.get("/time", (c) => c.json({ serverTime: deps.now() }));

  app.get("/exchangeInfo", (c) => {
    const choice = symbolsChoice(c, markets);
    return c.json({
      timezone: "UTC",
      serverTime: deps.now(),
      rateLimits: rateLimitsView(deps.auth),
      exchangeFilters: [],
      symbols: choice.markets.map((m) => symbolInfoView(ix, m)),
    });
  });

  app.get("/depth", (c) => {
    const m = symbolParam(c, markets);
    const limit = intParam(c, "limit", 1, MAX_DEPTH_LEVELS, DEFAULT_DEPTH_LIMIT);
    return c.json(depthView(ix, m, exchange.depth(m.spec.id, limit) ?? emptyBook));
  });

  app.get("/klines", async (c) => {
    const m = symbolParam(c, markets);
    const interval = intervalParam(c);
    const range = timeRange(c);
    const limit = intParam(c, "limit", 1, MAX_KLINES, DEFAULT_KLINES_LIMIT);
    const rows = await readKlines(exchange, m.spec.id, interval, {
      ...range,
      limit,
      nowMs: deps.now(),
    });
    return c.json(rows.map((k) => klineView(ix, m, k)));
  });

  app.get("/trades", async (c) => {
    const m = symbolParam(c, markets);
    const limit = intParam(c, "limit", 1, MAX_TRADES, DEFAULT_TRADES_LIMIT);
    const rows = await readRecentTrades(exchange, m.spec.id, limit);
    return c.json(rows.map((t) => tradeView(ix, m, t)));
  });

  app.get("/aggTrades", async (c) => {
    const m = symbolParam(c, markets);
    const fromId = intParam(c, "fromId", 0, Number.MAX_SAFE_INTEGER);
    const range = timeRange(c);
    if (fromId !== undefined && (range.startMs !== undefined || range.endMs !== undefined)) {
      throw BinanceErrors.optionalParamsBadCombo();
    }
    const limit = intParam(c, "limit", 1, MAX_TRADES, DEFAULT_TRADES_LIMIT);
    const aggs = await readAggTrades(exchange, m.spec.id, { fromId, ...range, limit });
    return c.json(aggs.map((a) => aggTradeView(ix, m, a)));
  });

  app.get("/ticker/24hr", async (c) => {
    const choice = symbolsChoice(c, markets);
    const type = tickerTypeParam(c);
    await exchange.whenStoredNow(STORE_BARRIER_MAX_WAIT_MS);
    const now = deps.now();
    const out = [];
    for (const m of choice.markets) out.push(await ticker24h(exchange, ix, m, now, type));
    return c.json(choice.single ? out[0] : out);
  });

  app.get("/ticker/price", async (c) => {
    const choice = symbolsChoice(c, markets);
    await exchange.whenStoredNow(STORE_BARRIER_MAX_WAIT_MS);
    const out = [];
    for (const m of choice.markets) {
      const t = await lastTrade(exchange, m.spec.id);
      out.push({ symbol: binanceSymbol(m), price: ix.price(m, t?.priceTicks ?? 0) });
    }
    return c.json(choice.single ? out[0] : out);
  });

  app.get("/ticker/bookTicker", (c) => {
    const choice = symbolsChoice(c, markets);
    const out = choice.markets.map((m) =>
      bookTickerView(ix, m, exchange.depth(m.spec.id, 1) ?? emptyBook)
    );
    return c.json(choice.single ? out[0] : out);
  });

  return app;
}

/**
 * Binance's error answer: a BinanceError as its status and `{code, msg}`; anything else is
 * a bug, logged and answered -1000 with status 500.
 */
function errorAnswer(ctx: BinanceContext, err: unknown, c: Context): Response {
  if (err instanceof BinanceError) {
    return c.json(err.body(), err.status as ContentfulStatusCode);
  }
  ctx.deps.logger.error(
    `Binance API ${c.req.method} ${c.req.path} failed: ${err instanceof Error ? err.stack : err}`,
  );
  return c.json(BinanceErrors.unknown().body(), 500);
}
