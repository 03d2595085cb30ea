/**
 * GET /api/v3/allOrders and GET /api/v3/myTrades: a user's orders and trades of one
 * symbol, oldest first, as Binance pages them. With a lower bound (orderId or fromId:
 * ids from that one on; startTime: from that time on) the oldest `limit` rows after it;
 * without one the most recent `limit` rows (before endTime, if given).
 *
 * The store answers newest first with keyset pages, so the oldest rows after a bound are
 * found by narrowing the time window (bisection) until it fits one page: a few small
 * queries instead of reading everything newer. Every request reads at most
 * MAX_HISTORY_QUERIES pages; one that would need more is refused (-1130), never cut
 * short silently.
 */

import { assert } from "../../domain/assert.ts";
import type { Page } from "../../persistence/storage_port.ts";
import { MAX_QUERY_ROWS, type OrderRow, type TradeRow } from "../../persistence/storage_port.ts";
import { STORE_BARRIER_MAX_WAIT_MS } from "../api_context.ts";
import { type BinanceRequest, SIGNED_PARAMS } from "./binance_auth.ts";
import type { BinanceContext } from "./binance_context.ts";
import { BinanceError, BinanceErrors } from "./binance_errors.ts";
import { liveOrStored } from "./binance_order_query.ts";
import type { BinanceParams } from "./binance_params.ts";
import { type BinanceMyTrade, myTradeViews, orderView } from "./binance_views.ts";

/** Binance's default and largest `limit` of allOrders and myTrades. */
export const DEFAULT_HISTORY_LIMIT = 500;
export const MAX_HISTORY_LIMIT = 1000;
/** Longest startTime..endTime span Binance accepts. */
export const MAX_HISTORY_SPAN_MS = 24 * 60 * 60 * 1000;
/** Most store queries one history request makes. */
export const MAX_HISTORY_QUERIES = 128;

/** One history query: rows with time in [startMs, endMs], newest first. */
export type HistoryReader<T> = (
  q: { startMs: number; endMs: number; limit: number; cursor?: string },
) => Promise<Page<T>>;

/** How the reader's rows are ordered: by time, then id. */
export interface RowKeys<T> {
  timeOf(row: T): number;
  idOf(row: T): number;
}

const ORDER_KEYS: RowKeys<OrderRow> = { timeOf: (r) => r.createdMs, idOf: (r) => r.orderId };
const TRADE_KEYS: RowKeys<TradeRow> = { timeOf: (r) => r.tsMs, idOf: (r) => r.tradeId };

/** GET /api/v3/allOrders. */
export async function allOrders(ctx: BinanceContext, req: BinanceRequest): Promise<object[]> {
  const p = req.params;
  p.only([...SIGNED_PARAMS, "symbol", "orderId", "startTime", "endTime", "limit"]);
  const m = ctx.markets.symbol(p.required("symbol"));
  const minId = p.optionalInt("orderId");
  const { startMs, endMs } = timeRange(p);
  const limit = p.intIn("limit", 1, MAX_HISTORY_LIMIT, DEFAULT_HISTORY_LIMIT);
  const ex = ctx.deps.exchange;
  await ex.whenStoredNow(STORE_BARRIER_MAX_WAIT_MS);
  const read: HistoryReader<OrderRow> = (q) =>
    ex.store.orders(req.userId, { symbolId: m.spec.id, ...q });
  // A LIMIT_MAKER that would take is refused by Binance: it is no order there.
  const keep = (r: OrderRow) => r.status !== "REJECTED";
  const rows = await history(read, ORDER_KEYS, { startMs, endMs, minId, limit, keep });
  return rows.map((r) => orderView(ctx.deps.markets, liveOrStored(ctx, m, r)));
}

/** GET /api/v3/myTrades (a self-trade is listed once per order, as on Binance). */
export async function myTrades(
  ctx: BinanceContext,
  req: BinanceRequest,
): Promise<BinanceMyTrade[]> {
  const p = req.params;
  p.only([...SIGNED_PARAMS, "symbol", "orderId", "startTime", "endTime", "fromId", "limit"]);
  const m = ctx.markets.symbol(p.required("symbol"));
  const orderId = p.optionalInt("orderId");
  const fromId = p.optionalInt("fromId");
  const timed = p.has("startTime") || p.has("endTime");
  if (timed && (fromId !== undefined || orderId !== undefined)) {
    throw BinanceErrors.optionalParamsBadCombo();
  }
  let { startMs, endMs } = timeRange(p);
  const limit = p.intIn("limit", 1, MAX_HISTORY_LIMIT, DEFAULT_HISTORY_LIMIT);
  const ex = ctx.deps.exchange;
  await ex.whenStoredNow(STORE_BARRIER_MAX_WAIT_MS);
  let ofOrder = (_t: TradeRow) => true;
  if (orderId !== undefined) {
    // An order's trades lie between its acceptance and its last change.
    const open = ex.openOrder(orderId);
    const row = open === undefined ? await ex.store.order(orderId) : undefined;
    const owner = open?.userId ?? row?.userId;
    const symbolId = open?.symbolId ?? row?.symbolId;
    if (owner !== req.userId || symbolId !== m.spec.id) return [];
    startMs = open?.createdMs ?? row?.createdMs;
    endMs = open === undefined ? row?.updatedMs : undefined;
    ofOrder = (t) => t.makerOrderId === orderId || t.takerOrderId === orderId;
  }
  const read: HistoryReader<TradeRow> = (q) =>
    ex.store.userTrades(req.userId, { symbolId: m.spec.id, ...q });
  const rows = await history(read, TRADE_KEYS, {
    startMs,
    endMs,
    minId: fromId,
    limit,
    keep: ofOrder,
  });
  const ix = ctx.deps.markets;
  const views = rows.map((t) =>
    myTradeViews(ix, t, req.userId).filter((v) => orderId === undefined || v.orderId === orderId)
  );
  const fromOldest = startMs !== undefined || fromId !== undefined;
  return capWhole(views, limit, fromOldest);
}

/** startTime and endTime (ms, inclusive); -1127 if more than 24 hours apart. */
function timeRange(p: BinanceParams): { startMs?: number; endMs?: number } {
  const startMs = p.optionalInt("startTime");
  const endMs = p.optionalInt("endTime");
  if (startMs !== undefined && endMs !== undefined) {
    if (endMs < startMs) throw BinanceErrors.invalidParameter("endTime", "is before startTime.");
    if (endMs - startMs > MAX_HISTORY_SPAN_MS) {
      throw new BinanceError(400, -1127, "More than 24 hours between startTime and endTime.");
    }
  }
  return { startMs, endMs };
}

/**
 * At most `limit` entries of `groups` (each group kept whole: the two sides of a
 * self-trade), taken from the oldest end if `fromOldest`, else from the newest end; a
 * first group larger than `limit` is kept whole.
 */
export function capWhole<T>(groups: T[][], limit: number, fromOldest: boolean): T[] {
  const order = fromOldest ? groups : [...groups].reverse();
  const taken: T[][] = [];
  let n = 0;
  for (const g of order) {
    if (g.length === 0) continue;
    if (n + g.length > limit && n > 0) break;
    taken.push(g);
    n += g.length;
    if (n >= limit) break;
  }
  if (!fromOldest) taken.reverse();
  return taken.flat();
}

/** What one history request asks for. */
export interface HistoryRequest<T> {
  startMs?: number;
  endMs?: number;
  /** Rows from this id on (ids grow with time). */
  minId?: number;
  limit: number;
  /** Rows to return (the others are skipped, not counted); minId applies besides. */
  keep: (row: T) => boolean;
}

/**
 * The rows of `req`, oldest first: with a lower bound (startMs or minId) the oldest
 * `limit` kept rows from it on, else the newest `limit` kept rows up to endMs. Throws
 * -1130 if that takes more than MAX_HISTORY_QUERIES queries.
 *
 * With minId, the first time holding an id at or above it is found first; this assumes
 * ids grow with time, as the engine assigns both in order.
 */
export async function history<T>(
  read: HistoryReader<T>,
  keys: RowKeys<T>,
  req: HistoryRequest<T>,
): Promise<T[]> {
  const budget = new QueryBudget(read);
  const endMs = req.endMs ?? Number.MAX_SAFE_INTEGER;
  let startMs = req.startMs ?? 0;
  const minId = req.minId;
  if (minId === undefined) {
    if (req.startMs === undefined) return await newest(budget, startMs, endMs, req.limit, req.keep);
    return await oldest(budget, keys, startMs, endMs, req.limit, req.keep);
  }
  const from = await firstTimeWithId(budget, keys, startMs, endMs, minId);
  if (from === undefined) return [];
  startMs = from;
  const keep = (r: T) => keys.idOf(r) >= minId && req.keep(r);
  return await oldest(budget, keys, startMs, endMs, req.limit, keep);
}

/** Counts the queries of one request against MAX_HISTORY_QUERIES. */
class QueryBudget<T> {
  #used = 0;
  constructor(private readonly reader: HistoryReader<T>) {}

  read(startMs: number, endMs: number, limit: number, cursor?: string): Promise<Page<T>> {
    if (++this.#used > MAX_HISTORY_QUERIES) {
      throw BinanceErrors.invalidParameter(
        "startTime",
        `selects more history than ${MAX_HISTORY_QUERIES} queries read; narrow it with startTime and endTime.`,
      );
    }
    return this.reader({ startMs, endMs, limit, cursor });
  }
}

/** The newest `limit` kept rows in [startMs, endMs], oldest first. */
async function newest<T>(
  budget: QueryBudget<T>,
  startMs: number,
  endMs: number,
  limit: number,
  keep: (row: T) => boolean,
): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | undefined;
  do {
    const page = await budget.read(startMs, endMs, MAX_QUERY_ROWS, cursor);
    for (const r of page.rows) {
      if (keep(r)) out.push(r);
      if (out.length === limit) return out.reverse();
    }
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return out.reverse();
}

/**
 * The first time t in [startMs, endMs] such that [startMs, t] holds a row with an id at or
 * above `minId` (the newest row of a window has its highest id), or undefined if none.
 */
async function firstTimeWithId<T>(
  budget: QueryBudget<T>,
  keys: RowKeys<T>,
  startMs: number,
  endMs: number,
  minId: number,
): Promise<number | undefined> {
  const reaches = async (t: number) => {
    const top = (await budget.read(startMs, t, 1)).rows[0];
    return top !== undefined && keys.idOf(top) >= minId;
  };
  const newestRow = (await budget.read(startMs, endMs, 1)).rows[0];
  if (newestRow === undefined || keys.idOf(newestRow) < minId) return undefined;
  let below = startMs - 1; // [startMs, below] does not reach minId
  let at = keys.timeOf(newestRow); // [startMs, at] does
  while (below + 1 < at) {
    const mid = below + Math.floor((at - below) / 2);
    if (await reaches(mid)) at = mid;
    else below = mid;
  }
  return at;
}

/** The oldest `limit` kept rows in [startMs, endMs], oldest first. */
async function oldest<T>(
  budget: QueryBudget<T>,
  keys: RowKeys<T>,
  startMs: number,
  endMs: number,
  limit: number,
  keep: (row: T) => boolean,
): Promise<T[]> {
  const out: T[] = [];
  let lo = startMs;
  while (out.length < limit && lo <= endMs) {
    const need = limit - out.length;
    const window = await fittingWindow(budget, keys, lo, endMs, need, keep);
    const rows = window === undefined ? await wholeMs(budget, keys, lo) : window.rows;
    for (let i = rows.length - 1; i >= 0 && out.length < limit; i--) {
      if (keep(rows[i])) out.push(rows[i]);
    }
    lo = (window === undefined ? lo : window.endMs) + 1;
  }
  return out;
}

/**
 * A window [lo, endMs'] with endMs' <= endMs whose rows fit one page (newest first): the
 * whole range if it fits, else one narrowed by bisection, stopping early at the first
 * that fits and keeps `need` rows. Undefined if even [lo, lo] does not fit.
 */
async function fittingWindow<T>(
  budget: QueryBudget<T>,
  keys: RowKeys<T>,
  lo: number,
  endMs: number,
  need: number,
  keep: (row: T) => boolean,
): Promise<{ endMs: number; rows: T[] } | undefined> {
  const all = await budget.read(lo, endMs, MAX_QUERY_ROWS);
  if (all.nextCursor === undefined) return { endMs, rows: all.rows };
  let fits: { endMs: number; rows: T[] } | undefined;
  // Nothing is newer than the newest row: bisect below it.
  let tooBig = keys.timeOf(all.rows[0]);
  let fitsMs = lo - 1;
  while (fitsMs + 1 < tooBig) {
    const mid = fitsMs + Math.floor((tooBig - fitsMs) / 2);
    const page = await budget.read(lo, mid, MAX_QUERY_ROWS);
    if (page.nextCursor !== undefined) {
      tooBig = mid;
      continue;
    }
    fits = { endMs: mid, rows: page.rows };
    fitsMs = mid;
    if (page.rows.filter(keep).length >= need) break;
  }
  return fits;
}

/** Every row of millisecond `ms` (more than one page of them), newest first as read. */
async function wholeMs<T>(budget: QueryBudget<T>, keys: RowKeys<T>, ms: number): Promise<T[]> {
  const rows: T[] = [];
  let cursor: string | undefined;
  do {
    const page = await budget.read(ms, ms, MAX_QUERY_ROWS, cursor);
    rows.push(...page.rows);
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  assert(
    rows.every((r) => keys.timeOf(r) === ms),
    `the store answered rows outside [${ms}, ${ms}]`,
  );
  return rows;
}
