/**
 * Store rows in transit, packed: what {@link RowBatch} needs to build a batch's rows,
 * gathered on the pipeline's thread without making a row object, and turned into rows
 * (`unpackRows`) where they are written. Building row objects and structured-cloning
 * them to the SQLite worker cost the pipeline's event loop ~10 ms per 100 ms batch
 * (the answer latency's p99); a packed batch is three typed arrays moved to the worker
 * without a copy, and a few strings.
 *
 * Layout of `f`: per command, a header `seq tsMs length` and then `length` doubles of
 * its ACCEPTED, ORDER and TRADE records, copied from the event buffers (see
 * domain/event_buffer.ts). An ORDER record's cid is an index into `strings`; an ACCEPTED
 * record's cid slot is -1 (rows never read it). Balances are read from the ledger when
 * the batch is taken: `balances` holds `userId assetId available frozen` per touched
 * balance, all at version `lastSeq`.
 */

import {
  EV_ACCEPTED,
  EV_BALANCE,
  EV_ORDER,
  EV_TRADE,
  EventBuffer,
} from "../domain/event_buffer.ts";
import type { Ledger } from "../domain/ledger.ts";
import { MAX_ASSET_ID } from "../domain/limits.ts";
import {
  type BalanceRow,
  MAX_BATCH_ROWS,
  type StoragePort,
  type WriteBatch,
} from "./storage_port.ts";
import { type EventRange, RowBatch } from "./store_rows.ts";

/** A batch of store rows in packed form (see the module comment). */
export interface PackedRows {
  f: Float64Array<ArrayBuffer>;
  strings: string[];
  balances: Float64Array<ArrayBuffer>;
  /** Commands in the batch; the last one's sequence is the balances' version. */
  commands: number;
  lastSeq: number;
  /** Time of the balance rows (when the batch was taken). */
  tsMs: number;
  /** Rows the batch will make: distinct orders + trades + balances. */
  rows: number;
  orderRows: number;
  tradeRows: number;
  balanceRows: number;
  /** Highest trade id in the batch (0 if none). */
  maxTradeId: number;
}

const HEADER = 3;
const ORDER_CID = 11;
const ACCEPTED_CID = 12;
/** Keys of touched balances: asset ids are below MAX_ASSET_ID + 1. */
const BALANCE_KEY_ASSETS = MAX_ASSET_ID + 1;
const INITIAL_DOUBLES = 1 << 14;

/** Gathers the rows of commands, in order, into one {@link PackedRows}. */
export class PackedRowsBuilder {
  private f = new Float64Array(INITIAL_DOUBLES);
  private length = 0;
  private readonly strings: string[] = [];
  private readonly orderIds = new Set<number>();
  private trades = 0;
  /** Balances touched: key → [userId, assetId]. */
  private readonly touched = new Map<number, [number, number]>();
  commands = 0;
  lastSeq = 0;
  maxTradeId = 0;

  /** Rows the batch will make: distinct orders + trades + touched balances. */
  get size(): number {
    return this.orderIds.size + this.trades + this.touched.size;
  }

  /**
   * Adds command `seq` accepted at `tsMs` with its events, in order: acquisition,
   * matching, settlement. The records are copied: the buffers may be reused afterwards.
   */
  add(seq: number, tsMs: number, ...ranges: (EventRange | undefined)[]): void {
    let need = HEADER;
    for (const r of ranges) if (r !== undefined) need += r.to - r.from;
    this.reserve(need);
    const out = this.f;
    const head = this.length;
    let w = head + HEADER;
    for (const r of ranges) {
      if (r === undefined) continue;
      const src = r.buf.f;
      for (let at = r.from; at < r.to;) {
        const type = src[at];
        const len = EventBuffer.recordLength(type);
        switch (type) {
          case EV_ORDER: {
            out.set(src.subarray(at, at + len), w);
            const cid = src[at + ORDER_CID];
            if (cid >= 0) {
              out[w + ORDER_CID] = this.strings.length;
              this.strings.push(r.buf.strings[cid]);
            }
            this.orderIds.add(src[at + 1]);
            w += len;
            break;
          }
          case EV_TRADE: {
            out.set(src.subarray(at, at + len), w);
            this.trades++;
            const tradeId = src[at + 1];
            if (tradeId > this.maxTradeId) this.maxTradeId = tradeId;
            w += len;
            break;
          }
          case EV_ACCEPTED:
            out.set(src.subarray(at, at + len), w);
            out[w + ACCEPTED_CID] = -1;
            w += len;
            break;
          case EV_BALANCE: {
            const userId = src[at + 1];
            const assetId = src[at + 2];
            const key = userId * BALANCE_KEY_ASSETS + assetId;
            if (!this.touched.has(key)) this.touched.set(key, [userId, assetId]);
            break;
          }
        }
        at += len;
      }
    }
    out[head] = seq;
    out[head + 1] = tsMs;
    out[head + 2] = w - head - HEADER;
    this.length = w;
    this.lastSeq = seq;
    this.commands++;
  }

  /**
   * The packed batch, with the touched balances read from `ledger` now. The builder is
   * spent afterwards (its arrays belong to the batch, which may be moved to a worker).
   */
  take(ledger: Ledger, tsMs: number): PackedRows {
    const balances = new Float64Array(this.touched.size * 4);
    let b = 0;
    for (const [userId, assetId] of this.touched.values()) {
      const acct = ledger.find(userId);
      balances[b] = userId;
      balances[b + 1] = assetId;
      balances[b + 2] = acct?.available[assetId] ?? 0;
      balances[b + 3] = acct?.frozen[assetId] ?? 0;
      b += 4;
    }
    return {
      f: this.f.slice(0, this.length),
      strings: this.strings,
      balances,
      commands: this.commands,
      lastSeq: this.lastSeq,
      tsMs,
      rows: this.size,
      orderRows: this.orderIds.size,
      tradeRows: this.trades,
      balanceRows: this.touched.size,
      maxTradeId: this.maxTradeId,
    };
  }

  private reserve(doubles: number): void {
    if (this.length + doubles <= this.f.length) return;
    let n = this.f.length * 2;
    while (n < this.length + doubles) n *= 2;
    const next = new Float64Array(n);
    next.set(this.f.subarray(0, this.length));
    this.f = next;
  }
}

/** The rows of a packed batch, as {@link RowBatch} makes them from the same events. */
export function unpackRows(p: PackedRows): WriteBatch {
  const rows = new RowBatch();
  const f = p.f;
  const buf = { f, strings: p.strings };
  for (let at = 0; at < f.length;) {
    const from = at + HEADER;
    const to = from + f[at + 2];
    if (!(to <= f.length)) {
      throw new RangeError(`Packed rows are corrupt: command at ${at} runs past the end`);
    }
    rows.add(f[at], f[at + 1], { buf, from, to });
    at = to;
  }
  const balances: BalanceRow[] = [];
  const b = p.balances;
  for (let i = 0; i < b.length; i += 4) {
    balances.push({
      userId: b[i],
      assetId: b[i + 1],
      version: p.lastSeq,
      availableUnits: b[i + 2],
      frozenUnits: b[i + 3],
      tsMs: p.tsMs,
    });
  }
  return rows.take(balances);
}

/**
 * The rows of a packed batch as store writes of at most `maxRows` rows each: one command
 * that fills many makers can make more rows than one write takes. The parts are written
 * in order; the caller counts the batch as stored once the last one is.
 */
export function unpackRowWrites(p: PackedRows, maxRows = MAX_BATCH_ROWS): WriteBatch[] {
  return splitWriteBatch(unpackRows(p), maxRows);
}

/** `batch` as consecutive writes of at most `maxRows` rows (itself if it fits). */
export function splitWriteBatch(batch: WriteBatch, maxRows: number): WriteBatch[] {
  const total = batch.orders.length + batch.trades.length + batch.balances.length +
    batch.candles.length;
  if (total <= maxRows) return [batch];
  const parts: WriteBatch[] = [];
  let part: WriteBatch = { orders: [], trades: [], balances: [], candles: [] };
  let n = 0;
  const put = <K extends keyof WriteBatch>(key: K, rows: WriteBatch[K]) => {
    for (const row of rows) {
      if (n === maxRows) {
        parts.push(part);
        part = { orders: [], trades: [], balances: [], candles: [] };
        n = 0;
      }
      (part[key] as unknown[]).push(row);
      n++;
    }
  };
  put("orders", batch.orders);
  put("trades", batch.trades);
  put("balances", batch.balances);
  put("candles", batch.candles);
  if (n > 0) parts.push(part);
  return parts;
}

/** Writes a packed batch: moved to the store as is if it takes packed batches, else rows. */
export async function writePackedRows(store: StoragePort, rows: PackedRows): Promise<void> {
  if (store.writePacked !== undefined) return await store.writePacked(rows);
  for (const part of unpackRowWrites(rows)) await store.write(part);
}
