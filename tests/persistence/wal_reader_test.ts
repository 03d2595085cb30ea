/**
 * WAL recovery: a torn tail is cut with a warning at every byte offset and appends
 * continue after it; corruption in the middle, in an older segment or a missing segment
 * stops with an error naming the file and offset; `afterSeq` skips what a snapshot covers.
 */

import assert from "node:assert/strict";
import { listSegments, readWal, WalCorruptionError } from "../../persistence/wal_reader.ts";
import { WalWriter } from "../../persistence/wal_writer.ts";
import { RECORD_HEADER_BYTES } from "../../persistence/wal_format.ts";

const PAYLOAD_BYTES = 20;
const RECORD = RECORD_HEADER_BYTES + PAYLOAD_BYTES;

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "wal_reader_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function payloadFor(seq: number): Uint8Array {
  return new Uint8Array(PAYLOAD_BYTES).fill(seq & 0xff);
}

/** Writes records `from..to` into `dir` in a new segment (or rotating at `segmentBytes`). */
async function writeRecords(
  dir: string,
  from: number,
  to: number,
  segmentBytes?: number,
): Promise<void> {
  const w = await WalWriter.open({ dir, nextSeq: from, segmentBytes });
  for (let s = from; s <= to; s++) {
    w.append(payloadFor(s));
    if (segmentBytes !== undefined) await w.flush();
  }
  await w.close();
  assert.equal(w.failed, null);
}

async function seqs(dir: string, afterSeq?: number): Promise<number[]> {
  const out: number[] = [];
  await readWal(dir, {
    afterSeq,
    onRecord: (s, p) => {
      assert.deepEqual(p, payloadFor(s));
      out.push(s);
    },
  });
  return out;
}

Deno.test("a torn last record is cut at every byte offset inside it, and appends continue after it", async () => {
  await withTempDir(async (root) => {
    const src = `${root}/src`;
    await writeRecords(src, 1, 3);
    const [seg] = await listSegments(src);
    const whole = await Deno.readFile(seg.path);
    assert.equal(whole.length, 3 * RECORD);
    const lastStart = 2 * RECORD;
    for (let cut = lastStart + 1; cut < whole.length; cut++) {
      const dir = `${root}/cut${cut}`;
      await Deno.mkdir(dir);
      const file = `${dir}/${seg.path.split("/").pop()}`;
      await Deno.writeFile(file, whole.subarray(0, cut));
      const r = await readWal(dir, { onRecord: () => {} });
      assert.equal(r.lastSeq, 2, `cut at ${cut}`);
      assert.deepEqual(
        {
          file: r.tornTail?.file,
          offset: r.tornTail?.offset,
          droppedBytes: r.tornTail?.droppedBytes,
        },
        { file, offset: lastStart, droppedBytes: cut - lastStart },
      );
      assert.match(r.tornTail!.reason, /incomplete (header|payload)/);
      assert.equal(
        (await Deno.stat(file)).size,
        lastStart,
        "the file is cut at the last good record",
      );
      await writeRecords(dir, r.nextSeq, 4);
      assert.deepEqual(await seqs(dir), [1, 2, 3, 4]);
    }
  });
});

Deno.test("a corrupted checksum in the last record is a torn tail", async () => {
  await withTempDir(async (dir) => {
    await writeRecords(dir, 1, 3);
    const [seg] = await listSegments(dir);
    const bytes = await Deno.readFile(seg.path);
    bytes[2 * RECORD + 4] ^= 0xff;
    await Deno.writeFile(seg.path, bytes);
    const r = await readWal(dir);
    assert.equal(r.lastSeq, 2);
    assert.equal(r.tornTail?.offset, 2 * RECORD);
    assert.equal(r.tornTail?.droppedBytes, RECORD);
    assert.match(r.tornTail!.reason, /checksum mismatch for the record expected to be sequence 3/);
    assert.deepEqual(await seqs(dir), [1, 2]);
  });
});

Deno.test("a zero-filled tail after the last record is a torn tail", async () => {
  await withTempDir(async (dir) => {
    await writeRecords(dir, 1, 2);
    const [seg] = await listSegments(dir);
    const f = await Deno.open(seg.path, { append: true });
    await f.write(new Uint8Array(4096));
    f.close();
    const r = await readWal(dir);
    assert.deepEqual([r.lastSeq, r.tornTail?.offset, r.tornTail?.droppedBytes], [
      2,
      2 * RECORD,
      4096,
    ]);
  });
});

Deno.test("a bad record followed by a valid one is corruption naming the file and offset", async () => {
  await withTempDir(async (dir) => {
    await writeRecords(dir, 1, 5);
    const [seg] = await listSegments(dir);
    const bytes = await Deno.readFile(seg.path);
    bytes[RECORD + RECORD_HEADER_BYTES + 3] ^= 1; // payload of record 2
    await Deno.writeFile(seg.path, bytes);
    const err = await readWal(dir).catch((e) => e);
    assert.ok(err instanceof WalCorruptionError);
    assert.equal(err.file, seg.path);
    assert.equal(err.offset, RECORD);
    assert.match(
      err.message,
      new RegExp(
        `WAL corrupted in ".*wal-0000000000000001\\.log" at byte offset ${RECORD}: checksum mismatch .* a valid record follows at offset ${
          2 * RECORD
        }`,
      ),
    );
    assert.equal((await Deno.stat(seg.path)).size, bytes.length, "nothing is cut");
  });
});

Deno.test("a corrupted length in the middle is still found as corruption", async () => {
  await withTempDir(async (dir) => {
    await writeRecords(dir, 1, 5);
    const [seg] = await listSegments(dir);
    const bytes = await Deno.readFile(seg.path);
    bytes[2 * RECORD] = 0xff; // length of record 3
    await Deno.writeFile(seg.path, bytes);
    await assert.rejects(readWal(dir), (e: WalCorruptionError) => e.offset === 2 * RECORD);
  });
});

Deno.test("any bad record in an older segment is corruption, even at its end", async () => {
  await withTempDir(async (dir) => {
    await writeRecords(dir, 1, 6, 2 * RECORD);
    const segments = await listSegments(dir);
    assert.equal(segments.length, 3);
    const first = await Deno.readFile(segments[0].path);
    await Deno.writeFile(segments[0].path, first.subarray(0, first.length - 1));
    await assert.rejects(
      readWal(dir),
      new RegExp(
        `WAL corrupted in "${segments[0].path}" at byte offset ${RECORD}: incomplete payload`,
      ),
    );
  });
});

Deno.test("a missing segment is reported as a gap naming the next file", async () => {
  await withTempDir(async (dir) => {
    await writeRecords(dir, 1, 6, 2 * RECORD);
    const segments = await listSegments(dir);
    await Deno.remove(segments[1].path);
    await assert.rejects(
      readWal(dir),
      /WAL corrupted in ".*wal-0000000000000005\.log" at byte offset 0: segment starts at sequence 5 but the previous one ends at 2/,
    );
  });
});

Deno.test("afterSeq skips older segments and delivers only later records", async () => {
  await withTempDir(async (dir) => {
    await writeRecords(dir, 1, 9, 3 * RECORD);
    const first = await listSegments(dir);
    await Deno.writeFile(first[0].path, new Uint8Array([1, 2, 3])); // never read
    const r = await readWal(dir, { afterSeq: 5, onRecord: () => {} });
    assert.deepEqual([r.delivered, r.lastSeq, r.nextSeq, r.segmentsRead], [4, 9, 10, 2]);
    assert.deepEqual(await seqs(dir, 5), [6, 7, 8, 9]);
    assert.deepEqual(await seqs(dir, 9), []);
    assert.equal(
      (await readWal(dir, { afterSeq: 12 })).nextSeq,
      13,
      "a snapshot ahead of the WAL sets nextSeq",
    );
  });
});

Deno.test("a WAL that starts after the needed sequence is an error", async () => {
  await withTempDir(async (dir) => {
    await writeRecords(dir, 10, 12);
    await assert.rejects(
      readWal(dir, { afterSeq: 5 }),
      /the WAL starts at sequence 10 but records after 5 are needed/,
    );
    assert.deepEqual(await seqs(dir, 9), [10, 11, 12]);
    assert.deepEqual(
      await seqs(dir),
      [10, 11, 12],
      "without afterSeq, reading starts where the WAL does",
    );
  });
});

Deno.test("truncateTornTail false reports the torn tail without cutting it", async () => {
  await withTempDir(async (dir) => {
    await writeRecords(dir, 1, 2);
    const [seg] = await listSegments(dir);
    const f = await Deno.open(seg.path, { append: true });
    await f.write(new Uint8Array([9, 9, 9]));
    f.close();
    const r = await readWal(dir, { truncateTornTail: false });
    assert.equal(r.tornTail?.droppedBytes, 3);
    assert.equal((await Deno.stat(seg.path)).size, 2 * RECORD + 3);
  });
});

Deno.test("an absent or empty directory reads as an empty WAL", async () => {
  await withTempDir(async (dir) => {
    const absent = await readWal(`${dir}/none`);
    assert.deepEqual([absent.lastSeq, absent.nextSeq, absent.tornTail], [0, 1, null]);
    const w = await WalWriter.open({ dir, nextSeq: 1 });
    await w.close();
    const empty = await readWal(dir);
    assert.deepEqual([empty.lastSeq, empty.nextSeq, empty.segmentsRead], [0, 1, 1]);
    const again = await WalWriter.open({ dir, nextSeq: 1 });
    assert.equal(again.append(payloadFor(1)), 1, "an empty last segment is reused");
    await again.close();
    assert.equal((await listSegments(dir)).length, 1);
  });
});
