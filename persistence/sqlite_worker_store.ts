/**
 * The SQLite adapter on a worker thread: the same {@link SqliteStore}, behind the storage
 * port, but its inserts, commits and checkpoints run on another core instead of the
 * event loop that carries the pipeline (on the main thread they took about 40 % of it and
 * stalled it for tens of milliseconds at each SQLite checkpoint). Batches cross as
 * structured clones, packed batches as typed arrays moved without a copy (their rows are
 * built on the worker); calls are answered in order.
 */

import { SQLITE_WORKER_NAME } from "./sqlite_worker.ts";
import type { PackedRows } from "./packed_rows.ts";
import type { SqliteStoreOptions } from "./sqlite_store.ts";
import type {
  BalanceRow,
  CandleRow,
  HistoryQuery,
  OrderRow,
  Page,
  StoragePort,
  TradeRow,
  WriteBatch,
} from "./storage_port.ts";

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

export class SqliteWorkerStore implements StoragePort {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;

  /**
   * `workerUrl`: the worker's entry module; default sqlite_worker.ts. A bundle passes its
   * own URL, and its entry serves the store when named SQLITE_WORKER_NAME.
   */
  constructor(options: SqliteStoreOptions & { workerUrl?: string } = {}) {
    const { workerUrl, ...storeOptions } = options;
    options = storeOptions;
    this.worker = new Worker(workerUrl ?? new URL("./sqlite_worker.ts", import.meta.url).href, {
      type: "module",
      name: SQLITE_WORKER_NAME,
    });
    this.worker.onmessage = (
      e: MessageEvent<
        { id: number; ok: boolean; value?: unknown; error?: { name: string; message: string } }
      >,
    ) => {
      const m = e.data;
      const p = this.pending.get(m.id);
      if (p === undefined) return;
      this.pending.delete(m.id);
      if (m.ok) {
        p.resolve(m.value);
      } else {
        const err = m.error?.name === "RangeError"
          ? new RangeError(m.error.message)
          : new Error(m.error?.message);
        if (m.error !== undefined) err.name = m.error.name;
        p.reject(err);
      }
    };
    this.worker.onerror = (e) => {
      e.preventDefault();
      const err = new Error(`SQLite worker failed: ${e.message}`);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    this.worker.postMessage({ open: options });
  }

  private call<T>(method: keyof StoragePort, ...args: unknown[]): Promise<T> {
    return this.callTransfer(method, [], ...args);
  }

  private callTransfer<T>(
    method: keyof StoragePort,
    transfer: ArrayBuffer[],
    ...args: unknown[]
  ): Promise<T> {
    if (this.closed) return Promise.reject(new Error(`SQLite store is closed (call ${method})`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ id, method, args }, transfer);
    });
  }

  init(): Promise<void> {
    return this.call("init");
  }
  write(batch: WriteBatch): Promise<void> {
    return this.call("write", batch);
  }
  /** Moves the batch's arrays to the worker (no copy), which builds and writes the rows. */
  writePacked(rows: PackedRows): Promise<void> {
    return this.callTransfer("writePacked", [rows.f.buffer, rows.balances.buffer], rows);
  }
  lastTradeId(): Promise<number> {
    return this.call("lastTradeId");
  }
  order(orderId: number): Promise<OrderRow | undefined> {
    return this.call("order", orderId);
  }
  orders(userId: number, q: HistoryQuery): Promise<Page<OrderRow>> {
    return this.call("orders", userId, q);
  }
  userTrades(userId: number, q: HistoryQuery): Promise<Page<TradeRow>> {
    return this.call("userTrades", userId, q);
  }
  publicTrades(symbolId: number, limit: number): Promise<TradeRow[]> {
    return this.call("publicTrades", symbolId, limit);
  }
  balances(userId: number): Promise<BalanceRow[]> {
    return this.call("balances", userId);
  }
  candles(
    symbolId: number,
    interval: string,
    startMs: number,
    endMs: number,
    limit: number,
  ): Promise<CandleRow[]> {
    return this.call("candles", symbolId, interval, startMs, endMs, limit);
  }

  /** Closes the database, then ends the worker. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.call("close");
    } finally {
      this.closed = true;
      this.worker.terminate();
    }
  }
}
