/**
 * The API bench's rig: the servers under test, each in its own process (the exchange
 * service over a temporary data directory, and a bare Hono app), funded users with API
 * keys, and load jobs run in a separate generator process with the CPU each process used
 * and the server's own counters (from `/metrics`) over the job. Everything it starts,
 * `stopRig` stops, and the data directory is removed.
 */

import { SignedClient } from "../api/signed_client.ts";
import { ChildProcess, cpuSeconds } from "./child_process.ts";
import { removeTree } from "./data_dirs.ts";
import type { LoadFailure, LoadJob, LoadResult } from "./http_load.ts";
import type { BenchUser, OrderPair } from "./order_requests.ts";
import { type GcSummary, GcTrace } from "./gc_trace.ts";
import type { LoopLag } from "./loop_lag.ts";

const BENCH_DIR = new URL(".", import.meta.url).pathname;
const START_TIMEOUT_MS = 30_000;
const CONTROL_TIMEOUT_MS = 10_000;
/** A job's result may come this long after its planned end (drain, slow start). */
const JOB_SLACK_MS = 30_000;

/** Funds of each pair's buyer and seller: enough for every order a default run sends. */
export const BUYER_FUNDS = { USDT: "100000000" };
export const SELLER_FUNDS = { BTC: "1000000" };

export interface Rig {
  exchange: ChildProcess;
  bare: ChildProcess;
  exchangePort: number;
  barePort: number;
  pairs: OrderPair[];
  dataDir: string;
  /** Set when the exchange runs with `--trace-gc` and the loop-lag monitor (`diagnose`). */
  gc?: GcTrace;
}

/**
 * Starts both servers and creates `pairs` funded buyer/seller pairs. On failure stops
 * what it started and throws.
 */
export async function startRig(
  opts: { pairs: number; dataDirParent?: string; diagnose?: boolean; serverV8Flags?: string[] },
): Promise<Rig> {
  const dataDir = await Deno.makeTempDir({ prefix: "api_bench_", dir: opts.dataDirParent });
  const adminToken = crypto.randomUUID() + crypto.randomUUID();
  const exchange = new ChildProcess("exchange server", `${BENCH_DIR}api_server.ts`, {
    args: ["exchange", dataDir],
    env: { ADMIN_TOKEN: adminToken },
    v8Flags: [...(opts.serverV8Flags ?? []), ...(opts.diagnose ? ["--trace-gc"] : [])],
    lineBuffered: opts.diagnose,
  });
  const bare = new ChildProcess("bare server", `${BENCH_DIR}api_server.ts`, { args: ["bare"] });
  const rig: Rig = { exchange, bare, exchangePort: 0, barePort: 0, pairs: [], dataDir };
  if (opts.diagnose) {
    const gc = rig.gc = new GcTrace();
    exchange.onLine = (line) => gc.add(line);
  }
  try {
    rig.exchangePort = (await exchange.next<{ port: number }>(START_TIMEOUT_MS)).port;
    rig.barePort = (await bare.next<{ port: number }>(START_TIMEOUT_MS)).port;
    const admin = new SignedClient(`http://127.0.0.1:${rig.exchangePort}`);
    const post = async <T>(path: string, body: unknown): Promise<T> => {
      const r = await admin.request("POST", path, JSON.stringify(body), {
        authorization: `Bearer ${adminToken}`,
      });
      if (r.code !== 0) throw new Error(`Cannot set up the bench: ${path} answered ${r.msg}`);
      return r.data as T;
    };
    const user = async (funds: Record<string, string>): Promise<BenchUser> => {
      const { user_id: userId } = await post<{ user_id: number }>("/admin/v1/users", {});
      const k = await post<{ api_key: string; secret: string }>("/admin/v1/api_keys", {
        user_id: userId,
      });
      for (const [asset, amount] of Object.entries(funds)) {
        await post("/admin/v1/deposit", { user_id: userId, asset, amount });
      }
      return { userId, apiKey: k.api_key, secret: k.secret };
    };
    for (let i = 0; i < opts.pairs; i++) {
      rig.pairs.push({ buyer: await user(BUYER_FUNDS), seller: await user(SELLER_FUNDS) });
    }
    return rig;
  } catch (e) {
    await stopRig(rig);
    throw e;
  }
}

/** Stops both servers (gracefully, else killed) and removes the data directory. */
export async function stopRig(rig: Rig): Promise<void> {
  try {
    await Promise.all([rig.exchange.stop(), rig.bare.stop()]);
  } finally {
    await removeTree(rig.dataDir);
  }
}

/** Cores used over a job: each process of the bench, and everything else on the machine. */
export interface CpuShares {
  server: number;
  generator: number;
  /** Other bench processes (the WebSocket subscribers, this one). */
  benchOther: number;
  /** Busy CPU not accounted to the bench's processes: other work on the machine. */
  others: number;
  /** Cores the machine has. */
  cores: number;
  /** Wall-clock seconds the shares were measured over (the whole job, warm-up included). */
  seconds: number;
  /** The server's cores by thread name ("deno" is the main thread, its event loop). */
  serverThreads: Record<string, number>;
}

/** Server counters over an exchange job, from `/metrics` (NaN if a series is missing). */
export interface ServerCounters {
  walBatches: number;
  walRecordsPerBatch: number;
  fsyncMsMean: number;
  /** Busy share of the WAL flusher in fsync (fsync time / job time). */
  fsyncShare: number;
  answerMsMean: number;
  httpMsMean: number;
  /** Share of answers (command in to answer out) and of HTTP requests over 5 ms. */
  answerOver5Ms: number;
  httpOver5Ms: number;
  /** Share of WAL fsyncs over 1 ms and over 5 ms. */
  fsyncOver1Ms: number;
  fsyncOver5Ms: number;
  pushPublished: number;
  pushCutOff: number;
}

export interface JobRun {
  result: LoadResult;
  cpu: CpuShares;
  server?: ServerCounters;
  /** With `diagnose`, exchange target: its GC pauses and event-loop stalls over the job. */
  gc?: GcSummary;
  lag?: LoopLag;
}

/** The parts of a job the caller chooses; the rig fills in where and who. */
export type JobSpec = Omit<LoadJob, "hostname" | "port" | "pairs" | "target">;

/**
 * Runs one load job on the target in a new generator process, measuring CPU shares and
 * (exchange target) the server's counters. `extraPids` are other bench processes whose CPU
 * is counted apart. Throws if the generator fails.
 */
export async function runJob(
  rig: Rig,
  target: "order" | "bare",
  spec: JobSpec & { symbol: string; price: string; qty: string },
  extraPids: number[] = [],
): Promise<JobRun> {
  const server = target === "order" ? rig.exchange : rig.bare;
  const port = target === "order" ? rig.exchangePort : rig.barePort;
  const generator = new ChildProcess("load generator", `${BENCH_DIR}http_load.ts`);
  try {
    const before = target === "order" ? await scrapeMetrics(port) : undefined;
    const diagnose = target === "order" && rig.gc !== undefined;
    if (diagnose) {
      await rig.exchange.send({ op: "lag-start" });
      await rig.exchange.next(CONTROL_TIMEOUT_MS);
      rig.gc!.take();
    }
    const meter = new CpuMeter([server.pid, generator.pid, Deno.pid, ...extraPids]);
    const threads0 = threadSeconds(server.pid);
    const job: LoadJob = { ...spec, target, hostname: "127.0.0.1", port, pairs: rig.pairs };
    await generator.send(job);
    const planned = (spec.warmupSeconds + spec.seconds) * 1000;
    const answer = await generator.next<LoadResult | LoadFailure>(planned + JOB_SLACK_MS);
    const used = meter.read();
    const threads1 = threadSeconds(server.pid);
    const serverThreads: Record<string, number> = {};
    for (const [name, s] of threads1) {
      const cores = (s - (threads0.get(name) ?? 0)) / used.seconds;
      if (cores >= 0.005) serverThreads[name] = cores;
    }
    if ("error" in answer) throw new Error(`The load generator failed: ${answer.error}`);
    const [serverCores, generatorCores, ...rest] = used.perPid;
    const cpu: CpuShares = {
      server: serverCores,
      generator: generatorCores,
      benchOther: rest.reduce((a, b) => a + b, 0),
      others: Math.max(0, used.busy - used.perPid.reduce((a, b) => a + b, 0)),
      cores: used.cores,
      seconds: used.seconds,
      serverThreads,
    };
    if (before === undefined) return { result: answer, cpu };
    const run: JobRun = { result: answer, cpu };
    if (diagnose) {
      run.gc = rig.gc!.take();
      await rig.exchange.send({ op: "lag-stop" });
      run.lag = (await rig.exchange.next<{ lag: LoopLag }>(CONTROL_TIMEOUT_MS)).lag;
    }
    run.server = counters(before, await scrapeMetrics(port), used.seconds);
    return run;
  } finally {
    await generator.stop();
  }
}

function counters(
  a: Map<string, number>,
  b: Map<string, number>,
  seconds: number,
): ServerCounters {
  const d = (name: string) => (b.get(name) ?? NaN) - (a.get(name) ?? NaN);
  const batches = d("exchange_wal_batches_total");
  const fsyncSeconds = d("exchange_wal_fsync_seconds_sum");
  return {
    walBatches: batches,
    walRecordsPerBatch: d("exchange_durable_seq") / batches,
    fsyncMsMean: (1000 * fsyncSeconds) / batches,
    fsyncShare: fsyncSeconds / seconds,
    answerMsMean: (1000 * d("exchange_command_answer_seconds_sum")) /
      d("exchange_command_answer_seconds_count"),
    httpMsMean: (1000 * d("exchange_http_request_duration_seconds_sum")) /
      d("exchange_http_request_duration_seconds_count"),
    answerOver5Ms: 1 -
      d('exchange_command_answer_seconds_bucket{le="0.005"}') /
        d("exchange_command_answer_seconds_count"),
    httpOver5Ms: 1 -
      d('exchange_http_request_duration_seconds_bucket{le="0.005"}') /
        d("exchange_http_request_duration_seconds_count"),
    fsyncOver1Ms: 1 - d('exchange_wal_fsync_seconds_bucket{le="0.001"}') / batches,
    fsyncOver5Ms: 1 - d('exchange_wal_fsync_seconds_bucket{le="0.005"}') / batches,
    pushPublished: d("exchange_push_published_total"),
    pushCutOff: d("exchange_push_cut_off_total"),
  };
}

/** `/metrics` of the exchange as series name (with labels) → value. */
export async function scrapeMetrics(port: number): Promise<Map<string, number>> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  const text = await res.text();
  const out = new Map<string, number>();
  if (!res.ok) return out;
  for (const line of text.split("\n")) {
    if (line.startsWith("#") || line.trim() === "") continue;
    const sp = line.lastIndexOf(" ");
    out.set(line.slice(0, sp), Number(line.slice(sp + 1)));
  }
  return out;
}

/** CPU used by chosen processes and by the whole machine between construction and read. */
export class CpuMeter {
  private readonly t0 = performance.now();
  private readonly sys0 = systemTicks();
  private readonly pid0: number[];

  constructor(private readonly pids: number[]) {
    this.pid0 = pids.map(cpuSeconds);
  }

  /** Cores used on average: each pid's, and the machine's busy total (NaN off Linux). */
  read(): { seconds: number; perPid: number[]; busy: number; cores: number } {
    const seconds = (performance.now() - this.t0) / 1000;
    const sys1 = systemTicks();
    const cores = navigator.hardwareConcurrency;
    const total = sys1.total - this.sys0.total;
    const busy = total > 0 ? (cores * (sys1.busy - this.sys0.busy)) / total : NaN;
    return {
      seconds,
      perPid: this.pids.map((p, i) => (cpuSeconds(p) - this.pid0[i]) / seconds),
      busy,
      cores,
    };
  }
}

/**
 * CPU seconds of a process's threads, summed by thread name (threads of one name, such as
 * V8's helpers, together; threads that ended are missing). Empty off Linux.
 */
export function threadSeconds(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  try {
    for (const t of Deno.readDirSync(`/proc/${pid}/task`)) {
      try {
        const stat = Deno.readTextFileSync(`/proc/${pid}/task/${t.name}/stat`);
        const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        const s = (Number(fields[11]) + Number(fields[12])) / 100;
        out.set(name, (out.get(name) ?? 0) + s);
      } catch {
        // the thread ended between the listing and the read
      }
    }
  } catch {
    // not Linux, or the process ended
  }
  return out;
}

/** Jiffies of all CPUs from /proc/stat: total, and busy (not idle, not iowait). */
function systemTicks(): { total: number; busy: number } {
  try {
    const line = Deno.readTextFileSync("/proc/stat").split("\n")[0];
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    return { total, busy: total - v[3] - v[4] };
  } catch {
    return { total: NaN, busy: NaN };
  }
}
