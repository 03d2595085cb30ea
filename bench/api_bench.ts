/**
 * `deno task bench:api`: the HTTP and WebSocket API under load, against the issue's
 * targets. The servers and the load run in separate processes talking over 127.0.0.1:
 *
 *   this process          starts the others, creates funded users, prints the report;
 *   exchange server       the service (startService) over a temporary data directory;
 *   bare server           a bare Hono app, `POST /bare` answering its JSON body;
 *   load generator        a new process per run (bench/http_load.ts): keep-alive
 *                         HTTP/1.1 connections, closed or open loop, HDR histograms;
 *   WebSocket subscribers 100 clients in one process (bench/ws_load.ts).
 *
 * Scenarios, in this order (each run's figures printed, medians of `--runs` runs):
 *  1. http: signed create_order vs the bare endpoint, closed loop, same connections and
 *     body size, bare and orders alternating so that each ratio is measured in one run;
 *  2. latency: create_order offered at a fixed rate (open loop), latency from the
 *     scheduled time to the answer;
 *  3. ws: WebSocket pushes received per second by all subscribers while orders trade.
 *
 * Options (bench/api_bench_options.ts): --seconds=N (measured seconds per run, default 5,
 * after 1 s of warm-up), --runs=N (default 3), --only=http,latency,ws, --connections=N
 * (default 128), --rate=N (latency's orders/s, default 5000), --ws-rate=N (orders/s while
 * the subscribers listen, default 1000), --ws-clients=N (default 100), --data-dir=DIR
 * (parent of the temporary data directory), --profile[=http|latency] (one more order run
 * under the server's V8 CPU profiler), --diagnose (the server's GC pauses and event-loop
 * stalls per run), --server-v8-flags=A,B (V8 flags for the exchange server, for
 * experiments), --json (figures as JSON on stdout, the report on stderr).
 *
 * Connections: 128, fixed, chosen by a short sweep on 2 cores: create_order gave about
 * 11k orders/s at 64, 12-13k at 128, 13-14k at 256 and 512, 12k at 1,024 (the server
 * limits it, not the connections); the bare endpoint peaked at 128 (about 100k req/s, the
 * generator then using a full core) and fell to 77-81k at 512 and more.
 */

import { BenchReport, int, median } from "./bench_report.ts";
import { type JobRun, type Rig, runJob, startRig, stopRig } from "./api_rig.ts";
import type { ProfileSummary } from "./cpu_profile.ts";
import { RunLines } from "./api_run_lines.ts";
import { type FanoutResult, runFanout } from "./ws_fanout.ts";
import { parseApiBenchOptions } from "./api_bench_options.ts";

const TARGET_ORDER_SHARE_OF_BARE = 0.5;
const TARGET_ORDERS_PER_SECOND = 25_000;
const TARGET_LATENCY_US_P99 = 5_000;
const TARGET_WS_MESSAGES_PER_SECOND = 100_000;
const WARMUP_SECONDS = 1;
const PROFILE_TIMEOUT_MS = 30_000;
/** Buyer/seller pairs: connections are spread over them. */
const PAIRS = 8;
/** Other load above this share of a core makes a run's figures suspect: the report says so. */
const OTHERS_WARN_CORES = 0.25;
/** A generator using this much of a core is what limits the run (it is single-threaded). */
const GENERATOR_SATURATED_CORES = 0.9;
const ORDER = { symbol: "BTC_USDT", price: "10000", qty: "0.001" };
const WS_TOPICS = ["trades.BTC_USDT", "depth.BTC_USDT"];

// ------------------------------------------------------------------------------ options

const {
  seconds,
  runs,
  connections,
  rate,
  wsRate,
  wsClients,
  dataDirParent,
  only,
  profile,
  serverV8Flags,
} = parseApiBenchOptions(Deno.args);
const diagnose = Deno.args.includes("--diagnose");
const report = new BenchReport(Deno.args.includes("--json"));

// --------------------------------------------------------------------------- formatting

const lines = new RunLines(report, OTHERS_WARN_CORES);
const { detail, ms } = lines;

/** Runs a job; a failure is printed loudly and gives undefined (the caller counts it). */
async function attempt(label: string, job: () => Promise<JobRun>): Promise<JobRun | undefined> {
  try {
    return await job();
  } catch (e) {
    report.line(`  !!! ${label} FAILED: ${e instanceof Error ? e.message : e}`);
    return undefined;
  }
}

/** " (N errors)" when there were any. */
const errorNote = (errors: number) => (errors > 0 ? `, ${int(errors)} ERRORS` : "");

/** Median of `xs`, NaN if empty (no run completed). */
const medianOr = (xs: number[]) => (xs.length === 0 ? NaN : median(xs));

// ---------------------------------------------------------------------------- scenarios

async function httpScenario(rig: Rig): Promise<void> {
  report.section(
    `HTTP: signed create_order vs bare Hono, closed loop, ${connections} connections`,
  );
  const spec = {
    ...ORDER,
    mode: "closed" as const,
    connections,
    warmupSeconds: WARMUP_SECONDS,
    seconds,
  };
  const bare: number[] = [];
  const orders: number[] = [];
  const ratios: number[] = [];
  const bareGeneratorCores: number[] = [];
  let errors = 0;
  for (let i = 1; i <= runs; i++) {
    const b = await attempt(`run ${i} bare`, () => runJob(rig, "bare", spec));
    if (b !== undefined) {
      report.field(
        `run ${i} bare`,
        `${int(b.result.okPerSecond).padStart(7)} req/s     latency ${
          lines.latency(b.result.latency)
        }`,
      );
      detail(lines.cpu(b.cpu));
      errors += lines.errors(`run ${i} bare`, b);
      bareGeneratorCores.push(b.cpu.generator);
    }
    const o = await attempt(`run ${i} create_order`, () => runJob(rig, "order", spec));
    if (o !== undefined) {
      report.field(
        `run ${i} create_order`,
        `${int(o.result.okPerSecond).padStart(7)} orders/s  latency ${
          lines.latency(o.result.latency)
        }`,
      );
      detail(lines.cpu(o.cpu));
      detail(lines.wal(o));
      lines.diagnose(o);
      errors += lines.errors(`run ${i} create_order`, o);
      orders.push(o.result.okPerSecond);
    }
    if (b === undefined || o === undefined) {
      errors++;
      continue;
    }
    const ratio = o.result.okPerSecond / b.result.okPerSecond;
    report.field(`run ${i} ratio create_order/bare`, `${(100 * ratio).toFixed(1)} %`);
    bare.push(b.result.okPerSecond);
    ratios.push(ratio);
    report.keep(`http_run_${i}`, { bare: b, order: o, ratio });
  }
  report.line();
  report.field("median bare", `${int(medianOr(bare))} req/s`);
  if (medianOr(bareGeneratorCores) >= GENERATOR_SATURATED_CORES) {
    detail("the generator used a full core on bare (it, not the bare server, set the pace):");
    detail("the bare figure is a lower bound, the ratio below an upper bound");
  }
  report.field("median create_order", `${int(medianOr(orders))} orders/s`);
  report.field("median ratio", `${(100 * medianOr(ratios)).toFixed(1)} % (per-run ratios)`);
  report.keep("http", { connections, bare, orders, ratios, errors });
  report.target(
    `create_order >= ${100 * TARGET_ORDER_SHARE_OF_BARE} % of bare Hono req/s`,
    `${(100 * medianOr(ratios)).toFixed(1)} % median${errorNote(errors)}`,
    errors === 0 && medianOr(ratios) >= TARGET_ORDER_SHARE_OF_BARE,
  );
  report.target(
    `create_order >= ${int(TARGET_ORDERS_PER_SECOND)} orders/s (2 cores)`,
    `${int(medianOr(orders))} orders/s median${errorNote(errors)}`,
    errors === 0 && medianOr(orders) >= TARGET_ORDERS_PER_SECOND,
  );
}

/**
 * One more order run with the server's CPU profiler on (it slows the server): closed loop
 * as in the HTTP scenario (`--profile` or `--profile=http`), or open loop at the latency
 * scenario's rate (`--profile=latency`).
 */
async function profileRun(rig: Rig, mode: "http" | "latency"): Promise<void> {
  report.section(`CPU profile of the exchange server: one more ${mode} run (slowed)`);
  await rig.exchange.send({ op: "profile-start" });
  await rig.exchange.next(PROFILE_TIMEOUT_MS);
  const spec = mode === "http"
    ? { ...ORDER, mode: "closed" as const, connections, warmupSeconds: 0, seconds }
    : { ...ORDER, mode: "open" as const, rate, connections: 64, warmupSeconds: 0, seconds };
  const o = await runJob(rig, "order", spec);
  await rig.exchange.send({ op: "profile-stop" });
  const { summary } = await rig.exchange.next<{ summary: ProfileSummary }>(PROFILE_TIMEOUT_MS);
  report.field("create_order under the profiler", `${int(o.result.okPerSecond)} orders/s`);
  detail(lines.cpu(o.cpu));
  lines.profile(summary);
  report.keep("profile", summary);
}

async function latencyScenario(rig: Rig): Promise<void> {
  report.section(`Latency: create_order offered at ${int(rate)}/s (open loop)`);
  const spec = {
    ...ORDER,
    mode: "open" as const,
    rate,
    connections,
    warmupSeconds: WARMUP_SECONDS,
    seconds,
  };
  const p99s: number[] = [];
  let errors = 0;
  for (let i = 1; i <= runs; i++) {
    const o = await attempt(`run ${i}`, () => runJob(rig, "order", spec));
    if (o === undefined) {
      errors++;
      continue;
    }
    const r = o.result;
    report.field(`run ${i}`, `${lines.latency(r.latency)}  (n=${int(r.latency.count)})`);
    detail(
      `answered ${int(r.okPerSecond)}/s; sent late by p50 ${ms(r.sendLag?.p50 ?? NaN)}, p99 ${
        ms(r.sendLag?.p99 ?? NaN)
      }, max ${ms(r.sendLag?.max ?? NaN)} (generator); most waiting for a connection ${
        int(r.queuedMax ?? 0)
      }`,
    );
    detail(
      `from send to answer (server + network, no queueing in the generator): p50 ${
        ms(r.fromSend?.p50 ?? NaN)
      }, p99 ${ms(r.fromSend?.p99 ?? NaN)}, max ${ms(r.fromSend?.max ?? NaN)}`,
    );
    detail(lines.cpu(o.cpu));
    detail(lines.wal(o));
    lines.diagnose(o);
    errors += lines.errors(`run ${i}`, o);
    p99s.push(r.latency.p99);
    report.keep(`latency_run_${i}`, o);
  }
  report.line();
  report.field("median p99", ms(medianOr(p99s)));
  report.target(
    `p99 acknowledgement <= ${ms(TARGET_LATENCY_US_P99)} at ${int(rate)} orders/s`,
    `p99 ${ms(medianOr(p99s))} median${errorNote(errors)}`,
    errors === 0 && medianOr(p99s) <= TARGET_LATENCY_US_P99,
  );
}

async function wsScenario(rig: Rig): Promise<void> {
  report.section(
    `WebSocket fan-out: ${wsClients} clients on ${WS_TOPICS.join(" + ")}, orders at ${
      int(wsRate)
    }/s`,
  );
  const spec = {
    ...ORDER,
    mode: "open" as const,
    rate: wsRate,
    connections: 64,
    warmupSeconds: WARMUP_SECONDS,
    seconds,
  };
  let errors = 0;
  let f: FanoutResult;
  try {
    f = await runFanout(rig, { clients: wsClients, topics: WS_TOPICS, runs }, spec, (i, run) => {
      report.field(
        `run ${i}`,
        `${int(run.messagesPerSecond).padStart(9)} messages/s received (${
          run.messagesPerOrderPerClient.toFixed(2)
        } per order per client, ${int(run.job.result.okPerSecond)} orders/s)`,
      );
      detail(lines.cpu(run.job.cpu));
      const s = run.job.server;
      if (s !== undefined && s.pushCutOff > 0) {
        report.line(`  !!! run ${i}: the server cut off ${s.pushCutOff} slow subscribers`);
        errors += s.pushCutOff;
      }
      errors += lines.errors(`run ${i}`, run.job);
    });
  } catch (e) {
    report.line(`  !!! the WebSocket scenario FAILED: ${e instanceof Error ? e.message : e}`);
    report.target(
      `WebSocket fan-out >= ${int(TARGET_WS_MESSAGES_PER_SECOND)} messages/s`,
      "no figure: the scenario failed",
      false,
    );
    return;
  }
  for (const failure of f.failures) report.line(`  !!! ${failure} FAILED`);
  errors += f.failures.length;
  const wsErrors = f.errors + f.closes + (f.perClientMin === f.perClientMax ? 0 : 1);
  report.field(
    "pushes per client",
    `min ${int(f.perClientMin)}, max ${int(f.perClientMax)} (equal: no client missed any)`,
  );
  if (wsErrors > 0) {
    report.line(
      `  !!! ${f.errors} error messages, ${f.closes} closes, counts ${
        f.perClientMin === f.perClientMax ? "equal" : "UNEQUAL"
      }; first: ${f.errorSamples.join(" | ")}`,
    );
  }
  errors += wsErrors;
  const m = medianOr(f.runs.map((r) => r.messagesPerSecond));
  report.line();
  report.field("median", `${int(m)} messages/s`);
  report.keep("ws", { ...f, clients: wsClients, ordersPerSecond: wsRate });
  report.target(
    `WebSocket fan-out >= ${int(TARGET_WS_MESSAGES_PER_SECOND)} messages/s (${wsClients} clients)`,
    `${int(m)} messages/s median${errorNote(errors)}`,
    errors === 0 && m >= TARGET_WS_MESSAGES_PER_SECOND,
  );
}

// --------------------------------------------------------------------------------- main

report.section("Setup");
report.field("runtime", `deno ${Deno.version.deno}, v8 ${Deno.version.v8}`);
report.field(
  "cores / load average",
  `${navigator.hardwareConcurrency} / ${Deno.loadavg().join(" ")}`,
);
report.field(
  "runs",
  `${runs} per scenario, ${seconds} s measured after ${WARMUP_SECONDS} s warm-up`,
);
report.field(
  "processes",
  "this one, exchange server, bare server, load generator (a new one per run), subscribers",
);
report.field(
  "generator",
  "keep-alive HTTP/1.1 over Deno.connect, one request in flight per connection",
);
detail("bare requests: same headers and body size, placeholder signature (no HMAC to compute)");
const rig = await startRig({
  pairs: PAIRS,
  dataDirParent,
  diagnose,
  serverV8Flags,
});
report.field("data dir", `${rig.dataDir} (removed at the end)`);
report.field("users", `${PAIRS} buyer/seller pairs; orders BUY/SELL ${ORDER.qty} @ ${ORDER.price}`);
if (serverV8Flags.length > 0) report.field("exchange server V8 flags", serverV8Flags.join(" "));
try {
  if (only.includes("http")) await httpScenario(rig);
  if (profile !== undefined) await profileRun(rig, profile);
  if (only.includes("latency")) await latencyScenario(rig);
  if (only.includes("ws")) await wsScenario(rig);
} finally {
  const stderr = [...rig.exchange.stderr, ...rig.bare.stderr];
  await stopRig(rig);
  if (stderr.length > 0) {
    report.section("!!! The servers wrote to stderr (last lines)");
    for (const line of stderr) report.line(`  ${line}`);
  }
}
report.finish();
