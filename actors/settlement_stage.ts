/**
 * The Settlement stage (account shard, R2): applies each matched command's settlement
 * to the shard's ledger exactly once (fills with fees, price improvement, releases),
 * checks that trade ids have no gaps, and persists orders, trades and balances to the
 * store in batches as a side channel. After a batch is stored it checkpoints as seed 001
 * designs it: a SettlementCheckpoint { last_trade_id, timestamp } in its own WAL every
 * 1,000 trades and a snapshot every 10,000.
 *
 * A restarted instance starts from state known to be valid: the ledger (owned by the
 * longer-lived shard, which remembers the last command settled) and the journal of
 * matched commands not yet stored; every command after the stored point is delivered
 * again, ledger effects are skipped for those already applied, and rows are rewritten
 * under the same keys.
 */

import { fail } from "../domain/assert.ts";
import { EV_TRADE, EventBuffer } from "../domain/event_buffer.ts";
import { replaySettlement } from "../domain/settlement_log.ts";
import {
  encodeSettlementCheckpoint,
  SETTLEMENT_CHECKPOINT_EVERY_TRADES,
  SETTLEMENT_SNAPSHOT_EVERY_TRADES,
  writeSettlementSnapshot,
} from "../persistence/settlement_checkpoint.ts";
import type { SnapshotStore } from "../persistence/snapshot_store.ts";
import { type PackedRows, PackedRowsBuilder, writePackedRows } from "../persistence/packed_rows.ts";
import type { WalWriter } from "../persistence/wal_writer.ts";
import { Actor, type Logger } from "./actor.ts";
import type { PipelineCore } from "./pipeline_core.ts";
import type { TimerHandle } from "./clock.ts";
import type { ChildContext, SupervisedChild } from "./supervisor.ts";

/**
 * Most rows (orders + trades + balances) in one store write; below the store's own
 * bound. While a write is in flight the next batch grows up to this, so batches get
 * bigger (and cheaper per row) when the store is the bottleneck.
 */
export const SETTLEMENT_BATCH_ROWS = 60_000;

/**
 * Least time between the starts of two store writes, unless a batch reaches
 * {@link SETTLEMENT_BATCH_ROWS}. Rows of one batch that land on the same index page cost
 * one page write: small, frequent batches multiply the store's disk writes, and those
 * compete with the command WAL's fsyncs on the same disk (answer latency). The store is
 * a side channel: nothing waits on it but history queries, `whenIdle()` and the bound
 * on commands in flight.
 */
export const SETTLEMENT_WRITE_INTERVAL_MS = 100;
/** Doubles of balance events written into one buffer before a new one. */
const SETTLEMENT_BUFFER_DOUBLES = 1 << 17;

/** The settlement WAL and snapshots, owned by the pipeline (they outlive stage instances). */
export class SettlementCheckpoints {
  private checkpointedTradeId: number;
  /** Highest trade id a snapshot was written for, or is being written for. */
  private snapshotTradeId: number;
  /** Snapshot writes run one after the other on this chain. */
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly wal: WalWriter,
    private readonly snapshots: SnapshotStore,
    lastTradeId: number,
    private readonly logger: Logger,
  ) {
    this.checkpointedTradeId = lastTradeId;
    this.snapshotTradeId = lastTradeId;
  }

  /** Called when every trade up to `lastTradeId` is in the store. */
  persisted(lastTradeId: number, nowMs: number): void {
    if (lastTradeId - this.checkpointedTradeId >= SETTLEMENT_CHECKPOINT_EVERY_TRADES) {
      this.wal.append(encodeSettlementCheckpoint({ last_trade_id: lastTradeId, timestamp: nowMs }));
      this.checkpointedTradeId = lastTradeId;
    }
    if (lastTradeId - this.snapshotTradeId >= SETTLEMENT_SNAPSHOT_EVERY_TRADES) {
      void this.snapshot(lastTradeId, nowMs);
    }
  }

  /**
   * Writes a settlement snapshot at `lastTradeId` (also at shutdown) after any write in
   * progress; a request at or below what is written or being written does nothing. A
   * failed write is logged: the next one is taken at the next threshold or at shutdown,
   * and recovery falls back on the checkpoints in the WAL.
   */
  snapshot(lastTradeId: number, nowMs: number): Promise<void> {
    if (lastTradeId <= this.snapshotTradeId) return this.chain;
    this.snapshotTradeId = lastTradeId;
    this.chain = this.chain.then(() =>
      writeSettlementSnapshot(this.snapshots, lastTradeId, nowMs).then(
        () => {},
        (e) =>
          this.logger.error(
            `Settlement snapshot at trade ${lastTradeId} failed: ${
              e instanceof Error ? e.message : e
            }`,
          ),
      )
    );
    return this.chain;
  }

  /** Resolves when no snapshot is being written; makes the checkpoint WAL durable. */
  async flush(): Promise<void> {
    await this.chain;
    await this.wal.flush();
  }
}

type Tick = { tick: true };

export class SettlementStage implements SupervisedChild {
  private readonly actor: Actor<Tick>;
  /** Index in the journal of the next command to settle (ledger). */
  private applyCursor = 0;
  /** Index in the journal of the next command to turn into rows. */
  private rowCursor = 0;
  private rows = new PackedRowsBuilder();
  private writing = false;
  /** Set while a write started less than SETTLEMENT_WRITE_INTERVAL_MS ago. */
  private cooling: TimerHandle | null = null;
  private buf = new EventBuffer(SETTLEMENT_BUFFER_DOUBLES);
  private ticking = false;
  private dead = false;
  private lastTradeId: number;

  constructor(
    private readonly core: PipelineCore,
    private readonly checkpoints: SettlementCheckpoints,
    ctx: ChildContext,
  ) {
    this.lastTradeId = core.persistedTradeId;
    this.actor = new Actor<Tick>({
      name: ctx.name,
      capacity: 2,
      handle: () => this.drain(),
      onCrash: (e) => {
        this.dead = true;
        ctx.onCrash(e);
      },
      logger: core.logger,
    });
  }

  start(): void {
    this.actor.start();
    this.core.wake.settlement = () => this.poke();
    this.poke();
  }

  async stop(): Promise<void> {
    await this.actor.stop();
    this.dead = true;
    if (this.cooling !== null) this.core.clock.clearTimeout(this.cooling);
    this.cooling = null;
  }

  private poke(): void {
    if (this.ticking || this.dead) return;
    if (this.actor.send({ tick: true }).ok) this.ticking = true;
  }

  private drain(): void {
    this.ticking = false;
    const core = this.core;
    const risk = core.risk;
    const journal = core.journal;
    // Ledger first, for every command matched: balances must not wait for the store.
    // Balance events go to a buffer that is appended to and replaced once large, never
    // reset: commands keep ranges of it.
    if (this.buf.length > SETTLEMENT_BUFFER_DOUBLES) {
      this.buf = new EventBuffer(SETTLEMENT_BUFFER_DOUBLES);
    }
    const buf = this.buf;
    risk.out = buf;
    for (let m = journal.at(this.applyCursor); m !== undefined; m = journal.at(this.applyCursor)) {
      if (m.seq > risk.lastSettledSeq) {
        core.fault("settlement:before-apply");
        const from = buf.length;
        replaySettlement(m.settle, risk);
        risk.lastSettledSeq = m.seq;
        m.settled = { buf, from, to: buf.length };
        core.publish(m.tsMs, m.settled);
        core.fault("settlement:after-apply");
      }
      this.applyCursor++;
    }
    // Then rows, in batches no larger than the store takes.
    for (let m = journal.at(this.rowCursor); m !== undefined; m = journal.at(this.rowCursor)) {
      if (this.rows.size >= SETTLEMENT_BATCH_ROWS) {
        // The write in flight (or the store's catch-up) pokes this stage when done.
        if (this.writing || core.storeCatchUp !== null) break;
        this.flush();
      }
      const { buf: mb, from, to } = m.match;
      for (let at = from; at < to; at += EventBuffer.recordLength(mb.f[at])) {
        if (mb.f[at] !== EV_TRADE) continue;
        const tradeId = mb.f[at + 1];
        if (tradeId !== this.lastTradeId + 1) {
          fail(`Trade ID gap: expected ${this.lastTradeId + 1}, got ${tradeId}`);
        }
        this.lastTradeId = tradeId;
      }
      this.rows.add(m.seq, m.tsMs, m.acq, m.match, m.settled);
      this.rowCursor++;
    }
    this.flush();
    core.wake.push();
    core.progressed();
  }

  /** Starts a write of the gathered rows unless one is in flight. */
  private flush(): void {
    const core = this.core;
    if (this.writing || this.rows.commands === 0 || this.dead || core.storeCatchUp !== null) {
      return;
    }
    // A full batch goes at once; a smaller one waits out the interval (the timer flushes).
    if (this.cooling !== null && this.rows.size < SETTLEMENT_BATCH_ROWS) return;
    if (this.cooling !== null) core.clock.clearTimeout(this.cooling);
    this.cooling = core.clock.setTimeout(() => {
      this.cooling = null;
      if (!this.dead) this.flush();
    }, SETTLEMENT_WRITE_INTERVAL_MS);
    const rows = this.rows.take(core.risk.ledger, core.clock.now());
    this.rows = new PackedRowsBuilder();
    this.writing = true;
    writePackedRows(core.store, rows).then(
      () => {
        if (this.dead) return;
        try {
          core.fault("settlement:after-write");
          this.stored(rows);
        } catch (e) {
          this.actor.crash(e);
          return;
        }
        this.writing = false;
        this.flush();
        this.poke();
        core.progressed();
      },
      (e) => {
        if (!this.dead) this.actor.crash(e);
      },
    );
  }

  /** A batch is in the store: advance the persisted point, checkpoint, trim the journal. */
  private stored(rows: PackedRows): void {
    const core = this.core;
    core.persistedSeq = rows.lastSeq;
    if (rows.maxTradeId > core.persistedTradeId) core.persistedTradeId = rows.maxTradeId;
    this.checkpoints.persisted(core.persistedTradeId, core.clock.now());
    let trimmed = 0;
    for (
      let m = core.journal.peek();
      m !== undefined && m.seq <= rows.lastSeq;
      m = core.journal.peek()
    ) {
      core.journal.shift();
      trimmed++;
    }
    this.applyCursor -= trimmed;
    this.rowCursor -= trimmed;
  }
}
