/**
 * The WAL writer: records round-trip through segment rotation, group commit (one write
 * and one fsync per batch), durability is never reported before the fsync, failed
 * writes and fsyncs stop the writer, bounded pending records, truncation, reopening.
 */

import assert from "node:assert/strict";
import { FaultyFs } from "../../persistence/fs_port.ts";
import { listSegments, readWal } from "../../persistence/wal_reader.ts";
import {
  APPEND_CLOSED,
  APPEND_FAILED,
  APPEND_OVERLOADED,
  WalFailedError,
  WalWriter,
  type WalWriterOptions,
} from "../../persistence/wal_writer.ts";

const SMALL_BATCH = (1 << 20) + 16;

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "wal_writer_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Payload of record `seq`: its length varies with seq and the bytes encode it. */
function payloadFor(seq: number): Uint8Array {
  const out = new Uint8Array(seq % 97);
  for (let i = 0; i < out.length; i++) out[i] = (seq * 31 + i) & 0xff;
  return out;
}

/** Lets pending timers and I/O run for `ms`. */
const settle = (ms = 20) => new Promise((r) => setTimeout(r, ms));

const UNTIL_LIMIT_MS = 5_000;

/** Waits until `cond()` holds; throws after {@link UNTIL_LIMIT_MS}. */
async function until(cond: () => boolean, what: string): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > UNTIL_LIMIT_MS) throw new Error(`timed out waiting for ${what}`);
    await settle(1);
  }
}

/** Reads every record of `dir` into an array of [seq, payload]. */
async function readAll(dir: string): Promise<[number, Uint8Array][]> {
  const out: [number, Uint8Array][] = [];
  await readWal(dir, { onRecord: (seq, p) => out.push([seq, p.slice()]) });
  return out;
}

function open(dir: string, extra: Partial<WalWriterOptions> = {}): Promise<WalWriter> {
  return WalWriter.open({ dir, nextSeq: 1, ...extra });
}

function enospc(): Error {
  return Object.assign(new Error("No space left on device (os error 28)"), { code: "ENOSPC" });
}

Deno.test("records round-trip in order across segment rotation", async () => {
  await withTempDir(async (dir) => {
    const w = await open(dir, { segmentBytes: 4096 });
    const n = 5_000;
    for (let i = 1; i <= n; i++) {
      assert.equal(w.append(payloadFor(i)), i);
      if (i % 250 === 0) await w.flush();
    }
    await w.close();
    assert.equal(w.durableSeq, n);
    const segments = await listSegments(dir);
    assert.ok(segments.length > 10, `expected many segments, found ${segments.length}`);
    const records = await readAll(dir);
    assert.equal(records.length, n);
    records.forEach(([seq, p], i) => {
      assert.equal(seq, i + 1);
      assert.deepEqual(p, payloadFor(seq));
    });
  });
});

Deno.test("appends made in one turn are written with one write and one fsync", async () => {
  await withTempDir(async (dir) => {
    const fs = new FaultyFs();
    const w = await open(dir, { fs });
    const durable: number[] = [];
    w.listen({ durable: (s) => durable.push(s), failed: () => assert.fail("no failure expected") });
    const waits = [];
    for (let i = 1; i <= 100; i++) waits.push(w.waitDurable(w.append(payloadFor(i))));
    await Promise.all(waits);
    assert.equal(fs.calls.write, 1);
    assert.equal(fs.calls.syncData, 1);
    assert.equal(w.batches, 1);
    assert.deepEqual(durable, [100]);
    await w.close();
  });
});

Deno.test("records appended during an fsync form the next batch, within the record bound", async () => {
  await withTempDir(async (dir) => {
    const fs = new FaultyFs();
    const w = await open(dir, { fs, maxBatchRecords: 4 });
    for (let i = 1; i <= 10; i++) w.append(payloadFor(i));
    await w.flush();
    assert.equal(fs.calls.syncData, 3, "batches of 4, 4 and 2 records");
    const release = fs.holdSyncs();
    w.append(payloadFor(11));
    await until(() => fs.calls.write === 4, "the batch holding 11 to be written");
    for (let i = 12; i <= 14; i++) w.append(payloadFor(i));
    release();
    await w.flush();
    assert.equal(fs.calls.syncData, 5, "one batch for 11, one for 12-14");
    await w.close();
    assert.equal((await readAll(dir)).length, 14);
  });
});

Deno.test("no record is reported durable before its fsync completes", async () => {
  await withTempDir(async (dir) => {
    const fs = new FaultyFs();
    const w = await open(dir, { fs });
    const durable: number[] = [];
    w.listen({ durable: (s) => durable.push(s), failed: () => {} });
    const release = fs.holdSyncs();
    let resolved = false;
    for (let i = 1; i <= 5; i++) w.append(payloadFor(i));
    w.waitDurable(5).then(() => (resolved = true));
    await until(() => fs.calls.write === 1, "the batch to be written");
    await settle();
    assert.equal(w.durableSeq, 0);
    assert.equal(resolved, false);
    assert.deepEqual(durable, []);
    release();
    await w.waitDurable(5);
    assert.equal(w.durableSeq, 5);
    assert.deepEqual(durable, [5]);
    await w.close();
  });
});

Deno.test("a failed fsync fails the writer: waiters reject naming the file, appends are refused", async () => {
  await withTempDir(async (dir) => {
    const fs = new FaultyFs();
    const w = await open(dir, { fs });
    w.append(payloadFor(1));
    await w.flush();
    fs.failOn("syncData", enospc());
    let failedWith: Error | null = null;
    w.listen({ durable: () => {}, failed: (e) => (failedWith = e) });
    const waits = [2, 3, 4].map((i) => w.waitDurable(w.append(payloadFor(i))));
    await Promise.all(waits.map((p) =>
      assert.rejects(p, (e: Error) => {
        assert.ok(e instanceof WalFailedError);
        assert.match(e.message, /WAL fsync failed on ".*wal-0000000000000001\.log": No space left/);
        assert.match(e.message, /records after sequence 1 were never made durable/);
        return true;
      })
    ));
    assert.ok(w.failed instanceof WalFailedError);
    assert.equal(failedWith, w.failed);
    assert.equal(w.durableSeq, 1, "the synced record stays durable, the others never become so");
    assert.equal(w.append(payloadFor(5)), APPEND_FAILED);
    await assert.rejects(w.waitDurable(4), WalFailedError);
    await assert.rejects(w.flush(), WalFailedError);
    await w.close();
  });
});

Deno.test("a failed write fails the writer, and recovery cuts the partial batch", async () => {
  await withTempDir(async (dir) => {
    const fs = new FaultyFs();
    const w = await open(dir, { fs });
    for (let i = 1; i <= 3; i++) w.append(payloadFor(i));
    await w.flush();
    fs.failOn(
      "write",
      Object.assign(new Error("Input/output error (os error 5)"), { code: "EIO" }),
      0,
      30,
    );
    w.append(payloadFor(4));
    w.append(payloadFor(5));
    await assert.rejects(w.flush(), /WAL write failed on ".*": Input\/output error/);
    assert.equal(fs.calls.syncData, 1, "the failed batch is never fsynced");
    assert.equal(w.durableSeq, 3);
    assert.equal(w.append(payloadFor(6)), APPEND_FAILED);
    await w.close();

    const r = await readWal(dir);
    assert.equal(r.lastSeq, 3, "the failed batch was cut from the segment");
    assert.equal(r.tornTail, null);
    const w2 = await WalWriter.open({ dir, nextSeq: r.nextSeq });
    assert.equal(w2.append(payloadFor(4)), 4);
    await w2.close();
    assert.deepEqual((await readAll(dir)).map(([s]) => s), [1, 2, 3, 4]);
  });
});

Deno.test("when cutting back also fails, recovery cuts the partial batch as a torn tail", async () => {
  await withTempDir(async (dir) => {
    const fs = new FaultyFs();
    const w = await open(dir, { fs });
    for (let i = 1; i <= 3; i++) w.append(payloadFor(i));
    await w.flush();
    fs.failOn("write", enospc(), 0, 30);
    fs.failOn("truncate", enospc());
    w.append(payloadFor(5));
    w.append(payloadFor(6));
    await assert.rejects(w.flush(), WalFailedError);
    await w.close();
    const r = await readWal(dir);
    assert.equal(
      r.lastSeq,
      4,
      "record 4 reached the file whole: its outcome was unknown, not rejected",
    );
    assert.equal(r.tornTail?.droppedBytes, 30 - 21);
  });
});

Deno.test("a failed segment creation at rotation fails the writer", async () => {
  await withTempDir(async (dir) => {
    const fs = new FaultyFs();
    const w = await open(dir, { fs, segmentBytes: 64 });
    w.append(payloadFor(60));
    await w.flush();
    fs.failOn("createNew", enospc());
    w.append(payloadFor(61));
    await assert.rejects(w.flush(), /WAL segment creation failed on ".*wal-0000000000000002\.log"/);
    assert.equal(w.durableSeq, 1);
    await w.close();
  });
});

Deno.test("a full pending buffer answers overloaded and accepts again once records are durable", async () => {
  await withTempDir(async (dir) => {
    const fs = new FaultyFs();
    const w = await open(dir, { fs, maxPendingRecords: 4 });
    const release = fs.holdSyncs();
    for (let i = 1; i <= 4; i++) assert.equal(w.append(payloadFor(i)), i);
    assert.equal(w.append(payloadFor(5)), APPEND_OVERLOADED);
    assert.equal(w.pendingRecords, 4);
    release();
    await w.flush();
    assert.equal(w.append(payloadFor(5)), 5, "the refused record was not assigned a sequence");
    await w.close();
  });
});

Deno.test("the pending byte bound answers overloaded too", async () => {
  await withTempDir(async (dir) => {
    const fs = new FaultyFs();
    const w = await open(dir, { fs, maxBatchBytes: SMALL_BATCH, maxPendingBytes: SMALL_BATCH });
    const release = fs.holdSyncs();
    const big = new Uint8Array(1 << 19);
    assert.equal(w.append(big), 1);
    assert.equal(w.append(big), APPEND_OVERLOADED);
    release();
    await w.flush();
    assert.equal(w.append(big), 2);
    assert.throws(
      () => w.append(new Uint8Array((1 << 20) + 1)),
      /payload is 1048577 bytes, more than 1048576/,
    );
    await w.close();
  });
});

Deno.test("truncateBefore deletes only segments wholly before the sequence, never the active one", async () => {
  await withTempDir(async (dir) => {
    const w = await open(dir, { segmentBytes: 256 });
    for (let i = 1; i <= 200; i++) {
      w.append(payloadFor(i));
      if (i % 5 === 0) await w.flush();
    }
    await w.flush();
    const before = await listSegments(dir);
    const cut = 101;
    const removed = await w.truncateBefore(cut);
    const after = await listSegments(dir);
    assert.equal(after.length, before.length - removed);
    assert.ok(removed > 0);
    assert.ok(after[0].firstSeq <= cut, "the segment holding the cut sequence stays");
    assert.ok(before.filter((s) => s.firstSeq <= cut).at(-1)!.firstSeq === after[0].firstSeq);
    const records: number[] = [];
    await readWal(dir, { afterSeq: cut - 1, onRecord: (s) => records.push(s) });
    assert.deepEqual(records, Array.from({ length: 100 }, (_, i) => cut + i));
    assert.equal(await w.truncateBefore(201), after.length - 1);
    assert.equal((await listSegments(dir)).length, 1);
    await assert.rejects(w.truncateBefore(202 + 1), /only records up to 200 are durable/);
    await w.close();
  });
});

Deno.test("a reopened writer continues the sequence in a new segment", async () => {
  await withTempDir(async (dir) => {
    let w = await open(dir);
    for (let i = 1; i <= 10; i++) w.append(payloadFor(i));
    await w.close();
    const r = await readWal(dir);
    assert.equal(r.nextSeq, 11);
    w = await WalWriter.open({ dir, nextSeq: r.nextSeq });
    assert.equal(w.append(payloadFor(11)), 11);
    await w.close();
    assert.equal((await listSegments(dir)).length, 2);
    assert.deepEqual(
      (await readAll(dir)).map(([s]) => s),
      Array.from({ length: 11 }, (_, i) => i + 1),
    );
    await assert.rejects(
      WalWriter.open({ dir, nextSeq: 11 }),
      /Cannot open WAL writer at sequence 11: segment ".*wal-0000000000000011\.log" already holds records/,
    );
  });
});

Deno.test("waitDurable rejects an unassigned sequence and close refuses later appends", async () => {
  await withTempDir(async (dir) => {
    const w = await open(dir);
    await assert.rejects(
      w.waitDurable(1),
      /Cannot wait for WAL sequence 1: the last assigned is 0/,
    );
    w.append(payloadFor(1));
    const closed = w.close();
    assert.equal(w.append(payloadFor(2)), APPEND_CLOSED);
    await closed;
    assert.equal(w.durableSeq, 1, "close waits for pending records");
    await assert.rejects(
      open(dir, { nextSeq: 0 }),
      /nextSeq must be a positive safe integer, received 0/,
    );
  });
});

Deno.test("waiters registered out of order are each released at their own sequence", async () => {
  await withTempDir(async (dir) => {
    const fs = new FaultyFs();
    const w = await open(dir, { fs, maxBatchRecords: 2 });
    for (let i = 1; i <= 6; i++) w.append(payloadFor(i));
    const order: number[] = [];
    await Promise.all([5, 1, 3, 6, 2, 4].map((s) => w.waitDurable(s).then(() => order.push(s))));
    assert.deepEqual(order, [1, 2, 3, 4, 5, 6]);
    await w.close();
  });
});
