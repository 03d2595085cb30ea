/**
 * Recovery scenario of the pipeline bench: a data directory whose command WAL holds
 * 1,000,000 records after the last engine snapshot (none is taken: the snapshot interval
 * is larger than the run, and the exchange is halted, not stopped), and the time
 * `Exchange.open` takes on a fresh copy of it.
 *
 * Recovery also hands the store the rows of every command after the point the store is
 * known to hold (min of settlement's checkpoint and the store's last trade id); the
 * exchange takes commands while the store writes them. Both times are measured: until
 * `Exchange.open` returns, and until the store has every row. The same WAL is recovered
 * with three states of the store:
 *  - "settled": every row persisted before the halt (`whenIdle()` then `halt()`), the
 *    realistic case of a crash at a quiet moment;
 *  - "behind": the store stops taking writes before the last 100,000 commands (as if it
 *    had died with the process), so recovery writes their rows;
 *  - "store lost": the SQLite file removed, so every row is written again (the worst case).
 */

import type { Command } from "../domain/commands.ts";
import { SqliteStore } from "../persistence/sqlite_store.ts";
import { copyTree, removeTree } from "./data_dirs.ts";
import { haltQuiet, openBenchExchange, runWindowed, type StoreCounters } from "./pipeline_load.ts";

/** What the data directory held when the exchange was halted. */
export interface BuiltDir {
  dir: string;
  /** Records in the command WAL (= commands accepted). */
  walRecords: number;
  /** The store's last trade id after the halt, read back from the file. */
  storedTradeId: number;
  /** Commands submitted after the store stopped taking writes (0 when settled). */
  unstoredCommands: number;
  buildMs: number;
}

/** One timed `Exchange.open` on a copy of a built directory. */
export interface RecoveryRun {
  /** `exchange.recovery.elapsedMs`: snapshot load + WAL replay. */
  recoveryMs: number;
  /**
   * Wall time of `Exchange.open` (store init, settlement state, recovery, stage start):
   * until the exchange takes commands again.
   */
  openMs: number;
  /** From the start of `Exchange.open` until the store has every row (`whenIdle()`). */
  storedMs: number;
  replayed: number;
  snapshotSeq: number;
  lastSeq: number;
  /** What recovery wrote to the store (rows of commands the store did not have). */
  store: StoreCounters;
}

/** A large interval: no periodic engine snapshot is taken while building. */
const NO_SNAPSHOT = 1_000_000_000;

/**
 * Runs `funding` then `cmds` through a new exchange on `dir` and halts it (no snapshot).
 * With `unstoredCommands` = 0, waits for settlement to catch up first (`whenIdle()`).
 * Otherwise the store stops taking writes before the last `unstoredCommands` commands are
 * submitted, as if it had died with the process: recovery must write their rows. (Halting
 * at the last answer is not enough: the SQLite adapter writes a batch synchronously when it
 * is handed over, so the store is complete a few milliseconds after the last answer.)
 */
export async function buildRecoveryDir(
  dir: string,
  funding: readonly Command[],
  cmds: readonly Command[],
  window: number,
  unstoredCommands: number,
): Promise<BuiltDir> {
  const t0 = performance.now();
  const { exchange, store } = await openBenchExchange(dir, NO_SNAPSHOT);
  let walRecords: number;
  try {
    await runWindowed(exchange, funding, window);
    const stored = cmds.length - unstoredCommands;
    await runWindowed(exchange, cmds.slice(0, stored), window, funding.length + 1);
    if (unstoredCommands === 0) {
      await exchange.whenIdle();
    } else {
      // The store first catches up, so exactly the last `unstoredCommands` are missing
      // from it (and the backlog stays under the exchange's in-flight bound, which would
      // otherwise answer "overload" for ever once the frozen store stops settling).
      await exchange.whenIdle();
      store.freeze();
      await runWindowed(exchange, cmds.slice(stored), window, funding.length + stored + 1);
    }
    walRecords = exchange.stats().durableSeq;
  } finally {
    await haltQuiet(exchange, dir);
  }
  const probe = new SqliteStore({ path: `${dir}/exchange.db` });
  await probe.init();
  const storedTradeId = await probe.lastTradeId();
  await probe.close();
  return { dir, walRecords, storedTradeId, unstoredCommands, buildMs: performance.now() - t0 };
}

/**
 * Copies `source` to a new directory, lets `prepare` change the copy (e.g. remove the
 * store), times `Exchange.open` on it, halts the exchange and removes the copy.
 */
export async function timeRecovery(
  source: string,
  prepare: (dir: string) => Promise<void> = () => Promise.resolve(),
): Promise<RecoveryRun> {
  const dir = await Deno.makeTempDir({ prefix: "pipeline_bench_recover_" });
  try {
    await copyTree(source, dir);
    await prepare(dir);
    const t0 = performance.now();
    const { exchange, store, openMs } = await openBenchExchange(dir, NO_SNAPSHOT);
    await exchange.whenIdle();
    const storedMs = performance.now() - t0;
    const r = exchange.recovery;
    const run = {
      recoveryMs: r.elapsedMs,
      openMs,
      storedMs,
      replayed: r.replayed,
      snapshotSeq: r.snapshotSeq,
      lastSeq: r.lastSeq,
      store: { ...store.counters },
    };
    await haltQuiet(exchange, dir);
    return run;
  } finally {
    await removeTree(dir);
  }
}

/** Removes the SQLite store files of a data directory (the "store lost" case). */
export async function removeStore(dir: string): Promise<void> {
  for (const f of ["exchange.db", "exchange.db-wal", "exchange.db-shm"]) {
    await Deno.remove(`${dir}/${f}`).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
  }
}
