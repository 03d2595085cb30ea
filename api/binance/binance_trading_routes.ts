/**
 * Binance's signed spot endpoints under /api/v3: orders (new, query, cancel, open orders,
 * cancel all, history), the account and own trades (SIGNED: TRADE and USER_DATA), and the
 * listen keys of user data streams (USER_STREAM: API key only). Every error is answered
 * as Binance does, `{"code": -NNNN, "msg": "..."}` with its HTTP status; anything else
 * that fails is logged and answered -1000 (500).
 */

import { Hono } from "hono";
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { STORE_BARRIER_MAX_WAIT_MS } from "../api_context.ts";
import {
  type BinanceRequest,
  SIGNED_PARAMS,
  signedRequest,
  userStreamRequest,
} from "./binance_auth.ts";
import type { BinanceContext } from "./binance_context.ts";
import { BinanceError, BinanceErrors } from "./binance_errors.ts";
import { allOrders, myTrades } from "./binance_order_history.ts";
import { placeOrder } from "./binance_order_place.ts";
import { cancelOpenOrders, cancelOrder, openOrders, queryOrder } from "./binance_order_query.ts";
import { type BinanceBalance, commissionOf } from "./binance_views.ts";

type Handler = (ctx: BinanceContext, req: BinanceRequest) => Promise<unknown> | unknown;

/** The signed and user-stream routes, to mount at /api/v3. */
export function binanceTradingRoutes(ctx: BinanceContext): Hono {
  const app = new Hono();
  const signed = (handler: Handler) => async (c: Context) =>
    c.json(await handler(ctx, await signedRequest(ctx, c)) as object, 200);
  const stream = (handler: Handler) => async (c: Context) =>
    c.json(await handler(ctx, await userStreamRequest(ctx, c)) as object, 200);

  app.post("/order", signed(placeOrder));
  app.get("/order", signed(queryOrder));
  app.delete("/order", signed(cancelOrder));
  app.get("/openOrders", signed(openOrders));
  app.delete("/openOrders", signed(cancelOpenOrders));
  app.get("/allOrders", signed(allOrders));
  app.get("/myTrades", signed(myTrades));
  app.get("/account", signed(account));
  app.post("/userDataStream", stream(newListenKey));
  app.put("/userDataStream", stream(keepListenKey));
  app.delete("/userDataStream", stream(closeListenKey));

  // Read by app.route when this app is mounted: it wraps these routes in it.
  app.onError((err, c) => {
    if (err instanceof BinanceError) {
      return c.json(err.body(), err.status as ContentfulStatusCode);
    }
    ctx.deps.logger.error(
      `HTTP ${c.req.method} ${c.req.path} failed: ${err instanceof Error ? err.stack : err}`,
    );
    const e = BinanceErrors.unknown();
    return c.json(e.body(), 500);
  });
  return app;
}

/**
 * GET /api/v3/account: commissions, permissions and every asset's balance (free and
 * locked; only non-zero ones with omitZeroBalances=true). Fees are set per market here,
 * Binance's per account: the first market's are shown.
 */
async function account(ctx: BinanceContext, req: BinanceRequest) {
  const p = req.params;
  p.only([...SIGNED_PARAMS, "omitZeroBalances"]);
  const omitZero = p.bool("omitZeroBalances", false);
  const ix = ctx.deps.markets;
  const ex = ctx.deps.exchange;
  const held = new Map(ex.balances(req.userId).map((b) => [b.assetId, b]));
  const balances: BinanceBalance[] = [];
  for (const a of ix.assetList()) {
    const b = held.get(a.id);
    const free = b?.availableUnits ?? 0;
    const locked = b?.frozenUnits ?? 0;
    if (omitZero && free === 0 && locked === 0) continue;
    balances.push({ asset: a.name, free: ix.amount(a, free), locked: ix.amount(a, locked) });
  }
  await ex.whenStoredNow(STORE_BARRIER_MAX_WAIT_MS);
  let updateTime = 0;
  for (const b of await ex.store.balances(req.userId)) updateTime = Math.max(updateTime, b.tsMs);
  const first = ctx.markets.list()[0];
  const maker = commissionOf(first?.spec.makerFeePpm ?? 0);
  const taker = commissionOf(first?.spec.takerFeePpm ?? 0);
  const none = commissionOf(0);
  return {
    makerCommission: maker.bps,
    takerCommission: taker.bps,
    buyerCommission: 0,
    sellerCommission: 0,
    commissionRates: { maker: maker.rate, taker: taker.rate, buyer: none.rate, seller: none.rate },
    canTrade: true,
    canWithdraw: true,
    canDeposit: true,
    brokered: false,
    requireSelfTradePrevention: false,
    preventSor: false,
    updateTime,
    accountType: "SPOT",
    balances,
    permissions: ["SPOT"],
    uid: req.userId,
  };
}

/** POST /api/v3/userDataStream: a new listen key for the API key's user. */
function newListenKey(ctx: BinanceContext, req: BinanceRequest) {
  req.params.only([]);
  const listenKey = ctx.listenKeys.create(req.userId, req.apiKey);
  if (listenKey === undefined) throw BinanceErrors.serviceUnavailable();
  return { listenKey };
}

/** PUT /api/v3/userDataStream: keeps the user's listen key alive for 60 more minutes. */
function keepListenKey(ctx: BinanceContext, req: BinanceRequest) {
  req.params.only(["listenKey"]);
  const key = req.params.required("listenKey");
  if (!ctx.listenKeys.keepAlive(key, req.userId)) throw BinanceErrors.invalidListenKey();
  return {};
}

/** DELETE /api/v3/userDataStream: closes the user's listen key. */
function closeListenKey(ctx: BinanceContext, req: BinanceRequest) {
  req.params.only(["listenKey"]);
  const key = req.params.required("listenKey");
  if (!ctx.listenKeys.close(key, req.userId)) throw BinanceErrors.invalidListenKey();
  return {};
}
