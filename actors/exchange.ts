/**
 * The exchange as one in-process object, the facade the API and main.ts use: submit
 * commands and get their results; query balances, open orders and depth (live state) and
 * history (the store); subscribe to change streams; watch each stage's supervisor state;
 * stop gracefully.
 *
 * `Exchange.open` recovers (latest engine snapshot + command WAL), then starts the five
 * stages under the root supervisor in order: acquiring, match, settlement, kline, push.
 * Engine snapshots are taken every `snapshotEveryCommands` commands (the pipeline pauses
 * intake until every stage has caught up, captures, and resumes while the files are
 * written) and at shutdown.
 */

import type { ChangeLogEntry } from "../domain/change_log.ts";
import type { Command } from "../domain/commands.ts";
import { captureEngineState } from "../domain/engine_state.ts";
import { InvariantError } from "../domain/assert.ts";
import { MAX_ASSET_ID, MAX_UNITS } from "../domain/limits.ts";
import {
  type AssetSpec,
  buildMarkets,
  type Market,
  type SymbolSpec,
} from "../domain/market_config.ts";
import { Matcher } from "../domain/matcher.ts";
import type { DepthSnapshot } from "../domain/order_book.ts";
import { NIL } from "../domain/order_store.ts";
import { Risk } from "../domain/risk.ts";
import type { Side, StpMode } from "../domain/types.ts";
import { writeEngineSnapshot } from "../persistence/engine_snapshot.ts";
import {
  loadSettlementRecovery,
  SETTLEMENT_WAL_SEGMENT_BYTES,
} from "../persistence/settlement_checkpoint.ts";
import { SnapshotStore } from "../persistence/snapshot_store.ts";
import type { CandleRow, OrderRow, StoragePort } from "../persistence/storage_port.ts";
import { candleKey, candleRow } from "../domain/kline.ts";
import type { KlineInterval } from "../domain/kline_intervals.ts";
import { readCandles } from "./candle_window.ts";
import { WalWriter } from "../persistence/wal_writer.ts";
import type { FsPort } from "../persistence/fs_port.ts";
import type { Logger } from "./actor.ts";
import { AcquiringStage } from "./acquiring_stage.ts";
import { type Clock, realClock } from "./clock.ts";
import { KlineStage } from "./kline_stage.ts";
import { MatchStage } from "./match_stage.ts";
import { type FaultPoint, PipelineCore, type SubmitResult } from "./pipeline_core.ts";
import {
  PushHub,
  type PushSubscriber,
  type SubscribeOptions,
  type SubscribeResult,
} from "./push_hub.ts";
import { PushStage } from "./push_stage.ts";
import { recover } from "./recovery.ts";
import { SettlementCheckpoints, SettlementStage } from "./settlement_stage.ts";
import type { BackoffPolicy, IntensityPolicy } from "./child_lifecycle.ts";
import {
  type ChildContext,
  type ChildStatus,
  type SupervisedChild,
  Supervisor,
  type Termination,
} from "./supervisor.ts";

/** Default commands between engine snapshots. */
export const DEFAULT_SNAPSHOT_EVERY_COMMANDS = 500_000;

export interface ExchangeConfig {
  /** Directory of the WALs and snapshots (created if missing). */
  dataDir: string;
  assets: AssetSpec[];
  symbols: SymbolSpec[];
  /** The store (the caller opens nothing; `init` is called here, `close` at stop). */
  store: StoragePort;
  maxOpenOrdersPerUser?: number;
  snapshotEveryCommands?: number;
  clock?: Clock;
  logger?: Logger;
  backoff?: BackoffPolicy;
  intensity?: IntensityPolicy;
  /** Test hook: called at named points in the stages; throwing crashes that stage. */
  fault?: (point: FaultPoint) => void;
  /** File system of the command WAL (tests inject failing disks). */
  walFs?: FsPort;
}

/** 24-hour rolling statistics of a symbol. */
export interface Ticker {
  symbolId: number;
  openMs: number;
  closeMs: number;
  openTicks: number;
  lastTicks: number;
  highTicks: number;
  lowTicks: number;
  baseVolumeUnits: number;
  quoteVolumeUnits: number;
  trades: number;
}

/** A resting order, as the live state shows it. */
export interface OpenOrder {
  orderId: number;
  userId: number;
  symbolId: number;
  side: Side;
  priceTicks: number;
  qtyUnits: number;
  filledUnits: number;
  remainingUnits: number;
  quoteFilledUnits: number;
  cid: string | null;
  createdMs: number;
  /** Placed post-only (Binance's LIMIT_MAKER). */
  postOnly: boolean;
  /** Self-trade prevention mode it was placed with. */
  stp: StpMode;
}

/** One asset's line of the conservation report (`Exchange.totals`). */
export interface AssetTotals {
  assetId: number;
  availableUnits: bigint;
  frozenUnits: bigint;
  feeUnits: bigint;
  depositedUnits: bigint;
  withdrawnUnits: bigint;
  /** available + frozen + fees = deposited - withdrawn */
  balanced: boolean;
}

/** What `Exchange.open` recovered. */
export interface RecoveryInfo {
  /** Command of the engine snapshot loaded (0: none). */
  snapshotSeq: number;
  /** Commands replayed from the WAL after it. */
  replayed: number;
  lastSeq: number;
  /** Snapshot load and WAL replay: the time until the exchange takes commands again. */
  elapsedMs: number;
  /** Rows the store lacked, handed to it during replay. */
  catchUpRows: number;
  /** Time from the end of replay until the store had them; null while it has not yet. */
  storeCatchUpMs: number | null;
}

export class Exchange {
  readonly markets: readonly (Market | undefined)[];
  readonly assets: readonly (AssetSpec | undefined)[];
  /** Resolves once when the tree has ended, with the exit code for main.ts. */
  readonly terminated: Promise<Termination>;
  private readonly core: PipelineCore;
  private readonly supervisor: Supervisor;
  private acquiring: AcquiringStage | null = null;
  private readonly snapshots: SnapshotStore;
  private readonly checkpoints: SettlementCheckpoints;
  private readonly settlementWal: WalWriter;
  private readonly snapshotEvery: number;
  private lastSnapshotSeq: number;
  private snapshotting: Promise<void> | null = null;
  private stopping: Promise<void> | null = null;
  /** The caller's reference of the last command recovered from the WAL. */
  readonly recoveredClientRef: number;
  /** What the start recovered: the snapshot's command, commands replayed, time taken. */
  readonly recovery: RecoveryInfo;

  private constructor(
    core: PipelineCore,
    parts: {
      config: ExchangeConfig;
      snapshots: SnapshotStore;
      checkpoints: SettlementCheckpoints;
      settlementWal: WalWriter;
      lastSnapshotSeq: number;
      recoveredClientRef: number;
      recovery: RecoveryInfo;
      markets: readonly (Market | undefined)[];
      assets: readonly (AssetSpec | undefined)[];
    },
  ) {
    this.core = core;
    this.markets = parts.markets;
    this.assets = parts.assets;
    this.snapshots = parts.snapshots;
    this.checkpoints = parts.checkpoints;
    this.settlementWal = parts.settlementWal;
    this.snapshotEvery = parts.config.snapshotEveryCommands ?? DEFAULT_SNAPSHOT_EVERY_COMMANDS;
    this.lastSnapshotSeq = parts.lastSnapshotSeq;
    this.recoveredClientRef = parts.recoveredClientRef;
    this.recovery = parts.recovery;
    const stage =
      <T extends SupervisedChild>(make: (ctx: ChildContext) => T) => (ctx: ChildContext) =>
        make({ ...ctx, onCrash: (e) => this.stageCrashed(ctx, e) });
    this.supervisor = new Supervisor({
      children: [
        {
          name: "acquiring",
          create: stage((ctx) => (this.acquiring = new AcquiringStage(core, ctx))),
        },
        { name: "match", create: stage((ctx) => new MatchStage(core, ctx)) },
        {
          name: "settlement",
          create: stage((ctx) => new SettlementStage(core, this.checkpoints, ctx)),
        },
        { name: "kline", create: stage((ctx) => new KlineStage(core, ctx)) },
        { name: "push", create: stage((ctx) => new PushStage(core, ctx)) },
      ],
      backoff: parts.config.backoff,
      intensity: parts.config.intensity,
      clock: core.clock,
      logger: core.logger,
    });
    this.terminated = this.supervisor.terminated;
  }

  /** Recovers from `config.dataDir` and starts the pipeline. */
  static async open(config: ExchangeConfig): Promise<Exchange> {
    const clock = config.clock ?? realClock;
    const logger = config.logger ?? console;
    const dirs = {
      wal: `${config.dataDir}/wal`,
      snapshots: `${config.dataDir}/snapshots`,
      settlementWal: `${config.dataDir}/settlement/wal`,
      settlementSnapshots: `${config.dataDir}/settlement/snapshots`,
    };
    for (const d of Object.values(dirs)) await Deno.mkdir(d, { recursive: true });
    const { assetsById, marketsById } = buildMarkets(config.assets, config.symbols);
    const matcher = new Matcher(marketsById);
    const risk = new Risk({
      assetsById,
      marketsById,
      assetSlots: Math.min(assetsById.length, MAX_ASSET_ID + 1),
      maxOpenOrdersPerUser: config.maxOpenOrdersPerUser,
      locateResting: (orderId) => {
        const slot = matcher.slotOf(orderId);
        return slot === NIL ? -1 : matcher.store.riskRefOf(slot);
      },
    });
    await config.store.init();
    const settlementSnapshots = new SnapshotStore({ dir: dirs.settlementSnapshots });
    const settlement = await loadSettlementRecovery(settlementSnapshots, dirs.settlementWal);
    // The store may lack the last batches before a power loss (it is a side channel):
    // trust the lower of the checkpoint and what it holds.
    const storedTradeId = Math.min(
      settlement.point.last_trade_id,
      await config.store.lastTradeId(),
    );
    const snapshots = new SnapshotStore({ dir: dirs.snapshots });
    const r = await recover({
      risk,
      matcher,
      snapshots,
      walDir: dirs.wal,
      walFs: config.walFs,
      store: config.store,
      storedTradeId,
      nowMs: () => clock.now(),
    });
    if (r.tornTail !== null) {
      logger.warn(
        `Recovery: cut a torn record at the end of ${r.tornTail.file} at offset ${r.tornTail.offset} ` +
          `(${r.tornTail.droppedBytes} bytes: ${r.tornTail.reason}); it was never acknowledged`,
      );
    }
    logger.info(
      `Recovered ${r.snapshotSeq > 0 ? `snapshot at command ${r.snapshotSeq}` : "no snapshot"} + ` +
        `${r.replayed} commands from the WAL (last command ${r.lastSeq}, last trade ${r.storedTradeId}) ` +
        `in ${r.elapsedMs.toFixed(0)} ms` +
        (r.storeCatchUp === null
          ? ""
          : `; the store catches up on ${r.catchUpRows} rows (trades ${
            storedTradeId + 1
          }..${r.storedTradeId}) in the background`),
    );
    const wal = await WalWriter.open({ dir: dirs.wal, nextSeq: r.nextSeq, fs: config.walFs });
    const settlementWal = await WalWriter.open({
      dir: dirs.settlementWal,
      nextSeq: settlement.walNextSeq,
      segmentBytes: SETTLEMENT_WAL_SEGMENT_BYTES,
    });
    // Checkpoints start from what the store held; they move past it once the store has
    // the rows recovery handed it.
    const checkpoints = new SettlementCheckpoints(
      settlementWal,
      settlementSnapshots,
      storedTradeId,
      logger,
    );
    let exchange: Exchange | null = null;
    const core = new PipelineCore({
      risk,
      matcher,
      kline: r.kline,
      wal,
      store: config.store,
      hub: new PushHub<ChangeLogEntry<unknown>>(),
      clock,
      logger,
      lastSeq: r.lastSeq,
      persistedTradeId: r.storedTradeId,
      walPendingLimit: 200_000,
      fatal: (reason) => exchange?.fatal(reason),
      fault: config.fault,
    });
    core.lastClientRef = r.lastClientRef;
    // The candles in progress are written by the KLine stage (upserts: it writes them first).
    for (const book of matcher.books) {
      if (book === undefined) continue;
      for (const c of r.kline.currentAll(book.symbolId)) {
        core.klineUnwritten.set(candleKey(c), candleRow(c));
      }
    }
    wal.listen({
      durable: (seq) => core.onDurable(seq),
      failed: (e) => core.onWalFailed(e),
    });
    exchange = new Exchange(core, {
      config,
      snapshots,
      checkpoints,
      settlementWal,
      lastSnapshotSeq: r.snapshotSeq,
      recoveredClientRef: r.lastClientRef,
      recovery: {
        snapshotSeq: r.snapshotSeq,
        replayed: r.replayed,
        lastSeq: r.lastSeq,
        elapsedMs: r.elapsedMs,
        catchUpRows: r.catchUpRows,
        storeCatchUpMs: r.storeCatchUp === null ? 0 : null,
      },
      markets: marketsById,
      assets: assetsById,
    });
    exchange.awaitStoreCatchUp(r.storeCatchUp, r.storedTradeId, r.catchUpRows);
    await exchange.supervisor.start();
    for (const name of ["acquiring", "match", "settlement", "kline", "push"]) {
      logger.info(`Stage ${name} started`);
    }
    return exchange;
  }

  // ---------------------------------------------------------------- commands

  /**
   * Submits a command. Resolves with its events once it is durable and matched (or at
   * once if rejected), with "overload" if the exchange is at capacity, or "unavailable" if
   * it stopped taking commands. Never rejects.
   */
  submit(cmd: Command, clientRef = 0): Promise<SubmitResult> {
    return new Promise((resolve) => {
      const stage = this.acquiring;
      if (stage === null || this.core.intakeStopped !== null) {
        resolve({
          status: "unavailable",
          message: `The exchange is not taking commands: ${this.core.intakeStopped ?? "starting"}`,
        });
        return;
      }
      const sent = stage.send({ cmd, clientRef, reply: resolve });
      if (!sent.ok) {
        resolve(
          sent.reason === "OVERLOAD"
            ? { status: "overload", message: sent.message }
            : { status: "unavailable", message: sent.message },
        );
        return;
      }
      this.maybeSnapshot();
    });
  }

  // ---------------------------------------------------------------- live queries

  balance(userId: number, assetId: number): { availableUnits: number; frozenUnits: number } {
    return this.core.risk.balance(userId, assetId);
  }

  /** Every asset balance of a user (assets never touched are omitted). */
  balances(userId: number): { assetId: number; availableUnits: number; frozenUnits: number }[] {
    const acct = this.core.risk.ledger.find(userId);
    if (acct === undefined) return [];
    const out = [];
    for (let a = 0; a < acct.available.length; a++) {
      if (this.assets[a] === undefined) continue;
      out.push({ assetId: a, availableUnits: acct.available[a], frozenUnits: acct.frozen[a] });
    }
    return out;
  }

  /**
   * The conservation report, per asset: what users hold (available and frozen), the fee
   * account, cumulative deposits and withdrawals, and whether holdings equal deposits
   * minus withdrawals. Sums are bigints: they may pass 2^53 across many users.
   */
  totals(): AssetTotals[] {
    const ledger = this.core.risk.ledger;
    const out: AssetTotals[] = [];
    for (let a = 0; a < this.assets.length; a++) {
      if (this.assets[a] === undefined) continue;
      let available = 0n;
      let frozen = 0n;
      for (const acct of ledger.accounts.values()) {
        available += BigInt(acct.available[a]);
        frozen += BigInt(acct.frozen[a]);
      }
      const fees = BigInt(ledger.fees[a]);
      const deposited = ledger.deposited[a];
      const withdrawn = ledger.withdrawn[a];
      out.push({
        assetId: a,
        availableUnits: available,
        frozenUnits: frozen,
        feeUnits: fees,
        depositedUnits: deposited,
        withdrawnUnits: withdrawn,
        balanced: available + frozen + fees === deposited - withdrawn,
      });
    }
    return out;
  }

  /** An open order, or undefined. */
  openOrder(orderId: number): OpenOrder | undefined {
    const slot = this.core.matcher.slotOf(orderId);
    return slot === NIL ? undefined : this.view(slot);
  }

  /** A user's open orders, optionally of one symbol, newest first. */
  openOrders(userId: number, symbolId?: number): OpenOrder[] {
    const out: OpenOrder[] = [];
    const m = this.core.matcher;
    for (const book of m.books) {
      if (book === undefined || (symbolId !== undefined && book.symbolId !== symbolId)) continue;
      for (const side of ["BUY", "SELL"] as const) {
        for (const slot of book.ordersOf(side)) {
          if (m.store.userOf(slot) === userId) out.push(this.view(slot));
        }
      }
    }
    return out.sort((a, b) => b.orderId - a.orderId);
  }

  depth(symbolId: number, limit: number): DepthSnapshot | undefined {
    return this.core.matcher.depth(symbolId, limit);
  }

  /** The store, for history (orders, trades, candles) and its queries. */
  get store(): StoragePort {
    return this.core.store;
  }

  /** Candles in progress of a symbol (the store has the closed ones). */
  currentCandles(symbolId: number) {
    return this.core.kline.currentAll(symbolId);
  }

  /** Candles of one interval, oldest first, selected as actors/candle_window.ts says. */
  candles(
    symbolId: number,
    interval: KlineInterval,
    startMs: number | undefined,
    endMs: number | undefined,
    limit: number,
    nowMs: number = this.core.clock.now(),
  ): Promise<CandleRow[]> {
    const live = this.core.kline.current(symbolId, interval);
    return readCandles(this.core.store, live === undefined ? undefined : candleRow(live), {
      symbolId,
      interval,
      startMs,
      endMs,
      limit,
      nowMs,
    });
  }

  /**
   * 24-hour rolling statistics of a symbol at `nowMs`, from the one-minute candles:
   * first and last price, high, low, base and quote volume, trade count. Undefined when
   * there was no trade in the window.
   */
  async ticker(symbolId: number, nowMs: number): Promise<Ticker | undefined> {
    const day = 24 * 60 * 60_000;
    const minutes = await this.candles(symbolId, "1m", nowMs - day + 1, nowMs, 1_440);
    if (minutes.length === 0) return undefined;
    const t: Ticker = {
      symbolId,
      openMs: minutes[0].openMs,
      closeMs: nowMs,
      openTicks: minutes[0].openTicks,
      lastTicks: minutes[minutes.length - 1].closeTicks,
      highTicks: 0,
      lowTicks: Number.MAX_SAFE_INTEGER,
      baseVolumeUnits: 0,
      quoteVolumeUnits: 0,
      trades: 0,
    };
    for (const c of minutes) {
      if (c.highTicks > t.highTicks) t.highTicks = c.highTicks;
      if (c.lowTicks < t.lowTicks) t.lowTicks = c.lowTicks;
      t.baseVolumeUnits = Math.min(MAX_UNITS, t.baseVolumeUnits + c.baseVolumeUnits);
      t.quoteVolumeUnits = Math.min(MAX_UNITS, t.quoteVolumeUnits + c.quoteVolumeUnits);
      t.trades += c.trades;
    }
    return t;
  }

  /** An order by id: live if open, else its latest version in the store. */
  async order(orderId: number): Promise<OpenOrder | OrderRow | undefined> {
    return this.openOrder(orderId) ?? await this.core.store.order(orderId);
  }

  // ---------------------------------------------------------------- streams and health

  subscribe(
    sub: PushSubscriber<ChangeLogEntry<unknown>>,
    options?: SubscribeOptions<ChangeLogEntry<unknown>>,
  ): SubscribeResult {
    return this.core.hub.subscribe(sub, options);
  }

  unsubscribe(id: string): void {
    this.core.hub.unsubscribe(id);
  }

  /** Cuts a subscriber off with `reason` (counted as a drop); see PushHub.cutOff. */
  cutOff(id: string, reason: string): boolean {
    return this.core.hub.cutOff(id, reason);
  }

  /** Each stage's supervisor state. */
  health(): ChildStatus[] {
    return this.supervisor.status();
  }

  /** Pipeline counters for metrics. */
  stats() {
    const c = this.core;
    return {
      lastSeq: c.lastSeq,
      durableSeq: c.wal.durableSeq,
      matchedSeq: c.matchedSeq,
      settledSeq: c.risk.lastSettledSeq,
      persistedSeq: c.persistedSeq,
      persistedTradeId: c.persistedTradeId,
      /** The store is still writing the rows recovery handed it (see `recovery`). */
      storeCatchingUp: c.storeCatchUp !== null,
      inFlight: c.inFlight,
      walBatches: c.wal.batches,
      acquiring: this.acquiring?.stats,
      push: c.hub.stats(),
    };
  }

  /**
   * Resolves once the store holds the rows of every command accepted so far, or after
   * `maxWaitMs` (the store may be catching up after a restart); true if it got there.
   * History queries call it first, so that they show what answers already told.
   */
  async whenStoredNow(maxWaitMs: number): Promise<boolean> {
    const target = this.core.lastSeq;
    if (this.core.persistedSeq >= target) return true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), maxWaitMs);
    });
    try {
      return await Promise.race([this.core.whenStored(target).then(() => true), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Durations of the command WAL's fsyncs, for /metrics. */
  get walFsyncSeconds() {
    return this.core.wal.fsyncSeconds;
  }

  /** Resolves when every accepted command is durable, matched, settled and stored. */
  whenIdle(): Promise<void> {
    return this.core.whenIdle();
  }

  // ---------------------------------------------------------------- snapshots and stop

  private maybeSnapshot(): void {
    if (this.snapshotting !== null || this.stopping !== null) return;
    if (this.core.lastSeq - this.lastSnapshotSeq < this.snapshotEvery) return;
    this.snapshotting = this.snapshot()
      .catch((e) =>
        this.core.logger.error(`Engine snapshot failed: ${e instanceof Error ? e.message : e}`)
      )
      .finally(() => (this.snapshotting = null));
  }

  /**
   * Takes an engine snapshot: pauses intake, waits until every stage has caught up,
   * captures the state, resumes, then writes the files and trims the WAL before the
   * oldest snapshot kept.
   */
  async snapshot(): Promise<void> {
    const core = this.core;
    let resume = () => {};
    const pausedHere = core.paused === null;
    if (pausedHere) core.paused = new Promise((r) => (resume = r));
    let snap;
    try {
      await core.wal.flush();
      await core.whenIdle();
      snap = {
        seq: core.lastSeq,
        engine: captureEngineState(core.risk, core.matcher),
        kline: core.kline.toJSON(),
        lastClientRef: core.lastClientRef,
      };
    } finally {
      if (pausedHere) {
        core.paused = null;
        resume();
      }
    }
    await writeEngineSnapshot(this.snapshots, snap, core.clock.now());
    this.lastSnapshotSeq = snap.seq;
    await this.checkpoints.snapshot(core.persistedTradeId, core.clock.now());
    const kept = await this.snapshots.list();
    if (kept.length > 0) await core.wal.truncateBefore(Math.min(...kept) + 1);
  }

  /**
   * Graceful shutdown: stop intake, let every stage drain, make everything durable, take
   * the engine and settlement snapshots, stop the stages in reverse order, close files.
   */
  stop(): Promise<void> {
    if (this.stopping === null) this.stopping = this.shutdown();
    return this.stopping;
  }

  /**
   * Stops at once, like a crash: no drain, no snapshot; what the WAL made durable stays
   * and the next start recovers from it. For tests of recovery.
   */
  async halt(): Promise<void> {
    const core = this.core;
    core.intakeStopped = "halted";
    if (this.snapshotting !== null) await this.snapshotting;
    await this.supervisor.stop();
    await this.checkpoints.flush().catch(() => {});
    core.hub.close("SHUTDOWN: the exchange halted");
    await core.wal.close();
    await this.settlementWal.close();
    await core.store.close();
  }

  private async shutdown(): Promise<void> {
    const core = this.core;
    if (this.snapshotting !== null) await this.snapshotting;
    const failed = core.intakeStopped !== null &&
      core.intakeStopped.startsWith("command WAL failed");
    core.intakeStopped = "shutting down";
    if (!failed) {
      await core.wal.flush();
      await core.whenIdle();
      if (core.lastSeq > this.lastSnapshotSeq) await this.snapshot();
      await this.checkpoints.flush();
    }
    await this.supervisor.stop();
    core.hub.close("SHUTDOWN: the exchange stopped");
    await core.wal.close();
    await this.settlementWal.close();
    await core.store.close();
  }

  /**
   * Settlement writes and checkpoints nothing until the store has the rows recovery handed
   * it (`catchUp`); then every trade up to `tradeId` is stored. A store that fails then is
   * broken: the tree stops, and the next start hands it the same rows again.
   */
  private awaitStoreCatchUp(
    catchUp: Promise<void> | null,
    tradeId: number,
    rows: number,
  ): void {
    const core = this.core;
    if (catchUp === null) {
      this.checkpoints.persisted(tradeId, core.clock.now());
      return;
    }
    const t0 = performance.now();
    core.storeCatchUp = catchUp;
    catchUp.then(
      () => {
        core.storeCatchUp = null;
        this.recovery.storeCatchUpMs = performance.now() - t0;
        if (core.intakeStopped === "halted") return; // its files may be closed already
        try {
          this.checkpoints.persisted(tradeId, core.clock.now());
        } catch (e) {
          // The next start hands the store the same rows again: nothing is lost.
          core.logger.error(
            `Settlement checkpoint after the store's catch-up failed: ${
              e instanceof Error ? e.message : e
            }`,
          );
        }
        core.logger.info(
          `The store caught up on ${rows} rows (up to trade ${tradeId}) in ${
            this.recovery.storeCatchUpMs.toFixed(0)
          } ms`,
        );
        core.wake.settlement();
        core.progressed();
      },
      (e) => {
        if (core.intakeStopped === "halted") return;
        this.fatal(
          `the store failed while catching up on recovery: ${e instanceof Error ? e.message : e}`,
        );
      },
    );
  }

  private stageCrashed(ctx: ChildContext, error: unknown): void {
    // A broken invariant means the shared state (books, ledger) may be half-changed:
    // restarting the stage on it would spread the damage. Stop, and let a restart
    // recover from the snapshot and the WAL.
    if (error instanceof InvariantError) {
      this.fatal(`stage ${ctx.name}: ${error.message}`);
      return;
    }
    ctx.onCrash(error);
  }

  private fatal(reason: string): void {
    this.core.intakeStopped = `stopped: ${reason}`;
    void this.supervisor.fail(`exchange stopping: ${reason}`);
  }

  private view(slot: number): OpenOrder {
    const s = this.core.matcher.store;
    return {
      orderId: s.idOf(slot),
      userId: s.userOf(slot),
      symbolId: s.symbolOf(slot),
      side: s.side(slot),
      priceTicks: s.priceOf(slot),
      qtyUnits: s.qtyOf(slot),
      filledUnits: s.filledOf(slot),
      remainingUnits: s.remainingOf(slot),
      quoteFilledUnits: s.quoteFilledOf(slot),
      cid: s.cid[slot],
      createdMs: s.createdOf(slot),
      postOnly: s.postOnly(slot),
      stp: s.stp(slot),
    };
  }
}
