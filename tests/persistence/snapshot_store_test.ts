/**
 * The snapshot store: write and load back, the `latest` link, only the last 3 kept,
 * crashes between steps leave the previous snapshot loadable, leftovers are cleaned,
 * a corrupted file is found by its checksum.
 */

import assert from "node:assert/strict";
import { FaultyFs } from "../../persistence/fs_port.ts";
import {
  COMPLETE_MARKER,
  LATEST_LINK,
  SnapshotCorruptionError,
  snapshotDirName,
  SnapshotStore,
} from "../../persistence/snapshot_store.ts";

const enc = new TextEncoder();

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "snapshot_store_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function filesFor(id: number): Record<string, Uint8Array> {
  return {
    "ledger.bin": new Uint8Array(1000).fill(id & 0xff),
    "books.json": enc.encode(`{"id":${id}}`),
  };
}

async function entries(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) out.push(e.name);
  return out.sort();
}

function ioError(): Error {
  return Object.assign(new Error("simulated crash"), { code: "EIO" });
}

Deno.test("a written snapshot loads back with its files and metadata, and latest points to it", async () => {
  await withTempDir(async (dir) => {
    const store = new SnapshotStore({ dir });
    assert.equal(await store.loadLatest(), null);
    const r = await store.write(42, filesFor(42), { format_version: 1, seq: 42 });
    assert.deepEqual(r, { id: 42, path: `${dir}/${snapshotDirName(42)}`, written: true });
    const snap = await store.loadLatest();
    assert.equal(snap?.id, 42);
    assert.deepEqual(snap?.files, filesFor(42));
    assert.deepEqual(snap?.metadata, { format_version: 1, seq: 42 });
    assert.equal(await Deno.readLink(`${dir}/${LATEST_LINK}`), snapshotDirName(42));
    assert.deepEqual(await entries(r.path), [
      COMPLETE_MARKER,
      "books.json",
      "ledger.bin",
      "metadata.json",
    ]);
  });
});

Deno.test("only the newest 3 complete snapshots are kept", async () => {
  await withTempDir(async (dir) => {
    const store = new SnapshotStore({ dir });
    for (const id of [10, 20, 30, 40, 50]) await store.write(id, filesFor(id), { id });
    assert.deepEqual(await store.list(), [30, 40, 50]);
    assert.deepEqual(await entries(dir), [
      LATEST_LINK,
      snapshotDirName(30),
      snapshotDirName(40),
      snapshotDirName(50),
    ]);
    assert.equal((await store.loadLatest())?.id, 50);
    const two = new SnapshotStore({ dir, keep: 2 });
    await two.write(60, {}, {});
    assert.deepEqual(await two.list(), [50, 60]);
  });
});

Deno.test("a crash before the rename leaves the previous snapshot, and the next write cleans the leftover", async () => {
  await withTempDir(async (dir) => {
    const fs = new FaultyFs();
    const store = new SnapshotStore({ dir, fs });
    await store.write(1, filesFor(1), { id: 1 });
    fs.failOn("rename", ioError());
    await assert.rejects(store.write(2, filesFor(2), { id: 2 }), /simulated crash/);
    assert.ok(
      (await entries(dir)).includes(`tmp-${snapshotDirName(2)}`),
      "the temporary directory is left",
    );
    assert.equal((await store.loadLatest())?.id, 1);
    await store.write(3, filesFor(3), { id: 3 });
    assert.deepEqual(await entries(dir), [LATEST_LINK, snapshotDirName(1), snapshotDirName(3)]);
  });
});

Deno.test("a crash while writing a file, or before the marker, never yields a loadable snapshot", async () => {
  await withTempDir(async (dir) => {
    const fs = new FaultyFs();
    const store = new SnapshotStore({ dir, fs });
    await store.write(1, filesFor(1), { id: 1 });
    fs.failOn("write", ioError(), 1, 10);
    await assert.rejects(store.write(2, filesFor(2), { id: 2 }));
    fs.failOn("createNew", ioError(), 3); // the COMPLETE marker
    await assert.rejects(store.write(2, filesFor(2), { id: 2 }));
    assert.equal((await store.loadLatest())?.id, 1);
    assert.deepEqual(await store.list(), [1]);
  });
});

Deno.test("a crash after the rename but before relinking loads the new snapshot", async () => {
  await withTempDir(async (dir) => {
    const fs = new FaultyFs();
    const store = new SnapshotStore({ dir, fs });
    await store.write(1, filesFor(1), { id: 1 });
    fs.failOn("symlink", ioError());
    await assert.rejects(store.write(2, filesFor(2), { id: 2 }));
    assert.equal(await Deno.readLink(`${dir}/${LATEST_LINK}`), snapshotDirName(1));
    assert.equal(
      (await store.loadLatest())?.id,
      2,
      "the newest complete snapshot wins over a stale link",
    );
    await Deno.remove(`${dir}/${LATEST_LINK}`);
    assert.equal((await store.loadLatest())?.id, 2, "a missing link does not matter");
  });
});

Deno.test("a snapshot directory without COMPLETE is ignored and pruned", async () => {
  await withTempDir(async (dir) => {
    const store = new SnapshotStore({ dir });
    await store.write(1, filesFor(1), { id: 1 });
    await Deno.mkdir(`${dir}/${snapshotDirName(9)}`);
    await Deno.writeFile(`${dir}/${snapshotDirName(9)}/metadata.json`, enc.encode("{}"));
    await Deno.remove(`${dir}/${LATEST_LINK}`);
    await Deno.symlink(snapshotDirName(9), `${dir}/${LATEST_LINK}`);
    assert.equal((await store.loadLatest())?.id, 1);
    assert.deepEqual(await store.list(), [1]);
    await Deno.mkdir(`${dir}/tmp-${snapshotDirName(5)}`);
    await store.write(10, filesFor(10), { id: 10 });
    assert.deepEqual(await entries(dir), [LATEST_LINK, snapshotDirName(1), snapshotDirName(10)]);
  });
});

Deno.test("a file that does not match the marker is reported with its path", async () => {
  await withTempDir(async (dir) => {
    const store = new SnapshotStore({ dir });
    const { path } = await store.write(7, filesFor(7), { id: 7 });
    const bytes = await Deno.readFile(`${path}/ledger.bin`);
    bytes[500] ^= 1;
    await Deno.writeFile(`${path}/ledger.bin`, bytes);
    await assert.rejects(store.loadLatest(), (e: Error) => {
      assert.ok(e instanceof SnapshotCorruptionError);
      assert.match(
        e.message,
        new RegExp(
          `Snapshot corrupted at "${path}/ledger.bin": expected 1000 bytes with CRC-32 \\d+, found 1000 bytes with CRC-32 \\d+`,
        ),
      );
      return true;
    });
  });
});

Deno.test("the same id is kept as is, an older id and reserved names are refused", async () => {
  await withTempDir(async (dir) => {
    const store = new SnapshotStore({ dir });
    await store.write(5, filesFor(5), { v: "first" });
    assert.equal((await store.write(5, {}, { v: "second" })).written, false);
    assert.deepEqual((await store.loadLatest())?.metadata, { v: "first" });
    await assert.rejects(
      store.write(4, {}, {}),
      /Cannot write snapshot 4: it is older than the newest complete snapshot 5/,
    );
    await assert.rejects(
      store.write(6, { COMPLETE: new Uint8Array() }, {}),
      /invalid or reserved file name "COMPLETE"/,
    );
    await assert.rejects(
      store.write(6, { "../x": new Uint8Array() }, {}),
      /invalid or reserved file name "..\/x"/,
    );
    assert.throws(
      () => new SnapshotStore({ dir, keep: 0 }),
      /keep must be a positive integer, received 0/,
    );
  });
});
