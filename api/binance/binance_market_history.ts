/**
 * History reads of the Binance market-data endpoints: klines with Binance's window rules,
 * recent trades, and aggregate trades. Trade reads first wait (bounded) until the store
 * holds every command already answered, so that a trade an order's answer reported is
 * listed.
 */

import type { Exchange } from "../../actors/exchange.ts";
import type { KlineInterval } from "../../domain/kline_intervals.ts";
import { assert } from "../../domain/assert.ts";
import { type CandleRow, MAX_QUERY_ROWS, type TradeRow } from "../../persistence/storage_port.ts";
import { STORE_BARRIER_MAX_WAIT_MS } from "../api_context.ts";
import { BinanceErrors } from "./binance_errors.ts";
import type { AggTrade } from "./binance_market_views.ts";

/** Most klines one request returns (Binance: default 500, max 1000). */
export const MAX_KLINES = MAX_QUERY_ROWS;
/** Most trades or aggregate trades one request returns (Binance: default 500, max 1000). */
export const MAX_TRADES = MAX_QUERY_ROWS;
/**
 * Trades aggTrades reads back from the store: it has no query by trade id or time, so
 * aggregate trades are served from this many most recent trades, and a `fromId` or time
 * bound older than them is refused rather than answered with a partial list.
 */
export const AGG_TRADES_HORIZON = MAX_QUERY_ROWS;

/**
 * Klines of one interval, oldest first, the one in progress included, as Binance selects
 * them (see Exchange.candles): from `startMs` on when a start is given, else the last
 * `limit` intervals up to `endMs` (default now).
 */
export function readKlines(
  exchange: Exchange,
  symbolId: number,
  interval: KlineInterval,
  q: { startMs?: number; endMs?: number; limit: number; nowMs: number },
): Promise<CandleRow[]> {
  return exchange.candles(symbolId, interval, q.startMs, q.endMs, q.limit, q.nowMs);
}

/** The most recent `limit` trades of a symbol, oldest first. */
export async function readRecentTrades(
  exchange: Exchange,
  symbolId: number,
  limit: number,
): Promise<TradeRow[]> {
  await exchange.whenStoredNow(STORE_BARRIER_MAX_WAIT_MS);
  return (await exchange.store.publicTrades(symbolId, limit)).reverse();
}

/**
 * Groups trades (oldest first) into aggregate trades: consecutive trades of the same taker
 * order at the same price and time, as Binance aggregates them.
 */
export function aggregateTrades(rows: readonly TradeRow[]): AggTrade[] {
  const out: AggTrade[] = [];
  let takerOrderId = -1;
  for (const t of rows) {
    const last = out[out.length - 1];
    if (
      last !== undefined && t.takerOrderId === takerOrderId &&
      t.priceTicks === last.priceTicks && t.tsMs === last.tsMs
    ) {
      last.lastId = t.tradeId;
      last.qtyUnits += t.qtyUnits;
      assert(Number.isSafeInteger(last.qtyUnits), `aggregate qty overflow at trade ${t.tradeId}`);
      continue;
    }
    takerOrderId = t.takerOrderId;
    out.push({
      firstId: t.tradeId,
      lastId: t.tradeId,
      priceTicks: t.priceTicks,
      qtyUnits: t.qtyUnits,
      tsMs: t.tsMs,
      buyerMaker: t.takerSide === "SELL",
    });
  }
  return out;
}

export interface AggTradesQuery {
  fromId?: number;
  startMs?: number;
  endMs?: number;
  limit: number;
}

/**
 * Aggregate trades of a symbol, oldest first: from `fromId` or `startMs` on (the first
 * `limit`), else the last `limit` up to `endMs` (or now). Served from the
 * AGG_TRADES_HORIZON most recent trades: when the store holds more, the oldest aggregate
 * read may be cut, so it is left out, and a bound at or before it is refused (-1130).
 */
export async function readAggTrades(
  exchange: Exchange,
  symbolId: number,
  q: AggTradesQuery,
): Promise<AggTrade[]> {
  const rows = await readRecentTrades(exchange, symbolId, AGG_TRADES_HORIZON);
  let aggs = aggregateTrades(rows);
  if (rows.length >= AGG_TRADES_HORIZON && aggs.length > 0) {
    const cut = aggs[0];
    aggs = aggs.slice(1);
    const beyond = (param: string, value: number) =>
      BinanceErrors.invalidParameter(
        param,
        `${value} is older than the ${AGG_TRADES_HORIZON} most recent trades served ` +
          `(the oldest read: trade ${cut.lastId}, time ${cut.tsMs})`,
      );
    if (q.fromId !== undefined && q.fromId <= cut.lastId) throw beyond("fromId", q.fromId);
    if (q.startMs !== undefined && q.startMs <= cut.tsMs) throw beyond("startTime", q.startMs);
    if (q.endMs !== undefined && q.endMs <= cut.tsMs) throw beyond("endTime", q.endMs);
  }
  const picked = aggs.filter((a) =>
    (q.fromId === undefined || a.firstId >= q.fromId) &&
    (q.startMs === undefined || a.tsMs >= q.startMs) &&
    (q.endMs === undefined || a.tsMs <= q.endMs)
  );
  const fromStart = q.fromId !== undefined || q.startMs !== undefined;
  return fromStart ? picked.slice(0, q.limit) : picked.slice(-q.limit);
}
