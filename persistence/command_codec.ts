/**
 * The payload of a command WAL record: an accepted command together with the decisions
 * the account shard took for it (order id, funds held, extra held for an amend), so that
 * recovery applies the same decisions instead of taking them again. Rejected commands
 * changed nothing and are never logged.
 *
 * Layout: u8 type, u8 flags, then little-endian f64 fields, then (flag) a u16-length
 * UTF-8 client order id.
 */

import type { Deposit, Withdraw } from "../domain/commands.ts";
import type { MatchCancel } from "../domain/match_input.ts";
import type { AmendDecision, PlaceDecision } from "../domain/risk.ts";
import type { OrderType, Side, StpMode, TimeInForce } from "../domain/types.ts";
import { STP_MODES } from "../domain/types.ts";

/** `tsMs`: when the command was accepted (for a place, the same as `d.tsMs`). */
export type DurableCommand =
  | { type: "place"; tsMs: number; clientRef: number; d: PlaceDecision }
  | { type: "cancel"; tsMs: number; clientRef: number; c: MatchCancel }
  | { type: "amend"; tsMs: number; clientRef: number; d: AmendDecision }
  | { type: "deposit"; tsMs: number; clientRef: number; c: Deposit }
  | { type: "withdraw"; tsMs: number; clientRef: number; c: Withdraw };

const T_PLACE = 1;
const T_CANCEL = 2;
const T_AMEND = 3;
const T_DEPOSIT = 4;
const T_WITHDRAW = 5;

const F_CID = 1;
const F_POST_ONLY = 2;
const F_SELL = 4;
const F_MARKET = 8;

const TIFS: readonly TimeInForce[] = ["GTC", "IOC", "FOK"];
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Most bytes a client order id may take in a record. */
const MAX_CID_BYTES = 256;

/** Doubles of the largest record (a place) plus room for its cid. */
const SCRATCH_BYTES = 2 + 12 * 8 + 2 + MAX_CID_BYTES;
const scratch = new Uint8Array(SCRATCH_BYTES);
const scratchView = new DataView(scratch.buffer);

/**
 * Encodes a durable command into a scratch buffer shared by every call and returns a
 * view of it: valid until the next call (the WAL copies it on append). Throws on a client
 * order id longer than MAX_CID_BYTES.
 */
export function encodeCommand(cmd: DurableCommand): Uint8Array {
  const v = scratchView;
  let at = 2;
  const put = (n: number) => {
    v.setFloat64(at, n, true);
    at += 8;
  };
  put(cmd.tsMs);
  put(cmd.clientRef);
  let type: number;
  let flags = 0;
  let cid: string | null | undefined = null;
  switch (cmd.type) {
    case "place": {
      const d = cmd.d;
      type = T_PLACE;
      cid = d.cid;
      if (d.postOnly) flags |= F_POST_ONLY;
      if (d.side === "SELL") flags |= F_SELL;
      if (d.orderType === "MARKET") flags |= F_MARKET;
      put(d.orderId);
      put(d.userId);
      put(d.symbolId);
      put(d.timeInForce === "GTC" ? 0 : d.timeInForce === "IOC" ? 1 : 2);
      put(STP_MODES.indexOf(d.stp));
      put(d.priceTicks);
      put(d.qtyUnits);
      put(d.quoteUnits);
      put(d.budgetUnits);
      put(d.holdUnits);
      break;
    }
    case "cancel":
      type = T_CANCEL;
      cid = cmd.c.cid;
      put(cmd.c.userId);
      put(cmd.c.orderId ?? -1);
      put(cmd.c.symbolId ?? -1);
      break;
    case "amend":
      type = T_AMEND;
      put(cmd.d.userId);
      put(cmd.d.orderId);
      put(cmd.d.qtyUnits);
      put(cmd.d.priceTicks);
      put(cmd.d.extraHoldUnits);
      break;
    case "deposit":
    case "withdraw":
      type = cmd.type === "deposit" ? T_DEPOSIT : T_WITHDRAW;
      put(cmd.c.userId);
      put(cmd.c.assetId);
      put(cmd.c.amountUnits);
      break;
  }
  if (cid !== null && cid !== undefined) {
    const r = encoder.encodeInto(cid, scratch.subarray(at + 2, at + 2 + MAX_CID_BYTES));
    if (r.read < cid.length) {
      throw new RangeError(`Cannot log command: cid "${cid}" exceeds ${MAX_CID_BYTES} bytes`);
    }
    v.setUint16(at, r.written, true);
    at += 2 + r.written;
    flags |= F_CID;
  }
  scratch[0] = type;
  scratch[1] = flags;
  return scratch.subarray(0, at);
}

/** Decodes a payload written by {@link encodeCommand}; throws on a malformed one. */
export function decodeCommand(payload: Uint8Array): DurableCommand {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const type = payload[0];
  const flags = payload[1];
  const counts: Record<number, number> = {
    [T_PLACE]: 12,
    [T_CANCEL]: 5,
    [T_AMEND]: 7,
    [T_DEPOSIT]: 5,
    [T_WITHDRAW]: 5,
  };
  const n = counts[type];
  if (n === undefined) throw new Error(`Corrupt command record: unknown type ${type}`);
  if (payload.length < 2 + n * 8) {
    throw new Error(`Corrupt command record: ${payload.length} bytes for type ${type}`);
  }
  const f = (i: number) => view.getFloat64(2 + i * 8, true);
  let cid: string | null = null;
  if (flags & F_CID) {
    const at = 2 + n * 8;
    const len = view.getUint16(at, true);
    if (payload.length !== at + 2 + len) {
      throw new Error(`Corrupt command record: bad cid length ${len}`);
    }
    cid = decoder.decode(payload.subarray(at + 2, at + 2 + len));
  }
  const tsMs = f(0);
  const clientRef = f(1);
  switch (type) {
    case T_PLACE: {
      const side: Side = flags & F_SELL ? "SELL" : "BUY";
      const orderType: OrderType = flags & F_MARKET ? "MARKET" : "LIMIT";
      const stp: StpMode = STP_MODES[f(6)];
      return {
        type: "place",
        tsMs,
        clientRef,
        d: {
          orderId: f(2),
          userId: f(3),
          symbolId: f(4),
          side,
          orderType,
          timeInForce: TIFS[f(5)],
          postOnly: (flags & F_POST_ONLY) !== 0,
          stp,
          priceTicks: f(7),
          qtyUnits: f(8),
          quoteUnits: f(9),
          budgetUnits: f(10),
          holdUnits: f(11),
          cid,
          tsMs,
        },
      };
    }
    case T_CANCEL: {
      const c: MatchCancel = { userId: f(2) };
      if (f(3) >= 0) c.orderId = f(3);
      if (f(4) >= 0) c.symbolId = f(4);
      if (cid !== null) c.cid = cid;
      return { type: "cancel", tsMs, clientRef, c };
    }
    case T_AMEND:
      return {
        type: "amend",
        tsMs,
        clientRef,
        d: { userId: f(2), orderId: f(3), qtyUnits: f(4), priceTicks: f(5), extraHoldUnits: f(6) },
      };
    default: {
      const c = { userId: f(2), assetId: f(3), amountUnits: f(4) };
      return type === T_DEPOSIT
        ? { type: "deposit", tsMs, clientRef, c: { type: "deposit", ...c } }
        : { type: "withdraw", tsMs, clientRef, c: { type: "withdraw", ...c } };
    }
  }
}
