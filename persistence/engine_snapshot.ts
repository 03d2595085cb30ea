/**
 * Engine snapshots on disk: the shard's and the matcher's state (domain/engine_state.ts)
 * and the candle aggregator's, at a command sequence, written through the snapshot store
 * (temporary directory, COMPLETE marker with checksums, atomic rename, `latest` link,
 * the last 3 kept). Recovery loads the latest and replays the command WAL after it.
 */

import type { EngineState } from "../domain/engine_state.ts";
import type { KlineState } from "../domain/kline.ts";
import type { ArenaState } from "../domain/record_arena.ts";
import type { SnapshotStore } from "./snapshot_store.ts";

export const ENGINE_SNAPSHOT_FORMAT_VERSION = 1;

export interface EngineSnapshot {
  /** Every command up to this sequence is in the state. */
  seq: number;
  engine: EngineState;
  kline: KlineState;
  /** The caller's reference of the last command (for clients resuming a stream). */
  lastClientRef: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Writes `snap` as snapshot `snap.seq`; the record arenas go as binary files. */
export async function writeEngineSnapshot(
  store: SnapshotStore,
  snap: EngineSnapshot,
  createdAtMs: number,
): Promise<void> {
  const holds = snap.engine.risk.holds;
  const orders = snap.engine.matcher.orders;
  const json = {
    ...snap,
    engine: {
      ...snap.engine,
      risk: { ...snap.engine.risk, holds: { ...holds, records: undefined } },
      matcher: { ...snap.engine.matcher, orders: { ...orders, records: undefined } },
    },
  };
  await store.write(
    snap.seq,
    {
      "state.json": encoder.encode(JSON.stringify(json)),
      "holds.bin": holds.records,
      "orders.bin": orders.records,
    },
    {
      format_version: ENGINE_SNAPSHOT_FORMAT_VERSION,
      seq: snap.seq,
      created_at: createdAtMs,
    },
  );
}

/** The latest complete engine snapshot, or null if there is none. */
export async function loadEngineSnapshot(store: SnapshotStore): Promise<EngineSnapshot | null> {
  const loaded = await store.loadLatest();
  if (loaded === null) return null;
  const version = loaded.metadata.format_version;
  if (version !== ENGINE_SNAPSHOT_FORMAT_VERSION) {
    throw new Error(
      `Engine snapshot ${loaded.path} has format_version ${version}, this build reads ${ENGINE_SNAPSHOT_FORMAT_VERSION}`,
    );
  }
  const need = (name: string) => {
    const f = loaded.files[name];
    if (f === undefined) throw new Error(`Engine snapshot ${loaded.path} has no ${name}`);
    return f;
  };
  const snap = JSON.parse(decoder.decode(need("state.json"))) as EngineSnapshot;
  (snap.engine.risk.holds as ArenaState).records = need("holds.bin");
  (snap.engine.matcher.orders as ArenaState).records = need("orders.bin");
  return snap;
}
