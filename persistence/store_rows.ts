/**
 * Rows for the store from commands' events, built the same way live and on recovery:
 * for each order its latest update in the batch (version = the command's sequence × 2^20
 * + the update's place in the command, so re-delivery writes the same keys; intermediate
 * states within one batch are not kept, which halves the rows of a busy book), a trade row
 * per trade, and the users' balances that changed, read from the ledger when the batch is
 * written.
 */

import type { EngineEvent } from "../domain/events.ts";
import type { Ledger } from "../domain/ledger.ts";
import type { BalanceRow, OrderRow, WriteBatch } from "./storage_port.ts";

/** Order updates one command may produce (a taker filling this many makers). */
const UPDATES_PER_COMMAND = 2 ** 20;

export class RowBatch {
  readonly batch: WriteBatch = { orders: [], trades: [], balances: [], candles: [] };
  /** Latest row of each order in the batch. */
  private readonly orders = new Map<number, OrderRow>();
  /** Balances touched in the batch, by "user:asset". */
  private readonly touched = new Map<string, [number, number]>();
  /** Last command added. */
  lastSeq = 0;
  /** Highest trade id added (0 if none). */
  maxTradeId = 0;
  /** Commands added. */
  commands = 0;

  get size(): number {
    return this.orders.size + this.batch.trades.length + this.touched.size;
  }

  /** Adds the rows of command `seq` accepted at `tsMs` with these events. */
  add(seq: number, tsMs: number, events: readonly EngineEvent[]): void {
    let updates = 0;
    // A market buy by quote amount only ever updates within its own command, right
    // after its acceptance, which carries the budget.
    let budgetOrderId = -1;
    let budgetUnits = 0;
    for (const e of events) {
      switch (e.type) {
        case "accepted":
          budgetOrderId = e.orderId;
          budgetUnits = e.quoteUnits;
          break;
        case "order": {
          if (updates === UPDATES_PER_COMMAND) {
            throw new RangeError(
              `Command ${seq} produced more than ${UPDATES_PER_COMMAND} order updates`,
            );
          }
          this.orders.set(e.orderId, {
            orderId: e.orderId,
            version: seq * UPDATES_PER_COMMAND + updates++,
            userId: e.userId,
            symbolId: e.symbolId,
            side: e.side,
            orderType: e.orderType,
            timeInForce: e.timeInForce,
            priceTicks: e.priceTicks,
            qtyUnits: e.qtyUnits,
            quoteUnits: e.orderId === budgetOrderId ? budgetUnits : 0,
            filledUnits: e.filledUnits,
            quoteFilledUnits: e.quoteFilledUnits,
            status: e.status,
            cid: e.cid,
            createdMs: e.createdMs,
            updatedMs: tsMs,
          });
          break;
        }
        case "trade":
          this.batch.trades.push({
            tradeId: e.tradeId,
            symbolId: e.symbolId,
            priceTicks: e.priceTicks,
            qtyUnits: e.qtyUnits,
            quoteUnits: e.quoteUnits,
            takerSide: e.takerSide,
            makerOrderId: e.makerOrderId,
            takerOrderId: e.takerOrderId,
            makerUserId: e.makerUserId,
            takerUserId: e.takerUserId,
            buyerFeeUnits: e.buyerFeeUnits,
            sellerFeeUnits: e.sellerFeeUnits,
            tsMs,
          });
          if (e.tradeId > this.maxTradeId) this.maxTradeId = e.tradeId;
          break;
        case "balance":
          this.touched.set(`${e.userId}:${e.assetId}`, [e.userId, e.assetId]);
          break;
      }
    }
    this.lastSeq = seq;
    this.commands++;
  }

  /**
   * The batch to write, with a balance row per touched user and asset read from the
   * ledger now (version = the last command in the batch, so the latest row is current).
   */
  take(ledger: Ledger, tsMs: number): WriteBatch {
    const balances: BalanceRow[] = [];
    for (const [userId, assetId] of this.touched.values()) {
      const acct = ledger.find(userId);
      balances.push({
        userId,
        assetId,
        version: this.lastSeq,
        availableUnits: acct?.available[assetId] ?? 0,
        frozenUnits: acct?.frozen[assetId] ?? 0,
        tsMs,
      });
    }
    this.batch.balances = balances;
    this.batch.orders = [...this.orders.values()];
    return this.batch;
  }
}
