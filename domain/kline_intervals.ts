/**
 * The 16 standard candle intervals and their UTC boundaries (pure: time is passed in).
 *
 * - Fixed-size intervals (1s … 12h, 1d, 3d) are aligned to the Unix epoch: a candle opens
 *   at floor(t / size) × size. For 1d that is 00:00 UTC; for 3d it is the epoch-aligned
 *   3-day bucket (1970-01-01, 1970-01-04, …), as Binance's 3d klines are.
 * - 1w opens on Monday 00:00 UTC (the epoch was a Thursday; Monday 1970-01-05 anchors it).
 * - 1M opens on the first day of the calendar month, 00:00 UTC.
 *
 * A candle's close time is the next open minus one millisecond (Binance style).
 */

import { assert } from "./assert.ts";

/** The intervals, shortest first; this order is the order of every per-interval array. */
export const KLINE_INTERVALS = [
  "1s",
  "1m",
  "3m",
  "5m",
  "15m",
  "30m",
  "1h",
  "2h",
  "4h",
  "6h",
  "8h",
  "12h",
  "1d",
  "3d",
  "1w",
  "1M",
] as const;

export type KlineInterval = (typeof KLINE_INTERVALS)[number];

const SECOND_MS = 1_000;
const MINUTE_MS = 60 * SECOND_MS;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
const WEEK_MS = 7 * DAY_MS;
/** 1970-01-05T00:00:00Z, the first Monday after the epoch. */
const FIRST_MONDAY_MS = 4 * DAY_MS;

/** Length in ms of each fixed-size interval; 1w and 1M are handled apart. */
const FIXED_MS: Readonly<Record<string, number>> = {
  "1s": SECOND_MS,
  "1m": MINUTE_MS,
  "3m": 3 * MINUTE_MS,
  "5m": 5 * MINUTE_MS,
  "15m": 15 * MINUTE_MS,
  "30m": 30 * MINUTE_MS,
  "1h": HOUR_MS,
  "2h": 2 * HOUR_MS,
  "4h": 4 * HOUR_MS,
  "6h": 6 * HOUR_MS,
  "8h": 8 * HOUR_MS,
  "12h": 12 * HOUR_MS,
  "1d": DAY_MS,
  "3d": 3 * DAY_MS,
};

const INTERVAL_SET: ReadonlySet<string> = new Set(KLINE_INTERVALS);

/** True when `s` names one of the 16 intervals (case-sensitive: "1m" ≠ "1M"). */
export function isKlineInterval(s: string): s is KlineInterval {
  return INTERVAL_SET.has(s);
}

/**
 * Open time (ms) of the `interval` candle that contains `tsMs`.
 * Throws an InvariantError if `tsMs` is not a safe integer.
 */
export function intervalOpenMs(interval: KlineInterval, tsMs: number): number {
  assert(Number.isSafeInteger(tsMs), `candle time must be a safe integer, received ${tsMs}`);
  const size = FIXED_MS[interval];
  if (size !== undefined) return Math.floor(tsMs / size) * size;
  if (interval === "1w") {
    return Math.floor((tsMs - FIRST_MONDAY_MS) / WEEK_MS) * WEEK_MS + FIRST_MONDAY_MS;
  }
  // 1M. Date with an explicit time reads no clock, so this stays deterministic.
  const d = new Date(tsMs);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

/**
 * Open time (ms) of the candle after the one opening at `openMs` (which must be a
 * boundary of `interval`). The candle's close time is this value minus one.
 */
export function intervalNextOpenMs(interval: KlineInterval, openMs: number): number {
  const size = FIXED_MS[interval];
  if (size !== undefined) return openMs + size;
  if (interval === "1w") return openMs + WEEK_MS;
  const d = new Date(openMs);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

/**
 * Open time (ms) of the candle `n` intervals before the one opening at `openMs` (a
 * boundary of `interval`), never below the epoch.
 */
export function intervalsBeforeMs(interval: KlineInterval, openMs: number, n: number): number {
  if (interval === "1M") {
    const d = new Date(openMs);
    return Math.max(0, Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - n, 1));
  }
  const sizeMs = intervalNextOpenMs(interval, openMs) - openMs;
  return Math.max(0, openMs - n * sizeMs);
}
