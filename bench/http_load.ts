/**
 * The API bench's HTTP load generator, run as its own process so that it does not share
 * an event loop with the server under test. It reads one {@link LoadJob} (a JSON line)
 * on stdin, runs it against 127.0.0.1 and writes one {@link LoadResult} line on stdout,
 * then ends.
 *
 * Closed loop (`mode: "closed"`): `connections` keep-alive connections, each with one
 * request in flight, sending the next as soon as the last is answered; requests/s is the
 * answers completed in the measured window. Open loop (`mode: "open"`): requests are
 * scheduled at a fixed `rate` whatever the answers do, sent on a free connection (or
 * queued until one is free), and latency is measured from the scheduled time, so a slow
 * answer delays the measurement of those queued behind it rather than hiding them
 * (no coordinated omission). A Worker (bench/ticker_worker.ts) wakes the open loop on
 * schedule; the generator's own lateness is reported apart (`sendLag`).
 *
 * Both run `warmupSeconds` unmeasured, then `seconds` measured; both stop by themselves.
 */

import process from "node:process";
import { stdinLines, writeLine } from "./child_process.ts";
import { HttpConnection } from "./http_conn.ts";
import { RequestMaker, type RequestPlan } from "./order_requests.ts";
import type { TickerStart } from "./ticker_worker.ts";
import { type Histogram, histogram, type LatencyUs, summary, Tally } from "./load_tally.ts";

export type { LatencyUs };

export interface LoadJob extends RequestPlan {
  mode: "closed" | "open";
  connections: number;
  warmupSeconds: number;
  seconds: number;
  /** Open loop: requests scheduled per second. */
  rate?: number;
}

export interface LoadResult {
  /** Successful answers in the measured window (closed: completed in it; open: scheduled in it). */
  okInWindow: number;
  windowSeconds: number;
  okPerSecond: number;
  /** Wall-clock bounds of the measured window (epoch ms), to line up with other processes. */
  windowStartMs: number;
  windowEndMs: number;
  /** Over the whole job, warm-up included. */
  requests: number;
  httpErrors: number;
  envelopeErrors: number;
  transportErrors: number;
  /** Open loop: requests still unanswered when the drain timed out. */
  unanswered: number;
  errorSamples: string[];
  /** Closed: send to answer. Open: scheduled time to answer. Measured window only. */
  latency: LatencyUs;
  /** Open loop only: how late requests left after their scheduled time (generator lag). */
  sendLag?: LatencyUs;
  /** Open loop only: send to answer (what the server and the network took). */
  fromSend?: LatencyUs;
  /** Open loop only: the most requests waiting for a free connection at once (measured window). */
  queuedMax?: number;
  /** CPU seconds this process used during the job. */
  cpuSeconds: number;
}

/** Open loop: longest wait for the last answers after the schedule ends. */
const DRAIN_TIMEOUT_MS = 10_000;
/** Open loop: requests allowed to wait for a connection before the job gives up. */
const MAX_QUEUED_SECONDS = 2;

/** Runs `job` and returns its result. Throws if no connection can be opened. */
export async function runLoad(job: LoadJob): Promise<LoadResult> {
  const cpu0 = cpuUsageSeconds();
  const runTag = Math.floor(Math.random() * 36 ** 5).toString(36);
  const conns: HttpConnection[] = [];
  const makers: RequestMaker[] = [];
  for (let i = 0; i < job.connections; i++) {
    conns.push(await HttpConnection.open(job.hostname, job.port));
    makers.push(new RequestMaker(job, i, runTag));
  }
  const tally = new Tally();
  const latency = histogram();
  try {
    const r = job.mode === "closed"
      ? await closedLoop(job, conns, makers, tally, latency)
      : await openLoop(job, conns, makers, tally, latency);
    const windowSeconds = (r.windowEndMs - r.windowStartMs) / 1000;
    return {
      ...r,
      windowSeconds,
      okPerSecond: r.okInWindow / windowSeconds,
      requests: tally.requests,
      httpErrors: tally.httpErrors,
      envelopeErrors: tally.envelopeErrors,
      transportErrors: tally.transportErrors,
      errorSamples: tally.samples,
      latency: summary(latency),
      cpuSeconds: cpuUsageSeconds() - cpu0,
    };
  } finally {
    for (const c of conns) c.close();
    latency.destroy();
  }
}

type LoopResult = Pick<
  LoadResult,
  | "okInWindow"
  | "windowStartMs"
  | "windowEndMs"
  | "unanswered"
  | "sendLag"
  | "fromSend"
  | "queuedMax"
>;

async function closedLoop(
  job: LoadJob,
  conns: HttpConnection[],
  makers: RequestMaker[],
  tally: Tally,
  latency: Histogram,
): Promise<LoopResult> {
  const t0 = performance.now();
  const windowStart = t0 + job.warmupSeconds * 1000;
  const windowEnd = windowStart + job.seconds * 1000;
  let okInWindow = 0;
  const worker = async (i: number) => {
    let conn = conns[i];
    while (performance.now() < windowEnd) {
      const request = makers[i].next(Date.now());
      const sentAt = performance.now();
      try {
        const a = await conn.send(request);
        const doneAt = performance.now();
        const ok = tally.answer(a.status, a.body);
        if (ok && doneAt >= windowStart && doneAt < windowEnd) {
          okInWindow++;
          latency.recordValue(Math.max(1, Math.round((doneAt - sentAt) * 1000)));
        }
      } catch (e) {
        tally.transport(e);
        conn.close();
        conn = conns[i] = await HttpConnection.open(job.hostname, job.port);
      }
    }
  };
  await Promise.all(conns.map((_, i) => worker(i)));
  const epoch = performance.timeOrigin;
  return {
    okInWindow,
    windowStartMs: epoch + windowStart,
    windowEndMs: epoch + windowEnd,
    unanswered: 0,
  };
}

async function openLoop(
  job: LoadJob,
  conns: HttpConnection[],
  makers: RequestMaker[],
  tally: Tally,
  latency: Histogram,
): Promise<LoopResult> {
  const rate = job.rate ?? 0;
  if (!(rate > 0)) throw new Error(`Cannot run an open loop: rate must be > 0, received ${rate}`);
  const intervalMs = 1000 / rate;
  const total = Math.round(rate * (job.warmupSeconds + job.seconds));
  const firstMeasured = Math.round(rate * job.warmupSeconds);
  const t0 = performance.now() + 20;
  const sendLag = histogram();
  const fromSend = histogram();
  const idle = conns.map((_, i) => i);
  // Scheduled request numbers waiting for a connection, oldest first.
  const queued: number[] = [];
  let queuedHead = 0;
  let queuedMax = 0;
  let answered = 0;
  let okInWindow = 0;
  let allAnswered: () => void = () => {};

  const serve = async (c: number, n: number) => {
    for (;;) {
      const scheduledAt = t0 + n * intervalMs;
      const sentAt = performance.now();
      const measured = n >= firstMeasured;
      if (measured) sendLag.recordValue(Math.max(1, Math.round((sentAt - scheduledAt) * 1000)));
      try {
        const a = await conns[c].send(makers[c].next(Date.now()));
        const doneAt = performance.now();
        if (tally.answer(a.status, a.body) && measured) {
          okInWindow++;
          latency.recordValue(Math.max(1, Math.round((doneAt - scheduledAt) * 1000)));
          fromSend.recordValue(Math.max(1, Math.round((doneAt - sentAt) * 1000)));
        }
      } catch (e) {
        tally.transport(e);
        conns[c].close();
        conns[c] = await HttpConnection.open(job.hostname, job.port);
      }
      answered++;
      if (queuedHead < queued.length) {
        n = queued[queuedHead++];
        if (queuedHead === queued.length) queued.length = queuedHead = 0;
        continue;
      }
      idle.push(c);
      if (answered === total) allAnswered();
      return;
    }
  };

  const maxQueued = Math.max(1_000, rate * MAX_QUEUED_SECONDS);
  let next = 0;
  let failure: Error | undefined;
  const dispatch = (upTo: number) => {
    const due = Math.min(
      total,
      Math.max(upTo, Math.floor((performance.now() - t0) / intervalMs) + 1),
    );
    for (; next < due; next++) {
      const c = idle.pop();
      if (c !== undefined) {
        void serve(c, next);
        continue;
      }
      queued.push(next);
      if (next >= firstMeasured) queuedMax = Math.max(queuedMax, queued.length - queuedHead);
      if (queued.length - queuedHead > maxQueued) {
        failure ??= new Error(
          `Open loop at ${rate}/s gave up: ${maxQueued} requests waiting for a connection (the server is not keeping up)`,
        );
      }
    }
  };
  // A worker wakes this loop on schedule: event-loop timers fire 1 to 2 ms late, which
  // would count as latency.
  const ticker = new Worker(new URL("./ticker_worker.ts", import.meta.url), { type: "module" });
  await new Promise<void>((resolve) => {
    ticker.onmessage = (e: MessageEvent<number>) => {
      dispatch(e.data + 1);
      if (next >= total || failure !== undefined) resolve();
    };
    const start: TickerStart = { startEpochMs: performance.timeOrigin + t0, intervalMs, total };
    ticker.postMessage(start);
  });
  ticker.terminate();
  if (failure !== undefined) throw failure;
  const drained = new Promise<void>((r) => (allAnswered = r));
  let timer: ReturnType<typeof setTimeout> | undefined;
  if (answered < total) {
    await Promise.race([drained, new Promise((r) => (timer = setTimeout(r, DRAIN_TIMEOUT_MS)))]);
  }
  clearTimeout(timer);
  const epoch = performance.timeOrigin;
  const result: LoopResult = {
    okInWindow,
    windowStartMs: epoch + t0 + firstMeasured * intervalMs,
    windowEndMs: epoch + t0 + total * intervalMs,
    unanswered: total - answered,
    sendLag: summary(sendLag),
    fromSend: summary(fromSend),
    queuedMax,
  };
  sendLag.destroy();
  fromSend.destroy();
  return result;
}

function cpuUsageSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** What the process answers when the job failed. */
export interface LoadFailure {
  error: string;
}

if (import.meta.main) {
  for await (const msg of stdinLines()) {
    try {
      writeLine(await runLoad(msg as LoadJob));
    } catch (e) {
      writeLine({ error: e instanceof Error ? e.message : String(e) } satisfies LoadFailure);
    }
    break;
  }
  // Answers that never came (a drain that timed out) must not keep the process alive.
  Deno.exit(0);
}
