/**
 * Public market data of the native API (`/api/v1`, no auth): depth, klines, public
 * trades, 24 h ticker, exchange info and server time.
 */

import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { MAX_DEPTH_LEVELS } from "../domain/limits.ts";
import { MAX_QUERY_ROWS } from "../persistence/storage_port.ts";
import type { ApiDeps, ApiEnv } from "./api_context.ts";
import { ok } from "./api_errors.ts";
import {
  DepthQuery,
  Envelope,
  KlinesQuery,
  PublicTradesQuery,
  SymbolQuery,
} from "./api_schemas.ts";
import { candleView } from "./market_views.ts";
import { publicTradeView } from "./order_views.ts";
import { intParam, timeParam } from "./query_params.ts";

const json = { "application/json": { schema: Envelope } };
const answers = {
  200: { content: json, description: "done" },
  400: { content: json, description: "invalid request" },
};

const depthRoute = createRoute({
  method: "get",
  path: "/depth",
  request: { query: DepthQuery },
  responses: answers,
  summary: "Aggregated order book, best levels first, with its update id",
});
const klinesRoute = createRoute({
  method: "get",
  path: "/klines",
  request: { query: KlinesQuery },
  responses: answers,
  summary: "Candles of one interval, oldest first (the last may be in progress)",
});
const publicTradesRoute = createRoute({
  method: "get",
  path: "/public_trades",
  request: { query: PublicTradesQuery },
  responses: answers,
  summary: "Recent trades of a symbol, newest first",
});
const tickerRoute = createRoute({
  method: "get",
  path: "/ticker",
  request: { query: SymbolQuery },
  responses: answers,
  summary: "24 h rolling statistics",
});
const exchangeInfoRoute = createRoute({
  method: "get",
  path: "/exchange_info",
  responses: answers,
  summary: "Assets and symbols with their filters and fees",
});
const timeRoute = createRoute({
  method: "get",
  path: "/time",
  responses: answers,
  summary: "Server time (ms)",
});

export function addMarketRoutes(app: OpenAPIHono<ApiEnv>, deps: ApiDeps): void {
  const ix = deps.markets;

  app.openapi(depthRoute, (c) => {
    const q = c.req.valid("query");
    const m = ix.symbol(q.symbol);
    const limit = intParam(q.limit, "limit", 1, MAX_DEPTH_LEVELS, 100);
    const d = deps.exchange.depth(m.spec.id, limit);
    const level = ([p, n]: [number, number]) => [ix.price(m, p), ix.qty(m, n)];
    return c.json(
      ok({
        symbol: m.spec.name,
        update_id: d?.updateId ?? 0,
        bids: (d?.bids ?? []).map(level),
        asks: (d?.asks ?? []).map(level),
      }),
      200,
    );
  });

  app.openapi(klinesRoute, async (c) => {
    const q = c.req.valid("query");
    const m = ix.symbol(q.symbol);
    const now = deps.now();
    const rows = await deps.exchange.candles(
      m.spec.id,
      q.interval,
      timeParam(q.start_time, "start_time"),
      timeParam(q.end_time, "end_time"),
      intParam(q.limit, "limit", 1, MAX_QUERY_ROWS, 500),
      now,
    );
    return c.json(
      ok({
        symbol: m.spec.name,
        interval: q.interval,
        klines: rows.map((k) => candleView(ix, m, k)),
      }),
      200,
    );
  });

  app.openapi(publicTradesRoute, async (c) => {
    const q = c.req.valid("query");
    const m = ix.symbol(q.symbol);
    const rows = await deps.exchange.store.publicTrades(
      m.spec.id,
      intParam(q.limit, "limit", 1, MAX_QUERY_ROWS, 100),
    );
    return c.json(ok({ trades: rows.map((t) => publicTradeView(ix, t)) }), 200);
  });

  app.openapi(tickerRoute, async (c) => {
    const m = ix.symbol(c.req.valid("query").symbol);
    const now = deps.now();
    const t = await deps.exchange.ticker(m.spec.id, now);
    const d = deps.exchange.depth(m.spec.id, 1);
    const best = (levels: [number, number][] | undefined) =>
      levels !== undefined && levels.length > 0 ? ix.price(m, levels[0][0]) : null;
    return c.json(
      ok({
        symbol: m.spec.name,
        open_time: t?.openMs ?? now,
        close_time: now,
        open: t === undefined ? null : ix.price(m, t.openTicks),
        high: t === undefined ? null : ix.price(m, t.highTicks),
        low: t === undefined ? null : ix.price(m, t.lowTicks),
        last: t === undefined ? null : ix.price(m, t.lastTicks),
        volume: ix.qty(m, t?.baseVolumeUnits ?? 0),
        quote_volume: ix.quote(m, t?.quoteVolumeUnits ?? 0),
        trades: t?.trades ?? 0,
        best_bid: best(d?.bids),
        best_ask: best(d?.asks),
      }),
      200,
    );
  });

  app.openapi(exchangeInfoRoute, (c) =>
    c.json(
      ok({
        assets: ix.assetList().map((a) => ({
          asset: a.name,
          decimals: a.decimals,
          display_decimals: a.displayDecimals,
        })),
        symbols: ix.list().map((m) => ({
          symbol: m.spec.name,
          base: m.base.name,
          quote: m.quote.name,
          price_decimals: m.spec.priceDecimals,
          price_display_decimals: m.spec.priceDisplayDecimals,
          qty_decimals: m.base.decimals,
          qty_step: ix.qty(m, m.spec.qtyStepUnits),
          min_qty: ix.qty(m, m.spec.minQtyUnits),
          max_qty: ix.qty(m, m.spec.maxQtyUnits),
          min_notional: ix.quote(m, m.spec.minNotionalUnits),
          max_price: ix.price(m, m.spec.maxPriceTicks),
          maker_fee_ppm: m.spec.makerFeePpm,
          taker_fee_ppm: m.spec.takerFeePpm,
          default_stp: m.spec.defaultStp,
        })),
      }),
      200,
    ));

  app.openapi(timeRoute, (c) => c.json(ok({ server_time: deps.now() }), 200));
}
