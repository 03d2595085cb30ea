/**
 * Binance stream names: `<symbol>@trade`, `@aggTrade`, `@depth[@100ms|@1000ms]`,
 * `@depth5|10|20[@100ms|@1000ms]`, `@kline_<interval>`, `@bookTicker`, `@ticker`,
 * `@miniTicker` (symbol in lower case), and a live listen key naming a user data stream.
 */

import { isKlineInterval, type KlineInterval } from "../../domain/kline_intervals.ts";
import type { Market } from "../../domain/market_config.ts";
import type { BinanceMarkets } from "./binance_markets.ts";
import { MAX_STREAM_NAME_LENGTH } from "./binance_stream_limits.ts";
import type { ListenKeys } from "./listen_keys.ts";

interface OfSymbol {
  name: string;
  market: Market;
}

export type MarketStream =
  | OfSymbol & { kind: "trade" | "aggTrade" | "bookTicker" | "ticker" | "miniTicker" }
  | OfSymbol & { kind: "depthDiff"; speedMs: number }
  | OfSymbol & { kind: "depthPartial"; levels: number; speedMs: number }
  | OfSymbol & { kind: "kline"; interval: KlineInterval };

/** A user data stream, named by its listen key. */
export interface UserStream {
  kind: "user";
  name: string;
  userId: number;
}

export type BinanceStream = MarketStream | UserStream;

/** Binance's update speeds of depth streams, in ms. */
const SPEEDS: Readonly<Record<string, number>> = { "100ms": 100, "1000ms": 1_000 };
const PARTIAL_LEVELS = new Set(["5", "10", "20"]);
const SIMPLE = new Set(["trade", "aggTrade", "bookTicker", "ticker", "miniTicker"]);
const LISTEN_KEY_SHAPE = /^[A-Za-z0-9]{60}$/;

const HINT =
  "use <symbol>@trade, @aggTrade, @depth[@100ms], @depth<5|10|20>[@100ms], @kline_<interval>, @bookTicker, @ticker, @miniTicker (symbol in lower case, e.g. btcusdt@trade) or a live listen key";

/**
 * The stream `name` names, or a message saying what is wrong with it (to follow
 * "Invalid request: ").
 */
export function parseStream(
  markets: BinanceMarkets,
  listenKeys: ListenKeys,
  name: unknown,
): BinanceStream | string {
  if (typeof name !== "string" || name.length === 0 || name.length > MAX_STREAM_NAME_LENGTH) {
    return `a stream name is a string of 1 to ${MAX_STREAM_NAME_LENGTH} characters, received ${
      describe(name)
    }`;
  }
  const at = name.indexOf("@");
  if (at < 0) {
    const userId = listenKeys.userOf(name);
    if (userId !== undefined) return { kind: "user", name, userId };
    if (looksLikeListenKey(name)) return `listen key "${name}" does not exist or has expired`;
    return `unknown stream "${name}": ${HINT}`;
  }
  const symbol = name.slice(0, at);
  const market = markets.streamSymbol(symbol);
  if (market === undefined) {
    return `unknown symbol "${symbol}" in stream "${name}" (symbols are lower case, e.g. btcusdt)`;
  }
  const [channel, speed, ...extra] = name.slice(at + 1).split("@");
  if (extra.length > 0) return `unknown stream "${name}": ${HINT}`;
  if (SIMPLE.has(channel) && speed === undefined) {
    return { kind: channel as "trade", name, market };
  }
  const speedMs = speed === undefined ? 1_000 : SPEEDS[speed];
  if (channel.startsWith("depth")) {
    if (speedMs === undefined) {
      return `unknown update speed "${speed}" in stream "${name}": use @100ms or @1000ms`;
    }
    if (channel === "depth") return { kind: "depthDiff", name, market, speedMs };
    const levels = channel.slice("depth".length);
    if (PARTIAL_LEVELS.has(levels)) {
      return { kind: "depthPartial", name, market, levels: Number(levels), speedMs };
    }
    return `unknown depth stream "${name}": partial books have 5, 10 or 20 levels`;
  }
  if (channel.startsWith("kline_") && speed === undefined) {
    const interval = channel.slice("kline_".length);
    if (!isKlineInterval(interval)) {
      return `unknown interval "${interval}" in stream "${name}": use 1s, 1m, 3m, 5m, 15m, 30m, 1h, 2h, 4h, 6h, 8h, 12h, 1d, 3d, 1w or 1M`;
    }
    return { kind: "kline", name, market, interval };
  }
  return `unknown stream "${name}": ${HINT}`;
}

/** True for a name shaped as a listen key (60 letters and digits), live or not. */
export function looksLikeListenKey(name: string): boolean {
  return LISTEN_KEY_SHAPE.test(name);
}

function describe(v: unknown): string {
  if (typeof v === "string") return `"${v.slice(0, MAX_STREAM_NAME_LENGTH)}"`;
  return v === null ? "null" : typeof v;
}
