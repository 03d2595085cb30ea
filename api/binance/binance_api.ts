/**
 * The Binance-compatible API beside the native one, on the same engine, users and API
 * keys: REST under `/api/v3` (market data, then signed trading and account endpoints)
 * and WebSocket streams at `/ws/<stream>`, `/stream?streams=a/b` and `/ws-api/v3`.
 * Each part answers errors in Binance's `{"code": -NNNN, "msg": "..."}` form.
 */

import type { Hono } from "hono";
import type { ApiDeps, ApiEnv } from "../api_context.ts";
import type { WsLimits } from "../ws_connection.ts";
import { binanceContext } from "./binance_context.ts";
import { binanceMarketRoutes } from "./binance_market_routes.ts";
import { binanceTradingRoutes } from "./binance_trading_routes.ts";
import { binanceStreamRoutes } from "./binance_streams.ts";

/** Mounts the Binance-compatible routes on `app`. */
export function addBinanceApi(
  // deno-lint-ignore no-explicit-any
  app: Hono<ApiEnv, any, any>,
  deps: ApiDeps,
  wsLimits: WsLimits,
): void {
  const ctx = binanceContext(deps);
  app.route("/api/v3", binanceMarketRoutes(ctx));
  app.route("/api/v3", binanceTradingRoutes(ctx));
  app.route("/", binanceStreamRoutes(ctx, wsLimits));
}
