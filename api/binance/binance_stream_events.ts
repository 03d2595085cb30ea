/**
 * Binance market stream payloads, built from the engine's change log and live state:
 * `trade`, `aggTrade`, `depthUpdate`, partial books, `kline`, `bookTicker`, `24hrTicker`
 * and `24hrMiniTicker`, with Binance's field names, decimal strings in the market's
 * scales and symbols in upper case.
 */

import type { TradeEvent } from "../../domain/events.ts";
import type { Market } from "../../domain/market_config.ts";
import type { Ticker } from "../../actors/exchange.ts";
import type { CandleRow } from "../../persistence/storage_port.ts";
import { formatUnits } from "../../domain/decimal.ts";
import type { MarketIndex } from "../market_index.ts";
import { binanceSymbol } from "./binance_markets.ts";

/** A price level as Binance sends it: `[price, qty]`. */
export type LevelView = [string, string];

export function tradeEvent(ix: MarketIndex, m: Market, t: TradeEvent, tsMs: number) {
  return {
    e: "trade",
    E: tsMs,
    s: binanceSymbol(m),
    t: t.tradeId,
    p: ix.price(m, t.priceTicks),
    q: ix.qty(m, t.qtyUnits),
    T: tsMs,
    // Is the buyer the maker?
    m: t.takerSide === "SELL",
    M: true,
  };
}

/** One fill is one aggregate trade here: its id is the trade id. */
export function aggTradeEvent(ix: MarketIndex, m: Market, t: TradeEvent, tsMs: number) {
  return {
    e: "aggTrade",
    E: tsMs,
    s: binanceSymbol(m),
    a: t.tradeId,
    p: ix.price(m, t.priceTicks),
    q: ix.qty(m, t.qtyUnits),
    f: t.tradeId,
    l: t.tradeId,
    T: tsMs,
    m: t.takerSide === "SELL",
    M: true,
  };
}

/** Level changes of one side, price ticks to quantity units (0: the level is gone). */
export type SideChanges = Map<number, number>;

/** A diff event: every level that changed in book updates `firstId`..`lastId`. */
export function depthUpdateEvent(
  ix: MarketIndex,
  m: Market,
  nowMs: number,
  firstId: number,
  lastId: number,
  bids: SideChanges,
  asks: SideChanges,
) {
  const levels = (side: SideChanges, descending: boolean): LevelView[] =>
    [...side.entries()]
      .sort((a, b) => descending ? b[0] - a[0] : a[0] - b[0])
      .map(([p, q]) => [ix.price(m, p), ix.qty(m, q)]);
  return {
    e: "depthUpdate",
    E: nowMs,
    s: binanceSymbol(m),
    U: firstId,
    u: lastId,
    b: levels(bids, true),
    a: levels(asks, false),
  };
}

/** A partial book: the best levels of each side as of book update `updateId`. */
export function partialDepthEvent(
  ix: MarketIndex,
  m: Market,
  book: { updateId: number; bids: [number, number][]; asks: [number, number][] },
) {
  const level = ([p, q]: [number, number]): LevelView => [ix.price(m, p), ix.qty(m, q)];
  return { lastUpdateId: book.updateId, bids: book.bids.map(level), asks: book.asks.map(level) };
}

/** Trade ids of a candle, when the stream saw it from its start (else -1, unknown). */
export interface CandleTradeIds {
  first: number;
  last: number;
}

export function klineEvent(
  ix: MarketIndex,
  m: Market,
  k: CandleRow,
  tsMs: number,
  ids: CandleTradeIds,
) {
  const s = binanceSymbol(m);
  return {
    e: "kline",
    E: tsMs,
    s,
    k: {
      t: k.openMs,
      T: k.closeMs,
      s,
      i: k.interval,
      f: ids.first,
      L: ids.last,
      o: ix.price(m, k.openTicks),
      c: ix.price(m, k.closeTicks),
      h: ix.price(m, k.highTicks),
      l: ix.price(m, k.lowTicks),
      v: ix.qty(m, k.baseVolumeUnits),
      n: k.trades,
      x: k.closed,
      q: ix.quote(m, k.quoteVolumeUnits),
      V: ix.qty(m, k.takerBuyBaseUnits),
      Q: ix.quote(m, k.takerBuyQuoteUnits),
      B: "0",
    },
  };
}

/** Best bid and ask, each `[priceTicks, qtyUnits]`, or undefined when that side is empty. */
export interface Top {
  updateId: number;
  bid: [number, number] | undefined;
  ask: [number, number] | undefined;
}

export function bookTickerEvent(ix: MarketIndex, m: Market, top: Top) {
  return {
    u: top.updateId,
    s: binanceSymbol(m),
    b: ix.price(m, top.bid?.[0] ?? 0),
    B: ix.qty(m, top.bid?.[1] ?? 0),
    a: ix.price(m, top.ask?.[0] ?? 0),
    A: ix.qty(m, top.ask?.[1] ?? 0),
  };
}

/** The last trade a connection saw of a symbol (for the ticker's `Q` and `L`). */
export interface LastTrade {
  tradeId: number;
  qtyUnits: number;
}

/**
 * The rolling 24-hour ticker. `x` (the price before the window) is the window's first
 * price; `F` (its first trade id) is -1: the candles it is computed from do not keep it.
 */
export function tickerEvent(
  ix: MarketIndex,
  m: Market,
  t: Ticker,
  top: Top,
  last: LastTrade | undefined,
  nowMs: number,
) {
  const book = bookTickerEvent(ix, m, top);
  return {
    e: "24hrTicker",
    E: nowMs,
    s: binanceSymbol(m),
    p: ix.price(m, t.lastTicks - t.openTicks),
    P: percentChange(t.openTicks, t.lastTicks),
    w: ix.price(m, weightedAverageTicks(m, t.baseVolumeUnits, t.quoteVolumeUnits)),
    x: ix.price(m, t.openTicks),
    c: ix.price(m, t.lastTicks),
    Q: ix.qty(m, last?.qtyUnits ?? 0),
    b: book.b,
    B: book.B,
    a: book.a,
    A: book.A,
    o: ix.price(m, t.openTicks),
    h: ix.price(m, t.highTicks),
    l: ix.price(m, t.lowTicks),
    v: ix.qty(m, t.baseVolumeUnits),
    q: ix.quote(m, t.quoteVolumeUnits),
    O: t.openMs,
    C: t.closeMs,
    F: -1,
    L: last?.tradeId ?? -1,
    n: t.trades,
  };
}

export function miniTickerEvent(ix: MarketIndex, m: Market, t: Ticker, nowMs: number) {
  return {
    e: "24hrMiniTicker",
    E: nowMs,
    s: binanceSymbol(m),
    c: ix.price(m, t.lastTicks),
    o: ix.price(m, t.openTicks),
    h: ix.price(m, t.highTicks),
    l: ix.price(m, t.lowTicks),
    v: ix.qty(m, t.baseVolumeUnits),
    q: ix.quote(m, t.quoteVolumeUnits),
  };
}

/** (last - open) / open in percent, three decimals, truncated toward zero ("0.000" if open is 0). */
export function percentChange(openTicks: number, lastTicks: number): string {
  if (openTicks === 0) return "0.000";
  const thousandths = (BigInt(lastTicks - openTicks) * 100_000n) / BigInt(openTicks);
  return formatUnits(Number(thousandths), 3);
}

/** Quote volume over base volume, in price ticks of `m` (truncated; 0 without volume). */
export function weightedAverageTicks(m: Market, baseUnits: number, quoteUnits: number): number {
  if (baseUnits === 0) return 0;
  // ticks = quote / 10^qd ÷ (base / 10^bd) × 10^pd
  const e = m.spec.priceDecimals + m.base.decimals - m.quote.decimals;
  const num = BigInt(quoteUnits) * (e > 0 ? 10n ** BigInt(e) : 1n);
  const den = BigInt(baseUnits) * (e < 0 ? 10n ** BigInt(-e) : 1n);
  return Number(num / den);
}
