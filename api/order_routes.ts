/**
 * Private endpoints of the native API (`/api/v1`): create, cancel and amend orders, read
 * one order, order history, own trades and balances. Every handler runs after
 * `userAuth`, so `userId` is the authenticated user; a user only ever sees and changes
 * their own orders.
 */

import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { Command, PlaceOrder } from "../domain/commands.ts";
import type { EngineEvent, OrderUpdated, TradeEvent } from "../domain/events.ts";
import type { OrderRow } from "../persistence/storage_port.ts";
import { MAX_QUERY_ROWS } from "../persistence/storage_port.ts";
import { type ApiDeps, type ApiEnv, STORE_BARRIER_MAX_WAIT_MS } from "./api_context.ts";
import { ApiError, ok } from "./api_errors.ts";
import { submit } from "./submit_command.ts";
import {
  AmendOrderBody,
  CancelOrderBody,
  CreateOrderBody,
  Envelope,
  HistoryQuery,
  OrderIdParam,
  TradeHistoryQuery,
} from "./api_schemas.ts";
import {
  balanceViews,
  openOrderView,
  orderRowView,
  type OrderView,
  tradeView,
  updateView,
} from "./order_views.ts";
import { postJson } from "./json_route.ts";
import { intParam, timeParam } from "./query_params.ts";

const json = { "application/json": { schema: Envelope } };
const answers = {
  200: { content: json, description: "done" },
  202: { content: json, description: "accepted" },
  400: { content: json, description: "invalid request or rejected by the engine" },
  401: { content: json, description: "not authenticated" },
  403: { content: json, description: "not your order" },
  404: { content: json, description: "no such order" },
  409: { content: json, description: "conflict (client order id in use)" },
  429: { content: json, description: "rate limited" },
  503: { content: json, description: "overloaded or not taking commands" },
};
const body = <T>(schema: T) => ({
  body: { content: { "application/json": { schema } }, required: true },
});

export const createOrderRoute = createRoute({
  method: "post",
  path: "/create_order",
  request: body(CreateOrderBody),
  responses: answers,
  summary: "Place an order",
});
const cancelOrderRoute = createRoute({
  method: "post",
  path: "/cancel_order",
  request: body(CancelOrderBody),
  responses: answers,
  summary: "Cancel an open order by order_id, or by symbol and cid",
});
const amendOrderRoute = createRoute({
  method: "post",
  path: "/amend_order",
  request: body(AmendOrderBody),
  responses: answers,
  summary: "Reduce an open order's quantity (keeps priority) or replace its price",
});
const orderRoute = createRoute({
  method: "get",
  path: "/order/{order_id}",
  request: { params: OrderIdParam },
  responses: answers,
  summary: "One of your orders, open or closed",
});
const ordersRoute = createRoute({
  method: "get",
  path: "/orders",
  request: { query: HistoryQuery },
  responses: answers,
  summary: "Your orders, newest first (open and history)",
});
const tradesRoute = createRoute({
  method: "get",
  path: "/trades",
  request: { query: TradeHistoryQuery },
  responses: answers,
  summary: "Your trades, newest first",
});
const balancesRoute = createRoute({
  method: "get",
  path: "/balances",
  responses: answers,
  summary: "Your balances",
});

/** Adds the private routes to `app` (mounted at /api/v1 behind userAuth). */
export function addOrderRoutes(app: OpenAPIHono<ApiEnv>, deps: ApiDeps): void {
  const ix = deps.markets;

  postJson(app, createOrderRoute, CreateOrderBody, async (c, b) => {
    const userId = c.get("userId");
    const m = ix.symbol(b.symbol);
    const cmd: PlaceOrder = {
      type: "place",
      userId,
      symbolId: m.spec.id,
      side: b.side,
      orderType: b.type,
    };
    if (b.type === "LIMIT") {
      if (b.price === undefined) throw invalid("a LIMIT order needs a price");
      if (b.qty === undefined) throw invalid("a LIMIT order needs a qty");
      if (b.quote_qty !== undefined) throw invalid("a LIMIT order takes qty, not quote_qty");
      cmd.priceTicks = ix.priceTicks(m, b.price);
      cmd.qtyUnits = ix.qtyUnits(m, b.qty);
      cmd.timeInForce = b.time_in_force ?? "GTC";
    } else {
      if (b.price !== undefined) throw invalid("a MARKET order takes no price");
      if (b.time_in_force !== undefined && b.time_in_force !== "IOC") {
        throw invalid(`a MARKET order is IOC, received time_in_force "${b.time_in_force}"`);
      }
      if ((b.qty === undefined) === (b.quote_qty === undefined)) {
        throw invalid("a MARKET order needs exactly one of qty and quote_qty");
      }
      if (b.quote_qty !== undefined) {
        if (b.side !== "BUY") throw invalid("only a MARKET BUY can give quote_qty");
        cmd.quoteUnits = ix.quoteUnits(m, b.quote_qty);
      } else {
        cmd.qtyUnits = ix.qtyUnits(m, b.qty);
      }
    }
    if (b.post_only !== undefined) cmd.postOnly = b.post_only;
    if (b.stp !== undefined) cmd.stp = b.stp;
    if (b.cid !== undefined) cmd.cid = b.cid;

    const events = await submit(deps, cmd);
    const accepted = events.find((e) => e.type === "accepted");
    if (accepted === undefined || accepted.type !== "accepted") {
      throw new Error("the engine answered a place with neither accepted nor rejected");
    }
    const orderId = accepted.orderId;
    const update = lastUpdate(events, orderId);
    const view: OrderView = update !== undefined
      ? updateView(ix, update, accepted.quoteUnits)
      : openOrderView(ix, mustBeOpen(deps, orderId));
    const fills = events.filter((e): e is TradeEvent =>
      e.type === "trade" && (e.takerOrderId === orderId)
    );
    return c.json(
      ok({
        ...view,
        accepted_at: view.created_at,
        fills: fills.map((t) => tradeView(ix, { ...t, tsMs: view.created_at }, userId)),
      }),
      202,
    );
  });

  postJson(app, cancelOrderRoute, CancelOrderBody, async (c, b) => {
    const userId = c.get("userId");
    let cmd: Command;
    if (b.order_id !== undefined) {
      if (b.cid !== undefined) throw invalid("give order_id, or symbol and cid, not both");
      cmd = { type: "cancel", userId, orderId: b.order_id };
      if (b.symbol !== undefined) cmd.symbolId = ix.symbol(b.symbol).spec.id;
    } else {
      if (b.cid === undefined || b.symbol === undefined) {
        throw invalid("give order_id, or symbol and cid");
      }
      cmd = { type: "cancel", userId, cid: b.cid, symbolId: ix.symbol(b.symbol).spec.id };
    }
    const events = await submit(deps, cmd);
    const update = events.find((e): e is OrderUpdated => e.type === "order");
    if (update === undefined) throw new Error("the engine answered a cancel with no order update");
    return c.json(ok(updateView(ix, update)), 200);
  });

  postJson(app, amendOrderRoute, AmendOrderBody, async (c, b) => {
    const userId = c.get("userId");
    if (b.qty === undefined && b.price === undefined) {
      throw invalid("an amend needs qty, price, or both");
    }
    const open = deps.exchange.openOrder(b.order_id);
    if (open === undefined || open.userId !== userId) {
      throw ApiError.of("NOT_FOUND", `no open order ${b.order_id} of yours`);
    }
    const m = ix.symbolById(open.symbolId);
    const cmd: Command = { type: "amend", userId, orderId: b.order_id };
    if (b.qty !== undefined) cmd.qtyUnits = ix.qtyUnits(m, b.qty);
    if (b.price !== undefined) cmd.priceTicks = ix.priceTicks(m, b.price);
    const events = await submit(deps, cmd);
    const update = lastUpdate(events, b.order_id);
    const view = update !== undefined
      ? updateView(ix, update)
      : openOrderView(ix, mustBeOpen(deps, b.order_id));
    return c.json(ok(view), 200);
  });

  app.openapi(orderRoute, async (c) => {
    const userId = c.get("userId");
    const orderId = intParam(c.req.valid("param").order_id, "order_id", 1, Number.MAX_SAFE_INTEGER);
    const open = deps.exchange.openOrder(orderId);
    let view: OrderView | undefined;
    if (open !== undefined) {
      if (open.userId === userId) view = openOrderView(ix, open);
    } else {
      await deps.exchange.whenStoredNow(STORE_BARRIER_MAX_WAIT_MS);
      const row = await deps.exchange.store.order(orderId);
      if (row !== undefined && row.userId === userId) view = orderRowView(ix, row);
    }
    // Another user's order is answered as missing: ids of others are not disclosed.
    if (view === undefined) throw ApiError.of("NOT_FOUND", `no order ${orderId} of yours`);
    return c.json(ok(view), 200);
  });

  app.openapi(ordersRoute, async (c) => {
    const userId = c.get("userId");
    const q = c.req.valid("query");
    await deps.exchange.whenStoredNow(STORE_BARRIER_MAX_WAIT_MS);
    const page = await deps.exchange.store.orders(userId, {
      symbolId: q.symbol === undefined ? undefined : ix.symbol(q.symbol).spec.id,
      status: q.status,
      startMs: timeParam(q.start_time, "start_time"),
      endMs: timeParam(q.end_time, "end_time"),
      limit: intParam(q.limit, "limit", 1, MAX_QUERY_ROWS, 100),
      cursor: q.cursor,
    });
    return c.json(
      ok({
        orders: page.rows.map((r) => liveOrStored(deps, r)),
        next_cursor: page.nextCursor ?? null,
      }),
      200,
    );
  });

  app.openapi(tradesRoute, async (c) => {
    const userId = c.get("userId");
    const q = c.req.valid("query");
    await deps.exchange.whenStoredNow(STORE_BARRIER_MAX_WAIT_MS);
    const page = await deps.exchange.store.userTrades(userId, {
      symbolId: q.symbol === undefined ? undefined : ix.symbol(q.symbol).spec.id,
      startMs: timeParam(q.start_time, "start_time"),
      endMs: timeParam(q.end_time, "end_time"),
      limit: intParam(q.limit, "limit", 1, MAX_QUERY_ROWS, 100),
      cursor: q.cursor,
    });
    return c.json(
      ok({
        trades: page.rows.map((t) => tradeView(ix, t, userId)),
        next_cursor: page.nextCursor ?? null,
      }),
      200,
    );
  });

  app.openapi(balancesRoute, (c) => {
    const userId = c.get("userId");
    const balances = balanceViews(ix, deps.exchange, userId);
    return c.json(ok({ balances }), 200);
  });

  /** A stored order row, with live fill figures if the order is still open. */
  function liveOrStored(deps: ApiDeps, r: OrderRow): OrderView {
    const view = orderRowView(ix, r);
    const open = deps.exchange.openOrder(r.orderId);
    if (open === undefined) return view;
    const live = openOrderView(ix, open);
    return {
      ...view,
      status: live.status,
      qty: live.qty,
      price: live.price,
      filled_qty: live.filled_qty,
      quote_filled_qty: live.quote_filled_qty,
    };
  }
}

function invalid(message: string): ApiError {
  return ApiError.of("INVALID_PARAMETER", message);
}

function lastUpdate(events: readonly EngineEvent[], orderId: number): OrderUpdated | undefined {
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i];
    if (e.type === "order" && e.orderId === orderId) return e;
  }
  return undefined;
}

function mustBeOpen(deps: ApiDeps, orderId: number) {
  const open = deps.exchange.openOrder(orderId);
  if (open === undefined) throw new Error(`order ${orderId} has no update and is not open`);
  return open;
}
