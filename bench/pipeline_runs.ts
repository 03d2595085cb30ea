/**
 * One timed run of each pipeline scenario, each on a new exchange in a new temporary data
 * directory (removed afterwards): the users are funded first (untimed), then the timed
 * load. Throughput: a bounded window of submits in flight, timed to the last answer and
 * to `whenIdle()` (everything settled and stored). Latency: an open-loop load at a fixed
 * rate, each command's submit → answer time.
 */

import process from "node:process";
import type { Command } from "../domain/commands.ts";
import { type LatencySummary, summarize } from "./latency.ts";
import {
  haltQuiet,
  openBenchExchange,
  runPaced,
  runWindowed,
  type StoreCounters,
} from "./pipeline_load.ts";
import { removeTree } from "./data_dirs.ts";

/** Engine snapshots every this many commands (the exchange's default). */
export const SNAPSHOT_EVERY_COMMANDS = 500_000;
/** Window used to submit the funding deposits. */
const FUNDING_WINDOW = 1_024;

export interface ThroughputRun {
  window: number;
  commands: number;
  /** First submit to the last answer. */
  answeredMs: number;
  /** First submit to `whenIdle()`: every command settled and its rows stored. */
  idleMs: number;
  commandsPerSecondAnswered: number;
  commandsPerSecondIdle: number;
  /** CPU time of the process (all threads) from first submit to idle. */
  cpuMs: number;
  /** WAL batches (one write + one fsync each) during the timed load. */
  walBatches: number;
  commandsPerBatch: number;
  rejected: number;
  overloads: number;
  unavailable: number;
  /** Submit → answer of the windowed load (includes queueing behind the window). */
  latency: LatencySummary;
  store: StoreCounters;
  /** Engine snapshots taken during the run (every SNAPSHOT_EVERY_COMMANDS). */
  snapshotEvery: number;
}

/** Funding, then `cmds` with `window` submits in flight, on a new exchange. */
export async function throughputRun(
  funding: readonly Command[],
  cmds: readonly Command[],
  window: number,
  discardStore = false,
): Promise<ThroughputRun> {
  const dir = await Deno.makeTempDir({ prefix: "pipeline_bench_" });
  try {
    const { exchange, store } = await openBenchExchange(dir, SNAPSHOT_EVERY_COMMANDS, discardStore);
    try {
      await runWindowed(exchange, funding, FUNDING_WINDOW);
      await exchange.whenIdle();
      store.resetCounters();
      const batches0 = exchange.stats().walBatches;
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const r = await runWindowed(exchange, cmds, window, funding.length + 1);
      await exchange.whenIdle();
      const idleMs = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      const walBatches = exchange.stats().walBatches - batches0;
      return {
        window,
        commands: r.commands,
        answeredMs: r.answeredMs,
        idleMs,
        commandsPerSecondAnswered: r.commands / (r.answeredMs / 1000),
        commandsPerSecondIdle: r.commands / (idleMs / 1000),
        cpuMs: (cpu.user + cpu.system) / 1000,
        walBatches,
        commandsPerBatch: r.commands / Math.max(1, walBatches),
        rejected: r.rejected,
        overloads: r.overloads,
        unavailable: r.unavailable,
        latency: summarize(r.latencyNs),
        store: { ...store.counters },
        snapshotEvery: SNAPSHOT_EVERY_COMMANDS,
      };
    } finally {
      await haltQuiet(exchange, dir);
    }
  } finally {
    await removeTree(dir);
  }
}

export interface LatencyRun {
  ratePerS: number;
  commands: number;
  /** Commands answered per second over the run (offered rate if the pipeline keeps up). */
  answeredPerS: number;
  /** Submit → answer. */
  latency: LatencySummary;
  /** Scheduled send time → answer (adds the timer's lag behind the schedule). */
  scheduledLatency: LatencySummary;
  pacingLagMsMax: number;
  inFlightMax: number;
  walBatches: number;
  commandsPerBatch: number;
  overloads: number;
  unavailable: number;
  /** Last answer to `whenIdle()`: how far settlement and the store were behind. */
  drainMs: number;
}

/** Funding, then `cmds` offered at `ratePerS` on a schedule, on a new exchange. */
export async function latencyRun(
  funding: readonly Command[],
  cmds: readonly Command[],
  ratePerS: number,
): Promise<LatencyRun> {
  const dir = await Deno.makeTempDir({ prefix: "pipeline_bench_" });
  try {
    const { exchange } = await openBenchExchange(dir, SNAPSHOT_EVERY_COMMANDS);
    try {
      await runWindowed(exchange, funding, FUNDING_WINDOW);
      await exchange.whenIdle();
      const batches0 = exchange.stats().walBatches;
      const r = await runPaced(exchange, cmds, ratePerS, 1, funding.length + 1);
      const t = performance.now();
      await exchange.whenIdle();
      const walBatches = exchange.stats().walBatches - batches0;
      return {
        ratePerS,
        commands: r.commands,
        answeredPerS: r.commands / (r.answeredMs / 1000),
        latency: summarize(r.latencyNs),
        scheduledLatency: summarize(r.scheduledLatencyNs),
        pacingLagMsMax: r.pacingLagMsMax,
        inFlightMax: r.inFlightMax,
        walBatches,
        commandsPerBatch: r.commands / Math.max(1, walBatches),
        overloads: r.overloads,
        unavailable: r.unavailable,
        drainMs: performance.now() - t,
      };
    } finally {
      await haltQuiet(exchange, dir);
    }
  } finally {
    await removeTree(dir);
  }
}
