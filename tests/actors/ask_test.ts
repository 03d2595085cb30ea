/** actors/ask.ts: request/reply with a deadline, on fake time. */

import assert from "node:assert/strict";
import { createClock } from "@sinonjs/fake-timers";
import { Actor } from "../../actors/actor.ts";
import { ask, type AskResult, MAX_ASK_DEADLINE_MS, type Reply } from "../../actors/ask.ts";
import type { Clock } from "../../actors/clock.ts";

/** A fake clock behind the runtime's `Clock` interface; `tick` also runs pending promises. */
function fakeTime() {
  const fake = createClock(0);
  const clock: Clock = {
    now: () => fake.now,
    setTimeout: (callback, delayMs) => fake.setTimeout(callback, delayMs),
    clearTimeout: (handle) => fake.clearTimeout(handle as ReturnType<typeof fake.setTimeout>),
  };
  return { clock, tick: (ms: number) => fake.tickAsync(ms), timers: () => fake.countTimers() };
}

type Request = { x: number; reply: Reply<number> };

/** Returns a probe of the ask's outcome so far (undefined while pending), without awaiting. */
function track<R>(pending: Promise<AskResult<R>>): () => AskResult<R> | undefined {
  let outcome: AskResult<R> | undefined;
  pending.then((result) => (outcome = result));
  return () => outcome;
}

Deno.test("ask resolves to the reply value and clears its deadline timer", async () => {
  const { clock, tick, timers } = fakeTime();
  const doubler = new Actor<Request>({ name: "doubler", handle: (m) => void m.reply(m.x * 2) });
  doubler.start();
  const answer = track(ask<Request, number>(doubler, (reply) => ({ x: 21, reply }), 1_000, clock));
  await tick(0);
  assert.deepEqual(answer(), { ok: true, value: 42 });
  assert.equal(timers(), 0, "the deadline timer is cancelled once the reply arrives");
  await doubler.stop();
});

Deno.test("ask times out at its deadline and ignores a late reply", async () => {
  const { clock, tick } = fakeTime();
  const replies: Reply<number>[] = [];
  const slow = new Actor<Request>({ name: "slow", handle: (m) => void replies.push(m.reply) });
  slow.start();
  const answer = track(ask<Request, number>(slow, (reply) => ({ x: 1, reply }), 100, clock));
  await tick(99);
  assert.equal(answer(), undefined, "1 ms before the deadline the ask is still pending");
  await tick(1);
  assert.deepEqual(answer(), {
    ok: false,
    reason: "TIMEOUT",
    message: '"slow" did not reply within 100 ms',
  });
  assert.equal(replies[0](7), false, "the late reply is reported as ignored");
  await tick(0);
  assert.equal(answer()?.ok, false, "the late reply did not change the outcome");
  await slow.stop();
});

Deno.test("a second reply is ignored", async () => {
  const { clock, tick } = fakeTime();
  const delivered: boolean[] = [];
  const twice = new Actor<Request>({
    name: "twice",
    handle: (m) => void delivered.push(m.reply(1), m.reply(2)),
  });
  twice.start();
  const answer = track(ask<Request, number>(twice, (reply) => ({ x: 0, reply }), 50, clock));
  await tick(0);
  assert.deepEqual(answer(), { ok: true, value: 1 });
  assert.deepEqual(delivered, [true, false]);
  await twice.stop();
});

Deno.test("ask to a full mailbox answers OVERLOAD at once, with no timer left", async () => {
  const { clock, timers } = fakeTime();
  const busy = new Actor<Request>({ name: "busy", capacity: 1, handle: () => {} });
  busy.send({ x: 0, reply: () => true });
  const result = await ask<Request, number>(busy, (reply) => ({ x: 1, reply }), 100, clock);
  assert.deepEqual(result, {
    ok: false,
    reason: "OVERLOAD",
    message: 'Cannot ask "busy": mailbox "busy" is full (capacity 1)',
  });
  assert.equal(timers(), 0);
});

Deno.test("ask to a stopped actor answers STOPPED", async () => {
  const { clock } = fakeTime();
  const gone = new Actor<Request>({ name: "gone", handle: () => {} });
  gone.start();
  await gone.stop();
  const result = await ask<Request, number>(gone, (reply) => ({ x: 1, reply }), 100, clock);
  assert.equal(result.ok, false);
  assert.equal(!result.ok && result.reason, "STOPPED");
});

Deno.test("ask to an actor that crashes answers CRASHED with the error", async (t) => {
  const boom = new Error("book crossed");
  await t.step("the ask waits in the mailbox behind the crashing message", async () => {
    const { clock, tick, timers } = fakeTime();
    const actor = new Actor<Request | "boom">({
      name: "match",
      onCrash: () => {},
      handle: (m) => {
        if (m === "boom") throw boom;
        m.reply(m.x);
      },
    });
    actor.send("boom");
    const answer = track(
      ask<Request | "boom", number>(actor, (reply) => ({ x: 1, reply }), 1_000, clock),
    );
    actor.start();
    await tick(0);
    assert.deepEqual(answer(), {
      ok: false,
      reason: "CRASHED",
      message: '"match" crashed before replying: Error: book crossed',
      error: boom,
    });
    assert.equal(timers(), 0);
  });
  await t.step("the handler took the ask, then crashed on a later message", async () => {
    const { clock, tick } = fakeTime();
    const held: Reply<number>[] = [];
    const actor = new Actor<Request | "boom">({
      name: "settlement",
      onCrash: () => {},
      handle: (m) => {
        if (m === "boom") throw boom;
        held.push(m.reply);
      },
    });
    actor.start();
    const answer = track(
      ask<Request | "boom", number>(actor, (reply) => ({ x: 1, reply }), 1_000, clock),
    );
    await tick(0);
    assert.equal(answer(), undefined);
    actor.send("boom");
    await tick(0);
    const outcome = answer();
    assert.equal(outcome?.ok === false && outcome.reason, "CRASHED");
    assert.equal(held[0](5), false, "a reply after the crash is ignored");
  });
});

Deno.test("ask refuses a deadline out of range, stating the value", () => {
  const { clock } = fakeTime();
  const actor = new Actor<Request>({ name: "x", handle: () => {} });
  for (const deadlineMs of [0, -5, Number.NaN, MAX_ASK_DEADLINE_MS + 1]) {
    assert.throws(
      () => ask<Request, number>(actor, (reply) => ({ x: 1, reply }), deadlineMs, clock),
      {
        name: "RangeError",
        message:
          `Cannot ask "x": deadlineMs must be in 1..${MAX_ASK_DEADLINE_MS}, received ${deadlineMs}`,
      },
    );
  }
  assert.equal(actor.stats().accepted, 0, "nothing was sent");
});
