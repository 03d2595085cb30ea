/**
 * The API bench's WebSocket fan-out scenario: `clients` WebSockets in their own process,
 * subscribed to a symbol's trades and depth, while a generator process sends orders that
 * trade at a fixed rate (open loop). Each run's figure is the pushes received by all
 * clients together per second over the generator's measured window.
 */

import { ChildProcess } from "./child_process.ts";
import { type JobRun, type JobSpec, type Rig, runJob } from "./api_rig.ts";
import type { WsJob, WsResult } from "./ws_load.ts";

const BENCH_DIR = new URL(".", import.meta.url).pathname;
const READY_TIMEOUT_MS = 30_000;
const RESULT_TIMEOUT_MS = 60_000;

export interface FanoutRun {
  job: JobRun;
  /** Pushes received by all clients per second in the measured window. */
  messagesPerSecond: number;
  /** Pushes per order answered, per client (trades + depth diffs an order causes). */
  messagesPerOrderPerClient: number;
}

export interface FanoutResult {
  runs: FanoutRun[];
  /** Pushes each client received in all; equal when no client missed any. */
  perClientMin: number;
  perClientMax: number;
  errors: number;
  closes: number;
  errorSamples: string[];
  /** Order runs that failed (run number and why); they have no figures. */
  failures: string[];
}

/**
 * Opens the subscribers, runs `runs` order jobs of `spec` (open loop) one after the
 * other, then collects the counts. Throws if the subscribers cannot connect.
 */
export async function runFanout(
  rig: Rig,
  opts: { clients: number; topics: string[]; runs: number },
  spec: JobSpec & { symbol: string; price: string; qty: string },
  onRun: (i: number, run: FanoutRun) => void,
): Promise<FanoutResult> {
  const ws = new ChildProcess("WebSocket subscribers", `${BENCH_DIR}ws_load.ts`);
  try {
    const job: WsJob = {
      url: `ws://127.0.0.1:${rig.exchangePort}/ws`,
      clients: opts.clients,
      topics: opts.topics,
    };
    await ws.send(job);
    const ready = await ws.next<{ ready?: true; error?: string }>(READY_TIMEOUT_MS);
    if (ready.error !== undefined) throw new Error(`The subscribers failed: ${ready.error}`);
    const jobs: (JobRun | undefined)[] = [];
    const failures: string[] = [];
    for (let i = 1; i <= opts.runs; i++) {
      try {
        jobs.push(await runJob(rig, "order", spec, [ws.pid]));
      } catch (e) {
        jobs.push(undefined);
        failures.push(`run ${i}: ${e instanceof Error ? e.message : e}`);
      }
    }
    await ws.closeInput();
    const r = await ws.next<WsResult | { error: string }>(RESULT_TIMEOUT_MS);
    if ("error" in r) throw new Error(`The subscribers failed: ${r.error}`);
    const runs: FanoutRun[] = [];
    jobs.forEach((job, i) => {
      if (job === undefined) return;
      const received = inWindow(r, job.result.windowStartMs, job.result.windowEndMs);
      const run: FanoutRun = {
        job,
        messagesPerSecond: received.count / received.seconds,
        messagesPerOrderPerClient: received.count / opts.clients /
          (job.result.okPerSecond * received.seconds),
      };
      runs.push(run);
      onRun(i + 1, run);
    });
    return {
      failures,
      runs,
      perClientMin: Math.min(...r.perClient),
      perClientMax: Math.max(...r.perClient),
      errors: r.errors,
      closes: r.closes,
      errorSamples: r.errorSamples,
    };
  } finally {
    await ws.stop();
  }
}

/** Messages in the whole buckets inside [startMs, endMs), and the seconds they cover. */
function inWindow(r: WsResult, startMs: number, endMs: number): { count: number; seconds: number } {
  const first = Math.ceil((startMs - r.epochMs) / r.bucketMs);
  const last = Math.floor((endMs - r.epochMs) / r.bucketMs); // exclusive
  let count = 0;
  for (let b = Math.max(0, first); b < last && b < r.buckets.length; b++) count += r.buckets[b];
  return { count, seconds: (Math.max(0, last - first) * r.bucketMs) / 1000 };
}
