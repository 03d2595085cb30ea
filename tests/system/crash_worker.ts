/**
 * The subprocess of the process-crash test: opens an exchange on a data directory, resumes
 * a seeded command stream after the last command the exchange recovered, and reports on
 * stdout, one flushed line each:
 *
 *   RECOVERED <clientRef> <snapshotSeq> <replayed> <lastSeq>   at start
 *   ACK <clientRef>                                            per "done" answer
 *   STATE <sha-256 of the live state>                          when the stream is done
 *   DONE                                                       after the graceful stop
 *   STOPPED <signal>                                           after a signal's graceful stop
 *
 * Usage: deno run --allow-read --allow-write --allow-env crash_worker.ts
 *          <dataDir> <seed> <count> [ratePerSec=0 (unthrottled)] [snapshotEvery=10000]
 *
 * The stream is system_fixtures.ts' `systemStream(seed, count)`; command i (1-based) is
 * submitted with clientRef i, so `exchange.recoveredClientRef` says where to resume.
 * Logs go to stderr. Exit codes: 0 done or stopped by a signal, 2 bad arguments,
 * 3 an unexpected answer or error.
 */

import { installShutdownSignals } from "../../actors/shutdown_signals.ts";
import { liveState, openSystemExchange, stateDigest, systemStream } from "./system_fixtures.ts";

/** Commands submitted and not yet answered. */
const WINDOW = 256;

const encoder = new TextEncoder();
function say(line: string): void {
  const bytes = encoder.encode(line + "\n");
  for (let off = 0; off < bytes.length;) off += Deno.stdout.writeSync(bytes.subarray(off));
}
const stderrLogger = {
  info: (m: string) => console.error(m),
  warn: (m: string) => console.error(m),
  error: (m: string) => console.error(m),
};

async function main(args: string[]): Promise<number> {
  const [dir, seedArg, countArg, rateArg = "0", snapArg = "10000"] = args;
  const seed = Number(seedArg);
  const count = Number(countArg);
  const ratePerSec = Number(rateArg);
  const snapshotEveryCommands = Number(snapArg);
  if (
    dir === undefined || !Number.isSafeInteger(seed) || !Number.isSafeInteger(count) ||
    !(ratePerSec >= 0) || !(snapshotEveryCommands > 0)
  ) {
    console.error(
      `Usage: crash_worker.ts <dataDir> <seed> <count> [ratePerSec] [snapshotEvery], ` +
        `received ${JSON.stringify(args)}`,
    );
    return 2;
  }
  const cmds = systemStream(seed, count);
  const ex = await openSystemExchange(dir, { snapshotEveryCommands, logger: stderrLogger });
  const from = ex.recoveredClientRef;
  const r = ex.recovery;
  say(`RECOVERED ${from} ${r.snapshotSeq} ${r.replayed} ${r.lastSeq}`);

  let signalled = false;
  const signals = installShutdownSignals(ex, {
    logger: stderrLogger,
    onSignal: () => (signalled = true),
  });
  let failure: string | null = null;
  let inFlight = 0;
  let wakeProducer: (() => void) | null = null;
  const answered = () => {
    inFlight--;
    const w = wakeProducer;
    wakeProducer = null;
    w?.();
  };
  const started = performance.now();
  for (let i = from; i < cmds.length && !signalled && failure === null; i++) {
    while (inFlight >= WINDOW) await new Promise<void>((r) => (wakeProducer = r));
    if (ratePerSec > 0) {
      const dueMs = started + ((i - from) * 1000) / ratePerSec;
      const waitMs = dueMs - performance.now();
      if (waitMs >= 1) await new Promise((r) => setTimeout(r, waitMs));
    }
    if (signalled) break;
    inFlight++;
    const clientRef = i + 1;
    ex.submit(cmds[i], clientRef).then((res) => {
      if (res.status === "done") say(`ACK ${clientRef}`);
      else if (!signalled) failure ??= `command ${clientRef}: ${JSON.stringify(res)}`;
      answered();
    });
  }
  while (inFlight > 0) await new Promise<void>((r) => (wakeProducer = r));
  if (failure !== null) {
    console.error(`crash_worker: unexpected answer: ${failure}`);
    return 3;
  }
  if (signalled) {
    const signal = await signals.stopped;
    say(`STOPPED ${signal}`);
    return 0;
  }
  await ex.whenIdle();
  say(`STATE ${await stateDigest(liveState(ex))}`);
  await ex.stop(); // a signal now joins the same stop
  signals.dispose();
  say("DONE");
  return 0;
}

if (import.meta.main) {
  let code: number;
  try {
    code = await main(Deno.args);
  } catch (e) {
    console.error(`crash_worker: ${e instanceof Error ? e.stack : e}`);
    code = 3;
  }
  Deno.exit(code);
}
