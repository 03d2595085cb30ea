/**
 * Load for the pipeline bench: an `Exchange` on a fresh temporary data directory with the
 * SQLite store (wrapped to count rows and time spent in writes), and two ways of offering
 * commands to it: closed-loop with a bounded window of submits in flight, and open-loop
 * on a fixed schedule independent of the answers. Both record each command's submit →
 * answer time, in nanoseconds, for an HDR histogram afterwards.
 */

import { Exchange } from "../actors/exchange.ts";
import type { SubmitResult } from "../actors/pipeline_core.ts";
import type { Command } from "../domain/commands.ts";
import { type PackedRows, writePackedRows } from "../persistence/packed_rows.ts";
import { SqliteWorkerStore } from "../persistence/sqlite_worker_store.ts";
import type {
  BalanceRow,
  CandleRow,
  HistoryQuery,
  OrderRow,
  Page,
  StoragePort,
  TradeRow,
  WriteBatch,
} from "../persistence/storage_port.ts";
import { BENCH_ASSETS, BENCH_SYMBOL } from "./command_stream.ts";
import { waitQuiet } from "./data_dirs.ts";

/** Log lines of the exchange are dropped (the bench prints its own); errors still show. */
export const quietLogger = {
  info: () => {},
  warn: (m: string) => console.error(`[exchange warn] ${m}`),
  error: (m: string) => console.error(`[exchange error] ${m}`),
};

/** Rows and time spent in `write`, counted by {@link CountingStore}. */
export interface StoreCounters {
  writes: number;
  rows: number;
  tradeRows: number;
  orderRows: number;
  balanceRows: number;
  candleRows: number;
  /** Time in the synchronous part of the adapter's `write` (node:sqlite is synchronous). */
  writeMs: number;
}

/** A storage port that delegates to another and counts what is written through it. */
export class CountingStore implements StoragePort {
  readonly counters: StoreCounters = {
    writes: 0,
    rows: 0,
    tradeRows: 0,
    orderRows: 0,
    balanceRows: 0,
    candleRows: 0,
    writeMs: 0,
  };
  /** Writes offered after {@link freeze}: never passed on, never settled. */
  droppedWrites = 0;
  droppedRows = 0;
  private frozen = false;
  constructor(readonly inner: StoragePort) {}

  /**
   * From now on writes are lost as in a crash: not passed to the store, and their promises
   * never settle (so settlement never checkpoints them). For a store left behind.
   */
  freeze(): void {
    this.frozen = true;
  }

  resetCounters(): void {
    for (const k of Object.keys(this.counters) as (keyof StoreCounters)[]) this.counters[k] = 0;
  }

  init(): Promise<void> {
    return this.inner.init();
  }
  write(batch: WriteBatch): Promise<void> {
    return this.pass({
      rows: batch.orders.length + batch.trades.length + batch.balances.length +
        batch.candles.length,
      orderRows: batch.orders.length,
      tradeRows: batch.trades.length,
      balanceRows: batch.balances.length,
      candleRows: batch.candles.length,
    }, () => this.inner.write(batch));
  }
  /** Packed batches go on packed (to the SQLite worker), as the pipeline sends them. */
  writePacked(rows: PackedRows): Promise<void> {
    return this.pass({ ...rows, candleRows: 0 }, () => writePackedRows(this.inner, rows));
  }

  /** Passes a write on (or drops it, frozen) and counts its rows once it is stored. */
  private async pass(
    n: Pick<StoreCounters, "rows" | "orderRows" | "tradeRows" | "balanceRows" | "candleRows">,
    write: () => Promise<void>,
  ): Promise<void> {
    if (this.frozen) {
      this.droppedWrites++;
      this.droppedRows += n.rows;
      return new Promise<void>(() => {});
    }
    const c = this.counters;
    // Only the synchronous part is timed: awaiting would also count whatever other
    // tasks run before the continuation.
    const t0 = performance.now();
    const pending = write();
    c.writeMs += performance.now() - t0;
    await pending;
    c.writes++;
    c.rows += n.rows;
    c.orderRows += n.orderRows;
    c.tradeRows += n.tradeRows;
    c.balanceRows += n.balanceRows;
    c.candleRows += n.candleRows;
  }
  lastTradeId(): Promise<number> {
    return this.inner.lastTradeId();
  }
  order(orderId: number): Promise<OrderRow | undefined> {
    return this.inner.order(orderId);
  }
  orders(userId: number, q: HistoryQuery): Promise<Page<OrderRow>> {
    return this.inner.orders(userId, q);
  }
  userTrades(userId: number, q: HistoryQuery): Promise<Page<TradeRow>> {
    return this.inner.userTrades(userId, q);
  }
  publicTrades(symbolId: number, limit: number): Promise<TradeRow[]> {
    return this.inner.publicTrades(symbolId, limit);
  }
  balances(userId: number): Promise<BalanceRow[]> {
    return this.inner.balances(userId);
  }
  candles(
    symbolId: number,
    interval: string,
    startMs: number,
    endMs: number,
    limit: number,
  ): Promise<CandleRow[]> {
    return this.inner.candles(symbolId, interval, startMs, endMs, limit);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/**
 * A store that accepts every write and keeps nothing: the same pipeline without SQLite,
 * to measure what the store costs. Reads return nothing.
 */
export const discardingStore: StoragePort = {
  init: () => Promise.resolve(),
  write: () => Promise.resolve(),
  writePacked: () => Promise.resolve(),
  lastTradeId: () => Promise.resolve(0),
  order: () => Promise.resolve(undefined),
  orders: () => Promise.resolve({ rows: [] }),
  userTrades: () => Promise.resolve({ rows: [] }),
  publicTrades: () => Promise.resolve([]),
  balances: () => Promise.resolve([]),
  candles: () => Promise.resolve([]),
  close: () => Promise.resolve(),
};

/**
 * An exchange on `dataDir` for the bench market with a counted SQLite store (on its worker thread) (or, with
 * `discard`, a counted {@link discardingStore}). `openMs` is the wall time of `open`.
 */
export async function openBenchExchange(
  dataDir: string,
  snapshotEveryCommands: number,
  discard = false,
): Promise<{ exchange: Exchange; store: CountingStore; openMs: number }> {
  const store = new CountingStore(
    discard ? discardingStore : new SqliteWorkerStore({ path: `${dataDir}/exchange.db` }),
  );
  const t0 = performance.now();
  const exchange = await Exchange.open({
    dataDir,
    assets: BENCH_ASSETS,
    symbols: [BENCH_SYMBOL],
    store,
    maxOpenOrdersPerUser: 1_000_000,
    snapshotEveryCommands,
    logger: quietLogger,
  });
  return { exchange, store, openMs: performance.now() - t0 };
}

/**
 * Halts the exchange (a crash-like stop) and waits until nothing more is written into its
 * data directory (see {@link waitQuiet}), so the directory can be copied or removed.
 */
export async function haltQuiet(exchange: Exchange, dataDir: string): Promise<void> {
  await exchange.halt();
  if (!(await waitQuiet(dataDir))) {
    console.error(`[bench] a settlement snapshot in ${dataDir} was still busy 5 s after halt()`);
  }
}

/** What a load run saw. */
export interface LoadRun {
  commands: number;
  /** First submit to the last answer. */
  answeredMs: number;
  /** Answers with status "done" that carried a business rejection. */
  rejected: number;
  /** Answers "overload" (the command was offered again later) and "unavailable". */
  overloads: number;
  unavailable: number;
  /** Submit → answer of each command, in ns, in submit order (retries: from the retry). */
  latencyNs: Float64Array;
  /** Most submits that were in flight at once. */
  inFlightMax: number;
}

function isRejected(r: SubmitResult): boolean {
  if (r.status !== "done") return false;
  for (const e of r.events) if (e.type === "rejected") return true;
  return false;
}

/**
 * Submits `cmds` in order keeping at most `window` submits in flight (a new one as each
 * answer arrives). An "overload" answer is offered again after a timer turn (or with the
 * next refill), so a full exchange is not hammered in a loop of microtasks.
 */
export function runWindowed(
  ex: Exchange,
  cmds: readonly Command[],
  window: number,
  firstClientRef = 1,
): Promise<LoadRun> {
  const n = cmds.length;
  const latencyNs = new Float64Array(n);
  const sentAt = new Float64Array(n);
  const retry: number[] = [];
  let next = 0;
  let answered = 0;
  let inFlight = 0;
  let inFlightMax = 0;
  let rejected = 0;
  let overloads = 0;
  let unavailable = 0;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let t0 = 0;
  return new Promise((resolve) => {
    const send = (i: number) => {
      inFlight++;
      sentAt[i] = performance.now();
      ex.submit(cmds[i], firstClientRef + i).then((r) => onAnswer(i, r));
    };
    const retryLater = () => {
      retryTimer ??= setTimeout(() => {
        retryTimer = undefined;
        fill();
      }, 1);
    };
    const fill = () => {
      while (inFlight < window) {
        if (retry.length > 0) send(retry.shift() as number);
        else if (next < n) send(next++);
        else break;
      }
      if (inFlight > inFlightMax) inFlightMax = inFlight;
    };
    const onAnswer = (i: number, r: SubmitResult) => {
      const t = performance.now();
      inFlight--;
      if (r.status === "overload") {
        overloads++;
        retry.push(i);
        retryLater();
        return;
      } else {
        if (r.status === "unavailable") unavailable++;
        else if (isRejected(r)) rejected++;
        latencyNs[i] = (t - sentAt[i]) * 1e6;
        if (++answered === n) {
          resolve({
            commands: n,
            answeredMs: t - t0,
            rejected,
            overloads,
            unavailable,
            latencyNs,
            inFlightMax,
          });
          return;
        }
      }
      // Refill in bursts (a quarter of the window), not one submit per answer.
      if (inFlight <= window - (window >> 2) || next >= n) fill();
    };
    t0 = performance.now();
    fill();
  });
}

/** What an open-loop run saw, beyond {@link LoadRun}. */
export interface PacedRun extends LoadRun {
  /** Commands per second offered by the schedule. */
  ratePerS: number;
  /** Intended send time → answer (the schedule's lag included), in ns. */
  scheduledLatencyNs: Float64Array;
  /** Largest lag of a submit behind its scheduled time, in ms. */
  pacingLagMsMax: number;
}

/**
 * Offers `cmds` at `ratePerS`, on a schedule independent of the answers: every `tickMs`
 * timer turn submits every command whose scheduled time has come. An "overload" answer
 * counts and the command is offered again at the next turn.
 */
export function runPaced(
  ex: Exchange,
  cmds: readonly Command[],
  ratePerS: number,
  tickMs = 1,
  firstClientRef = 1,
): Promise<PacedRun> {
  const n = cmds.length;
  const latencyNs = new Float64Array(n);
  const scheduledLatencyNs = new Float64Array(n);
  const sentAt = new Float64Array(n);
  const retry: number[] = [];
  const msPerCommand = 1000 / ratePerS;
  let next = 0;
  let answered = 0;
  let inFlight = 0;
  let inFlightMax = 0;
  let rejected = 0;
  let overloads = 0;
  let unavailable = 0;
  let pacingLagMsMax = 0;
  let tickPending = false;
  let t0 = 0;
  return new Promise((resolve) => {
    const schedule = () => {
      if (tickPending) return;
      tickPending = true;
      setTimeout(tick, tickMs);
    };
    const send = (i: number, now: number) => {
      inFlight++;
      sentAt[i] = now;
      ex.submit(cmds[i], firstClientRef + i).then((r) => onAnswer(i, r));
    };
    const onAnswer = (i: number, r: SubmitResult) => {
      const t = performance.now();
      inFlight--;
      if (r.status === "overload") {
        overloads++;
        retry.push(i);
        schedule();
        return;
      }
      if (r.status === "unavailable") unavailable++;
      else if (isRejected(r)) rejected++;
      latencyNs[i] = (t - sentAt[i]) * 1e6;
      scheduledLatencyNs[i] = (t - (t0 + i * msPerCommand)) * 1e6;
      if (++answered === n) {
        resolve({
          commands: n,
          answeredMs: t - t0,
          rejected,
          overloads,
          unavailable,
          latencyNs,
          scheduledLatencyNs,
          inFlightMax,
          ratePerS,
          pacingLagMsMax,
        });
      }
    };
    const tick = () => {
      tickPending = false;
      const now = performance.now();
      while (retry.length > 0) send(retry.shift() as number, now);
      const due = Math.min(n, Math.floor((now - t0) / msPerCommand) + 1);
      if (next < due) {
        const lag = now - (t0 + next * msPerCommand);
        if (lag > pacingLagMsMax) pacingLagMsMax = lag;
      }
      while (next < due) send(next++, now);
      if (inFlight > inFlightMax) inFlightMax = inFlight;
      if (next < n) schedule();
    };
    t0 = performance.now();
    tick();
  });
}
