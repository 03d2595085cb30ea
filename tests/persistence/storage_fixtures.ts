/**
 * Rows, batches and page walking for the storage conformance suite: every builder fills
 * the fields a test does not care about with valid values.
 */

import assert from "node:assert/strict";
import type {
  BalanceRow,
  CandleRow,
  OrderRow,
  Page,
  TradeRow,
  WriteBatch,
} from "../../persistence/storage_port.ts";

const DAY_MS = 86_400_000;
/**
 * The time the fixtures count from: midnight UTC a day before the run. Recent, since
 * TDengine refuses rows older than the database's KEEP (365 days) and far in the future.
 */
export const T0_MS = Math.floor(Date.now() / DAY_MS) * DAY_MS - DAY_MS;
export const MAX = Number.MAX_SAFE_INTEGER;
/** Most pages a walk reads before it fails (a cursor that never ends). */
const MAX_PAGES = 1_000;

export function orderRow(p: Partial<OrderRow> & { orderId: number }): OrderRow {
  return {
    version: 1,
    userId: 1,
    symbolId: 1,
    side: "BUY",
    orderType: "LIMIT",
    timeInForce: "GTC",
    priceTicks: 5_000_000,
    qtyUnits: 1_000,
    quoteUnits: 0,
    filledUnits: 0,
    quoteFilledUnits: 0,
    status: "NEW",
    cid: null,
    postOnly: false,
    stp: "NONE",
    createdMs: T0_MS + p.orderId,
    updatedMs: T0_MS + p.orderId,
    ...p,
  };
}

export function tradeRow(p: Partial<TradeRow> & { tradeId: number }): TradeRow {
  return {
    symbolId: 1,
    priceTicks: 5_000_000,
    qtyUnits: 1_000,
    quoteUnits: 50_000,
    takerSide: "BUY",
    makerOrderId: 2 * p.tradeId,
    takerOrderId: 2 * p.tradeId + 1,
    makerUserId: 1,
    takerUserId: 2,
    buyerFeeUnits: 1,
    sellerFeeUnits: 50,
    tsMs: T0_MS + p.tradeId,
    ...p,
  };
}

export function balanceRow(
  p: Partial<BalanceRow> & { userId: number; assetId: number; version: number },
): BalanceRow {
  return { availableUnits: 1_000 * p.version, frozenUnits: 0, tsMs: T0_MS + p.version, ...p };
}

export function candleRow(p: Partial<CandleRow> & { openMs: number }): CandleRow {
  return {
    symbolId: 1,
    interval: "1m",
    closeMs: p.openMs + 59_999,
    openTicks: 100,
    highTicks: 120,
    lowTicks: 90,
    closeTicks: 110,
    baseVolumeUnits: 5_000,
    quoteVolumeUnits: 550_000,
    trades: 5,
    takerBuyBaseUnits: 2_000,
    takerBuyQuoteUnits: 220_000,
    closed: true,
    ...p,
  };
}

export function batch(p: Partial<WriteBatch>): WriteBatch {
  return { orders: [], trades: [], balances: [], candles: [], ...p };
}

/** Newest first by (time, id), as every history query orders its rows. */
export function newestFirst<T>(rows: T[], time: (r: T) => number, id: (r: T) => number): T[] {
  return [...rows].sort((a, b) => time(b) - time(a) || id(b) - id(a));
}

export const tradesNewestFirst = (rows: TradeRow[]) =>
  newestFirst(rows, (t) => t.tsMs, (t) => t.tradeId);
export const ordersNewestFirst = (rows: OrderRow[]) =>
  newestFirst(rows, (o) => o.createdMs, (o) => o.orderId);

/**
 * Reads every page of a query with `limit` rows per page and returns the pages. Asserts
 * that every page but the last is full and that only the last has no cursor (the last
 * may be empty when the one before was full).
 */
export async function walkPages<T>(
  limit: number,
  read: (cursor: string | undefined) => Promise<Page<T>>,
): Promise<T[][]> {
  const pages: T[][] = [];
  let cursor: string | undefined;
  for (let i = 0; i < MAX_PAGES; i++) {
    const page = await read(cursor);
    assert.ok(page.rows.length <= limit, `page ${i} has ${page.rows.length} > ${limit} rows`);
    pages.push(page.rows);
    if (page.nextCursor === undefined) return pages;
    assert.equal(page.rows.length, limit, `page ${i} has a cursor but is not full`);
    assert.equal(typeof page.nextCursor, "string");
    cursor = page.nextCursor;
  }
  throw new Error(`Paging did not end within ${MAX_PAGES} pages`);
}
