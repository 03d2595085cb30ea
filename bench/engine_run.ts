/**
 * Timed runs of the engine over pre-generated commands: a funded engine for the bench
 * market, a loop that applies every command through the engine's hot entry point and
 * measures wall and CPU time around it, and an outcome pass through `apply` that also
 * counts rejections from the event objects.
 *
 * The hot entry point is `Engine.execute` (events in the engine's binary buffer) when the
 * engine has one, else `Engine.apply` (events as objects). It is found by looking, so the
 * bench runs against either shape of the engine.
 */

import process from "node:process";
import type { Command } from "../domain/commands.ts";
import { Engine } from "../domain/engine.ts";
import { buildMarkets } from "../domain/market_config.ts";
import type { MatchCancel, MatchPlace, SettlementSink } from "../domain/match_input.ts";
import { Matcher } from "../domain/matcher.ts";
import { BENCH_ASSETS, BENCH_SYMBOL } from "./command_stream.ts";
import type { RssSampler } from "./memory_bench.ts";

/** What one timed pass over a command list did and how long it took. */
export interface ApplyRun {
  /** The engine method timed. */
  entryPoint: EntryPoint;
  commands: number;
  seconds: number;
  /**
   * CPU time of the process over the run (all threads, so GC helpers count). Well below
   * `seconds` means the run was descheduled: another process had the core.
   */
  cpuSeconds: number;
  commandsPerSecond: number;
  /** Trades made during the run. */
  trades: number;
  /** Open orders in the engine after the run. */
  resting: number;
}

/** A pass through `apply` that also counts the commands it rejected. */
export interface OutcomeRun extends ApplyRun {
  rejects: number;
  rejectsPlace: number;
  rejectsCancel: number;
}

export type EntryPoint = "execute" | "apply";

interface ExecutingEngine {
  execute(cmd: Command): unknown;
}

/** `execute` if the engine has it (binary events, no decoding), else `apply`. */
export function hotEntryPoint(engine: Engine): EntryPoint {
  return typeof (engine as unknown as Partial<ExecutingEngine>).execute === "function"
    ? "execute"
    : "apply";
}

/** A new engine for the bench market with `funding` (deposits) applied. */
export function fundedEngine(funding: readonly Command[], maxOpenOrdersPerUser?: number): Engine {
  const engine = new Engine({
    assets: BENCH_ASSETS,
    symbols: [BENCH_SYMBOL],
    maxOpenOrdersPerUser,
  });
  for (const c of funding) {
    const events = engine.apply(c);
    if (events[0]?.type === "rejected") {
      throw new Error(`Cannot fund the bench engine: ${JSON.stringify(events[0])}`);
    }
  }
  return engine;
}

/**
 * Applies `commands` in order through `entryPoint` and returns the run's figures. The
 * loop does nothing else, except with a sampler: then it samples RSS every
 * `sampler.everyCommands` commands (a few dozen samples per million commands, well under
 * a millisecond in all).
 */
export function timeApply(
  engine: Engine,
  commands: readonly Command[],
  entryPoint: EntryPoint,
  sampler?: RssSampler,
): ApplyRun {
  const tradesBefore = engine.nextTradeId;
  const n = commands.length;
  const every = sampler ? sampler.everyCommands : n + 1;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  if (entryPoint === "execute") {
    const e = engine as unknown as ExecutingEngine;
    for (let start = 0; start < n; start += every) {
      const end = Math.min(n, start + every);
      for (let i = start; i < end; i++) e.execute(commands[i]);
      sampler?.sample();
    }
  } else {
    for (let start = 0; start < n; start += every) {
      const end = Math.min(n, start + every);
      for (let i = start; i < end; i++) engine.apply(commands[i]);
      sampler?.sample();
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return {
    entryPoint,
    commands: n,
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    commandsPerSecond: n / seconds,
    trades: engine.nextTradeId - tradesBefore,
    resting: engine.openOrderCount,
  };
}

/**
 * Applies `commands` through `apply` (events as objects, as a caller outside the hot path
 * sees them) and counts rejections from the first event of each command.
 */
export function outcomePass(engine: Engine, commands: readonly Command[]): OutcomeRun {
  const tradesBefore = engine.nextTradeId;
  let rejectsPlace = 0;
  let rejectsCancel = 0;
  const n = commands.length;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const first = engine.apply(commands[i])[0];
    if (first.type === "rejected") {
      if (first.command === "cancel") rejectsCancel++;
      else rejectsPlace++;
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return {
    entryPoint: "apply",
    commands: n,
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    commandsPerSecond: n / seconds,
    trades: engine.nextTradeId - tradesBefore,
    resting: engine.openOrderCount,
    rejects: rejectsPlace + rejectsCancel,
    rejectsPlace,
    rejectsCancel,
  };
}

/** A settlement sink that does nothing: the matcher alone, with no balances or holds. */
const NO_SETTLEMENT: SettlementSink = {
  settleFill() {},
  endOrder() {},
  restOrder() {},
  amendApplied() {},
  amendRejected() {},
};

/** What the matcher is given for each command of a matching-only pass. */
export type MatchOnlyInput =
  | { kind: "place"; m: MatchPlace }
  | { kind: "cancel"; m: MatchCancel };

/**
 * The bench's places and cancels as the matcher's own inputs (what the account shard
 * would hand it after validation and holds). Places need their explicit order ids, as
 * the bench streams have.
 */
export function toMatchOnlyInputs(commands: readonly Command[]): MatchOnlyInput[] {
  return commands.map((c): MatchOnlyInput => {
    if (c.type === "cancel") {
      return { kind: "cancel", m: { userId: c.userId, orderId: c.orderId, cid: c.cid } };
    }
    if (c.type !== "place" || c.orderId === undefined) {
      throw new Error(`a matching-only pass takes places with order ids and cancels`);
    }
    const isLimit = c.orderType === "LIMIT";
    return {
      kind: "place",
      m: {
        orderId: c.orderId,
        userId: c.userId,
        symbolId: c.symbolId,
        side: c.side,
        orderType: c.orderType,
        timeInForce: isLimit ? c.timeInForce ?? "GTC" : "IOC",
        postOnly: c.postOnly === true,
        priceTicks: c.priceTicks ?? 0,
        qtyUnits: c.qtyUnits ?? 0,
        budgetUnits: c.quoteUnits ?? -1,
        stp: c.stp ?? "NONE",
        cid: c.cid ?? null,
        tsMs: 0,
        riskRef: 0,
      },
    };
  });
}

/**
 * The matcher of the bench market on its own: price-time matching, the book and its
 * events, with a settlement sink that does nothing (no validation, holds, balances or
 * fees). Shows how much of the engine's time is matching: the part the peer does.
 */
export function timeMatchOnly(inputs: readonly MatchOnlyInput[]): ApplyRun {
  const { marketsById } = buildMarkets(BENCH_ASSETS, [BENCH_SYMBOL]);
  const matcher = new Matcher(marketsById);
  const out = matcher.out;
  const n = inputs.length;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const x = inputs[i];
    out.reset();
    if (x.kind === "place") matcher.place(x.m, NO_SETTLEMENT);
    else matcher.cancel(x.m, NO_SETTLEMENT);
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return {
    entryPoint: "execute",
    commands: n,
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    commandsPerSecond: n / seconds,
    trades: matcher.nextTradeId - 1,
    resting: matcher.orders.size,
  };
}
