/**
 * The worker side of {@link SqliteWorkerStore}: a SqliteStore on its own thread, answering
 * `{ id, method, args }` messages with `{ id, ok, value }` or `{ id, ok: false, error }`.
 *
 * As a worker's entry module it serves at once. Another entry module can serve instead by
 * calling {@link serveSqliteStore} when its worker's name is SQLITE_WORKER_NAME: that is
 * how the single-file bundle, which has no separate worker file, runs its store.
 */

import { type PackedRows, unpackRowWrites } from "./packed_rows.ts";
import { SqliteStore, type SqliteStoreOptions } from "./sqlite_store.ts";

interface Call {
  id: number;
  method: string;
  args: unknown[];
}

/** The worker's global scope (typed here: the project is checked with the window lib). */
const scope = self as unknown as {
  onmessage: (e: MessageEvent<Call | { open: SqliteStoreOptions }>) => void;
  postMessage(message: unknown): void;
};

/** The name SqliteWorkerStore gives its worker (an entry module checks `self.name`). */
export const SQLITE_WORKER_NAME = "exchange-sqlite-store";

let store: SqliteStore | null = null;

/** Answers the store's messages on this worker (see the module comment). */
export function serveSqliteStore(): void {
  scope.onmessage = onMessage;
}

/** True on the thread of a SqliteWorkerStore's worker. */
export function isSqliteStoreWorker(): boolean {
  return "WorkerGlobalScope" in globalThis &&
    (self as unknown as { name?: string }).name === SQLITE_WORKER_NAME;
}

if (import.meta.main) serveSqliteStore();

async function onMessage(e: MessageEvent<Call | { open: SqliteStoreOptions }>): Promise<void> {
  const msg = e.data;
  if ("open" in msg) {
    store = new SqliteStore(msg.open);
    return;
  }
  try {
    if (store === null) throw new Error("SQLite worker used before it was opened");
    if (msg.method === "writePacked") {
      for (const part of unpackRowWrites(msg.args[0] as PackedRows)) await store.write(part);
      scope.postMessage({ id: msg.id, ok: true });
      return;
    }
    const fn =
      (store as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[msg.method];
    const value = await fn.apply(store, msg.args);
    scope.postMessage({ id: msg.id, ok: true, value });
  } catch (err) {
    const error = err instanceof Error
      ? { name: err.name, message: err.message }
      : { name: "Error", message: String(err) };
    scope.postMessage({ id: msg.id, ok: false, error });
  }
}
