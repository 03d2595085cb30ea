/**
 * WAL recovery: reads the records after a sequence across segments, verifying length,
 * checksum and sequence continuity (wal_format.ts).
 *
 * A bad record at the tail of the last segment with nothing valid after it is a write
 * torn by a crash: the file is cut at the last good record and the cut is reported as a
 * {@link WalTornTail}. A bad record anywhere else (in an older segment, or followed by a
 * valid record) is corruption: {@link readWal} throws a {@link WalCorruptionError}
 * naming the file and byte offset, and the start must stop.
 */

import { denoFs, type FsPort } from "./fs_port.ts";
import {
  checkRecord,
  describeFault,
  MAX_RECORD_PAYLOAD_BYTES,
  parseSegmentFileName,
  readSeq,
  readU32,
  RECORD_HEADER_BYTES,
  RecordFault,
} from "./wal_format.ts";
import { crc32 } from "./crc32.ts";

/** A segment file of a WAL directory. */
export interface WalSegment {
  /** Sequence of the segment's first record (from its name). */
  firstSeq: number;
  /** Full path. */
  path: string;
}

/** The torn tail cut from the last segment. */
export interface WalTornTail {
  file: string;
  /** Byte offset the file was cut at (the end of the last good record). */
  offset: number;
  droppedBytes: number;
  reason: string;
}

export interface WalReadOptions {
  fs?: FsPort;
  /**
   * Deliver only records with a sequence above this (the sequence a snapshot covers).
   * The WAL must then hold every record after it: a WAL that starts later throws.
   * Omitted: every record present is delivered, from the first segment on.
   */
  afterSeq?: number;
  /**
   * Called for each delivered record, in sequence order. `payload` is a view into the
   * segment's bytes: copy it to keep it past the call if memory matters.
   */
  onRecord?: (seq: number, payload: Uint8Array) => void;
  /** Cut a torn tail from the file (default true); false only reports it. */
  truncateTornTail?: boolean;
}

export interface WalReadResult {
  /** Sequence of the last valid record in the WAL, 0 if it holds none. */
  lastSeq: number;
  /** The sequence the writer must continue with: max(lastSeq, afterSeq) + 1. */
  nextSeq: number;
  /** Records passed to `onRecord`. */
  delivered: number;
  /** Segments read (older ones before `afterSeq` are skipped unread). */
  segmentsRead: number;
  tornTail: WalTornTail | null;
}

/** A WAL that cannot be recovered without losing records: names the file and offset. */
export class WalCorruptionError extends Error {
  constructor(readonly file: string, readonly offset: number, readonly reason: string) {
    super(`WAL corrupted in "${file}" at byte offset ${offset}: ${reason}`);
    this.name = "WalCorruptionError";
  }
}

/** The segments of `dir` sorted by first sequence; an absent directory has none. */
export async function listSegments(dir: string, fs: FsPort = denoFs): Promise<WalSegment[]> {
  let entries;
  try {
    entries = await fs.readDir(dir);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  const out: WalSegment[] = [];
  for (const e of entries) {
    const firstSeq = e.isFile ? parseSegmentFileName(e.name) : null;
    if (firstSeq !== null) out.push({ firstSeq, path: `${dir}/${e.name}` });
  }
  return out.sort((a, b) => a.firstSeq - b.firstSeq);
}

/**
 * Reads the WAL in `dir` and returns what it found. Throws {@link WalCorruptionError}
 * on corruption or a missing range of sequences; cuts a torn tail (see module doc).
 */
export async function readWal(dir: string, options: WalReadOptions = {}): Promise<WalReadResult> {
  const fs = options.fs ?? denoFs;
  const afterSeq = options.afterSeq;
  const onRecord = options.onRecord;
  const segments = await listSegments(dir, fs);
  const result: WalReadResult = {
    lastSeq: 0,
    nextSeq: (afterSeq ?? 0) + 1,
    delivered: 0,
    segmentsRead: 0,
    tornTail: null,
  };
  if (segments.length === 0) return result;

  let start = 0;
  if (afterSeq !== undefined) {
    if (!(Number.isSafeInteger(afterSeq) && afterSeq >= 0)) {
      throw new RangeError(
        `Cannot read WAL: afterSeq must be a non-negative safe integer, received ${afterSeq}`,
      );
    }
    if (segments[0].firstSeq > afterSeq + 1) {
      throw new WalCorruptionError(
        segments[0].path,
        0,
        `the WAL starts at sequence ${
          segments[0].firstSeq
        } but records after ${afterSeq} are needed`,
      );
    }
    while (start + 1 < segments.length && segments[start + 1].firstSeq <= afterSeq + 1) start++;
  }

  let expected = segments[start].firstSeq;
  const deliverAfter = afterSeq ?? 0;
  for (let i = start; i < segments.length; i++) {
    const seg = segments[i];
    const isLast = i === segments.length - 1;
    if (seg.firstSeq !== expected) {
      throw new WalCorruptionError(
        seg.path,
        0,
        `segment starts at sequence ${seg.firstSeq} but the previous one ends at ${expected - 1}`,
      );
    }
    const buf = await fs.readFile(seg.path);
    result.segmentsRead++;
    const end = buf.length;
    let off = 0;
    while (off < end) {
      const next = checkRecord(buf, off, end, expected);
      if (next < 0) {
        const reason = describeFault(next, buf, off, end, expected);
        if (!isLast || next === RecordFault.BAD_SEQUENCE) {
          throw new WalCorruptionError(seg.path, off, reason);
        }
        const valid = findValidRecordAfter(buf, off, expected);
        if (valid >= 0) {
          throw new WalCorruptionError(
            seg.path,
            off,
            `${reason}; a valid record follows at offset ${valid}`,
          );
        }
        result.tornTail = { file: seg.path, offset: off, droppedBytes: end - off, reason };
        if (options.truncateTornTail !== false) await fs.truncate(seg.path, off);
        break;
      }
      if (expected > deliverAfter) {
        onRecord?.(expected, buf.subarray(off + RECORD_HEADER_BYTES, next));
        result.delivered++;
      }
      result.lastSeq = expected;
      expected++;
      off = next;
    }
  }
  result.nextSeq = Math.max(result.lastSeq, afterSeq ?? 0) + 1;
  return result;
}

/**
 * The offset of the first well-formed record after `from` whose sequence is at least
 * `minSeq` (and no more than the remaining bytes allow), or -1. Only run on the tail of
 * the last segment, to tell a torn write from corruption in the middle.
 */
function findValidRecordAfter(buf: Uint8Array, from: number, minSeq: number): number {
  const end = buf.length;
  const maxSeq = minSeq + Math.ceil((end - from) / RECORD_HEADER_BYTES);
  for (let p = from + 1; p + RECORD_HEADER_BYTES <= end; p++) {
    const n = readU32(buf, p);
    if (n > MAX_RECORD_PAYLOAD_BYTES || p + RECORD_HEADER_BYTES + n > end) continue;
    const seq = readSeq(buf, p);
    if (seq < minSeq || seq > maxSeq) continue;
    if (crc32(buf, p + 8, p + RECORD_HEADER_BYTES + n) === readU32(buf, p + 4)) return p;
  }
  return -1;
}
