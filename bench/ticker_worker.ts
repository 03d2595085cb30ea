/**
 * A Worker that wakes the load generator's open loop on time: it sleeps with
 * `Atomics.wait` (sub-millisecond, unlike timers in the event loop, which fire 1 to 2 ms
 * late) until the next scheduled request and posts its number; the generator then sends
 * every request that is due. Start it with {@link TickerStart}; it ends after the last.
 */

/** The schedule: request i is due at `startEpochMs + i * intervalMs`. */
export interface TickerStart {
  startEpochMs: number;
  intervalMs: number;
  total: number;
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
// This module runs as a Worker; the checker types `self` as a window.
const worker = self as unknown as {
  onmessage: (e: MessageEvent<TickerStart>) => void;
  postMessage(i: number): void;
  close(): void;
};

worker.onmessage = (e) => {
  const { startEpochMs, intervalMs, total } = e.data;
  const t0 = startEpochMs - performance.timeOrigin;
  let i = 0;
  while (i < total) {
    const wait = t0 + i * intervalMs - performance.now();
    if (wait > 0) Atomics.wait(sleeper, 0, 0, wait);
    worker.postMessage(i);
    // Requests that fell due while posting are sent with this one: skip to the next, but
    // always post the last one, which tells the generator the schedule is complete.
    const dueNow = Math.floor((performance.now() - t0) / intervalMs) + 1;
    i = i === total - 1 ? total : Math.max(i + 1, Math.min(total - 1, dueNow));
  }
  worker.close();
};
