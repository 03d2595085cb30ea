/**
 * Binance's 24 h ticker (`GET /api/v3/ticker/24hr`) and last price (`ticker/price`) of a
 * market. The statistics come from the one-minute candles whose open time lies in the
 * last 24 hours (Exchange.ticker), so the window opens on the first minute boundary after
 * now - 24 h; the last trade, the trade ids and the previous close come from the store.
 * The caller waits for the store barrier first (once per request).
 */

import type { Exchange } from "../../actors/exchange.ts";
import { formatUnits } from "../../domain/decimal.ts";
import type { Market } from "../../domain/market_config.ts";
import { MAX_QUERY_ROWS, type TradeRow } from "../../persistence/storage_port.ts";
import type { MarketIndex } from "../market_index.ts";
import { binanceSymbol } from "./binance_markets.ts";

const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;
/**
 * Minutes before the window searched for the previous close when the trades read back do
 * not reach it (a market with more than MAX_QUERY_ROWS trades in the window).
 */
const PREV_CLOSE_MINUTES = MAX_QUERY_ROWS;

/** `(a - b) / b` in percent, with 3 decimals, rounded half away from zero ("-0.159"). */
export function percentChange(lastTicks: number, openTicks: number): string {
  if (openTicks === 0) return formatUnits(0, 3);
  const num = BigInt(lastTicks - openTicks) * 100_000n;
  const den = BigInt(openTicks);
  const q = num / den;
  const twiceRem = 2n * (num % den);
  const rounded = twiceRem >= den ? q + 1n : twiceRem <= -den ? q - 1n : q;
  return formatUnits(Number(rounded), 3);
}

/** Quote volume over base volume, in ticks of the market's price, rounded half up. */
export function weightedAvgTicks(m: Market, baseUnits: number, quoteUnits: number): number {
  if (baseUnits === 0) return 0;
  // quote = ticks × base × mul / div (domain/money.ts), so ticks = quote × div / (base × mul).
  const num = BigInt(quoteUnits) * BigInt(m.scale.div);
  const den = BigInt(baseUnits) * BigInt(m.scale.mul);
  return Number((2n * num + den) / (2n * den));
}

/** The newest trade of a market, or undefined if it never traded. */
export async function lastTrade(exchange: Exchange, symbolId: number) {
  return (await exchange.store.publicTrades(symbolId, 1))[0] as TradeRow | undefined;
}

/**
 * The 24 h ticker of `m` at `nowMs`, FULL or MINI. Without a trade in the window the
 * prices are the last trade's (zero if none), volumes zero, and firstId / lastId -1.
 * firstId is -1 too when the window holds more trades than MAX_QUERY_ROWS (the store
 * cannot be asked for the first trade of a time range).
 */
export async function ticker24h(
  exchange: Exchange,
  ix: MarketIndex,
  m: Market,
  nowMs: number,
  type: "FULL" | "MINI",
) {
  const id = m.spec.id;
  const t = await exchange.ticker(id, nowMs);
  const openMs = Math.ceil((nowMs - DAY_MS + 1) / MINUTE_MS) * MINUTE_MS;
  const count = t?.trades ?? 0;
  // Newest first: the trades of the window, then (if read) the last trade before it.
  const wanted = Math.min(count + 1, MAX_QUERY_ROWS);
  const rows = await exchange.store.publicTrades(id, wanted);
  const inWindow = t === undefined ? 0 : rows.findIndex((r) => r.tsMs < openMs);
  const k = inWindow < 0 ? rows.length : inWindow;
  const before: TradeRow | undefined = rows[k];
  const reachedStart = before !== undefined || rows.length < wanted;
  const last = rows[0];
  const lastTicks = t?.lastTicks ?? last?.priceTicks ?? 0;
  const openTicks = t?.openTicks ?? lastTicks;
  let prevCloseTicks = before?.priceTicks ?? 0;
  if (!reachedStart) {
    const prev = await exchange.candles(
      id,
      "1m",
      openMs - PREV_CLOSE_MINUTES * MINUTE_MS,
      openMs - 1,
      PREV_CLOSE_MINUTES,
    );
    prevCloseTicks = prev.at(-1)?.closeTicks ?? 0;
  }
  const mini = {
    symbol: binanceSymbol(m),
    openPrice: ix.price(m, openTicks),
    highPrice: ix.price(m, t?.highTicks ?? lastTicks),
    lowPrice: ix.price(m, t?.lowTicks ?? lastTicks),
    lastPrice: ix.price(m, lastTicks),
    volume: ix.qty(m, t?.baseVolumeUnits ?? 0),
    quoteVolume: ix.quote(m, t?.quoteVolumeUnits ?? 0),
    openTime: openMs,
    closeTime: nowMs,
    firstId: k > 0 && reachedStart ? rows[k - 1].tradeId : -1,
    lastId: k > 0 ? rows[0].tradeId : -1,
    count,
  };
  if (type === "MINI") return mini;
  const d = exchange.depth(id, 1);
  const bid = d?.bids[0] ?? [0, 0];
  const ask = d?.asks[0] ?? [0, 0];
  return {
    symbol: mini.symbol,
    priceChange: ix.price(m, lastTicks - openTicks),
    priceChangePercent: percentChange(lastTicks, openTicks),
    weightedAvgPrice: ix.price(
      m,
      weightedAvgTicks(m, t?.baseVolumeUnits ?? 0, t?.quoteVolumeUnits ?? 0),
    ),
    prevClosePrice: ix.price(m, prevCloseTicks),
    lastPrice: mini.lastPrice,
    lastQty: ix.qty(m, last?.qtyUnits ?? 0),
    bidPrice: ix.price(m, bid[0]),
    bidQty: ix.qty(m, bid[1]),
    askPrice: ix.price(m, ask[0]),
    askQty: ix.qty(m, ask[1]),
    openPrice: mini.openPrice,
    highPrice: mini.highPrice,
    lowPrice: mini.lowPrice,
    volume: mini.volume,
    quoteVolume: mini.quoteVolume,
    openTime: mini.openTime,
    closeTime: mini.closeTime,
    firstId: mini.firstId,
    lastId: mini.lastId,
    count,
  };
}
