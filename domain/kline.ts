/**
 * Candle (K-line) aggregation for the 16 standard intervals, per symbol, from trades.
 * Pure: no clock, no I/O; trade times and "now" are passed in.
 *
 * Rules:
 * - Each trade is counted once: the aggregator remembers the last trade id applied per
 *   symbol and reports a trade with an id at or below it as a duplicate, changing nothing.
 * - Trades are ordered by trade id, not by time. A trade is applied at its *effective
 *   time* max(tsMs, latest time already applied to the symbol, latest `advance` time).
 *   So a trade stamped earlier than the current candle (out-of-order time) is counted in
 *   the current candle, and a candle once closed is never reopened or changed.
 * - A candle closes when a trade (effectively) falls after its close time, or when
 *   `advance(nowMs)` passes its close time. Periods without trades produce no candle.
 * - Memory is bounded: only the candle in progress per symbol and interval is kept; closed
 *   candles are returned (for persistence and push) and forgotten.
 * - Volumes are safe integers like every amount. A sum that would exceed 2^53 - 1 is held
 *   at that value and the trade's result says `saturated: true`, so the stage can report
 *   it instead of crashing a market-data stage on every replay of the same trade.
 */

import { assert, fail } from "./assert.ts";
import {
  intervalNextOpenMs,
  intervalOpenMs,
  isKlineInterval,
  KLINE_INTERVALS,
} from "./kline_intervals.ts";
import type { KlineInterval } from "./kline_intervals.ts";
import { MAX_SYMBOL_ID, MAX_UNITS } from "./limits.ts";
import type { Side } from "./types.ts";

export { KLINE_INTERVALS } from "./kline_intervals.ts";
export type { KlineInterval } from "./kline_intervals.ts";

/** What the aggregator needs of a trade (a TradeEvent plus the time of its entry). */
export interface KlineTrade {
  tradeId: number;
  symbolId: number;
  priceTicks: number;
  qtyUnits: number;
  quoteUnits: number;
  takerSide: Side;
  tsMs: number;
}

/** One candle; structurally identical to persistence's CandleRow. */
export interface Candle {
  symbolId: number;
  interval: KlineInterval;
  openMs: number;
  /** Next open time minus 1 ms. */
  closeMs: number;
  openTicks: number;
  highTicks: number;
  lowTicks: number;
  closeTicks: number;
  baseVolumeUnits: number;
  quoteVolumeUnits: number;
  trades: number;
  takerBuyBaseUnits: number;
  takerBuyQuoteUnits: number;
  /** True once the interval has ended. */
  closed: boolean;
}

/** A re-delivered trade (id at or below the last applied one): nothing changed. */
export interface KlineDuplicate {
  duplicate: true;
  lastTradeId: number;
}

export interface KlineApplied {
  duplicate: false;
  /** The time the trade was counted at (see the module rules). */
  effectiveMs: number;
  /** True when effectiveMs differs from the trade's own time. */
  late: boolean;
  /** The candles in progress after the trade, one per interval (copies). */
  updated: Candle[];
  /** Candles this trade closed, shortest interval first (closed: true). */
  closed: Candle[];
  /** True when a volume reached MAX_UNITS and was held there. */
  saturated: boolean;
}

export type KlineApplyResult = KlineDuplicate | KlineApplied;

/** Serializable state of one symbol. */
export interface KlineSymbolState {
  symbolId: number;
  lastTradeId: number;
  clockMs: number;
  /** Candles in progress, in interval order, at most one per interval. */
  candles: Candle[];
}

/** Serializable state of the aggregator, for snapshots. */
export interface KlineState {
  version: 1;
  advancedMs: number;
  symbols: KlineSymbolState[];
}

interface SymbolCandles {
  lastTradeId: number;
  clockMs: number;
  /** Indexed like KLINE_INTERVALS. */
  slots: (Candle | undefined)[];
}

/** Aggregates trades into candles; see the module comment for the rules. */
export class KlineAggregator {
  #symbols = new Map<number, SymbolCandles>();
  #advancedMs = 0;

  /**
   * Counts one trade in every interval's candle. Returns a duplicate marker for a
   * re-delivered trade. Throws an InvariantError for a malformed trade (a bug upstream).
   * `copyUpdated` false leaves `updated` empty (a caller that reads the candles in
   * progress once after many trades saves sixteen copies per trade).
   */
  apply(trade: KlineTrade, copyUpdated = true): KlineApplyResult {
    checkTrade(trade);
    let sym = this.#symbols.get(trade.symbolId);
    if (sym === undefined) {
      sym = { lastTradeId: 0, clockMs: 0, slots: new Array(KLINE_INTERVALS.length) };
      this.#symbols.set(trade.symbolId, sym);
    }
    if (trade.tradeId <= sym.lastTradeId) {
      return { duplicate: true, lastTradeId: sym.lastTradeId };
    }
    const effectiveMs = Math.max(trade.tsMs, sym.clockMs, this.#advancedMs);
    const closed: Candle[] = [];
    const updated: Candle[] = [];
    let saturated = false;
    for (let i = 0; i < KLINE_INTERVALS.length; i++) {
      let c = sym.slots[i];
      if (c !== undefined && effectiveMs > c.closeMs) {
        c.closed = true;
        closed.push(c);
        c = undefined;
      }
      if (c === undefined) {
        c = openCandle(trade, KLINE_INTERVALS[i], effectiveMs);
        sym.slots[i] = c;
      } else {
        if (effectiveMs < c.openMs) fail(`effective time ${effectiveMs} before candle open`);
        saturated = addTrade(c, trade) || saturated;
      }
      if (copyUpdated) updated.push({ ...c });
    }
    sym.lastTradeId = trade.tradeId;
    sym.clockMs = effectiveMs;
    return {
      duplicate: false,
      effectiveMs,
      late: effectiveMs !== trade.tsMs,
      updated,
      closed,
      saturated,
    };
  }

  /**
   * Closes and returns every candle in progress whose close time is before `nowMs`
   * (symbols in first-trade order, intervals shortest first). Later trades are counted at
   * `nowMs` or after. A `nowMs` not after the previous one closes nothing.
   */
  advance(nowMs: number): Candle[] {
    assert(
      Number.isSafeInteger(nowMs) && nowMs >= 0,
      `advance time must be a non-negative safe integer, received ${nowMs}`,
    );
    if (nowMs <= this.#advancedMs) return [];
    this.#advancedMs = nowMs;
    const closed: Candle[] = [];
    for (const sym of this.#symbols.values()) {
      for (let i = 0; i < KLINE_INTERVALS.length; i++) {
        const c = sym.slots[i];
        if (c !== undefined && c.closeMs < nowMs) {
          c.closed = true;
          closed.push(c);
          sym.slots[i] = undefined;
        }
      }
    }
    return closed;
  }

  /** A copy of the candle in progress for a symbol and interval, or undefined. */
  current(symbolId: number, interval: KlineInterval): Candle | undefined {
    const c = this.#symbols.get(symbolId)?.slots[KLINE_INTERVALS.indexOf(interval)];
    return c === undefined ? undefined : { ...c };
  }

  /** Copies of a symbol's candles in progress, shortest interval first. */
  currentAll(symbolId: number): Candle[] {
    const sym = this.#symbols.get(symbolId);
    return sym === undefined ? [] : sym.slots.flatMap((c) => (c === undefined ? [] : [{ ...c }]));
  }

  /** The last trade id applied for a symbol, 0 if none. */
  lastTradeId(symbolId: number): number {
    return this.#symbols.get(symbolId)?.lastTradeId ?? 0;
  }

  /** The latest time passed to `advance`, 0 before the first call. */
  get advancedMs(): number {
    return this.#advancedMs;
  }

  /** A deep, JSON-safe copy of the state (for snapshots). */
  toJSON(): KlineState {
    const symbols: KlineSymbolState[] = [];
    for (const [symbolId, sym] of this.#symbols) {
      symbols.push({
        symbolId,
        lastTradeId: sym.lastTradeId,
        clockMs: sym.clockMs,
        candles: sym.slots.flatMap((c) => (c === undefined ? [] : [{ ...c }])),
      });
    }
    return { version: 1, advancedMs: this.#advancedMs, symbols };
  }

  /**
   * Rebuilds an aggregator from `toJSON()` output (possibly through JSON text).
   * Throws an InvariantError naming the first field that is not valid state.
   */
  static fromJSON(state: KlineState): KlineAggregator {
    assert(state?.version === 1, `kline state: unknown version ${JSON.stringify(state?.version)}`);
    checkTime(state.advancedMs, "advancedMs");
    const agg = new KlineAggregator();
    agg.#advancedMs = state.advancedMs;
    for (const s of state.symbols) {
      checkId(s.symbolId, MAX_SYMBOL_ID, "symbolId");
      assert(!agg.#symbols.has(s.symbolId), `kline state: symbol ${s.symbolId} appears twice`);
      checkId(s.lastTradeId, MAX_UNITS, `symbol ${s.symbolId} lastTradeId`);
      checkTime(s.clockMs, `symbol ${s.symbolId} clockMs`);
      const slots: (Candle | undefined)[] = new Array(KLINE_INTERVALS.length);
      for (const c of s.candles) {
        checkCandle(c, s.symbolId, s.clockMs, state.advancedMs);
        const i = KLINE_INTERVALS.indexOf(c.interval);
        assert(
          slots[i] === undefined,
          `kline state: symbol ${s.symbolId} has two ${c.interval} candles`,
        );
        slots[i] = { ...c };
      }
      agg.#symbols.set(s.symbolId, { lastTradeId: s.lastTradeId, clockMs: s.clockMs, slots });
    }
    return agg;
  }
}

/** The persistence row of a candle (CandleRow of persistence/storage_port.ts): a copy. */
export function candleRow(c: Candle): Candle {
  return {
    symbolId: c.symbolId,
    interval: c.interval,
    openMs: c.openMs,
    closeMs: c.closeMs,
    openTicks: c.openTicks,
    highTicks: c.highTicks,
    lowTicks: c.lowTicks,
    closeTicks: c.closeTicks,
    baseVolumeUnits: c.baseVolumeUnits,
    quoteVolumeUnits: c.quoteVolumeUnits,
    trades: c.trades,
    takerBuyBaseUnits: c.takerBuyBaseUnits,
    takerBuyQuoteUnits: c.takerBuyQuoteUnits,
    closed: c.closed,
  };
}

/** The change-log id of a candle: `${symbolId}:${interval}:${openMs}`. */
export function candleKey(c: Pick<Candle, "symbolId" | "interval" | "openMs">): string {
  return `${c.symbolId}:${c.interval}:${c.openMs}`;
}

function openCandle(t: KlineTrade, interval: KlineInterval, effectiveMs: number): Candle {
  const openMs = intervalOpenMs(interval, effectiveMs);
  const buy = t.takerSide === "BUY";
  return {
    symbolId: t.symbolId,
    interval,
    openMs,
    closeMs: intervalNextOpenMs(interval, openMs) - 1,
    openTicks: t.priceTicks,
    highTicks: t.priceTicks,
    lowTicks: t.priceTicks,
    closeTicks: t.priceTicks,
    baseVolumeUnits: t.qtyUnits,
    quoteVolumeUnits: t.quoteUnits,
    trades: 1,
    takerBuyBaseUnits: buy ? t.qtyUnits : 0,
    takerBuyQuoteUnits: buy ? t.quoteUnits : 0,
    closed: false,
  };
}

/** Adds a trade to a candle in progress; returns true if a volume saturated. */
function addTrade(c: Candle, t: KlineTrade): boolean {
  if (t.priceTicks > c.highTicks) c.highTicks = t.priceTicks;
  if (t.priceTicks < c.lowTicks) c.lowTicks = t.priceTicks;
  c.closeTicks = t.priceTicks;
  c.trades += 1;
  const base = c.baseVolumeUnits + t.qtyUnits;
  const quote = c.quoteVolumeUnits + t.quoteUnits;
  let saturated = base > MAX_UNITS || quote > MAX_UNITS;
  c.baseVolumeUnits = Math.min(base, MAX_UNITS);
  c.quoteVolumeUnits = Math.min(quote, MAX_UNITS);
  if (t.takerSide === "BUY") {
    const buyBase = c.takerBuyBaseUnits + t.qtyUnits;
    const buyQuote = c.takerBuyQuoteUnits + t.quoteUnits;
    saturated = saturated || buyBase > MAX_UNITS || buyQuote > MAX_UNITS;
    c.takerBuyBaseUnits = Math.min(buyBase, MAX_UNITS);
    c.takerBuyQuoteUnits = Math.min(buyQuote, MAX_UNITS);
  }
  return saturated;
}

function checkTrade(t: KlineTrade): void {
  const ok = Number.isSafeInteger(t.tradeId) && t.tradeId >= 1 &&
    Number.isInteger(t.symbolId) && t.symbolId >= 0 && t.symbolId <= MAX_SYMBOL_ID &&
    Number.isSafeInteger(t.priceTicks) && t.priceTicks >= 1 &&
    Number.isSafeInteger(t.qtyUnits) && t.qtyUnits >= 1 &&
    Number.isSafeInteger(t.quoteUnits) && t.quoteUnits >= 0 &&
    (t.takerSide === "BUY" || t.takerSide === "SELL") &&
    Number.isSafeInteger(t.tsMs) && t.tsMs >= 0;
  if (!ok) fail(`kline: malformed trade ${JSON.stringify(t)}`);
}

function checkId(v: number, max: number, what: string): void {
  assert(
    Number.isSafeInteger(v) && v >= 0 && v <= max,
    `kline state: ${what} invalid, received ${v}`,
  );
}

function checkTime(v: number, what: string): void {
  assert(Number.isSafeInteger(v) && v >= 0, `kline state: ${what} invalid, received ${v}`);
}

function checkCandle(c: Candle, symbolId: number, clockMs: number, advancedMs: number): void {
  const at = `kline state: symbol ${symbolId} candle ${JSON.stringify(c)}`;
  assert(
    c.symbolId === symbolId && isKlineInterval(c.interval) && !c.closed,
    `${at}: wrong symbol, interval or closed`,
  );
  checkTime(c.openMs, `${at} openMs`);
  assert(intervalOpenMs(c.interval, c.openMs) === c.openMs, `${at}: openMs not on a boundary`);
  assert(
    c.closeMs === intervalNextOpenMs(c.interval, c.openMs) - 1,
    `${at}: closeMs does not match openMs`,
  );
  assert(c.openMs <= clockMs && c.closeMs >= advancedMs, `${at}: outside the symbol's clock`);
  for (const k of ["openTicks", "highTicks", "lowTicks", "closeTicks", "trades"] as const) {
    assert(Number.isSafeInteger(c[k]) && c[k] >= 1, `${at}: ${k} invalid`);
  }
  for (
    const k of [
      "baseVolumeUnits",
      "quoteVolumeUnits",
      "takerBuyBaseUnits",
      "takerBuyQuoteUnits",
    ] as const
  ) {
    assert(Number.isSafeInteger(c[k]) && c[k] >= 0, `${at}: ${k} invalid`);
  }
  assert(
    c.highTicks >= Math.max(c.openTicks, c.closeTicks) &&
      Math.min(c.openTicks, c.closeTicks) >= c.lowTicks,
    `${at}: high/low do not bound open/close`,
  );
  assert(
    c.takerBuyBaseUnits <= c.baseVolumeUnits && c.takerBuyQuoteUnits <= c.quoteVolumeUnits,
    `${at}: taker-buy above total`,
  );
}
