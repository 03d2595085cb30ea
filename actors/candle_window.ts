/**
 * Which candles a klines query returns, for both APIs: the store's, with the candle in
 * progress taking the place of its stored (possibly older) copy. With a start, the first
 * `limit` candles opening in [startMs, endMs]; without one, the latest `limit` intervals
 * up to `endMs`, which defaults to now (as Binance selects klines). Intervals without
 * trades have no candle.
 */

import {
  intervalOpenMs,
  intervalsBeforeMs,
  type KlineInterval,
} from "../domain/kline_intervals.ts";
import type { CandleRow, StoragePort } from "../persistence/storage_port.ts";

export interface CandleQuery {
  symbolId: number;
  interval: KlineInterval;
  startMs?: number;
  endMs?: number;
  limit: number;
  nowMs: number;
}

/** The candles of `q`, oldest first; `live` is the interval's candle in progress, if any. */
export async function readCandles(
  store: Pick<StoragePort, "candles">,
  live: CandleRow | undefined,
  q: CandleQuery,
): Promise<CandleRow[]> {
  const end = q.endMs ?? (q.startMs === undefined ? q.nowMs : Number.MAX_SAFE_INTEGER);
  // Without a start the window is exactly `limit` intervals long, so the store's "first
  // `limit` rows of the window" are also the latest `limit`.
  const start = q.startMs ??
    intervalsBeforeMs(q.interval, intervalOpenMs(q.interval, end), q.limit - 1);
  const stored = await store.candles(q.symbolId, q.interval, start, end, q.limit);
  if (live === undefined || live.openMs < start || live.openMs > end) return stored;
  const rows = stored.filter((c) => c.openMs !== live.openMs);
  rows.push(live);
  rows.sort((a, b) => a.openMs - b.openMs);
  // The first `limit` of the window: a live candle past a full page stays out of it.
  return rows.slice(0, q.limit);
}
