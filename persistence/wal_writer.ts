/**
 * The WAL writer: group commit with one write and one fsync per batch.
 *
 * `append(payload)` frames the record into a bounded pending buffer, assigns it the next
 * sequence and returns at once. A single flusher takes the pending records as one batch
 * (bounded in bytes and records), writes it with one call, calls `syncData()` once, and
 * only then advances {@link WalWriter.durableSeq}, resolves {@link WalWriter.waitDurable}
 * promises and tells the listener. Records appended while a batch is being synced form
 * the next batch, so batches grow with load.
 *
 * A failed write, fsync or segment creation puts the writer in the failed state for good:
 * pending waiters reject with a {@link WalFailedError} naming the file, later appends
 * return {@link APPEND_FAILED}, and nothing written after the last successful fsync is
 * ever reported durable (the segment is cut back to its last fsynced byte, best effort).
 *
 * Open a writer only after {@link readWal} has recovered the directory (it cuts a torn
 * tail), with the `nextSeq` it returned; the writer always continues in a new segment.
 */

import { BucketHistogram, LATENCY_SECONDS_BOUNDS } from "../domain/bucket_histogram.ts";
import { denoFs, type FsFile, type FsPort } from "./fs_port.ts";
import {
  MAX_RECORD_PAYLOAD_BYTES,
  MAX_SEQ,
  readU32,
  RECORD_HEADER_BYTES,
  segmentFileName,
  writeRecord,
} from "./wal_format.ts";
import { listSegments, type WalSegment } from "./wal_reader.ts";

/** A segment is closed and a new one started once it holds this many bytes. */
export const DEFAULT_SEGMENT_BYTES = 64 << 20;
/** Most bytes written (and fsynced) as one batch. */
export const DEFAULT_MAX_BATCH_BYTES = 4 << 20;
/** Most records written as one batch. */
export const DEFAULT_MAX_BATCH_RECORDS = 65_536;
/** Most bytes appended but not yet durable; beyond it `append` answers overloaded. */
export const DEFAULT_MAX_PENDING_BYTES = 32 << 20;
/** Most records appended but not yet durable; beyond it `append` answers overloaded. */
export const DEFAULT_MAX_PENDING_RECORDS = 262_144;

/** `append` result: the pending buffer is full; retry after some records are durable. */
export const APPEND_OVERLOADED = -1;
/** `append` result: the writer has failed (see {@link WalWriter.failed}) and refuses all. */
export const APPEND_FAILED = -2;
/** `append` result: the writer is closing or closed. */
export const APPEND_CLOSED = -3;

/** Released waiter slots are compacted away once there are this many and half the array. */
const WAITER_COMPACT_MIN = 4_096;

export interface WalWriterOptions {
  dir: string;
  /** The sequence of the next record: `readWal(dir).nextSeq`. */
  nextSeq: number;
  fs?: FsPort;
  segmentBytes?: number;
  maxBatchBytes?: number;
  maxBatchRecords?: number;
  maxPendingBytes?: number;
  maxPendingRecords?: number;
}

/** Told when records become durable or the writer fails. */
export interface WalListener {
  /** Every record with a sequence up to `durableSeq` is fsynced. */
  durable(durableSeq: number): void;
  failed(error: WalFailedError): void;
}

/** The WAL could not write or sync: the records after `durableSeq` are not durable. */
export class WalFailedError extends Error {
  constructor(
    readonly file: string,
    readonly operation: string,
    readonly durableSeq: number,
    cause: unknown,
  ) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(
      `WAL ${operation} failed on "${file}": ${why}; records after sequence ${durableSeq} were never made durable and the WAL refuses further appends`,
      { cause },
    );
    this.name = "WalFailedError";
  }
}

function positive(name: string, v: number): number {
  if (!(Number.isSafeInteger(v) && v > 0)) {
    throw new RangeError(
      `Cannot open WAL writer: ${name} must be a positive integer, received ${v}`,
    );
  }
  return v;
}

export class WalWriter {
  private readonly fs: FsPort;
  private readonly segmentBytes: number;
  private readonly maxBatchBytes: number;
  private readonly maxBatchRecords: number;
  private readonly maxPendingRecords: number;
  /** Pending records, framed, in [0, end); a prefix of them may be in flight. */
  private readonly buf: Uint8Array;
  private end = 0;
  private nextSeq: number;
  private durable: number;
  private flushing = false;
  private closing = false;
  private failure: WalFailedError | null = null;
  private file: FsFile;
  private segment: WalSegment;
  private segmentSize: number;
  private readonly segments: WalSegment[];
  private listener: WalListener | null = null;
  /** Waiters as parallel arrays sorted by sequence, consumed from `waitHead`. */
  private waitSeqs: number[] = [];
  private waitResolves: (() => void)[] = [];
  private waitRejects: ((e: Error) => void)[] = [];
  private waitHead = 0;
  private batchCount = 0;
  private idleWaiters: (() => void)[] = [];

  private constructor(
    readonly dir: string,
    options: WalWriterOptions,
    file: FsFile,
    segments: WalSegment[],
  ) {
    this.fs = options.fs ?? denoFs;
    this.segmentBytes = positive("segmentBytes", options.segmentBytes ?? DEFAULT_SEGMENT_BYTES);
    this.maxBatchBytes = positive(
      "maxBatchBytes",
      options.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES,
    );
    this.maxBatchRecords = positive(
      "maxBatchRecords",
      options.maxBatchRecords ?? DEFAULT_MAX_BATCH_RECORDS,
    );
    this.maxPendingRecords = positive(
      "maxPendingRecords",
      options.maxPendingRecords ?? DEFAULT_MAX_PENDING_RECORDS,
    );
    this.buf = new Uint8Array(
      positive("maxPendingBytes", options.maxPendingBytes ?? DEFAULT_MAX_PENDING_BYTES),
    );
    this.nextSeq = options.nextSeq;
    this.durable = options.nextSeq - 1;
    this.file = file;
    this.segments = segments;
    this.segment = segments[segments.length - 1];
    this.segmentSize = 0;
  }

  /**
   * Opens a writer on `options.dir` (created if absent) that continues at
   * `options.nextSeq` in a new segment. Throws a RangeError on a bad option, or if a
   * segment already holds records at or after `nextSeq` (the directory was not
   * recovered with {@link readWal} first).
   */
  static async open(options: WalWriterOptions): Promise<WalWriter> {
    const fs = options.fs ?? denoFs;
    const { dir, nextSeq } = options;
    if (!(Number.isSafeInteger(nextSeq) && nextSeq >= 1)) {
      throw new RangeError(
        `Cannot open WAL writer: nextSeq must be a positive safe integer, received ${nextSeq}`,
      );
    }
    const minBatch = RECORD_HEADER_BYTES + MAX_RECORD_PAYLOAD_BYTES;
    const batchBytes = options.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
    const pendingBytes = options.maxPendingBytes ?? DEFAULT_MAX_PENDING_BYTES;
    if (batchBytes < minBatch || pendingBytes < batchBytes) {
      throw new RangeError(
        `Cannot open WAL writer: need ${minBatch} <= maxBatchBytes <= maxPendingBytes, received ${batchBytes} and ${pendingBytes}`,
      );
    }
    await fs.mkdir(dir);
    const segments = await listSegments(dir, fs);
    const last = segments[segments.length - 1];
    let file: FsFile;
    if (last !== undefined && last.firstSeq >= nextSeq) {
      const size = await fs.fileSize(last.path);
      if (last.firstSeq > nextSeq || size !== 0) {
        throw new RangeError(
          `Cannot open WAL writer at sequence ${nextSeq}: segment "${last.path}" already holds records from ${last.firstSeq} (${size} bytes); recover the WAL with readWal first`,
        );
      }
      file = await fs.openAppend(last.path);
    } else {
      const seg = { firstSeq: nextSeq, path: `${dir}/${segmentFileName(nextSeq)}` };
      file = await fs.createNew(seg.path);
      await fs.syncDir(dir);
      segments.push(seg);
    }
    return new WalWriter(dir, options, file, segments);
  }

  /** Highest sequence known to be fsynced (records up to it survive a crash). */
  get durableSeq(): number {
    return this.durable;
  }

  /** Highest sequence assigned by {@link append} (durable or not). */
  get lastSeq(): number {
    return this.nextSeq - 1;
  }

  /** Records appended and not yet durable. */
  get pendingRecords(): number {
    return this.nextSeq - 1 - this.durable;
  }

  /** The error that stopped the writer, or null while it works. */
  get failed(): WalFailedError | null {
    return this.failure;
  }

  /** Batches written and fsynced so far (one `syncData` each). */
  /** Time of each batch's fsync, for /metrics. */
  readonly fsyncSeconds = new BucketHistogram(LATENCY_SECONDS_BOUNDS);

  get batches(): number {
    return this.batchCount;
  }

  /** Sets the one listener told of durability progress and failure (null to remove). */
  listen(listener: WalListener | null): void {
    this.listener = listener;
  }

  /**
   * Buffers `payload` as the next record and returns its sequence (>= 1) without
   * waiting; the record is durable once {@link durableSeq} reaches it. Returns
   * {@link APPEND_OVERLOADED}, {@link APPEND_FAILED} or {@link APPEND_CLOSED} instead
   * when it cannot take the record. Throws a RangeError for a payload over
   * {@link MAX_RECORD_PAYLOAD_BYTES}. The payload is copied; the caller may reuse it.
   */
  append(payload: Uint8Array): number {
    if (this.failure !== null) return APPEND_FAILED;
    if (this.closing) return APPEND_CLOSED;
    const n = payload.length;
    if (n > MAX_RECORD_PAYLOAD_BYTES) {
      throw new RangeError(
        `Cannot append to WAL: payload is ${n} bytes, more than ${MAX_RECORD_PAYLOAD_BYTES}`,
      );
    }
    if (
      this.end + RECORD_HEADER_BYTES + n > this.buf.length ||
      this.nextSeq - 1 - this.durable >= this.maxPendingRecords
    ) {
      return APPEND_OVERLOADED;
    }
    const seq = this.nextSeq;
    if (seq > MAX_SEQ) {
      throw new RangeError(`Cannot append to WAL: sequence ${seq} exceeds ${MAX_SEQ}`);
    }
    this.end = writeRecord(this.buf, this.end, seq, payload);
    this.nextSeq = seq + 1;
    if (!this.flushing) {
      this.flushing = true;
      queueMicrotask(() => void this.flushLoop());
    }
    return seq;
  }

  /**
   * Resolves once record `seq` is durable; rejects with the {@link WalFailedError} if
   * the writer fails first, or a RangeError if `seq` was never assigned.
   */
  waitDurable(seq: number): Promise<void> {
    if (seq <= this.durable) return Promise.resolve();
    if (this.failure !== null) return Promise.reject(this.failure);
    if (!(seq < this.nextSeq)) {
      return Promise.reject(
        new RangeError(
          `Cannot wait for WAL sequence ${seq}: the last assigned is ${this.nextSeq - 1}`,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      const seqs = this.waitSeqs;
      let i = seqs.length;
      if (i === this.waitHead || seqs[i - 1] <= seq) {
        seqs.push(seq);
        this.waitResolves.push(resolve);
        this.waitRejects.push(reject);
        return;
      }
      while (i > this.waitHead && seqs[i - 1] > seq) i--;
      seqs.splice(i, 0, seq);
      this.waitResolves.splice(i, 0, resolve);
      this.waitRejects.splice(i, 0, reject);
    });
  }

  /** Resolves when everything appended so far is durable; rejects if the writer fails. */
  flush(): Promise<void> {
    return this.waitDurable(this.nextSeq - 1);
  }

  /**
   * Refuses further appends, waits for the pending records to become durable (or the
   * writer to fail) and closes the segment. Resolves either way: check {@link failed}.
   */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.flushing) await new Promise<void>((r) => this.idleWaiters.push(r));
    try {
      this.file.close();
    } catch {
      // Already closed by a failure.
    }
  }

  /**
   * Deletes every segment whose records all have sequences below `seq` (a snapshot
   * covers them); the segment being written is never deleted. Returns the number of
   * segments deleted. Throws a RangeError if `seq` is past {@link durableSeq} + 1.
   */
  async truncateBefore(seq: number): Promise<number> {
    if (!(Number.isSafeInteger(seq) && seq <= this.durable + 1)) {
      throw new RangeError(
        `Cannot truncate WAL before sequence ${seq}: only records up to ${this.durable} are durable`,
      );
    }
    let count = 0;
    while (count + 1 < this.segments.length && this.segments[count + 1].firstSeq <= seq) count++;
    const doomed = this.segments.splice(0, count);
    for (const s of doomed) await this.fs.remove(s.path);
    if (count > 0) await this.fs.syncDir(this.dir);
    return count;
  }

  private async flushLoop(): Promise<void> {
    while (this.end > 0 && this.failure === null) {
      const firstSeq = this.durable + 1;
      let bytes = this.end;
      let count = this.nextSeq - firstSeq;
      if (bytes > this.maxBatchBytes || count > this.maxBatchRecords) {
        [bytes, count] = this.cutBatch();
      }
      let op = "segment creation";
      let path = this.segment.path;
      try {
        if (this.segmentSize >= this.segmentBytes) {
          path = `${this.dir}/${segmentFileName(firstSeq)}`;
          await this.rotate(firstSeq, path);
        }
        op = "write";
        await this.file.writeAll(this.buf.subarray(0, bytes));
        op = "fsync";
        const t0 = performance.now();
        await this.file.syncData();
        this.fsyncSeconds.observe((performance.now() - t0) / 1000);
      } catch (e) {
        await this.fail(op, path, e);
        break;
      }
      this.segmentSize += bytes;
      this.buf.copyWithin(0, bytes, this.end);
      this.end -= bytes;
      this.durable = firstSeq + count - 1;
      this.batchCount++;
      this.releaseWaiters();
      this.listener?.durable(this.durable);
    }
    this.flushing = false;
    for (const r of this.idleWaiters.splice(0)) r();
  }

  /** The largest prefix of the pending records within both batch bounds: [bytes, count]. */
  private cutBatch(): [number, number] {
    let off = 0;
    let count = 0;
    while (off < this.end && count < this.maxBatchRecords) {
      const size = RECORD_HEADER_BYTES + readU32(this.buf, off);
      if (off + size > this.maxBatchBytes) break;
      off += size;
      count++;
    }
    return [off, count];
  }

  private async rotate(firstSeq: number, path: string): Promise<void> {
    this.file.close();
    this.file = await this.fs.createNew(path);
    this.segment = { firstSeq, path };
    this.segments.push(this.segment);
    this.segmentSize = 0;
    await this.fs.syncDir(this.dir);
  }

  private releaseWaiters(): void {
    const seqs = this.waitSeqs;
    let h = this.waitHead;
    while (h < seqs.length && seqs[h] <= this.durable) this.waitResolves[h++]();
    if (h === seqs.length) {
      seqs.length = 0;
      this.waitResolves.length = 0;
      this.waitRejects.length = 0;
      h = 0;
    } else if (h >= WAITER_COMPACT_MIN && h * 2 >= seqs.length) {
      seqs.splice(0, h);
      this.waitResolves.splice(0, h);
      this.waitRejects.splice(0, h);
      h = 0;
    }
    this.waitHead = h;
  }

  /**
   * Enters the failed state: refuses appends at once, drops the pending records, cuts
   * the segment back to its last fsynced byte (best effort: if that fails too, records
   * after `durableSeq` may still be found on recovery, so their callers must treat
   * them as of unknown outcome, never as rejected), then rejects every waiter.
   */
  private async fail(operation: string, path: string, cause: unknown): Promise<void> {
    const err = new WalFailedError(path, operation, this.durable, cause);
    this.failure = err;
    this.end = 0;
    try {
      this.file.close();
    } catch {
      // The handle may already be unusable.
    }
    try {
      await this.fs.truncate(this.segment.path, this.segmentSize);
    } catch {
      // Best effort, see above.
    }
    for (let i = this.waitHead; i < this.waitSeqs.length; i++) this.waitRejects[i](err);
    this.waitSeqs = [];
    this.waitResolves = [];
    this.waitRejects = [];
    this.waitHead = 0;
    this.listener?.failed(err);
  }
}
