/**
 * Settlement's durable progress, as seed 001 designs it: a
 * `SettlementCheckpoint { last_trade_id, timestamp }` record in settlement's own WAL
 * every 1,000 trades, and a settlement snapshot whose `metadata.json` holds exactly
 * `format_version`, `last_trade_id` and `created_at`. On (re)start settlement reads the
 * snapshot first, then the WAL checkpoints; the recovery point is the highest
 * `last_trade_id` of the two, and every trade after it is delivered again.
 *
 * Timestamps (`timestamp`, `created_at`) are milliseconds since the epoch.
 */

import type { FsPort } from "./fs_port.ts";
import type { SnapshotMetadata, SnapshotStore, SnapshotWriteResult } from "./snapshot_store.ts";
import { readWal, type WalTornTail } from "./wal_reader.ts";

/** A checkpoint: every trade up to `last_trade_id` is applied and persisted. */
export interface SettlementCheckpoint {
  last_trade_id: number;
  timestamp: number;
}

/** The `metadata.json` of a settlement snapshot. */
export interface SettlementSnapshotMetadata {
  format_version: number;
  last_trade_id: number;
  created_at: number;
}

/** Version byte in front of an encoded checkpoint. */
export const SETTLEMENT_CHECKPOINT_VERSION = 1;
/** `format_version` of the settlement snapshots this code writes and reads. */
export const SETTLEMENT_SNAPSHOT_FORMAT_VERSION = 1;
/** A checkpoint every this many trades (seed 001). */
export const SETTLEMENT_CHECKPOINT_EVERY_TRADES = 1_000;
/** A settlement snapshot every this many trades (seed 001), and at shutdown. */
export const SETTLEMENT_SNAPSHOT_EVERY_TRADES = 10_000;
/**
 * Segment size for the checkpoint WAL: records are 33 bytes, so small segments let
 * `truncateBefore` drop the checkpoints a snapshot made obsolete.
 */
export const SETTLEMENT_WAL_SEGMENT_BYTES = 1 << 20;
/** Bytes of an encoded checkpoint: version u8, last_trade_id u64, timestamp u64 (LE). */
export const SETTLEMENT_CHECKPOINT_BYTES = 17;

function checkId(what: string, name: string, v: unknown): number {
  if (!(typeof v === "number" && Number.isSafeInteger(v) && v >= 0)) {
    throw new RangeError(
      `Invalid ${what}: ${name} must be a non-negative safe integer, received ${JSON.stringify(v)}`,
    );
  }
  return v;
}

/** The WAL payload of `checkpoint`. Throws a RangeError for a negative or unsafe field. */
export function encodeSettlementCheckpoint(checkpoint: SettlementCheckpoint): Uint8Array {
  const out = new Uint8Array(SETTLEMENT_CHECKPOINT_BYTES);
  const view = new DataView(out.buffer);
  view.setUint8(0, SETTLEMENT_CHECKPOINT_VERSION);
  view.setBigUint64(
    1,
    BigInt(checkId("settlement checkpoint", "last_trade_id", checkpoint.last_trade_id)),
    true,
  );
  view.setBigUint64(
    9,
    BigInt(checkId("settlement checkpoint", "timestamp", checkpoint.timestamp)),
    true,
  );
  return out;
}

/** The checkpoint in a WAL payload. Throws a RangeError naming the bad size, version or value. */
export function decodeSettlementCheckpoint(payload: Uint8Array): SettlementCheckpoint {
  if (payload.length !== SETTLEMENT_CHECKPOINT_BYTES) {
    throw new RangeError(
      `Invalid settlement checkpoint: expected ${SETTLEMENT_CHECKPOINT_BYTES} bytes, received ${payload.length}`,
    );
  }
  const view = new DataView(payload.buffer, payload.byteOffset, payload.length);
  const version = view.getUint8(0);
  if (version !== SETTLEMENT_CHECKPOINT_VERSION) {
    throw new RangeError(`Invalid settlement checkpoint: unknown version ${version}`);
  }
  return {
    last_trade_id: checkId(
      "settlement checkpoint",
      "last_trade_id",
      Number(view.getBigUint64(1, true)),
    ),
    timestamp: checkId("settlement checkpoint", "timestamp", Number(view.getBigUint64(9, true))),
  };
}

/** The metadata of a settlement snapshot taken after trade `lastTradeId`. */
export function settlementSnapshotMetadata(
  lastTradeId: number,
  createdAtMs: number,
): SettlementSnapshotMetadata {
  return {
    format_version: SETTLEMENT_SNAPSHOT_FORMAT_VERSION,
    last_trade_id: checkId("settlement snapshot metadata", "last_trade_id", lastTradeId),
    created_at: checkId("settlement snapshot metadata", "created_at", createdAtMs),
  };
}

/** Validates a loaded `metadata.json`. Throws a RangeError naming the bad field or version. */
export function parseSettlementSnapshotMetadata(
  metadata: SnapshotMetadata,
): SettlementSnapshotMetadata {
  if (metadata.format_version !== SETTLEMENT_SNAPSHOT_FORMAT_VERSION) {
    throw new RangeError(
      `Invalid settlement snapshot metadata: unsupported format_version ${
        JSON.stringify(metadata.format_version)
      }`,
    );
  }
  return settlementSnapshotMetadata(
    metadata.last_trade_id as number,
    metadata.created_at as number,
  );
}

/**
 * Writes a settlement snapshot after trade `lastTradeId` (its id in the store) with the
 * seed's metadata and any extra `files`. A snapshot with the same id is kept as is.
 */
export function writeSettlementSnapshot(
  snapshots: SnapshotStore,
  lastTradeId: number,
  createdAtMs: number,
  files: Record<string, Uint8Array> = {},
): Promise<SnapshotWriteResult> {
  const metadata = settlementSnapshotMetadata(lastTradeId, createdAtMs);
  return snapshots.write(lastTradeId, files, { ...metadata });
}

/** Where settlement resumes. */
export interface SettlementRecoveryPoint {
  /** Every trade up to this id is applied; trades after it are delivered again. */
  last_trade_id: number;
  /** Which source gave the point. */
  source: "none" | "snapshot" | "checkpoint";
  /** The snapshot's `last_trade_id`, or null without a snapshot. */
  snapshot_trade_id: number | null;
  /** Checkpoint records read from the WAL. */
  checkpoints: number;
}

/**
 * The recovery point from a snapshot's metadata (or null) and the WAL checkpoints, in
 * seed order: the snapshot first, then each checkpoint raises the point if it is later.
 */
export function settlementRecoveryPoint(
  snapshot: SettlementSnapshotMetadata | null,
  checkpoints: Iterable<SettlementCheckpoint>,
): SettlementRecoveryPoint {
  const point: SettlementRecoveryPoint = {
    last_trade_id: 0,
    source: "none",
    snapshot_trade_id: null,
    checkpoints: 0,
  };
  if (snapshot !== null) {
    point.last_trade_id = snapshot.last_trade_id;
    point.snapshot_trade_id = snapshot.last_trade_id;
    point.source = "snapshot";
  }
  for (const c of checkpoints) {
    point.checkpoints++;
    if (point.source === "none" || c.last_trade_id > point.last_trade_id) {
      point.last_trade_id = c.last_trade_id;
      point.source = "checkpoint";
    }
  }
  return point;
}

/** What {@link loadSettlementRecovery} found on disk. */
export interface SettlementRecovery {
  point: SettlementRecoveryPoint;
  /** The loaded snapshot's extra files (empty without a snapshot). */
  files: Record<string, Uint8Array>;
  /** Open the checkpoint WAL writer with this `nextSeq`. */
  walNextSeq: number;
  /** A torn checkpoint record cut from the WAL tail, to log as a warning. */
  tornTail: WalTornTail | null;
}

/**
 * Reads the newest complete settlement snapshot from `snapshots`, then every checkpoint
 * in the WAL at `walDir` (cutting a torn tail), and returns the recovery point. Throws
 * the WAL's or the snapshot's corruption error, or a RangeError for bad metadata or a
 * bad checkpoint payload.
 */
export async function loadSettlementRecovery(
  snapshots: SnapshotStore,
  walDir: string,
  fs?: FsPort,
): Promise<SettlementRecovery> {
  const snap = await snapshots.loadLatest();
  const meta = snap === null ? null : parseSettlementSnapshotMetadata(snap.metadata);
  const checkpoints: SettlementCheckpoint[] = [];
  const read = await readWal(walDir, {
    fs,
    onRecord: (_seq, payload) => checkpoints.push(decodeSettlementCheckpoint(payload)),
  });
  return {
    point: settlementRecoveryPoint(meta, checkpoints),
    files: snap?.files ?? {},
    walNextSeq: read.nextSeq,
    tornTail: read.tornTail,
  };
}
