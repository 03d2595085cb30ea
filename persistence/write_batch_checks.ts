/**
 * Validation of a WriteBatch before any of it is written, shared by the storage adapters:
 * a batch with one bad row is refused whole, with a message naming the row, the field and
 * the value, so the store never holds half a batch or a value it cannot return exactly.
 */

import { isKlineInterval } from "../domain/kline_intervals.ts";
import { MAX_CID_LENGTH } from "../domain/limits.ts";
import { ORDER_TYPES, SIDES, STP_MODES, TIME_IN_FORCES } from "../domain/types.ts";
import type { OrderStatus } from "../domain/types.ts";
import { MAX_BATCH_ROWS, type WriteBatch } from "./storage_port.ts";

const ORDER_STATUSES: readonly OrderStatus[] = [
  "NEW",
  "PARTIALLY_FILLED",
  "FILLED",
  "CANCELED",
  "REJECTED",
  "EXPIRED",
];

type Fields = Record<string, unknown>;

const ORDER_UINTS = [
  "orderId",
  "userId",
  "symbolId",
  "priceTicks",
  "qtyUnits",
  "quoteUnits",
  "filledUnits",
  "quoteFilledUnits",
  "createdMs",
  "updatedMs",
];
const TRADE_UINTS = [
  "symbolId",
  "priceTicks",
  "qtyUnits",
  "quoteUnits",
  "makerOrderId",
  "takerOrderId",
  "makerUserId",
  "takerUserId",
  "buyerFeeUnits",
  "sellerFeeUnits",
  "tsMs",
];
const BALANCE_UINTS = ["userId", "assetId", "availableUnits", "frozenUnits", "tsMs"];
const CANDLE_UINTS = [
  "symbolId",
  "openMs",
  "closeMs",
  "openTicks",
  "highTicks",
  "lowTicks",
  "closeTicks",
  "baseVolumeUnits",
  "quoteVolumeUnits",
  "trades",
  "takerBuyBaseUnits",
  "takerBuyQuoteUnits",
];

function refuse(where: string, field: string, rule: string, value: unknown): RangeError {
  const shown = typeof value === "string" ? JSON.stringify(value.slice(0, 80)) : String(value);
  return new RangeError(`Cannot write batch: ${where}.${field} ${rule}, received ${shown}`);
}

function checkUints(where: string, row: Fields, fields: readonly string[]): void {
  for (const f of fields) {
    const v = row[f];
    if (!(Number.isSafeInteger(v) && (v as number) >= 0)) {
      throw refuse(where, f, "must be a non-negative safe integer", v);
    }
  }
}

function checkPositive(where: string, row: Fields, field: string): void {
  const v = row[field];
  if (!(Number.isSafeInteger(v) && (v as number) >= 1)) {
    throw refuse(where, field, "must be a positive safe integer", v);
  }
}

function checkOneOf(where: string, row: Fields, field: string, allowed: readonly string[]) {
  const v = row[field];
  if (typeof v !== "string" || !allowed.includes(v)) {
    throw refuse(where, field, `must be one of ${allowed.join(", ")}`, v);
  }
}

/**
 * Returns the number of rows in `batch`. Throws a RangeError naming the first bad row
 * (e.g. `orders[3].qtyUnits must be a non-negative safe integer, received -5`) or a batch
 * larger than MAX_BATCH_ROWS.
 */
export function checkWriteBatch(batch: WriteBatch): number {
  const rows = batch.orders.length + batch.trades.length + batch.balances.length +
    batch.candles.length;
  if (rows > MAX_BATCH_ROWS) {
    throw new RangeError(
      `Cannot write batch: ${rows} rows exceed MAX_BATCH_ROWS (${MAX_BATCH_ROWS}); split it`,
    );
  }
  batch.orders.forEach((o, i) => {
    const where = `orders[${i}]`, row = o as unknown as Fields;
    checkUints(where, row, ORDER_UINTS);
    checkPositive(where, row, "version");
    checkOneOf(where, row, "side", SIDES);
    checkOneOf(where, row, "orderType", ORDER_TYPES);
    checkOneOf(where, row, "timeInForce", TIME_IN_FORCES);
    checkOneOf(where, row, "status", ORDER_STATUSES);
    checkOneOf(where, row, "stp", STP_MODES);
    if (typeof o.postOnly !== "boolean") {
      throw refuse(where, "postOnly", "must be a boolean", o.postOnly);
    }
    if (o.cid !== null && (typeof o.cid !== "string" || o.cid.length > MAX_CID_LENGTH)) {
      throw refuse(where, "cid", `must be null or a string of at most ${MAX_CID_LENGTH}`, o.cid);
    }
  });
  batch.trades.forEach((t, i) => {
    const where = `trades[${i}]`, row = t as unknown as Fields;
    checkPositive(where, row, "tradeId");
    checkUints(where, row, TRADE_UINTS);
    checkOneOf(where, row, "takerSide", SIDES);
  });
  batch.balances.forEach((b, i) => {
    const where = `balances[${i}]`, row = b as unknown as Fields;
    checkUints(where, row, BALANCE_UINTS);
    checkPositive(where, row, "version");
  });
  batch.candles.forEach((c, i) => {
    const where = `candles[${i}]`, row = c as unknown as Fields;
    checkUints(where, row, CANDLE_UINTS);
    if (typeof c.interval !== "string" || !isKlineInterval(c.interval)) {
      throw refuse(where, "interval", "must be one of the 16 kline intervals", c.interval);
    }
    if (typeof c.closed !== "boolean") throw refuse(where, "closed", "must be a boolean", c.closed);
  });
  return rows;
}
