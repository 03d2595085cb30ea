/**
 * The engine's events in binary form: one growable Float64Array of variable-length
 * records plus a side table of strings. Writing an event costs a dozen stores and no
 * allocation, where an event object costs an allocation plus a boxed number for every
 * field above 2^30 (balances, quantities, ids of a busy exchange): in the engine's hot
 * loop that was 40 % of the time. The same records are what a worker ring buffer or a
 * journal carries; {@link EventBuffer.decode} turns them into {@link EngineEvent} objects
 * for everything that is not a hot loop.
 *
 * Record layouts (first double = record type):
 *   ACCEPTED  orderId userId symbolId side orderType tif postOnly price qty quote stp cid holdAsset holdUnits
 *   REJECTED  command code userId orderId cid message
 *   ORDER     orderId userId symbolId side status price qty filled remaining quoteFilled cid reason
 *             orderType tif createdMs postOnly stp
 *   TRADE     tradeId symbolId price qty quote takerSide makerOrder takerOrder makerUser takerUser buyerFee sellerFee
 *   BALANCE   userId assetId available frozen transfer
 *   BOOK      symbolId updateId side price qty
 * Strings (cid, message) are indexes into `strings`, -1 for null; enums are indexes into
 * the constant tables below; a missing order id is -1.
 */

import type { BalanceChanged, CommandRejected, EngineEvent } from "./events.ts";
import { RejectCode, type RejectReason } from "./reject_codes.ts";
import type { EndReason, OrderStatus, OrderType, Side, StpMode, TimeInForce } from "./types.ts";
import { STP_MODES } from "./types.ts";

export const EV_ACCEPTED = 1;
export const EV_REJECTED = 2;
export const EV_ORDER = 3;
export const EV_TRADE = 4;
export const EV_BALANCE = 5;
export const EV_BOOK = 6;
/** Doubles of an ORDER record (see the layout above). */
export const ORDER_RECORD_LENGTH = 18;
/** Doubles of a BALANCE record (type, user, asset, available, frozen, transfer). */
export const BALANCE_RECORD_LENGTH = 6;

const SIDES: readonly Side[] = ["BUY", "SELL"];
const TYPES: readonly OrderType[] = ["LIMIT", "MARKET"];
const TIFS: readonly TimeInForce[] = ["GTC", "IOC", "FOK"];
export const STATUS_CODES: readonly OrderStatus[] = [
  "NEW",
  "PARTIALLY_FILLED",
  "FILLED",
  "CANCELED",
  "REJECTED",
  "EXPIRED",
];
export const END_REASONS: readonly EndReason[] = [
  "IOC_REMAINDER",
  "MARKET_REMAINDER",
  "FOK_NOT_FILLED",
  "POST_ONLY_WOULD_TAKE",
  "STP_TAKER",
  "STP_MAKER",
  "USER_CANCEL",
];
const COMMANDS: readonly CommandRejected["command"][] = [
  "place",
  "cancel",
  "amend",
  "deposit",
  "withdraw",
];
const REASON_BY_CODE = new Map<number, RejectReason>(
  (Object.entries(RejectCode) as [RejectReason, number][]).map(([k, v]) => [v, k]),
);

export class EventBuffer {
  /** Records; valid up to `length`. */
  f: Float64Array;
  /** Doubles in use. */
  length = 0;
  /** Events in the buffer. */
  count = 0;
  readonly strings: string[] = [];

  constructor(initialDoubles = 4096) {
    this.f = new Float64Array(initialDoubles);
  }

  /** Empties the buffer (keeps its memory). */
  reset(): void {
    this.length = 0;
    this.count = 0;
    if (this.strings.length !== 0) this.strings.length = 0;
  }

  /** Makes room for `n` more doubles and returns the offset to write at. */
  private reserve(n: number): number {
    const at = this.length;
    if (at + n > this.f.length) {
      const g = new Float64Array(Math.max(this.f.length * 2, at + n));
      g.set(this.f.subarray(0, at));
      this.f = g;
    }
    this.length = at + n;
    this.count++;
    return at;
  }

  private str(s: string | null): number {
    if (s === null) return -1;
    this.strings.push(s);
    return this.strings.length - 1;
  }

  accepted(
    orderId: number,
    userId: number,
    symbolId: number,
    isSell: boolean,
    isMarket: boolean,
    tif: TimeInForce,
    postOnly: boolean,
    priceTicks: number,
    qtyUnits: number,
    quoteUnits: number,
    stp: StpMode,
    cid: string | null,
    holdAssetId: number,
    holdUnits: number,
  ): void {
    const at = this.reserve(15);
    const f = this.f;
    f[at] = EV_ACCEPTED;
    f[at + 1] = orderId;
    f[at + 2] = userId;
    f[at + 3] = symbolId;
    f[at + 4] = isSell ? 1 : 0;
    f[at + 5] = isMarket ? 1 : 0;
    f[at + 6] = tif === "GTC" ? 0 : tif === "IOC" ? 1 : 2;
    f[at + 7] = postOnly ? 1 : 0;
    f[at + 8] = priceTicks;
    f[at + 9] = qtyUnits;
    f[at + 10] = quoteUnits;
    f[at + 11] = stp === "NONE" ? 0 : stp === "EXPIRE_TAKER" ? 1 : stp === "EXPIRE_MAKER" ? 2 : 3;
    f[at + 12] = this.str(cid);
    f[at + 13] = holdAssetId;
    f[at + 14] = holdUnits;
  }

  rejected(
    command: CommandRejected["command"],
    reason: RejectReason,
    userId: number,
    orderId: number | null,
    cid: string | null,
    message: string,
  ): void {
    const at = this.reserve(7);
    const f = this.f;
    f[at] = EV_REJECTED;
    f[at + 1] = COMMANDS.indexOf(command);
    f[at + 2] = RejectCode[reason];
    f[at + 3] = userId;
    f[at + 4] = orderId ?? -1;
    f[at + 5] = this.str(cid);
    f[at + 6] = this.str(message);
  }

  /** `status` and `reason` are indexes into STATUS_CODES and END_REASONS (-1: none). */
  order(
    orderId: number,
    userId: number,
    symbolId: number,
    isSell: boolean,
    status: number,
    priceTicks: number,
    qtyUnits: number,
    filledUnits: number,
    remainingUnits: number,
    quoteFilledUnits: number,
    cid: string | null,
    reason: number,
    isMarket: boolean,
    tifCode: number,
    createdMs: number,
    postOnly: boolean,
    stpCode: number,
  ): void {
    const at = this.reserve(ORDER_RECORD_LENGTH);
    const f = this.f;
    f[at] = EV_ORDER;
    f[at + 1] = orderId;
    f[at + 2] = userId;
    f[at + 3] = symbolId;
    f[at + 4] = isSell ? 1 : 0;
    f[at + 5] = status;
    f[at + 6] = priceTicks;
    f[at + 7] = qtyUnits;
    f[at + 8] = filledUnits;
    f[at + 9] = remainingUnits;
    f[at + 10] = quoteFilledUnits;
    f[at + 11] = this.str(cid);
    f[at + 12] = reason;
    f[at + 13] = isMarket ? 1 : 0;
    f[at + 14] = tifCode;
    f[at + 15] = createdMs;
    f[at + 16] = postOnly ? 1 : 0;
    f[at + 17] = stpCode;
  }

  trade(
    tradeId: number,
    symbolId: number,
    priceTicks: number,
    qtyUnits: number,
    quoteUnits: number,
    takerIsSell: boolean,
    makerOrderId: number,
    takerOrderId: number,
    makerUserId: number,
    takerUserId: number,
    buyerFeeUnits: number,
    sellerFeeUnits: number,
  ): void {
    const at = this.reserve(13);
    const f = this.f;
    f[at] = EV_TRADE;
    f[at + 1] = tradeId;
    f[at + 2] = symbolId;
    f[at + 3] = priceTicks;
    f[at + 4] = qtyUnits;
    f[at + 5] = quoteUnits;
    f[at + 6] = takerIsSell ? 1 : 0;
    f[at + 7] = makerOrderId;
    f[at + 8] = takerOrderId;
    f[at + 9] = makerUserId;
    f[at + 10] = takerUserId;
    f[at + 11] = buyerFeeUnits;
    f[at + 12] = sellerFeeUnits;
  }

  /**
   * A balance after a change; `transferUnits` is the amount a deposit (positive) or a
   * withdrawal (negative) moved, 0 for every other change.
   */
  balance(
    userId: number,
    assetId: number,
    availableUnits: number,
    frozenUnits: number,
    transferUnits = 0,
  ): void {
    const at = this.reserve(BALANCE_RECORD_LENGTH);
    const f = this.f;
    f[at] = EV_BALANCE;
    f[at + 1] = userId;
    f[at + 2] = assetId;
    f[at + 3] = availableUnits;
    f[at + 4] = frozenUnits;
    f[at + 5] = transferUnits;
  }

  book(
    symbolId: number,
    updateId: number,
    isSell: boolean,
    priceTicks: number,
    qtyUnits: number,
  ): void {
    const at = this.reserve(6);
    const f = this.f;
    f[at] = EV_BOOK;
    f[at + 1] = symbolId;
    f[at + 2] = updateId;
    f[at + 3] = isSell ? 1 : 0;
    f[at + 4] = priceTicks;
    f[at + 5] = qtyUnits;
  }

  /** Length in doubles of the record starting at `at`. */
  static recordLength(type: number): number {
    switch (type) {
      case EV_ACCEPTED:
        return 15;
      case EV_REJECTED:
        return 7;
      case EV_ORDER:
        return ORDER_RECORD_LENGTH;
      case EV_TRADE:
        return 13;
      case EV_BALANCE:
        return BALANCE_RECORD_LENGTH;
      case EV_BOOK:
        return 6;
    }
    throw new Error(`Corrupt event buffer: unknown record type ${type}`);
  }

  /** The events as objects, in order. */
  decode(): EngineEvent[] {
    return this.decodeRange(0, this.length);
  }

  /**
   * The events of records [from, to) (offsets in doubles, as `length` was before and
   * after writing them), appended to `out`.
   */
  decodeRange(from: number, to: number, out: EngineEvent[] = []): EngineEvent[] {
    const f = this.f;
    const strs = this.strings;
    const s = (i: number) => (i < 0 ? null : strs[i]);
    for (let at = from; at < to; at += EventBuffer.recordLength(f[at])) {
      switch (f[at]) {
        case EV_ACCEPTED:
          out.push({
            type: "accepted",
            orderId: f[at + 1],
            userId: f[at + 2],
            symbolId: f[at + 3],
            side: SIDES[f[at + 4]],
            orderType: TYPES[f[at + 5]],
            timeInForce: TIFS[f[at + 6]],
            postOnly: f[at + 7] === 1,
            priceTicks: f[at + 8],
            qtyUnits: f[at + 9],
            quoteUnits: f[at + 10],
            stp: STP_MODES[f[at + 11]],
            cid: s(f[at + 12]),
            holdAssetId: f[at + 13],
            holdUnits: f[at + 14],
          });
          break;
        case EV_REJECTED: {
          const code = f[at + 2];
          out.push({
            type: "rejected",
            command: COMMANDS[f[at + 1]],
            code,
            reason: REASON_BY_CODE.get(code) as RejectReason,
            message: s(f[at + 6]) as string,
            userId: f[at + 3],
            orderId: f[at + 4] < 0 ? null : f[at + 4],
            cid: s(f[at + 5]),
          });
          break;
        }
        case EV_ORDER:
          out.push({
            type: "order",
            orderId: f[at + 1],
            userId: f[at + 2],
            symbolId: f[at + 3],
            side: SIDES[f[at + 4]],
            orderType: TYPES[f[at + 13]],
            timeInForce: TIFS[f[at + 14]],
            createdMs: f[at + 15],
            status: STATUS_CODES[f[at + 5]],
            priceTicks: f[at + 6],
            qtyUnits: f[at + 7],
            filledUnits: f[at + 8],
            remainingUnits: f[at + 9],
            quoteFilledUnits: f[at + 10],
            cid: s(f[at + 11]),
            reason: f[at + 12] < 0 ? null : END_REASONS[f[at + 12]],
          });
          break;
        case EV_TRADE:
          out.push({
            type: "trade",
            tradeId: f[at + 1],
            symbolId: f[at + 2],
            priceTicks: f[at + 3],
            qtyUnits: f[at + 4],
            quoteUnits: f[at + 5],
            takerSide: SIDES[f[at + 6]],
            makerOrderId: f[at + 7],
            takerOrderId: f[at + 8],
            makerUserId: f[at + 9],
            takerUserId: f[at + 10],
            buyerFeeUnits: f[at + 11],
            sellerFeeUnits: f[at + 12],
          });
          break;
        case EV_BALANCE: {
          const e: BalanceChanged = {
            type: "balance",
            userId: f[at + 1],
            assetId: f[at + 2],
            availableUnits: f[at + 3],
            frozenUnits: f[at + 4],
          };
          if (f[at + 5] !== 0) e.transferUnits = f[at + 5];
          out.push(e);
          break;
        }
        case EV_BOOK:
          out.push({
            type: "book",
            symbolId: f[at + 1],
            updateId: f[at + 2],
            side: SIDES[f[at + 3]],
            priceTicks: f[at + 4],
            qtyUnits: f[at + 5],
          });
          break;
      }
    }
    return out;
  }
}
