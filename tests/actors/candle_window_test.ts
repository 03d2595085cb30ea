/**
 * The candle window of klines queries (actors/candle_window.ts), against a store that holds
 * given one-minute candles: the live candle replaces its stored copy, a start gives the
 * first `limit` candles, no start the latest `limit` intervals.
 */

import assert from "node:assert/strict";
import { readCandles } from "../../actors/candle_window.ts";
import type { CandleRow } from "../../persistence/storage_port.ts";

function candle(openMs: number, closeTicks: number): CandleRow {
  return {
    symbolId: 0,
    interval: "1m",
    openMs,
    closeMs: openMs + 59_999,
    openTicks: closeTicks,
    highTicks: closeTicks,
    lowTicks: closeTicks,
    closeTicks,
    baseVolumeUnits: 1,
    quoteVolumeUnits: 1,
    trades: 1,
    takerBuyBaseUnits: 0,
    takerBuyQuoteUnits: 0,
    closed: true,
  };
}

/** A store holding `stored` 1m candles, recording each query's (start, end, limit). */
function candleStore(stored: CandleRow[], asked: number[][]) {
  return {
    candles: (_s: number, _i: string, startMs: number, endMs: number, limit: number) => {
      asked.push([startMs, endMs, limit]);
      return Promise.resolve(
        stored.filter((c) => c.openMs >= startMs && c.openMs <= endMs).slice(0, limit),
      );
    },
  };
}

Deno.test("candle window: the live candle replaces its stored copy and never pushes out an older one", async () => {
  const m = 60_000;
  const stored = [candle(1 * m, 10), candle(2 * m, 20), candle(3 * m, 30)];
  const asked: number[][] = [];
  const store = candleStore(stored, asked);
  const q = { symbolId: 0, interval: "1m" as const };
  const live = (openMs: number, closeTicks: number) => ({
    ...candle(openMs, closeTicks),
    closed: false,
  });
  // The live candle replaces the stored copy of the same minute.
  const all = await readCandles(store, live(3 * m, 35), {
    ...q,
    startMs: 0,
    limit: 10,
    nowMs: 4 * m,
  });
  assert.deepEqual(all.map((c) => [c.openMs, c.closeTicks, c.closed]), [
    [1 * m, 10, true],
    [2 * m, 20, true],
    [3 * m, 35, false],
  ]);
  // From a start, the first `limit` candles: a later live candle does not displace them.
  const firstTwo = await readCandles(store, live(5 * m, 50), {
    ...q,
    startMs: 0,
    limit: 2,
    nowMs: 6 * m,
  });
  assert.deepEqual(firstTwo.map((c) => c.openMs), [1 * m, 2 * m]);
  // Without a start, the last `limit` intervals up to now, the live one included.
  asked.length = 0;
  const latest = await readCandles(store, live(5 * m, 50), {
    ...q,
    limit: 2,
    nowMs: 5 * m + 30_000,
  });
  assert.deepEqual(asked, [[4 * m, 5 * m + 30_000, 2]]);
  assert.deepEqual(latest.map((c) => c.openMs), [5 * m]);
  // Without a start but with an end: the last `limit` intervals up to the end.
  asked.length = 0;
  const upTo = await readCandles(store, live(5 * m, 50), {
    ...q,
    endMs: 2 * m + 1,
    limit: 2,
    nowMs: 6 * m,
  });
  assert.deepEqual(asked, [[1 * m, 2 * m + 1, 2]]);
  assert.deepEqual(upTo.map((c) => c.openMs), [1 * m, 2 * m]);
});
