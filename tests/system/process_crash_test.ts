/**
 * The exchange as a process that dies (ARCHITECTURE.md section 7): crash_worker.ts runs a
 * seeded stream in a subprocess; the harness kills it with SIGKILL at seeded random
 * moments (during start-up and recovery too), restarts it until it finishes the stream,
 * and checks that nothing acknowledged was lost and that the end state (live and stored)
 * equals an uninterrupted run, with conservation. Also: SIGTERM mid-stream stops the
 * worker gracefully (exit 0, a snapshot of the last command, nothing lost), and the
 * shutdown signal handler's second signal exits at once.
 *
 * Reproduce a failure with the printed seed: CRASH_SEED=<seed> (or PROPERTY_SEED). The seed
 * fixes the stream and the kill delays; where in the pipeline a kill lands also depends on
 * the machine's speed.
 * CRASH_COMMANDS and CRASH_RATE (commands/s offered by the worker) override the size.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { Prng } from "../../bench/prng.ts";
import { installShutdownSignals } from "../../actors/shutdown_signals.ts";
import {
  assertConservation,
  assertSameOutcome,
  depositsOf,
  liveState,
  openSystemExchange,
  readStore,
  referenceRun,
  seedFrom,
  stateDigest,
  systemStream,
} from "./system_fixtures.ts";

const WORKER = fileURLToPath(new URL("./crash_worker.ts", import.meta.url));
const CONFIG = fileURLToPath(new URL("../../deno.json", import.meta.url));

/** Commands after the funding deposits. */
const COMMANDS = Number(Deno.env.get("CRASH_COMMANDS") ?? 60_000);
/**
 * Commands per second the worker offers. Throttled so that the stream spans enough kills:
 * a run lives 100–600 ms, start-up included.
 */
const RATE_PER_SEC = Number(Deno.env.get("CRASH_RATE") ?? 8_000);
/** Engine snapshot interval of the worker: kills also hit snapshots and WAL trimming. */
const SNAPSHOT_EVERY = 5_000;
const MIN_KILLS = 20;
/** After this many kills the worker is left to finish the stream. */
const MAX_KILLS = 80;
const KILL_AFTER_MS_MIN = 100;
const KILL_AFTER_MS_MAX = 600;
/** A worker that neither finishes nor is killed within this is hung: the test fails. */
const RUN_DEADLINE_MS = 60_000;

interface Recovered {
  clientRef: number;
  snapshotSeq: number;
  replayed: number;
  lastSeq: number;
}

interface WorkerRun {
  recovered: Recovered | null;
  /** Acknowledged clientRefs in the order printed. */
  acks: number[];
  stateDigest: string | null;
  done: boolean;
  stoppedBy: string | null;
  status: Deno.CommandStatus;
  stderr: string;
  hung: boolean;
}

/**
 * Runs the worker once. `killAfterMs`: SIGKILL that long after the spawn (if still alive).
 * `signal`: send it once `afterAcks` commands have been acknowledged.
 */
async function runWorker(
  args: { dir: string; seed: number; count: number; rate: number },
  control: { killAfterMs?: number; signal?: { name: Deno.Signal; afterAcks: number } } = {},
): Promise<WorkerRun> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--config",
      CONFIG,
      WORKER,
      args.dir,
      String(args.seed),
      String(args.count),
      String(args.rate),
      String(SNAPSHOT_EVERY),
    ],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  const run: Omit<WorkerRun, "status" | "stderr"> = {
    recovered: null,
    acks: [],
    stateDigest: null,
    done: false,
    stoppedBy: null,
    hung: false,
  };
  const kill = (signal: Deno.Signal) => {
    try {
      child.kill(signal);
    } catch {
      // Already exited.
    }
  };
  let signalled = false;
  const onLine = (line: string) => {
    const [word, ...rest] = line.split(" ");
    switch (word) {
      case "ACK":
        run.acks.push(Number(rest[0]));
        if (control.signal && !signalled && run.acks.length >= control.signal.afterAcks) {
          signalled = true;
          kill(control.signal.name);
        }
        break;
      case "RECOVERED": {
        const [clientRef, snapshotSeq, replayed, lastSeq] = rest.map(Number);
        run.recovered = { clientRef, snapshotSeq, replayed, lastSeq };
        break;
      }
      case "STATE":
        run.stateDigest = rest[0];
        break;
      case "DONE":
        run.done = true;
        break;
      case "STOPPED":
        run.stoppedBy = rest[0];
        break;
      default:
        throw new Error(`crash_worker printed an unknown line: ${JSON.stringify(line)}`);
    }
  };
  const readLines = async () => {
    let pending = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf("\n")) >= 0) {
        onLine(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
      }
    }
    // A line cut by the kill is not a complete report: ignore it.
  };
  const readStderr = async () => {
    let text = "";
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) text += chunk;
    return text;
  };
  const killTimer = control.killAfterMs === undefined
    ? undefined
    : setTimeout(() => kill("SIGKILL"), control.killAfterMs);
  const deadline = setTimeout(() => {
    run.hung = true;
    kill("SIGKILL");
  }, RUN_DEADLINE_MS);
  try {
    const [, stderr, status] = await Promise.all([readLines(), readStderr(), child.status]);
    return { ...run, status, stderr };
  } finally {
    clearTimeout(killTimer);
    clearTimeout(deadline);
  }
}

function describe(run: WorkerRun): string {
  const tail = run.stderr.split("\n").slice(-15).join("\n");
  return `exit ${run.status.code} signal ${run.status.signal}, recovered ${
    JSON.stringify(run.recovered)
  }, ${run.acks.length} acks; stderr tail:\n${tail}`;
}

/** Acks of one run: each after what the run recovered, increasing, within the stream. */
function assertAcksWellFormed(label: string, run: WorkerRun, total: number): void {
  let prev = run.recovered?.clientRef ?? 0;
  for (const ack of run.acks) {
    assert.ok(
      ack > prev && ack <= total,
      `${label}: ack ${ack} after ${prev} (recovered ${run.recovered?.clientRef})`,
    );
    prev = ack;
  }
}

Deno.test("SIGKILL at random moments loses nothing acknowledged and ends like an uninterrupted run", async () => {
  const seed = seedFrom("CRASH_SEED", "PROPERTY_SEED");
  console.log(
    `process crash: seed ${seed} (CRASH_SEED=${seed} to replay), ${COMMANDS} commands at ` +
      `${RATE_PER_SEC}/s, kills ${KILL_AFTER_MS_MIN}–${KILL_AFTER_MS_MAX} ms after each start`,
  );
  const started = performance.now();
  const cmds = systemStream(seed, COMMANDS);
  const want = await referenceRun(cmds);
  assert.equal(want.lastSeq, cmds.length, "every command of the stream is logged");
  const dir = await Deno.makeTempDir({ prefix: "process_crash_" });
  try {
    const rnd = new Prng(seed ^ 0xc0ffee);
    const args = { dir, seed, count: COMMANDS, rate: RATE_PER_SEC };
    let kills = 0;
    let killedBeforeRecovered = 0;
    let tornTails = 0;
    let fromSnapshot = 0;
    /** Highest clientRef acknowledged by any run so far. */
    let ackedMax = 0;
    let recoveredMax = 0;
    let last: WorkerRun | null = null;
    for (let start = 1; last === null || !last.done; start++) {
      assert.ok(start <= MAX_KILLS + 10, `the stream did not finish after ${start - 1} starts`);
      const killAfterMs = kills < MAX_KILLS
        ? rnd.int(KILL_AFTER_MS_MIN, KILL_AFTER_MS_MAX)
        : undefined;
      const run = await runWorker(args, { killAfterMs });
      const label = `seed ${seed}, start ${start}`;
      assert.ok(!run.hung, `${label}: the worker hung: ${describe(run)}`);
      if (run.recovered !== null) {
        // (a) Nothing acknowledged before a kill is lost.
        assert.ok(
          run.recovered.clientRef >= ackedMax,
          `${label}: recovered up to command ${run.recovered.clientRef}, but command ` +
            `${ackedMax} had been acknowledged`,
        );
        assert.ok(
          run.recovered.clientRef >= recoveredMax,
          `${label}: recovered ${run.recovered.clientRef} < an earlier start's ${recoveredMax}`,
        );
        assert.equal(run.recovered.lastSeq, run.recovered.clientRef, `${label}: seq = clientRef`);
        recoveredMax = run.recovered.clientRef;
        if (run.recovered.snapshotSeq > 0) fromSnapshot++;
      }
      assertAcksWellFormed(label, run, cmds.length);
      if (run.acks.length > 0) ackedMax = Math.max(ackedMax, run.acks[run.acks.length - 1]);
      if (/torn record/.test(run.stderr)) tornTails++;
      last = run;
      if (run.done) {
        assert.equal(run.status.code, 0, `${label}: ${describe(run)}`);
        break;
      }
      assert.equal(
        run.status.signal,
        "SIGKILL",
        `${label}: the worker ended without being killed: ${describe(run)}`,
      );
      kills++;
      if (run.recovered === null) killedBeforeRecovered++;
    }
    console.log(
      `process crash: ${kills} kills (${killedBeforeRecovered} before recovery ended), ` +
        `${fromSnapshot} starts from an engine snapshot, ${tornTails} torn WAL tails cut, ` +
        `${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    assert.ok(kills >= MIN_KILLS, `only ${kills} kills before the stream finished`);

    // (b) The end state equals the uninterrupted run: the worker's own live state, then
    // the data directory reopened here (the graceful stop's snapshot: nothing to replay).
    const ex = await openSystemExchange(dir);
    assert.equal(ex.recoveredClientRef, cmds.length, "every command is in the WAL");
    assert.equal(ex.recovery.snapshotSeq, cmds.length, "the stop took a final snapshot");
    assert.equal(ex.recovery.replayed, 0);
    const live = liveState(ex);
    await ex.stop();
    const stored = readStore(dir);
    assertSameOutcome(`seed ${seed}`, { live, stored }, want);
    assert.equal(last.stateDigest, await stateDigest(want.live), "the worker's final live state");
    // (c) Conservation: users' available + frozen + the fees of the stored trades = deposits.
    assertConservation(`seed ${seed}`, live, stored.feesByAsset, depositsOf(cmds));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SIGTERM mid-stream stops gracefully: exit 0, a snapshot of the last command, nothing lost", async () => {
  const seed = seedFrom("CRASH_SEED", "PROPERTY_SEED");
  const count = 20_000;
  console.log(`graceful stop: seed ${seed} (CRASH_SEED=${seed} to replay), ${count} commands`);
  const cmds = systemStream(seed, count);
  const want = await referenceRun(cmds);
  const dir = await Deno.makeTempDir({ prefix: "graceful_stop_" });
  try {
    const args = { dir, seed, count, rate: RATE_PER_SEC };
    const signalAt = new Prng(seed).int(2_000, 8_000);
    const stopped = await runWorker(args, { signal: { name: "SIGTERM", afterAcks: signalAt } });
    assert.ok(!stopped.hung, `the worker hung after SIGTERM: ${describe(stopped)}`);
    assert.equal(stopped.status.code, 0, `exit code after SIGTERM: ${describe(stopped)}`);
    assert.equal(stopped.stoppedBy, "SIGTERM", describe(stopped));
    assert.equal(stopped.done, false, "the signal came before the end of the stream");
    assert.ok(stopped.acks.length >= signalAt);
    assertAcksWellFormed("SIGTERM run", stopped, cmds.length);
    const acked = stopped.acks[stopped.acks.length - 1];

    const resumed = await runWorker(args);
    assert.ok(resumed.done, `the resumed worker finished: ${describe(resumed)}`);
    const r = resumed.recovered;
    assert.ok(r !== null);
    assert.ok(r.clientRef >= acked, `recovered ${r.clientRef} < acknowledged ${acked}`);
    assert.ok(r.clientRef < cmds.length, "the stop came mid-stream");
    assert.equal(r.snapshotSeq, r.lastSeq, "the graceful stop took a snapshot of the last command");
    assert.equal(r.replayed, 0, "nothing to replay after a graceful stop");
    assertAcksWellFormed("resumed run", resumed, cmds.length);
    assert.equal(resumed.stateDigest, await stateDigest(want.live), "final live state");

    const ex = await openSystemExchange(dir);
    const live = liveState(ex);
    await ex.stop();
    assertSameOutcome(`seed ${seed}`, { live, stored: readStore(dir) }, want);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the first shutdown signal stops gracefully; a second one exits at once, non-zero", async () => {
  let releaseStop!: () => void;
  let stopCalls = 0;
  const exchange = {
    stop: () => {
      stopCalls++;
      return new Promise<void>((r) => (releaseStop = r));
    },
  };
  const events: string[] = [];
  const lines: string[] = [];
  const logger = {
    info: (m: string) => lines.push(m),
    warn: (m: string) => lines.push(m),
    error: (m: string) => lines.push(m),
  };
  let gotSignal!: () => void;
  const signalSeen = new Promise<void>((r) => (gotSignal = r));
  let exited!: (code: number) => void;
  const exitSeen = new Promise<number>((r) => (exited = r));
  const signals = installShutdownSignals(exchange, {
    logger,
    onSignal: (s) => {
      events.push(`intake stopped by ${s}`);
      gotSignal();
    },
    exit: (code) => {
      events.push(`exit ${code}`);
      exited(code);
    },
  });
  // Signal listeners do not keep the event loop alive: this timer does, while we wait.
  const keepAlive = setInterval(() => {}, 50);
  try {
    Deno.kill(Deno.pid, "SIGTERM");
    await signalSeen;
    assert.equal(stopCalls, 1, "the first signal stops the exchange");
    // (Not SIGINT: the test runner itself stops on it.)
    Deno.kill(Deno.pid, "SIGTERM");
    assert.equal(await exitSeen, 143, "a second signal exits at once with 128 + SIGTERM");
    assert.ok(
      lines.some((l) => /SIGTERM received during the graceful stop/.test(l)),
      `a clear message: ${JSON.stringify(lines)}`,
    );
    assert.equal(stopCalls, 1);
    releaseStop();
    assert.equal(await signals.stopped, "SIGTERM", "resolves once the stop has finished");
    assert.deepEqual(events, ["intake stopped by SIGTERM", "exit 143"]);
  } finally {
    clearInterval(keepAlive);
    signals.dispose();
  }
});
