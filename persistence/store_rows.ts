/**
 * Rows for the store from commands' events, built the same way live and on recovery:
 * for each order its latest update in the batch (version = the command's sequence × 2^20
 * + the update's place in the command, so re-delivery writes the same keys; intermediate
 * states within one batch are not kept, which halves the rows of a busy book) and a trade
 * row per trade. The balances that changed are read from the ledger when the batch is
 * taken, on the pipeline's thread (persistence/packed_rows.ts), and added by `take`.
 */

import {
  EV_ACCEPTED,
  EV_ORDER,
  EV_TRADE,
  EventBuffer,
  STATUS_CODES,
} from "../domain/event_buffer.ts";
import { STP_MODES, type TimeInForce } from "../domain/types.ts";
import type { BalanceRow, OrderRow, WriteBatch } from "./storage_port.ts";

/** The events of one command: records [from, to) of an event buffer. */
export interface EventRange {
  buf: EventBuffer;
  from: number;
  to: number;
}

/** Records [from, to) of event records and their strings (an EventRange, or packed rows). */
export interface RecordRange {
  buf: { readonly f: Float64Array; readonly strings: readonly string[] };
  from: number;
  to: number;
}

/** Order updates one command may produce (a taker filling this many makers). */
const UPDATES_PER_COMMAND = 2 ** 20;
const TIFS: readonly TimeInForce[] = ["GTC", "IOC", "FOK"];

export class RowBatch {
  readonly batch: WriteBatch = { orders: [], trades: [], balances: [], candles: [] };
  /** Latest row of each order in the batch. */
  private readonly orders = new Map<number, OrderRow>();
  /** Last command added. */
  lastSeq = 0;
  /** Highest trade id added (0 if none). */
  maxTradeId = 0;
  /** Commands added. */
  commands = 0;

  get size(): number {
    return this.orders.size + this.batch.trades.length;
  }

  /**
   * Adds the rows of command `seq` accepted at `tsMs`, from its events (binary records,
   * read without decoding them into objects), in order: acquisition, matching, settlement.
   */
  add(seq: number, tsMs: number, ...ranges: (RecordRange | undefined)[]): void {
    let updates = 0;
    // A market buy by quote amount only ever updates within its own command, right
    // after its acceptance, which carries the budget.
    let budgetOrderId = -1;
    let budgetUnits = 0;
    for (const r of ranges) {
      if (r === undefined) continue;
      const f = r.buf.f;
      const strings = r.buf.strings;
      for (let at = r.from; at < r.to; at += EventBuffer.recordLength(f[at])) {
        switch (f[at]) {
          case EV_ACCEPTED:
            budgetOrderId = f[at + 1];
            budgetUnits = f[at + 10];
            break;
          case EV_ORDER: {
            if (updates === UPDATES_PER_COMMAND) {
              throw new RangeError(
                `Command ${seq} produced more than ${UPDATES_PER_COMMAND} order updates`,
              );
            }
            const orderId = f[at + 1];
            const cid = f[at + 11];
            this.orders.set(orderId, {
              orderId,
              version: seq * UPDATES_PER_COMMAND + updates++,
              userId: f[at + 2],
              symbolId: f[at + 3],
              side: f[at + 4] === 1 ? "SELL" : "BUY",
              orderType: f[at + 13] === 1 ? "MARKET" : "LIMIT",
              timeInForce: TIFS[f[at + 14]],
              priceTicks: f[at + 6],
              qtyUnits: f[at + 7],
              quoteUnits: orderId === budgetOrderId ? budgetUnits : 0,
              filledUnits: f[at + 8],
              quoteFilledUnits: f[at + 10],
              status: STATUS_CODES[f[at + 5]],
              cid: cid < 0 ? null : strings[cid],
              postOnly: f[at + 16] === 1,
              stp: STP_MODES[f[at + 17]],
              createdMs: f[at + 15],
              updatedMs: tsMs,
            });
            break;
          }
          case EV_TRADE: {
            const tradeId = f[at + 1];
            this.batch.trades.push({
              tradeId,
              symbolId: f[at + 2],
              priceTicks: f[at + 3],
              qtyUnits: f[at + 4],
              quoteUnits: f[at + 5],
              takerSide: f[at + 6] === 1 ? "SELL" : "BUY",
              makerOrderId: f[at + 7],
              takerOrderId: f[at + 8],
              makerUserId: f[at + 9],
              takerUserId: f[at + 10],
              buyerFeeUnits: f[at + 11],
              sellerFeeUnits: f[at + 12],
              tsMs,
            });
            if (tradeId > this.maxTradeId) this.maxTradeId = tradeId;
            break;
          }
        }
      }
    }
    this.lastSeq = seq;
    this.commands++;
  }

  /** The batch to write: its order and trade rows, and the given balance rows. */
  take(balances: BalanceRow[]): WriteBatch {
    this.batch.balances = balances;
    this.batch.orders = [...this.orders.values()];
    return this.batch;
  }
}
