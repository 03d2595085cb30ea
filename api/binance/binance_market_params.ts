/**
 * Query-string parameters of the Binance-compatible market-data endpoints, read and checked
 * the way Binance does: a mandatory parameter missing or empty is -1102, a parameter sent
 * twice -1101, an optional one sent empty -1105, a value with characters outside its legal
 * pattern -1100, a number out of range -1130, a malformed symbol -1100 and an unknown one
 * -1121. Parameters these endpoints do not read are ignored (ccxt adds some of its own).
 */

import type { Context } from "hono";
import { isKlineInterval, type KlineInterval } from "../../domain/kline_intervals.ts";
import type { Market } from "../../domain/market_config.ts";
import { BinanceError, BinanceErrors } from "./binance_errors.ts";
import type { BinanceMarkets } from "./binance_markets.ts";

/** Binance's legal range of a symbol, as its -1100 message states it. */
export const SYMBOL_LEGAL_RANGE = "^[A-Z0-9-_.]{1,20}$";
/** Binance's legal range of a `symbols` list (a JSON array of symbols, no spaces). */
export const SYMBOLS_LEGAL_RANGE = '^\\[("[A-Z0-9-_.]{1,20}"(,"[A-Z0-9-_.]{1,20}"){0,}){0,1}\\]$';
/** Binance's legal range of an integer parameter (ids, times, limits). */
export const INTEGER_LEGAL_RANGE = "^[0-9]{1,20}$";
/** Latest time accepted (ms): the last instant a JavaScript Date can hold. */
export const MAX_TIME_MS = 8_640_000_000_000_000;

const SYMBOL = /^[A-Z0-9_.-]{1,20}$/;
const SYMBOLS = /^\[("[A-Z0-9_.-]{1,20}"(,"[A-Z0-9_.-]{1,20}")*)?\]$/;
const INTEGER = /^[0-9]{1,20}$/;

/** -1105: Binance's answer to an optional parameter sent with no value. */
function paramEmpty(name: string): BinanceError {
  return new BinanceError(400, -1105, `Parameter '${name}' was empty.`);
}

/** The value of `name`, or undefined if it was not sent; -1101 if sent twice, -1105 if empty. */
export function optionalParam(c: Context, name: string): string | undefined {
  const values = c.req.queries(name);
  if (values === undefined || values.length === 0) return undefined;
  if (values.length > 1) throw BinanceErrors.tooManyParameters(name);
  if (values[0] === "") throw paramEmpty(name);
  return values[0];
}

/** The value of `name`; -1102 if it was not sent or is empty, -1101 if sent twice. */
export function mandatoryParam(c: Context, name: string): string {
  const values = c.req.queries(name);
  if (values === undefined || values.length === 0 || values[0] === "") {
    throw BinanceErrors.mandatoryParam(name);
  }
  if (values.length > 1) throw BinanceErrors.tooManyParameters(name);
  return values[0];
}

/** The market named by `name`'s value: -1100 if malformed, -1121 if unknown. */
function marketOf(markets: BinanceMarkets, text: string, name: string): Market {
  if (!SYMBOL.test(text)) throw BinanceErrors.illegalChars(name, SYMBOL_LEGAL_RANGE);
  return markets.symbol(text);
}

/** The market of the mandatory `symbol` parameter. */
export function symbolParam(c: Context, markets: BinanceMarkets): Market {
  return marketOf(markets, mandatoryParam(c, "symbol"), "symbol");
}

/**
 * The markets an endpoint that takes `symbol` or `symbols` (or neither) is asked about:
 * `single` when `symbol` named one (answered as an object, not an array); every market
 * when neither was sent. Both at once is -1128; an empty list -1102; a symbol listed twice
 * -1101. The list is bounded by the number of markets (no duplicates, no unknown names).
 */
export function symbolsChoice(
  c: Context,
  markets: BinanceMarkets,
): { single: boolean; markets: Market[] } {
  const one = optionalParam(c, "symbol");
  const many = optionalParam(c, "symbols");
  if (one !== undefined && many !== undefined) throw BinanceErrors.optionalParamsBadCombo();
  if (one !== undefined) return { single: true, markets: [marketOf(markets, one, "symbol")] };
  if (many === undefined) return { single: false, markets: markets.list() };
  if (!SYMBOLS.test(many)) throw BinanceErrors.illegalChars("symbols", SYMBOLS_LEGAL_RANGE);
  // The pattern admits only a flat array of quoted names: JSON.parse cannot fail here.
  const names = JSON.parse(many) as string[];
  if (names.length === 0) throw BinanceErrors.mandatoryParam("symbols");
  const seen = new Set<string>();
  const out: Market[] = [];
  for (const name of names) {
    if (seen.has(name)) throw BinanceErrors.tooManyParameters("symbols");
    seen.add(name);
    out.push(markets.symbol(name));
  }
  return { single: false, markets: out };
}

/**
 * An integer parameter in [lo, hi], or `fallback` when it was not sent (undefined when
 * there is none). -1100 if it is not digits, -1130 if it is out of range.
 */
export function intParam(c: Context, name: string, lo: number, hi: number): number | undefined;
export function intParam(
  c: Context,
  name: string,
  lo: number,
  hi: number,
  fallback: number,
): number;
export function intParam(
  c: Context,
  name: string,
  lo: number,
  hi: number,
  fallback?: number,
): number | undefined {
  const text = optionalParam(c, name);
  if (text === undefined) return fallback;
  if (!INTEGER.test(text)) throw BinanceErrors.illegalChars(name, INTEGER_LEGAL_RANGE);
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < lo || n > hi) {
    throw BinanceErrors.invalidParameter(
      name,
      `must be an integer from ${lo} to ${hi}, received "${text}"`,
    );
  }
  return n;
}

/** An optional time in ms (`startTime`, `endTime`). */
export function timeParam(c: Context, name: string): number | undefined {
  return intParam(c, name, 0, MAX_TIME_MS);
}

/**
 * Optional `startTime` and `endTime`; -1128 when the start is after the end (the range
 * would be empty, which is a mistake of the caller, not an answer).
 */
export function timeRange(c: Context): { startMs?: number; endMs?: number } {
  const startMs = timeParam(c, "startTime");
  const endMs = timeParam(c, "endTime");
  if (startMs !== undefined && endMs !== undefined && startMs > endMs) {
    throw BinanceErrors.optionalParamsBadCombo();
  }
  return { startMs, endMs };
}

/** The mandatory `interval`: one of the 16 (case-sensitive: 1m is a minute, 1M a month). */
export function intervalParam(c: Context): KlineInterval {
  const text = mandatoryParam(c, "interval");
  if (!isKlineInterval(text)) throw BinanceErrors.badInterval();
  return text;
}

/** The ticker's optional `type`: FULL (default) or MINI. */
export function tickerTypeParam(c: Context): "FULL" | "MINI" {
  const text = optionalParam(c, "type") ?? "FULL";
  if (text !== "FULL" && text !== "MINI") throw BinanceErrors.illegalChars("type", "FULL, MINI");
  return text;
}
