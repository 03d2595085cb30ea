/**
 * One order, or a user's open orders, by Binance's parameters: GET and DELETE
 * /api/v3/order (symbol, and orderId or origClientOrderId), GET /api/v3/openOrders and
 * DELETE /api/v3/openOrders. Open orders are read from the live book; closed ones from the
 * store, after waiting until it holds everything already answered. Another user's order
 * is answered as unknown (-2013 to read, -2011 to cancel): ids of others stay private.
 */

import { fail } from "../../domain/assert.ts";
import type { CancelOrder } from "../../domain/commands.ts";
import type { OrderUpdated } from "../../domain/events.ts";
import type { Market } from "../../domain/market_config.ts";
import type { OrderRow } from "../../persistence/storage_port.ts";
import { MAX_QUERY_ROWS } from "../../persistence/storage_port.ts";
import { STORE_BARRIER_MAX_WAIT_MS } from "../api_context.ts";
import { type BinanceRequest, SIGNED_PARAMS } from "./binance_auth.ts";
import type { BinanceContext } from "./binance_context.ts";
import { BinanceError, BinanceErrors } from "./binance_errors.ts";
import { clientOrderId, randomClientOrderId } from "./binance_order_place.ts";
import { submitCommand } from "./binance_order_submit.ts";
import {
  type BinanceOrderState,
  cancelView,
  orderView,
  stateOfOpenOrder,
  stateOfRow,
  stateOfUpdate,
} from "./binance_views.ts";

/**
 * Most store pages a lookup by origClientOrderId reads through the user's history of the
 * symbol (newest first); an older closed order with that id is answered as unknown.
 */
export const MAX_CID_SCAN_PAGES = 10;
/** Cancels of DELETE /openOrders submitted at once. */
export const CANCEL_ALL_CONCURRENCY = 64;

const QUERY_PARAMS = [...SIGNED_PARAMS, "symbol", "orderId", "origClientOrderId"];
const CANCEL_PARAMS = [...QUERY_PARAMS, "newClientOrderId"];

/** GET /api/v3/order. */
export async function queryOrder(ctx: BinanceContext, req: BinanceRequest): Promise<object> {
  const p = req.params;
  p.only(QUERY_PARAMS);
  const m = ctx.markets.symbol(p.required("symbol"));
  const { orderId, cid } = orderKey(req);
  const state = await findOrder(ctx, req.userId, m, orderId, cid);
  if (state === undefined) throw BinanceErrors.noSuchOrder();
  return orderView(ctx.deps.markets, state);
}

/** DELETE /api/v3/order. */
export async function cancelOrder(ctx: BinanceContext, req: BinanceRequest): Promise<object> {
  const p = req.params;
  p.only(CANCEL_PARAMS);
  const m = ctx.markets.symbol(p.required("symbol"));
  const { orderId, cid } = orderKey(req);
  const cancelCid = clientOrderId(p.optional("newClientOrderId"), p.sent("newClientOrderId"));
  const cmd: CancelOrder = { type: "cancel", userId: req.userId, symbolId: m.spec.id };
  if (orderId !== undefined) {
    // With both, the order found by id must carry that client order id.
    if (cid !== undefined && ctx.deps.exchange.openOrder(orderId)?.cid !== cid) {
      throw BinanceErrors.cancelRejected();
    }
    cmd.orderId = orderId;
  } else {
    cmd.cid = cid;
  }
  return await cancel(ctx, m, cmd, cancelCid);
}

/** GET /api/v3/openOrders: the user's open orders (of one symbol, or all), oldest first. */
export async function openOrders(ctx: BinanceContext, req: BinanceRequest): Promise<object[]> {
  const p = req.params;
  p.only([...SIGNED_PARAMS, "symbol"]);
  const symbol = p.optional("symbol");
  const m = symbol === undefined ? undefined : ctx.markets.symbol(symbol);
  const open = ctx.deps.exchange.openOrders(req.userId, m?.spec.id).reverse();
  // The book does not keep when an order last changed: partly filled ones ask the store.
  const updatedMs = open.some((o) => o.filledUnits > 0)
    ? await partlyFilledUpdateTimes(ctx, req.userId, m, open.length)
    : new Map<number, number>();
  return open.map((o) =>
    orderView(
      ctx.deps.markets,
      stateOfOpenOrder(ctx.markets.byId(o.symbolId), o, updatedMs.get(o.orderId)),
    )
  );
}

/**
 * DELETE /api/v3/openOrders: cancels every open order of the user on the symbol and
 * answers each cancel, oldest order first; -2011 when there was none. An order that ends
 * meanwhile (filled) is left out.
 */
export async function cancelOpenOrders(
  ctx: BinanceContext,
  req: BinanceRequest,
): Promise<object[]> {
  const p = req.params;
  p.only([...SIGNED_PARAMS, "symbol"]);
  const m = ctx.markets.symbol(p.required("symbol"));
  const open = ctx.deps.exchange.openOrders(req.userId, m.spec.id).reverse();
  const out: object[] = [];
  for (let i = 0; i < open.length; i += CANCEL_ALL_CONCURRENCY) {
    const batch = open.slice(i, i + CANCEL_ALL_CONCURRENCY);
    const settled = await Promise.allSettled(batch.map((o) =>
      cancel(
        ctx,
        m,
        { type: "cancel", userId: req.userId, orderId: o.orderId, symbolId: m.spec.id },
        randomClientOrderId(),
      )
    ));
    for (const s of settled) {
      if (s.status === "fulfilled") out.push(s.value);
      else if (!(s.reason instanceof BinanceError && s.reason.code === -2011)) throw s.reason;
    }
  }
  if (out.length === 0) throw BinanceErrors.cancelRejected();
  return out;
}

async function cancel(
  ctx: BinanceContext,
  m: Market,
  cmd: CancelOrder,
  cancelCid: string,
): Promise<object> {
  const events = await submitCommand(ctx, cmd, "cancel");
  const update = events.find((e): e is OrderUpdated => e.type === "order");
  if (update === undefined) fail("the engine answered a cancel with no order update");
  const now = ctx.deps.now();
  return cancelView(ctx.deps.markets, stateOfUpdate(m, update, now), cancelCid, now);
}

/** orderId and/or origClientOrderId; -1102 when neither was sent. */
function orderKey(req: BinanceRequest): { orderId?: number; cid?: string } {
  const orderId = req.params.optionalInt("orderId");
  const cid = req.params.optional("origClientOrderId");
  if (orderId === undefined && cid === undefined) {
    throw new BinanceError(
      400,
      -1102,
      "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
    );
  }
  return { orderId, cid };
}

/**
 * The user's order on market `m` by id (and, if given, with that client order id) or
 * by client order id alone (the newest such order); undefined if there is none. Orders
 * the engine refused after acceptance (a LIMIT_MAKER that would take) are not orders to
 * Binance and are not found.
 */
export async function findOrder(
  ctx: BinanceContext,
  userId: number,
  m: Market,
  orderId: number | undefined,
  cid: string | undefined,
): Promise<BinanceOrderState | undefined> {
  const ex = ctx.deps.exchange;
  if (orderId !== undefined) {
    const open = ex.openOrder(orderId);
    let state: BinanceOrderState | undefined;
    if (open !== undefined) {
      if (open.userId !== userId || open.symbolId !== m.spec.id) return undefined;
      state = stateOfOpenOrder(m, open, await storedUpdateTime(ctx, orderId, open.filledUnits));
    } else {
      await ex.whenStoredNow(STORE_BARRIER_MAX_WAIT_MS);
      const row = await ex.store.order(orderId);
      if (!isBinanceOrderOf(row, userId, m)) return undefined;
      state = stateOfRow(m, row);
    }
    return cid === undefined || state.cid === cid ? state : undefined;
  }
  if (cid === undefined) return undefined;
  const open = ex.openOrders(userId, m.spec.id).find((o) => o.cid === cid);
  if (open !== undefined) {
    return stateOfOpenOrder(m, open, await storedUpdateTime(ctx, open.orderId, open.filledUnits));
  }
  await ex.whenStoredNow(STORE_BARRIER_MAX_WAIT_MS);
  let cursor: string | undefined;
  for (let page = 0; page < MAX_CID_SCAN_PAGES; page++) {
    const rows = await ex.store.orders(userId, {
      symbolId: m.spec.id,
      limit: MAX_QUERY_ROWS,
      cursor,
    });
    const row = rows.rows.find((r) => r.cid === cid && r.status !== "REJECTED");
    if (row !== undefined) return liveOrStored(ctx, m, row);
    if (rows.nextCursor === undefined) return undefined;
    cursor = rows.nextCursor;
  }
  return undefined;
}

/** A stored order's state, with the live book's figures if it is still open. */
export function liveOrStored(ctx: BinanceContext, m: Market, row: OrderRow): BinanceOrderState {
  const open = ctx.deps.exchange.openOrder(row.orderId);
  return open === undefined ? stateOfRow(m, row) : stateOfOpenOrder(m, open, row.updatedMs);
}

function isBinanceOrderOf(
  row: OrderRow | undefined,
  userId: number,
  m: Market,
): row is OrderRow {
  return row !== undefined && row.userId === userId && row.symbolId === m.spec.id &&
    row.status !== "REJECTED";
}

/** When an open order last changed: its creation if never filled, else the store's. */
async function storedUpdateTime(
  ctx: BinanceContext,
  orderId: number,
  filledUnits: number,
): Promise<number | undefined> {
  if (filledUnits === 0) return undefined;
  await ctx.deps.exchange.whenStoredNow(STORE_BARRIER_MAX_WAIT_MS);
  return (await ctx.deps.exchange.store.order(orderId))?.updatedMs;
}

/**
 * Last change of each of the user's partly filled orders (of `m`, or all), by order id,
 * reading at most the pages that `openCount` open orders fill (and one more).
 */
async function partlyFilledUpdateTimes(
  ctx: BinanceContext,
  userId: number,
  m: Market | undefined,
  openCount: number,
): Promise<Map<number, number>> {
  const ex = ctx.deps.exchange;
  await ex.whenStoredNow(STORE_BARRIER_MAX_WAIT_MS);
  const out = new Map<number, number>();
  let cursor: string | undefined;
  const pagesMax = Math.ceil(openCount / MAX_QUERY_ROWS) + 1;
  for (let i = 0; i < pagesMax; i++) {
    const page = await ex.store.orders(userId, {
      symbolId: m?.spec.id,
      status: "PARTIALLY_FILLED",
      limit: MAX_QUERY_ROWS,
      cursor,
    });
    for (const r of page.rows) out.set(r.orderId, r.updatedMs);
    if (page.nextCursor === undefined) break;
    cursor = page.nextCursor;
  }
  return out;
}
