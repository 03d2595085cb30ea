/**
 * Settlement checkpoints and snapshots as seed 001 designs them: the checkpoint record
 * round-trips as a WAL payload, the snapshot metadata has exactly its three fields, and
 * the recovery point is the snapshot's last trade id raised by later WAL checkpoints.
 */

import assert from "node:assert/strict";
import {
  decodeSettlementCheckpoint,
  encodeSettlementCheckpoint,
  loadSettlementRecovery,
  parseSettlementSnapshotMetadata,
  SETTLEMENT_CHECKPOINT_BYTES,
  SETTLEMENT_WAL_SEGMENT_BYTES,
  settlementRecoveryPoint,
  settlementSnapshotMetadata,
  writeSettlementSnapshot,
} from "../../persistence/settlement_checkpoint.ts";
import { SnapshotStore } from "../../persistence/snapshot_store.ts";
import { listSegments } from "../../persistence/wal_reader.ts";
import { WalWriter } from "../../persistence/wal_writer.ts";

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "settlement_checkpoint_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function appendCheckpoints(dir: string, nextSeq: number, tradeIds: number[]): Promise<void> {
  const w = await WalWriter.open({ dir, nextSeq, segmentBytes: SETTLEMENT_WAL_SEGMENT_BYTES });
  for (const id of tradeIds) {
    w.append(encodeSettlementCheckpoint({ last_trade_id: id, timestamp: 1_700_000_000_000 + id }));
  }
  await w.close();
  assert.equal(w.failed, null);
}

Deno.test("a checkpoint round-trips as a WAL payload, up to the largest safe id", () => {
  for (
    const cp of [{ last_trade_id: 0, timestamp: 0 }, {
      last_trade_id: 1000,
      timestamp: 1_700_000_000_123,
    }, {
      last_trade_id: Number.MAX_SAFE_INTEGER,
      timestamp: Number.MAX_SAFE_INTEGER,
    }]
  ) {
    const bytes = encodeSettlementCheckpoint(cp);
    assert.equal(bytes.length, SETTLEMENT_CHECKPOINT_BYTES);
    assert.deepEqual(decodeSettlementCheckpoint(bytes), cp);
  }
});

Deno.test("a bad checkpoint payload or value is refused with the value", () => {
  assert.throws(
    () => decodeSettlementCheckpoint(new Uint8Array(5)),
    /expected 17 bytes, received 5/,
  );
  const wrongVersion = encodeSettlementCheckpoint({ last_trade_id: 1, timestamp: 1 });
  wrongVersion[0] = 9;
  assert.throws(() => decodeSettlementCheckpoint(wrongVersion), /unknown version 9/);
  const unsafe = encodeSettlementCheckpoint({ last_trade_id: 1, timestamp: 1 });
  unsafe.fill(0xff, 1, 9);
  assert.throws(
    () => decodeSettlementCheckpoint(unsafe),
    /last_trade_id must be a non-negative safe integer/,
  );
  assert.throws(
    () => encodeSettlementCheckpoint({ last_trade_id: -5, timestamp: 1 }),
    /last_trade_id must be a non-negative safe integer, received -5/,
  );
});

Deno.test("snapshot metadata holds exactly format_version, last_trade_id and created_at", () => {
  const meta = settlementSnapshotMetadata(20_000, 1_700_000_000_000);
  assert.deepEqual(Object.keys(meta).sort(), ["created_at", "format_version", "last_trade_id"]);
  assert.deepEqual(parseSettlementSnapshotMetadata({ ...meta }), meta);
  assert.throws(
    () => parseSettlementSnapshotMetadata({ ...meta, format_version: 2 }),
    /unsupported format_version 2/,
  );
  assert.throws(
    () => parseSettlementSnapshotMetadata({ ...meta, last_trade_id: "7" }),
    /last_trade_id must be a non-negative safe integer, received "7"/,
  );
});

Deno.test("the recovery point is the snapshot's id raised by later checkpoints, in seed order", () => {
  assert.deepEqual(settlementRecoveryPoint(null, []), {
    last_trade_id: 0,
    source: "none",
    snapshot_trade_id: null,
    checkpoints: 0,
  });
  const snap = settlementSnapshotMetadata(10_000, 1);
  assert.deepEqual(settlementRecoveryPoint(snap, []).last_trade_id, 10_000);
  const cps = [9_000, 10_000, 11_000, 12_000].map((id) => ({ last_trade_id: id, timestamp: id }));
  assert.deepEqual(settlementRecoveryPoint(snap, cps), {
    last_trade_id: 12_000,
    source: "checkpoint",
    snapshot_trade_id: 10_000,
    checkpoints: 4,
  });
  const older = settlementRecoveryPoint(snap, cps.slice(0, 2));
  assert.deepEqual([older.last_trade_id, older.source], [10_000, "snapshot"]);
  const walOnly = settlementRecoveryPoint(null, cps.slice(0, 1));
  assert.deepEqual([walOnly.last_trade_id, walOnly.source], [9_000, "checkpoint"]);
});

Deno.test("recovery from disk reads the snapshot, then the checkpoint WAL, and the WAL continues", async () => {
  await withTempDir(async (dir) => {
    const snapshots = new SnapshotStore({ dir: `${dir}/snapshots` });
    const walDir = `${dir}/wal`;
    const empty = await loadSettlementRecovery(snapshots, walDir);
    assert.deepEqual([empty.point.last_trade_id, empty.point.source, empty.walNextSeq], [
      0,
      "none",
      1,
    ]);

    await appendCheckpoints(walDir, 1, [1_000, 2_000]);
    const written = await writeSettlementSnapshot(snapshots, 2_000, 1_700_000_000_000);
    assert.equal(written.written, true);
    assert.deepEqual(
      JSON.parse(await Deno.readTextFile(`${written.path}/metadata.json`)),
      { format_version: 1, last_trade_id: 2_000, created_at: 1_700_000_000_000 },
    );
    await appendCheckpoints(walDir, 3, [3_000]);

    const r = await loadSettlementRecovery(snapshots, walDir);
    assert.deepEqual(r.point, {
      last_trade_id: 3_000,
      source: "checkpoint",
      snapshot_trade_id: 2_000,
      checkpoints: 3,
    });
    assert.equal(r.walNextSeq, 4);
    assert.equal(r.tornTail, null);

    const segments = await listSegments(walDir);
    const torn = await Deno.open(segments.at(-1)!.path, { append: true });
    await torn.write(new Uint8Array(10));
    torn.close();
    const again = await loadSettlementRecovery(snapshots, walDir);
    assert.equal(again.point.last_trade_id, 3_000);
    assert.equal(again.tornTail?.droppedBytes, 10);
    await appendCheckpoints(walDir, again.walNextSeq, [4_000]);
    assert.equal((await loadSettlementRecovery(snapshots, walDir)).point.last_trade_id, 4_000);
  });
});
