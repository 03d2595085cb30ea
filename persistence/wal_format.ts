/**
 * The WAL's on-disk record framing and segment file names.
 *
 * A record is a 16-byte header followed by the payload, all little-endian:
 *
 *     offset 0   u32  payload length in bytes
 *     offset 4   u32  CRC-32 of bytes [8, 16 + length): the sequence and the payload
 *     offset 8   u32  sequence, low 32 bits
 *     offset 12  u32  sequence, high 21 bits (a sequence is a safe integer)
 *     offset 16  payload (opaque bytes)
 *
 * The writer assigns sequences 1, 2, 3... with no gaps, and each record carries its own,
 * so a reader verifies continuity and a flipped bit in the sequence fails the checksum.
 * A segment file is named after the sequence of its first record, so the records after
 * a sequence S are found without reading the older segments.
 */

import { crc32 } from "./crc32.ts";

/** Bytes in front of every payload. */
export const RECORD_HEADER_BYTES = 16;

/** Largest payload a record may carry (a command or a checkpoint is far smaller). */
export const MAX_RECORD_PAYLOAD_BYTES = 1 << 20;

/** Sequences are safe integers; the first record of a WAL has sequence 1. */
export const MAX_SEQ = Number.MAX_SAFE_INTEGER;

/** Digits of the zero-padded first sequence in a segment name (MAX_SEQ has 16). */
export const SEGMENT_SEQ_DIGITS = 16;

const TWO_POW_32 = 0x1_0000_0000;
const SEGMENT_PREFIX = "wal-";
const SEGMENT_SUFFIX = ".log";
const SEGMENT_NAME = /^wal-(\d{16})\.log$/;

/** Why {@link checkRecord} rejected the bytes at an offset (negative, never an end offset). */
export const RecordFault = {
  /** Fewer than {@link RECORD_HEADER_BYTES} bytes remain. */
  INCOMPLETE_HEADER: -1,
  /** The length exceeds {@link MAX_RECORD_PAYLOAD_BYTES}. */
  BAD_LENGTH: -2,
  /** The payload runs past the end of the data. */
  INCOMPLETE_PAYLOAD: -3,
  /** The checksum does not match the sequence and payload. */
  BAD_CHECKSUM: -4,
  /** The checksum matches but the sequence is not the expected one. */
  BAD_SEQUENCE: -5,
} as const;

/** Reads the little-endian u32 at `offset`. */
export function readU32(b: Uint8Array, offset: number): number {
  return (b[offset] | (b[offset + 1] << 8) | (b[offset + 2] << 16) | (b[offset + 3] << 24)) >>> 0;
}

function writeU32(b: Uint8Array, offset: number, v: number): void {
  b[offset] = v;
  b[offset + 1] = v >>> 8;
  b[offset + 2] = v >>> 16;
  b[offset + 3] = v >>> 24;
}

/** The sequence stored in the header at `offset` (not verified). */
export function readSeq(b: Uint8Array, offset: number): number {
  return readU32(b, offset + 8) + readU32(b, offset + 12) * TWO_POW_32;
}

/** Bytes a record with a payload of `payloadBytes` occupies. */
export function recordBytes(payloadBytes: number): number {
  return RECORD_HEADER_BYTES + payloadBytes;
}

/**
 * Frames `payload` as record `seq` into `buf` at `offset` and returns the offset just
 * past it. The caller has checked the payload size and that `buf` has room.
 */
export function writeRecord(
  buf: Uint8Array,
  offset: number,
  seq: number,
  payload: Uint8Array,
): number {
  const n = payload.length;
  writeU32(buf, offset, n);
  writeU32(buf, offset + 8, seq >>> 0);
  writeU32(buf, offset + 12, Math.floor(seq / TWO_POW_32));
  buf.set(payload, offset + RECORD_HEADER_BYTES);
  const end = offset + RECORD_HEADER_BYTES + n;
  writeU32(buf, offset + 4, crc32(buf, offset + 8, end));
  return end;
}

/**
 * Verifies the record at `offset` in `buf[0, end)` and that it carries `expectedSeq`.
 * Returns the offset just past the record, or a negative {@link RecordFault}.
 */
export function checkRecord(
  buf: Uint8Array,
  offset: number,
  end: number,
  expectedSeq: number,
): number {
  if (end - offset < RECORD_HEADER_BYTES) return RecordFault.INCOMPLETE_HEADER;
  const n = readU32(buf, offset);
  if (n > MAX_RECORD_PAYLOAD_BYTES) return RecordFault.BAD_LENGTH;
  const recordEnd = offset + RECORD_HEADER_BYTES + n;
  if (recordEnd > end) return RecordFault.INCOMPLETE_PAYLOAD;
  if (crc32(buf, offset + 8, recordEnd) !== readU32(buf, offset + 4)) {
    return RecordFault.BAD_CHECKSUM;
  }
  if (readSeq(buf, offset) !== expectedSeq) return RecordFault.BAD_SEQUENCE;
  return recordEnd;
}

/** A sentence saying what {@link checkRecord} found wrong, with the values involved. */
export function describeFault(
  fault: number,
  buf: Uint8Array,
  offset: number,
  end: number,
  expectedSeq: number,
): string {
  switch (fault) {
    case RecordFault.INCOMPLETE_HEADER:
      return `incomplete header: ${end - offset} of ${RECORD_HEADER_BYTES} bytes`;
    case RecordFault.BAD_LENGTH:
      return `payload length ${readU32(buf, offset)} exceeds ${MAX_RECORD_PAYLOAD_BYTES}`;
    case RecordFault.INCOMPLETE_PAYLOAD:
      return `incomplete payload: ${end - offset - RECORD_HEADER_BYTES} of ${
        readU32(buf, offset)
      } bytes`;
    case RecordFault.BAD_CHECKSUM:
      return `checksum mismatch for the record expected to be sequence ${expectedSeq}`;
    case RecordFault.BAD_SEQUENCE:
      return `expected sequence ${expectedSeq}, found ${readSeq(buf, offset)}`;
    default:
      return `unknown fault ${fault}`;
  }
}

/** The file name of the segment whose first record is `firstSeq`: `wal-0000000000000001.log`. */
export function segmentFileName(firstSeq: number): string {
  if (!(Number.isSafeInteger(firstSeq) && firstSeq >= 1)) {
    throw new RangeError(
      `Cannot name a WAL segment: first sequence must be a positive safe integer, received ${firstSeq}`,
    );
  }
  return SEGMENT_PREFIX + String(firstSeq).padStart(SEGMENT_SEQ_DIGITS, "0") + SEGMENT_SUFFIX;
}

/** The first sequence encoded in a segment file name, or null if `name` is not a segment. */
export function parseSegmentFileName(name: string): number | null {
  const m = SEGMENT_NAME.exec(name);
  if (m === null) return null;
  const seq = Number(m[1]);
  return seq >= 1 && seq <= MAX_SEQ ? seq : null;
}
