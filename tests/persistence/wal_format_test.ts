/**
 * The WAL's building blocks: CRC-32 against zlib's, record framing and every fault
 * `checkRecord` reports, segment file names.
 */

import assert from "node:assert/strict";
import * as zlib from "node:zlib";
import { crc32 } from "../../persistence/crc32.ts";
import {
  checkRecord,
  describeFault,
  MAX_RECORD_PAYLOAD_BYTES,
  parseSegmentFileName,
  readSeq,
  RECORD_HEADER_BYTES,
  RecordFault,
  segmentFileName,
  writeRecord,
} from "../../persistence/wal_format.ts";

const zlibCrc32 = (zlib as unknown as { crc32(b: Uint8Array, v?: number): number }).crc32;

function seededBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x;
  }
  return out;
}

Deno.test("crc32 gives the standard check value and agrees with zlib on any range", () => {
  assert.equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
  assert.equal(crc32(new Uint8Array(0)), 0);
  for (let n = 0; n < 100; n++) {
    const b = seededBytes(n + 40, n + 1);
    assert.equal(crc32(b, 3, 3 + n), zlibCrc32(b.subarray(3, 3 + n)), `length ${n}`);
    assert.equal(crc32(b, 3 + n, b.length, crc32(b, 0, 3 + n)), zlibCrc32(b), `chained at ${n}`);
  }
});

Deno.test("a framed record checks back with its end offset, sequence and payload", () => {
  const buf = new Uint8Array(256);
  const payload = seededBytes(40, 7);
  const seq = 2 ** 40 + 12345;
  const end = writeRecord(buf, 8, seq, payload);
  assert.equal(end, 8 + RECORD_HEADER_BYTES + 40);
  assert.equal(checkRecord(buf, 8, end, seq), end);
  assert.equal(readSeq(buf, 8), seq);
  assert.deepEqual(buf.subarray(8 + RECORD_HEADER_BYTES, end), payload);
  const empty = writeRecord(buf, end, seq + 1, new Uint8Array(0));
  assert.equal(checkRecord(buf, end, empty, seq + 1), empty);
});

Deno.test("checkRecord names each fault: short header, bad length, short payload, checksum, sequence", () => {
  const buf = new Uint8Array(128);
  const end = writeRecord(buf, 0, 5, seededBytes(30, 3));
  assert.equal(checkRecord(buf, 0, RECORD_HEADER_BYTES - 1, 5), RecordFault.INCOMPLETE_HEADER);
  assert.equal(checkRecord(buf, 0, end - 1, 5), RecordFault.INCOMPLETE_PAYLOAD);
  assert.equal(checkRecord(buf, 0, end, 6), RecordFault.BAD_SEQUENCE);
  assert.match(
    describeFault(RecordFault.BAD_SEQUENCE, buf, 0, end, 6),
    /expected sequence 6, found 5/,
  );
  const flipped = buf.slice();
  flipped[20] ^= 1;
  assert.equal(checkRecord(flipped, 0, end, 5), RecordFault.BAD_CHECKSUM);
  const seqFlipped = buf.slice();
  seqFlipped[8] ^= 2;
  assert.equal(checkRecord(seqFlipped, 0, end, 5), RecordFault.BAD_CHECKSUM);
  const huge = buf.slice();
  new DataView(huge.buffer).setUint32(0, MAX_RECORD_PAYLOAD_BYTES + 1, true);
  assert.equal(checkRecord(huge, 0, end, 5), RecordFault.BAD_LENGTH);
  assert.match(
    describeFault(RecordFault.BAD_LENGTH, huge, 0, end, 5),
    new RegExp(`${MAX_RECORD_PAYLOAD_BYTES + 1}`),
  );
});

Deno.test("segment names encode the first sequence and nothing else parses", () => {
  assert.equal(segmentFileName(1), "wal-0000000000000001.log");
  assert.equal(
    parseSegmentFileName(segmentFileName(Number.MAX_SAFE_INTEGER)),
    Number.MAX_SAFE_INTEGER,
  );
  assert.equal(parseSegmentFileName(segmentFileName(123456)), 123456);
  for (
    const bad of ["wal-1.log", "wal-0000000000000000.log", "wal-0000000000000001.log.tmp", "x.log"]
  ) {
    assert.equal(parseSegmentFileName(bad), null, bad);
  }
  assert.throws(() => segmentFileName(0), /received 0/);
});
