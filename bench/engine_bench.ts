/**
 * `deno task bench`: throughput, latency and memory of the exchange core, and the same
 * stream through npm:nodejs-order-book for a ratio measured in the same process. Commands
 * are generated (already parsed) before timing; each timed run starts from a new engine
 * and goes through the engine's hot entry point (`execute`, binary events, when it has
 * one; else `apply`). One more pass through `apply` (events as objects) counts rejections.
 *
 * Options: --runs=N (timed runs per scenario, default 3), --seed=N (default 1),
 * --scale=F (multiplies every size, e.g. 0.1 for a quick smoke run), --json (figures as
 * JSON on stdout, the report on stderr). With --v8-flags=--expose-gc a full GC runs before
 * each measurement; memory figures are then exact rather than upper bounds.
 *
 * Scenarios, in this order (memory first, while the process is still small):
 *  1. memory: 1,000,000 resting orders, RSS and heap after a GC;
 *  2. main: 100 users, 1,000,000 limit GTC places + 300,000 cancels, ours vs the peer;
 *  3. deep book: 250,000 resting orders, then 300,000 places and cancels against them.
 */

import { BenchReport, int, latencyLine, mb, median, us } from "./bench_report.ts";
import { generateRestingBook, generateStream } from "./command_stream.ts";
import {
  type ApplyRun,
  fundedEngine,
  hotEntryPoint,
  outcomePass,
  type OutcomeRun,
  timeApply,
  timeMatchOnly,
  toMatchOnlyInputs,
} from "./engine_run.ts";
import { measureClock, recordLatencies, summarize } from "./latency.ts";
import { collectGarbage, measureRestingMemory, RssSampler } from "./memory_bench.ts";
import { type PeerRun, timePeer, toPeerCommands } from "./peer_order_book.ts";

const TARGET_COMMANDS_PER_SECOND = 2_000_000;
const TARGET_NS_P99 = 5_000;
const TARGET_PEER_RATIO = 30;
const TARGET_RSS_BYTES = 400 * 1_000_000;
const RSS_SAMPLE_EVERY = 65_536;

function option(name: string, fallback: number): number {
  const arg = Deno.args.find((a) => a.startsWith(`--${name}=`));
  if (arg === undefined) return fallback;
  const v = Number(arg.slice(name.length + 3));
  if (!Number.isFinite(v) || v <= 0) {
    throw new Error(`Invalid option --${name}: must be a positive number, received "${arg}"`);
  }
  return v;
}

const json = Deno.args.includes("--json");
const runs = Math.round(option("runs", 3));
const seed = Math.round(option("seed", 1));
const scale = option("scale", 1);
const sized = (n: number) => Math.max(1, Math.round(n * scale));
const report = new BenchReport(json);

// ------------------------------------------------------------------------------- header

const gcExposed = typeof (globalThis as { gc?: unknown }).gc === "function";
report.section("Setup");
report.field("runtime", `deno ${Deno.version.deno}, v8 ${Deno.version.v8}`);
report.field("runs per scenario", `${runs} (each on a new engine; median reported)`);
report.field("seed / scale", `${seed} / ${scale}`);
report.field(
  "forced GC",
  gcExposed ? "yes (--expose-gc)" : "no: add --v8-flags=--expose-gc for exact memory figures",
);
const entryPoint = hotEntryPoint(fundedEngine([]));
report.field(
  "timed entry point",
  entryPoint === "execute"
    ? "Engine.execute (events in the binary buffer; apply = execute + decode)"
    : "Engine.apply (events as objects)",
);
const clock = measureClock();
report.field("clock", "performance.now()");
report.field("  cost of one read", `${clock.nsPerRead.toFixed(0)} ns`);
report.field("  smallest step seen", `${clock.nsSmallestStep.toFixed(0)} ns`);
report.field("  empty latency loop", latencyLine(clock.emptyLoop));
report.keep("setup", {
  deno: Deno.version.deno,
  v8: Deno.version.v8,
  runs,
  seed,
  scale,
  entryPoint,
  gcExposed,
});
report.keep("clock", clock);

// ------------------------------------------------------------------------------ memory

{
  const orders = sized(1_000_000);
  const users = Math.max(1, Math.round(orders / 1_000));
  report.section(`Memory: ${int(orders)} resting orders`);
  const m = measureRestingMemory(seed, orders, users, 2_000);
  report.field("users / levels per side", `${int(users)} / ${int(m.levelsPerSide)}`);
  report.field("resting after build", `${int(m.resting)} (rejects ${int(m.rejects)})`);
  report.field(
    "build",
    `${m.buildSeconds.toFixed(2)} s, ${int(orders / m.buildSeconds)} places/s (incl. generation)`,
  );
  report.field("RSS before / after", `${mb(m.rssBytesBefore)} / ${mb(m.rssBytesAfter)}`);
  report.field(
    "heap used before / after",
    `${mb(m.heapBytesUsedBefore)} / ${mb(m.heapBytesUsedAfter)}`,
  );
  report.field(
    "external before / after",
    `${mb(m.externalBytesBefore)} / ${mb(m.externalBytesAfter)} (typed arrays)`,
  );
  const heapAndExternal = m.heapBytesUsedAfter - m.heapBytesUsedBefore + m.externalBytesAfter -
    m.externalBytesBefore;
  report.field(
    "per resting order",
    `${int(heapAndExternal / orders)} B heap + external, ${
      int((m.rssBytesAfter - m.rssBytesBefore) / orders)
    } B RSS`,
  );
  report.keep("memory", m);
  report.target(
    `${int(orders)} resting orders in <= 400 MB RSS`,
    `${mb(m.rssBytesAfter)} RSS${m.gcForced ? " after GC" : " (no forced GC: upper bound)"}${
      scale === 1 ? "" : ` (scale ${scale})`
    }`,
    m.rssBytesAfter <= TARGET_RSS_BYTES,
  );
}
collectGarbage();

// -------------------------------------------------------------------------------- main

/**
 * A full GC before a timed run, so the garbage of the last one is not collected during
 * it, then a short untimed pass through `rewarm`. The pass is needed because V8's full
 * GC also discards optimized code that embedded objects it just freed (the last run's
 * engine or peer book): measured, a run straight after a forced GC started in the lower
 * tiers again and was about 12 % slower, for both sides. The pass's own garbage is small
 * and stays until the next GC.
 */
function collectGarbageAndRewarm(rewarm: () => unknown): void {
  collectGarbage();
  rewarm();
}

interface PairedRun {
  ours: ApplyRun;
  peer: PeerRun;
  rssBytesBefore: number;
  rssBytesPeak: number;
  /** Heap used after the run, after a GC, with the engine still alive. */
  heapBytesUsedAfter: number;
}

function runLine(r: ApplyRun | OutcomeRun | PeerRun): string {
  const rejects = "rejects" in r ? `  rejects ${int(r.rejects)}` : "";
  return `${int(r.commandsPerSecond).padStart(10)} commands/s  ${r.seconds.toFixed(3)} s (cpu ${
    r.cpuSeconds.toFixed(3)
  })  trades ${int(r.trades)}${rejects}  resting ${int(r.resting)}`;
}

{
  const places = sized(1_000_000);
  const cancels = sized(300_000);
  report.section(
    `Main: 100 users, ${int(places)} limit GTC places + ${int(cancels)} cancels`,
  );
  const t0 = performance.now();
  const stream = generateStream({ seed, users: 100, places, cancels });
  const peerCommands = toPeerCommands(stream.commands);
  report.field(
    "generated (untimed)",
    `${int(stream.commands.length)} commands in ${((performance.now() - t0) / 1000).toFixed(2)} s`,
  );
  const warm = stream.commands.slice(0, sized(200_000));
  timeApply(fundedEngine(stream.funding), warm, entryPoint);
  timePeer(peerCommands.slice(0, warm.length));
  report.field("warm-up (untimed)", `${int(warm.length)} commands through each`);

  const peerWarm = peerCommands.slice(0, warm.length);
  const rewarmOurs = () => timeApply(fundedEngine(stream.funding), warm, entryPoint);
  const rewarmPeer = () => timePeer(peerWarm);

  const paired: PairedRun[] = [];
  for (let i = 1; i <= runs; i++) {
    collectGarbageAndRewarm(rewarmOurs);
    const engine = fundedEngine(stream.funding);
    const sampler = new RssSampler(RSS_SAMPLE_EVERY);
    sampler.sample();
    const rssBytesBefore = sampler.rssBytesPeak;
    const ours = timeApply(engine, stream.commands, entryPoint, sampler);
    sampler.sample();
    report.field(`run ${i} ours`, runLine(ours));
    collectGarbage();
    const heapBytesUsedAfter = Deno.memoryUsage().heapUsed;
    // Reading the engine after the measurement keeps it alive through the GC above.
    if (engine.openOrderCount !== ours.resting) throw new Error("the engine changed after its run");
    collectGarbageAndRewarm(rewarmPeer);
    const peer = timePeer(peerCommands);
    report.field(`run ${i} nodejs-order-book`, runLine(peer));
    report.field(
      `run ${i} ratio ours/peer`,
      `${(ours.commandsPerSecond / peer.commandsPerSecond).toFixed(2)}x   RSS ${
        mb(rssBytesBefore)
      } before, peak ${mb(sampler.rssBytesPeak)} (${sampler.samples} samples)`,
    );
    paired.push({
      ours,
      peer,
      rssBytesBefore,
      rssBytesPeak: sampler.rssBytesPeak,
      heapBytesUsedAfter,
    });
  }
  const oursMedian = median(paired.map((p) => p.ours.commandsPerSecond));
  const peerMedian = median(paired.map((p) => p.peer.commandsPerSecond));
  const ratioMedian = median(
    paired.map((p) => p.ours.commandsPerSecond / p.peer.commandsPerSecond),
  );
  const last = paired[paired.length - 1];

  // The matcher alone (no validation, holds, balances or fees): the part of our work
  // that the peer does, to show how the ratio splits between matching and the ledger.
  const matchInputs = toMatchOnlyInputs(stream.commands);
  const matchWarm = matchInputs.slice(0, warm.length);
  const matchRuns: ApplyRun[] = [];
  for (let i = 1; i <= runs; i++) {
    collectGarbageAndRewarm(() => timeMatchOnly(matchWarm));
    const r = timeMatchOnly(matchInputs);
    if (r.trades !== last.ours.trades || r.resting !== last.ours.resting) {
      throw new Error(
        `matching alone made ${r.trades} trades and left ${r.resting} resting; the engine made ${last.ours.trades} and left ${last.ours.resting}`,
      );
    }
    report.field(`run ${i} matching only`, runLine(r));
    matchRuns.push(r);
  }
  const matchMedian = median(matchRuns.map((r) => r.commandsPerSecond));

  collectGarbage();
  const outcome = outcomePass(fundedEngine(stream.funding), stream.commands);
  report.field("outcome pass via apply", runLine(outcome));
  report.line();
  report.field("median ours", `${int(oursMedian)} commands/s`);
  report.field("median nodejs-order-book", `${int(peerMedian)} commands/s`);
  report.field("median ratio ours/peer", `${ratioMedian.toFixed(2)}x (per-run ratios, median)`);
  const matchShare = (100 * oursMedian / matchMedian).toFixed(0);
  report.field(
    "median matching only",
    `${int(matchMedian)} commands/s = ${(matchMedian / peerMedian).toFixed(2)}x the peer`,
  );
  report.line(
    `        (no validation, holds, settlement or fees; with them ours runs at ${matchShare} % of it)`,
  );
  report.field(
    `peak RSS (sampled every ${int(RSS_SAMPLE_EVERY)})`,
    `${mb(median(paired.map((p) => p.rssBytesPeak)))} median of runs; ${
      mb(median(paired.map((p) => p.rssBytesBefore)))
    } before apply (input + peer input already in memory)`,
  );
  report.field(
    "heap after run, engine live",
    `${mb(median(paired.map((p) => p.heapBytesUsedAfter)))} median, ${
      gcExposed ? "after GC" : "no forced GC"
    } (incl. both input lists)`,
  );
  const same = last.ours.trades === last.peer.trades && last.ours.resting === last.peer.resting &&
    outcome.trades === last.ours.trades && outcome.rejects === last.peer.rejects;
  report.field(
    "sanity: same outcome as peer",
    `${same ? "yes" : "NO"}: trades ${int(last.ours.trades)} vs ${int(last.peer.trades)}, resting ${
      int(last.ours.resting)
    } vs ${int(last.peer.resting)}, rejected cancels ${int(outcome.rejectsCancel)} vs ${
      int(last.peer.rejects)
    } (rejected places ${int(outcome.rejectsPlace)})`,
  );
  report.line(
    "  note: ours does validation + hold + match + settle with fees + events per command;",
  );
  report.line(
    "        the peer only matches (no balances, fees or per-fill events), so the ratio",
  );
  report.line("        understates our matching speed alone.");

  collectGarbageAndRewarm(rewarmOurs);
  const engine = fundedEngine(stream.funding);
  const lat = summarize(recordLatencies(engine, stream.commands, entryPoint));
  report.field("latency pass (own run)", latencyLine(lat));
  report.field(
    "  includes clock + loop",
    `~${us(clock.emptyLoop.nsP50)} per command (empty loop p50)`,
  );
  report.keep("main", {
    places,
    cancels,
    runs: paired,
    outcome,
    commandsPerSecondMedian: oursMedian,
    peerCommandsPerSecondMedian: peerMedian,
    ratioMedian,
    latency: lat,
    matchOnlyRuns: matchRuns,
    matchOnlyCommandsPerSecondMedian: matchMedian,
  });
  const scaleNote = scale === 1 ? "" : ` (scale ${scale})`;
  report.target(
    `ours >= ${int(TARGET_COMMANDS_PER_SECOND)} commands/s on the 1.3M scenario`,
    `${int(oursMedian)} commands/s median${scaleNote}`,
    oursMedian >= TARGET_COMMANDS_PER_SECOND,
  );
  report.target(
    `p99 <= 5 µs on the 1.3M scenario`,
    `p99 ${us(lat.nsP99)} (incl. ~${us(clock.emptyLoop.nsP50)} clock)${scaleNote}`,
    lat.nsP99 <= TARGET_NS_P99,
  );
  report.target(
    `ours >= ${TARGET_PEER_RATIO}x nodejs-order-book`,
    `${ratioMedian.toFixed(2)}x median${scaleNote}`,
    ratioMedian >= TARGET_PEER_RATIO,
  );
}
collectGarbage();

// --------------------------------------------------------------------------- deep book

{
  const restingCount = sized(250_000);
  const places = sized(230_000);
  const cancels = sized(70_000);
  const levels = 1_000;
  report.section(
    `Deep book: ${int(restingCount)} resting over ${levels} levels/side, then ${
      int(places)
    } places + ${int(cancels)} cancels`,
  );
  const resting = generateRestingBook(seed + 1, 100, restingCount, levels);
  const stream = generateStream({
    seed: seed + 2,
    users: 100,
    places,
    cancels,
    firstOrderId: restingCount + 1,
  });
  const peerResting = toPeerCommands(resting);
  const peerStream = toPeerCommands(stream.commands);
  const warmCount = Math.min(sized(200_000), resting.length);
  const rewarmOurs = () =>
    timeApply(fundedEngine(stream.funding), resting.slice(0, warmCount), entryPoint);
  const rewarmPeer = () => timePeer(peerResting.slice(0, warmCount));
  const oursRuns: ApplyRun[] = [];
  const ratios: number[] = [];
  for (let i = 1; i <= runs; i++) {
    collectGarbageAndRewarm(rewarmOurs);
    const engine = fundedEngine(stream.funding);
    const build = timeApply(engine, resting, entryPoint);
    const r = timeApply(engine, stream.commands, entryPoint);
    oursRuns.push(r);
    report.field(
      `run ${i} ours`,
      `${runLine(r)}  (book built at ${int(build.commandsPerSecond)} places/s, ${
        int(build.resting)
      } resting)`,
    );
    collectGarbageAndRewarm(rewarmPeer);
    const peer = timePeer(peerStream, peerResting);
    ratios.push(r.commandsPerSecond / peer.commandsPerSecond);
    report.field(`run ${i} nodejs-order-book`, runLine(peer));
  }
  const m = median(oursRuns.map((r) => r.commandsPerSecond));
  report.line();
  report.field("median ours", `${int(m)} commands/s`);
  report.field("median ratio ours/peer", `${median(ratios).toFixed(2)}x`);
  collectGarbageAndRewarm(rewarmOurs);
  const engine = fundedEngine(stream.funding);
  timeApply(engine, resting, entryPoint);
  const lat = summarize(recordLatencies(engine, stream.commands, entryPoint));
  report.field("latency pass (own run)", latencyLine(lat));
  report.keep("deepBook", {
    resting: restingCount,
    places,
    cancels,
    runs: oursRuns,
    commandsPerSecondMedian: m,
    ratioMedian: median(ratios),
    latency: lat,
  });
}

report.finish();
