/**
 * Runs parsed replay input through a fresh engine: deposits first, then every order row
 * as one command, in file order. Collects what the outputs need (trades, balance change
 * counts, rejections by reason) and each command's latency, and nothing else.
 */

import type { CancelOrder, Command, PlaceOrder } from "../domain/commands.ts";
import { Engine } from "../domain/engine.ts";
import {
  BALANCE_RECORD_LENGTH,
  EV_BALANCE,
  EV_REJECTED,
  EV_TRADE,
  EventBuffer,
} from "../domain/event_buffer.ts";
import { MAX_UNITS } from "../domain/limits.ts";
import { RejectCode } from "../domain/reject_codes.ts";
import { BalanceVersions } from "./balance_versions.ts";
import { ReplayInputError } from "./csv_row_error.ts";
import type { ReplayInput } from "./csv_input.ts";
import { LatencyHistogram } from "./latency_histogram.ts";
import { ROW_BUY, ROW_CANCEL } from "./order_columns.ts";
import { TradeColumns } from "./trade_columns.ts";

/** Reason names by code, for the summary. */
const REASON_BY_CODE = new Map<number, string>(
  Object.entries(RejectCode).map(([name, code]) => [code, name]),
);
// Offsets in the engine's binary event records (domain/event_buffer.ts).
const REJECTED_CODE = 2;
const BALANCE_USER = 1;
const BALANCE_ASSET = 2;
const BALANCE_LENGTH = BALANCE_RECORD_LENGTH;
const TRADE_LENGTH = 13;

/** What the run did, by kind of command. */
export interface ReplayCounts {
  commands: number;
  places: number;
  cancels: number;
  placesAccepted: number;
  placesRejected: number;
  cancelsAccepted: number;
  cancelsRejected: number;
  /** Rejections by reason code name (INSUFFICIENT_BALANCE, UNKNOWN_ORDER, ...). */
  rejectedByReason: Map<string, number>;
  /** Deposits applied (rows of balances_init.csv with a positive avail). */
  deposits: number;
}

export interface ReplayRun {
  engine: Engine;
  counts: ReplayCounts;
  trades: TradeColumns;
  versions: BalanceVersions;
  /** Per-command latency: the engine's execute plus the run's bookkeeping for it. */
  latency: LatencyHistogram;
  /** Users to report: everyone in balances_init.csv, ascending. */
  userIds: number[];
}

export interface RunOptions {
  /** Called every `progressEvery` commands and once at the end. */
  onProgress?: (done: number, total: number) => void;
  progressEvery?: number;
}

/**
 * Applies the input's deposits, then its order rows, to a new engine and returns the
 * run. Throws a {@link ReplayInputError} if a deposit is refused (the starting balances
 * are not a valid state); an InvariantError from the engine means an engine bug.
 */
export function runReplay(input: ReplayInput, opts: RunOptions = {}): ReplayRun {
  const symbol = input.symbol;
  const engine = new Engine({
    assets: input.assets,
    symbols: [symbol],
    // The replay has no order-count limit.
    maxOpenOrdersPerUser: MAX_UNITS,
  });
  const versions = new BalanceVersions(input.maxUserId, engine.ledger.assetSlots);
  const users = new Set<number>();
  let deposits = 0;
  for (const d of input.deposits) {
    users.add(d.userId);
    if (d.units === 0) continue;
    deposits++;
    const events = engine.apply({
      type: "deposit",
      userId: d.userId,
      assetId: d.assetId,
      amountUnits: d.units,
    });
    const first = events[0];
    if (first.type === "rejected") {
      throw new ReplayInputError(input.paths.balances, d.line, first.message);
    }
    for (const e of events) if (e.type === "balance") versions.bump(e.userId, e.assetId);
  }

  const rows = input.orders;
  const n = rows.length;
  const kind = rows.kind;
  const orderId = rows.orderId;
  const userId = rows.userId;
  const priceTicks = rows.priceTicks;
  const qtyUnits = rows.qtyUnits;
  const symbolId = symbol.id;
  const trades = new TradeColumns();
  const latency = new LatencyHistogram();
  const rejectedByCode = new Map<number, number>();
  let placesRejected = 0;
  let cancelsRejected = 0;
  const onProgress = opts.onProgress;
  const every = opts.progressEvery ?? 65_536;
  let nextProgress = every;

  let tPrev = performance.now();
  for (let i = 0; i < n; i++) {
    const k = kind[i];
    let cmd: Command;
    if (k === ROW_CANCEL) {
      const c: CancelOrder = {
        type: "cancel",
        userId: userId[i],
        orderId: orderId[i],
        symbolId,
      };
      cmd = c;
    } else {
      const p: PlaceOrder = {
        type: "place",
        userId: userId[i],
        symbolId,
        side: k === ROW_BUY ? "BUY" : "SELL",
        orderType: "LIMIT",
        timeInForce: "GTC",
        priceTicks: priceTicks[i],
        qtyUnits: qtyUnits[i],
        stp: "NONE",
        orderId: orderId[i],
      };
      cmd = p;
    }
    // The engine's binary events: no event objects on the hot path.
    const out = engine.execute(cmd);
    const f = out.f;
    if (out.length > 0 && f[0] === EV_REJECTED) {
      if (k === ROW_CANCEL) cancelsRejected++;
      else placesRejected++;
      const code = f[REJECTED_CODE];
      rejectedByCode.set(code, (rejectedByCode.get(code) ?? 0) + 1);
    } else {
      const len = out.length;
      let at = 0;
      while (at < len) {
        const type = f[at];
        if (type === EV_BALANCE) {
          versions.bump(f[at + BALANCE_USER], f[at + BALANCE_ASSET]);
          at += BALANCE_LENGTH;
        } else if (type === EV_TRADE) {
          trades.pushRecord(f, at);
          at += TRADE_LENGTH;
        } else {
          at += EventBuffer.recordLength(type);
        }
      }
    }
    const t = performance.now();
    latency.record((t - tPrev) * 1e6);
    tPrev = t;
    if (i === nextProgress && onProgress !== undefined) {
      nextProgress += every;
      onProgress(i, n);
      tPrev = performance.now(); // the progress report is not the command's latency
    }
  }
  onProgress?.(n, n);

  const rejectedByReason = new Map<string, number>();
  for (const [code, count] of rejectedByCode) {
    rejectedByReason.set(REASON_BY_CODE.get(code) ?? `code ${code}`, count);
  }
  const cancels = rows.count(ROW_CANCEL);
  const places = n - cancels;
  return {
    engine,
    counts: {
      commands: n,
      places,
      cancels,
      placesAccepted: places - placesRejected,
      placesRejected,
      cancelsAccepted: cancels - cancelsRejected,
      cancelsRejected,
      rejectedByReason,
      deposits,
    },
    trades,
    versions,
    latency,
    userIds: [...users].sort((a, b) => a - b),
  };
}
