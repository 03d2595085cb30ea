/**
 * Start-up recovery: the latest complete engine snapshot, then every command in the WAL
 * after it, replayed through the same deterministic code with the decisions the WAL
 * recorded (none are taken again). Rows the store does not have yet (everything after
 * settlement's checkpoint) are written again under the same keys: handed to the store
 * while replaying, and finished in the background (`storeCatchUp`), so the exchange takes
 * commands again as soon as its state is restored, as when the store lags in normal
 * running. Ends with one log line saying what was recovered and how long it took.
 */

import { restoreEngineState } from "../domain/engine_state.ts";
import { EV_TRADE, EventBuffer } from "../domain/event_buffer.ts";
import { KlineAggregator } from "../domain/kline.ts";
import type { Matcher } from "../domain/matcher.ts";
import type { Risk } from "../domain/risk.ts";
import { decodeCommand } from "../persistence/command_codec.ts";
import { loadEngineSnapshot } from "../persistence/engine_snapshot.ts";
import type { SnapshotStore } from "../persistence/snapshot_store.ts";
import type { StoragePort } from "../persistence/storage_port.ts";
import { PackedRowsBuilder, writePackedRows } from "../persistence/packed_rows.ts";
import { SETTLEMENT_BATCH_ROWS } from "./settlement_stage.ts";
import { readWal, type WalTornTail } from "../persistence/wal_reader.ts";
import type { FsPort } from "../persistence/fs_port.ts";

/** Rows written per store transaction while recovering. */
const RECOVERY_BATCH_COMMANDS = 20_000;

export interface Recovered {
  kline: KlineAggregator;
  /** Sequence of the last command in the WAL (0 if empty). */
  lastSeq: number;
  /** The WAL writer continues at this sequence. */
  nextSeq: number;
  /** The engine snapshot's sequence (0 without one). */
  snapshotSeq: number;
  /** Commands replayed from the WAL. */
  replayed: number;
  lastClientRef: number;
  /**
   * Highest trade id in the store once `storeCatchUp` has settled (every trade replayed):
   * settlement continues from it.
   */
  storedTradeId: number;
  /**
   * The store writes of the rows it lacked, still in flight when replay ends; null if
   * there were none. Settlement checkpoints nothing past the store's old point before it
   * resolves. Never rejects unhandled: the caller must handle a rejection (a broken store).
   */
  storeCatchUp: Promise<void> | null;
  /** Rows handed to the store for `storeCatchUp`. */
  catchUpRows: number;
  tornTail: WalTornTail | null;
  elapsedMs: number;
}

/**
 * Restores `risk` and `matcher` (freshly built) from the snapshot and the WAL, and brings
 * the store up to date. `storedTradeId`: every trade up to it is in the store already.
 */
export async function recover(opts: {
  risk: Risk;
  matcher: Matcher;
  snapshots: SnapshotStore;
  walDir: string;
  walFs?: FsPort;
  store: StoragePort;
  storedTradeId: number;
  nowMs: () => number;
}): Promise<Recovered> {
  const started = performance.now();
  const { risk, matcher, store } = opts;
  const snap = await loadEngineSnapshot(opts.snapshots);
  let kline = new KlineAggregator();
  let snapshotSeq = 0;
  let lastClientRef = 0;
  if (snap !== null) {
    restoreEngineState(risk, matcher, snap.engine);
    kline = KlineAggregator.fromJSON(snap.kline);
    snapshotSeq = snap.seq;
    lastClientRef = snap.lastClientRef;
  }
  const buf = new EventBuffer();
  risk.out = buf;
  matcher.out = buf;
  // Rows are needed only past the store's point: once its last trade has been replayed
  // (or at once, if the snapshot already covers it).
  let writing = matcher.nextTradeId - 1 >= opts.storedTradeId;
  let rows = new PackedRowsBuilder();
  let storedTradeId = opts.storedTradeId;
  const writes: Promise<void>[] = [];
  let catchUpRows = 0;
  const flush = () => {
    if (rows.commands === 0) return;
    const batch = rows.take(risk.ledger, opts.nowMs());
    if (batch.maxTradeId > storedTradeId) storedTradeId = batch.maxTradeId;
    catchUpRows += batch.rows;
    rows = new PackedRowsBuilder();
    const w = writePackedRows(store, batch);
    // Handled (as a whole) once replay ends; until then a failure must not count as an
    // unhandled rejection.
    w.catch(() => {});
    writes.push(w);
  };
  let replayed = 0;
  let lastSeq = snapshotSeq;
  const read = await readWal(opts.walDir, {
    fs: opts.walFs,
    afterSeq: snapshotSeq,
    onRecord: (seq, payload) => {
      const r = decodeCommand(payload);
      buf.reset();
      matcher.seq = seq;
      switch (r.type) {
        case "place":
          matcher.place(risk.applyPlace(r.d), risk);
          break;
        case "cancel":
          matcher.cancel(r.c, risk);
          break;
        case "amend":
          matcher.amend(risk.applyAmend(r.d), risk);
          break;
        case "deposit":
          risk.applyDeposit(r.c);
          break;
        case "withdraw":
          risk.applyWithdraw(r.c);
          break;
      }
      risk.lastSettledSeq = seq;
      lastSeq = seq;
      lastClientRef = r.clientRef;
      replayed++;
      if (buf.length === 0) return;
      const f = buf.f;
      let lastTradeId = 0;
      for (let at = 0; at < buf.length; at += EventBuffer.recordLength(f[at])) {
        if (f[at] !== EV_TRADE) continue;
        lastTradeId = f[at + 1];
        kline.apply({
          tradeId: lastTradeId,
          symbolId: f[at + 2],
          priceTicks: f[at + 3],
          qtyUnits: f[at + 4],
          quoteUnits: f[at + 5],
          takerSide: f[at + 6] === 1 ? "SELL" : "BUY",
          tsMs: r.tsMs,
        }, false);
      }
      if (writing) {
        // The rows builder reads the records now; the buffer is reused for the next.
        rows.add(seq, r.tsMs, { buf, from: 0, to: buf.length });
        if (rows.commands >= RECOVERY_BATCH_COMMANDS || rows.size >= SETTLEMENT_BATCH_ROWS) {
          flush();
        }
      } else if (lastTradeId >= opts.storedTradeId) {
        writing = true; // this command's rows are stored; the next ones are not
      }
    },
  });
  flush();
  let storeCatchUp: Promise<void> | null = null;
  if (writes.length > 0) {
    storeCatchUp = Promise.all(writes).then(() => {});
    storeCatchUp.catch(() => {}); // the caller handles it, after a few awaits of its own
  }
  return {
    kline,
    lastSeq,
    nextSeq: read.nextSeq,
    snapshotSeq,
    replayed,
    lastClientRef,
    storedTradeId: Math.max(storedTradeId, matcher.nextTradeId - 1),
    storeCatchUp,
    catchUpRows,
    tornTail: read.tornTail,
    elapsedMs: performance.now() - started,
  };
}
