/**
 * The state the pipeline's stages share, owned by the pipeline and living longer than
 * any stage instance: the account shard, the matcher, the candle aggregator, the command
 * WAL, the store, the push hub, and the queues between stages. A stage that crashes is
 * rebuilt by the supervisor and picks its work up again from these queues, which hold
 * everything not yet durable downstream; so nothing a stage dropped with its mailbox is
 * lost.
 *
 * The flow of one command: Acquiring (validation, order id, hold, WAL append) → `awaiting`
 * → durable → `toMatch` → Match (reply to the client) → `journal` → Settlement (ledger
 * effects exactly once, rows to the store) and → `toKline`; every change also → `toPush`.
 */

import type { ChangeLogEntry } from "../domain/change_log.ts";
import type { Command } from "../domain/commands.ts";
import type { EngineEvent } from "../domain/events.ts";
import type { KlineAggregator } from "../domain/kline.ts";
import type { MatchAmend, MatchCancel, MatchPlace } from "../domain/match_input.ts";
import type { Matcher } from "../domain/matcher.ts";
import type { Risk } from "../domain/risk.ts";
import type { CandleRow, StoragePort } from "../persistence/storage_port.ts";
import type { EventRange } from "../persistence/store_rows.ts";
import type { WalWriter } from "../persistence/wal_writer.ts";
import type { Logger } from "./actor.ts";
import type { Clock } from "./clock.ts";
import { Fifo } from "./fifo.ts";
import type { PushHub } from "./push_hub.ts";

/** What a client gets back for a command. */
export type SubmitResult =
  /** Processed: the command's events (a business rejection is a `rejected` event). */
  | { readonly status: "done"; readonly events: EngineEvent[] }
  /** Not taken: the exchange is at capacity; nothing changed, retry later. */
  | { status: "overload"; message: string }
  /** Not taken, or taken with an unknown outcome: the exchange stopped taking commands. */
  | { status: "unavailable"; message: string };

export interface ClientRequest {
  cmd: Command;
  /** The caller's own reference, logged with the command (e.g. for resuming a stream). */
  clientRef: number;
  reply: (result: SubmitResult) => void;
}

// Stages pass EventRanges (records [from, to) of a buffer shared by the commands a stage
// handled together) instead of event objects: decoding happens only where objects are
// needed (a client reading its answer, a subscriber).
export type { EventRange };

/** Decodes the events of `ranges`, in order. */
export function decodeRanges(ranges: readonly (EventRange | undefined)[]): EngineEvent[] {
  const out: EngineEvent[] = [];
  for (const r of ranges) {
    if (r !== undefined && r.to > r.from) r.buf.decodeRange(r.from, r.to, out);
  }
  return out;
}

/** A processed command's answer; its events are decoded when first read. */
export class DoneResult {
  readonly status = "done" as const;
  #events: EngineEvent[] | undefined;
  constructor(private readonly ranges: readonly (EventRange | undefined)[]) {}
  get events(): EngineEvent[] {
    return this.#events ??= decodeRanges(this.ranges);
  }
  toJSON() {
    return { status: this.status, events: this.events };
  }
}

/** A command the shard accepted: logged, waiting for durability, then for matching. */
export interface AcceptedCommand {
  seq: number;
  tsMs: number;
  clientRef: number;
  kind: Command["type"];
  place?: MatchPlace;
  cancel?: MatchCancel;
  amend?: MatchAmend;
  /** Events of acquisition (accepted, balance changes). */
  acq: EventRange;
  reply: ((result: SubmitResult) => void) | null;
}

/** A matched command, kept until its settlement is in the store. */
export interface MatchedCommand {
  seq: number;
  tsMs: number;
  /** Events of acquisition, then of matching. */
  acq: EventRange;
  match: EventRange;
  /** The matcher's settlement calls (settlement_log.ts). */
  settle: Float64Array;
  /** Balance events of settling it, once settled (kept for the rows of a restarted stage). */
  settled?: EventRange;
}

/** Named points where a test may make a stage throw (chaos tests). */
export type FaultPoint =
  | "settlement:before-apply"
  | "settlement:after-apply"
  | "settlement:after-write"
  | "match:before"
  | "kline:before";

export interface PipelineCoreParts {
  risk: Risk;
  matcher: Matcher;
  kline: KlineAggregator;
  wal: WalWriter;
  store: StoragePort;
  hub: PushHub<ChangeLogEntry<unknown>>;
  clock: Clock;
  logger: Logger;
  /** Sequence of the last command in the WAL (recovered). */
  lastSeq: number;
  /** Highest trade id already in the store (settlement's checkpoint). */
  persistedTradeId: number;
  /** Accepted commands the WAL may buffer before intake answers "overload". */
  walPendingLimit: number;
  /** Stops the whole tree with a clear reason (a broken environment, e.g. the WAL failed). */
  fatal: (reason: string) => void;
  /** Called at named points; a test hook may throw to crash the stage. */
  fault?: (point: FaultPoint) => void;
}

/** Bound on commands accepted and not yet persisted by settlement. */
export const MAX_IN_FLIGHT_COMMANDS = 200_000;

export class PipelineCore {
  readonly risk: Risk;
  readonly matcher: Matcher;
  readonly kline: KlineAggregator;
  readonly wal: WalWriter;
  readonly store: StoragePort;
  readonly hub: PushHub<ChangeLogEntry<unknown>>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly fault: (point: FaultPoint) => void;
  readonly walPendingLimit: number;
  readonly fatal: (reason: string) => void;

  readonly awaiting = new Fifo<AcceptedCommand>();
  readonly toMatch = new Fifo<AcceptedCommand>();
  /** Matched commands not yet persisted by settlement (re-read after a settlement restart). */
  readonly journal = new Fifo<MatchedCommand>();
  /** Matched commands not yet taken by the KLine stage. */
  readonly toKline = new Fifo<MatchedCommand>();
  readonly toPush = new Fifo<ChangeLogEntry<unknown>>();

  /** Last command accepted into the WAL. */
  lastSeq: number;
  /** The caller's reference of the last command accepted into the WAL. */
  lastClientRef = 0;
  /** Last command matched. */
  matchedSeq: number;
  /** Last command whose rows are in the store. */
  persistedSeq: number;
  /** Highest trade id in the store. */
  persistedTradeId: number;
  /** Why intake stopped (WAL failure, shutdown), or null while taking commands. */
  intakeStopped: string | null = null;
  /**
   * Candle rows changed and not yet written, by key (the latest state of each): kept
   * here so that a KLine stage that restarts writes what its predecessor had not.
   */
  readonly klineUnwritten = new Map<string, CandleRow>();
  /**
   * While set, the store is still writing the rows recovery handed it: settlement writes
   * and checkpoints nothing until it settles (see `Exchange.open`).
   */
  storeCatchUp: Promise<void> | null = null;
  /** While set, Acquiring waits for it before taking the next command (a snapshot). */
  paused: Promise<void> | null = null;
  private pushSeq = 0;

  /** Stage wake-ups; each stage registers its own when it starts. */
  readonly wake = {
    match: () => {},
    settlement: () => {},
    kline: () => {},
    push: () => {},
  };
  private idleWaiters: (() => void)[] = [];
  private storedWaiters: { seq: number; resolve: () => void }[] = [];

  constructor(p: PipelineCoreParts) {
    this.risk = p.risk;
    this.matcher = p.matcher;
    this.kline = p.kline;
    this.wal = p.wal;
    this.store = p.store;
    this.hub = p.hub;
    this.clock = p.clock;
    this.logger = p.logger;
    this.fault = p.fault ?? (() => {});
    this.walPendingLimit = p.walPendingLimit;
    this.fatal = p.fatal;
    this.lastSeq = p.lastSeq;
    this.matchedSeq = p.lastSeq;
    this.persistedSeq = p.lastSeq;
    this.persistedTradeId = p.persistedTradeId;
  }

  /** Commands accepted and not yet persisted downstream. */
  get inFlight(): number {
    return this.lastSeq - this.persistedSeq;
  }

  /** True when every accepted command is durable, matched, settled, persisted and candled. */
  get idle(): boolean {
    return this.awaiting.length === 0 && this.toMatch.length === 0 && this.toKline.length === 0 &&
      this.matchedSeq === this.lastSeq && this.risk.lastSettledSeq >= this.lastSeq &&
      this.persistedSeq === this.lastSeq && this.toPush.length === 0 &&
      this.klineUnwritten.size === 0 && this.storeCatchUp === null;
  }

  /** Resolves once the pipeline is idle (all stages caught up). */
  whenIdle(): Promise<void> {
    if (this.idle) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Resolves once the rows of every command up to `seq` are in the store: a query of
   * history made after an answer then sees what the answer said.
   */
  whenStored(seq: number): Promise<void> {
    if (this.persistedSeq >= seq) return Promise.resolve();
    return new Promise((resolve) => this.storedWaiters.push({ seq, resolve }));
  }

  /** Stages call this after making progress. */
  progressed(): void {
    if (this.storedWaiters.length > 0) {
      const stored = this.persistedSeq;
      const waiting = this.storedWaiters;
      this.storedWaiters = [];
      for (const w of waiting) {
        if (w.seq <= stored) w.resolve();
        else this.storedWaiters.push(w);
      }
    }
    if (this.idleWaiters.length === 0 || !this.idle) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /**
   * The WAL made everything up to `durableSeq` durable: those commands go on to the
   * matcher (their answers are released by the Match stage).
   */
  onDurable(durableSeq: number): void {
    let moved = false;
    for (
      let a = this.awaiting.peek();
      a !== undefined && a.seq <= durableSeq;
      a = this.awaiting.peek()
    ) {
      this.toMatch.push(this.awaiting.shift() as AcceptedCommand);
      moved = true;
    }
    if (moved) this.wake.match();
  }

  /**
   * The WAL failed (disk full, fsync error): nothing more can be made durable. Intake
   * stops; commands waiting for durability get "unavailable" (their outcome is unknown:
   * a record may or may not have reached the disk), and the tree shuts down so that a
   * restart recovers from what is durable.
   */
  onWalFailed(error: Error): void {
    const reason = `command WAL failed: ${error.message}`;
    this.intakeStopped = reason;
    for (let a = this.awaiting.shift(); a !== undefined; a = this.awaiting.shift()) {
      a.reply?.({ status: "unavailable", message: `Outcome unknown: ${reason}` });
    }
    this.fatal(reason);
  }

  /** Queues the changes of `range` for the push stage (built only if anyone subscribed). */
  publish(tsMs: number, range: EventRange): void {
    if (range.to === range.from || this.hub.size === 0) return;
    for (const e of range.buf.decodeRange(range.from, range.to)) {
      this.toPush.push(changeEntry(++this.pushSeq, tsMs, e));
    }
  }

  /** Queues a candle change for the push stage (its `seq` is assigned here). */
  publishCandle(entry: ChangeLogEntry<unknown>): void {
    entry.seq = ++this.pushSeq;
    if (this.hub.size > 0) this.toPush.push(entry);
  }
}

function changeEntry(seq: number, ts: number, e: EngineEvent): ChangeLogEntry {
  switch (e.type) {
    case "order":
      return { seq, ts, type: "order", entity: "order", id: String(e.orderId), payload: e };
    case "trade":
      return { seq, ts, type: "trade", entity: "trade", id: String(e.tradeId), payload: e };
    case "balance":
      return {
        seq,
        ts,
        type: "balance",
        entity: "balance",
        id: `${e.userId}:${e.assetId}`,
        payload: e,
      };
    case "book":
      return { seq, ts, type: "book", entity: "book", id: String(e.symbolId), payload: e };
    case "accepted":
      return { seq, ts, type: "accepted", entity: "order", id: String(e.orderId), payload: e };
    case "rejected":
      return {
        seq,
        ts,
        type: "rejected",
        entity: "command",
        id: String(e.orderId ?? ""),
        payload: e,
      };
  }
}
