/** actors/actor.ts: the start contract, one-at-a-time ordered processing, drain, crash. */

import assert from "node:assert/strict";
import { setImmediate } from "node:timers";
import { Actor } from "../../actors/actor.ts";
import { ACCEPTED } from "../../actors/mailbox.ts";

/** Lets every pending promise callback run: one event-loop turn, no time passes. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

const silent = { info() {}, warn() {}, error() {} };

/** An actor whose async handler waits for the test to release each message. */
function gatedActor(capacity = 8) {
  const log: string[] = [];
  const gates = new Map<number, PromiseWithResolvers<void>>();
  let active = 0;
  let activeMax = 0;
  const gate = (n: number) => {
    if (!gates.has(n)) gates.set(n, Promise.withResolvers<void>());
    return gates.get(n)!;
  };
  const actor = new Actor<number>({
    name: "gated",
    capacity,
    logger: silent,
    handle: async (n) => {
      active++;
      activeMax = Math.max(activeMax, active);
      log.push(`start ${n}`);
      await gate(n).promise;
      log.push(`end ${n}`);
      active--;
    },
  });
  return { actor, log, release: (n: number) => gate(n).resolve(), activeMax: () => activeMax };
}

Deno.test("start returns at once; messages sent before start wait for the loop", async () => {
  const seen: string[] = [];
  const actor = new Actor<string>({ name: "a", handle: (m) => void seen.push(m) });
  assert.equal(actor.send("early"), ACCEPTED);
  const returned: unknown = actor.start();
  assert.equal(returned, undefined, "start() returns nothing to await");
  assert.deepEqual(seen, [], "the loop has not run synchronously inside start()");
  await settle();
  assert.deepEqual(seen, ["early"]);
  assert.equal(actor.state, "running");
  await actor.stop();
});

Deno.test("async handlers run one at a time, in order", async () => {
  const { actor, log, release, activeMax } = gatedActor();
  actor.start();
  for (const n of [1, 2, 3]) actor.send(n);
  await settle();
  assert.deepEqual(log, ["start 1"], "message 2 waits while message 1 is in its handler");
  release(1);
  await settle();
  assert.deepEqual(log, ["start 1", "end 1", "start 2"]);
  release(2);
  release(3);
  await settle();
  assert.deepEqual(log, ["start 1", "end 1", "start 2", "end 2", "start 3", "end 3"]);
  assert.equal(activeMax(), 1);
  assert.equal(actor.stats().processed, 3);
  await actor.stop();
});

Deno.test("sync and async handlers interleave in send order", async () => {
  const seen: number[] = [];
  const actor = new Actor<number>({
    name: "mixed",
    handle: (n) => {
      if (n % 2 === 1) return void seen.push(n);
      return Promise.resolve().then(() => void seen.push(n));
    },
  });
  actor.start();
  for (let n = 0; n < 10; n++) actor.send(n);
  await actor.stop();
  assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

Deno.test("stop refuses new messages, drains the mailbox, then resolves", async () => {
  const { actor, log, release } = gatedActor();
  actor.start();
  for (const n of [1, 2, 3]) actor.send(n);
  await settle();
  let stopped = false;
  const stopping = actor.stop().then(() => (stopped = true));
  assert.equal(actor.state, "stopping");
  const late = actor.send(4);
  assert.equal(late.ok, false);
  assert.equal(!late.ok && late.reason, "STOPPED");
  release(1);
  release(2);
  await settle();
  assert.equal(stopped, false, "stop waits for message 3 still in the mailbox");
  release(3);
  await stopping;
  assert.deepEqual(log, ["start 1", "end 1", "start 2", "end 2", "start 3", "end 3"]);
  assert.equal(actor.state, "stopped");
  assert.equal(actor.stats().rejectedStopped, 1);
});

Deno.test("stop is idempotent and send after stop answers STOPPED", async () => {
  const actor = new Actor<string>({ name: "idem", handle: () => {} });
  actor.start();
  const first = actor.stop();
  assert.equal(actor.stop(), first, "every call returns the same end");
  await first;
  await actor.stop();
  assert.deepEqual(actor.send("x"), {
    ok: false,
    reason: "STOPPED",
    message: 'mailbox "idem" is closed: the actor is stopping or has ended',
  });
});

Deno.test("stop on a never-started actor drains what was queued", async () => {
  const seen: string[] = [];
  const actor = new Actor<string>({ name: "unstarted", handle: (m) => void seen.push(m) });
  actor.send("a");
  actor.send("b");
  await actor.stop();
  assert.deepEqual(seen, ["a", "b"]);
  assert.equal(actor.state, "stopped");
  assert.throws(() => actor.start(), /Cannot start actor "unstarted": state is "stopped"/);
});

Deno.test("a full mailbox answers OVERLOAD; stats expose depth, capacity and counters", () => {
  const actor = new Actor<number>({ name: "small", capacity: 2, handle: () => {} });
  assert.equal(actor.send(1), ACCEPTED);
  assert.equal(actor.send(2), ACCEPTED);
  const full = actor.send(3);
  assert.equal(!full.ok && full.reason, "OVERLOAD");
  assert.equal(!full.ok && full.message, 'mailbox "small" is full (capacity 2)');
  assert.deepEqual(actor.stats(), {
    name: "small",
    state: "new",
    depth: 2,
    capacity: 2,
    accepted: 2,
    rejectedOverload: 1,
    rejectedStopped: 0,
    processed: 0,
    discardedOnCrash: 0,
  });
});

Deno.test("a handler exception crashes the actor and reports the error once", async (t) => {
  for (const kind of ["sync", "async"] as const) {
    await t.step(`${kind} throw`, async () => {
      const seen: string[] = [];
      const crashes: unknown[] = [];
      const boom = new Error("broken invariant");
      const actor = new Actor<string>({
        name: "crashy",
        onCrash: (error) => crashes.push(error),
        handle: (m) => {
          seen.push(m);
          if (m !== "boom") return;
          if (kind === "sync") throw boom;
          return Promise.reject(boom);
        },
      });
      actor.start();
      for (const m of ["a", "boom", "c", "d"]) actor.send(m);
      await actor.stop();
      assert.deepEqual(seen, ["a", "boom"], "nothing is processed after the crash");
      assert.deepEqual(crashes, [boom]);
      assert.equal(actor.state, "crashed");
      const stats = actor.stats();
      assert.equal(stats.processed, 1);
      assert.equal(stats.discardedOnCrash, 2, "c and d are counted, not silently lost");
      assert.equal(stats.depth, 0);
      const after = actor.send("e");
      assert.equal(!after.ok && after.reason, "STOPPED");
    });
  }
});

Deno.test("a crash nobody listens to is logged, stating the error", async () => {
  const lines: string[] = [];
  const actor = new Actor<string>({
    name: "orphan",
    logger: { info() {}, warn() {}, error: (line) => lines.push(line) },
    handle: () => {
      throw new TypeError("x is undefined");
    },
  });
  actor.start();
  actor.send("m");
  await actor.stop();
  assert.deepEqual(lines, ['Actor "orphan" crashed: TypeError: x is undefined']);
});

Deno.test("crash() stops the loop; a handler in flight finishes before stop resolves", async () => {
  const { actor, log, release } = gatedActor();
  const crashes: unknown[] = [];
  const crashing = new Actor<number>({
    name: "hooked",
    onCrash: (error) => crashes.push(error),
    handle: () => {},
  });
  crashing.start();
  crashing.crash("injected");
  crashing.crash("second call is ignored");
  await crashing.stop();
  assert.deepEqual(crashes, ["injected"]);

  actor.start();
  actor.send(1);
  actor.send(2);
  await settle();
  actor.crash(new Error("injected"));
  let ended = false;
  const ending = actor.stop().then(() => (ended = true));
  await settle();
  assert.equal(ended, false, "the handler of message 1 is still running");
  release(1);
  await ending;
  assert.deepEqual(log, ["start 1", "end 1"], "message 2 was discarded, not processed");
  assert.equal(actor.stats().discardedOnCrash, 1);
});
