/** actors/child_lifecycle.ts: the xstate machine on its own, with test effects and fake time. */

import assert from "node:assert/strict";
import { createClock } from "@sinonjs/fake-timers";
import { createActor, fromPromise } from "xstate";
import { backoffDelayMs, childLifecycleMachine } from "../../actors/child_lifecycle.ts";

Deno.test("backoffDelayMs multiplies by the factor per crash and stops at the cap", () => {
  const policy = { initialMs: 100, factor: 3, maxMs: 2_000 };
  assert.deepEqual([1, 2, 3, 4, 5].map((n) => backoffDelayMs(policy, n)), [
    100,
    300,
    900,
    2_000,
    2_000,
  ]);
});

Deno.test("the machine walks running → crashed → backoff → restarting → running → failed", async () => {
  const fake = createClock(0);
  const effects: string[] = [];
  const effect = (name: string) =>
    fromPromise<void>(() => {
      effects.push(`${name}@${fake.now}`);
      return Promise.resolve();
    });
  const logic = childLifecycleMachine.provide({
    actors: {
      startChild: effect("start"),
      releaseChild: effect("release"),
      stopChild: effect("stop"),
    },
  });
  const machine = createActor(logic, {
    input: {
      name: "match",
      backoff: { initialMs: 100, factor: 2, maxMs: 1_000 },
      intensity: { maxRestarts: 1, windowMs: 10_000 },
      now: () => fake.now,
    },
    clock: {
      setTimeout: (fn, ms) => fake.setTimeout(fn, ms),
      clearTimeout: (id) => fake.clearTimeout(id),
    },
  });
  const states: string[] = [];
  machine.subscribe((snapshot) => states.push(String(snapshot.value)));
  machine.start();
  machine.send({ type: "START" });
  await fake.tickAsync(0);
  machine.send({ type: "CRASH", error: new Error("first") });
  await fake.tickAsync(100);
  machine.send({ type: "CRASH", error: new Error("second") });
  await fake.tickAsync(0);
  assert.deepEqual(states, [
    "idle",
    "starting",
    "running",
    "crashed",
    "backoff",
    "restarting",
    "running",
    "crashed",
    "failed",
  ]);
  assert.deepEqual(effects, ["start@0", "release@0", "start@100", "release@100"]);
  const { context, status } = machine.getSnapshot();
  assert.equal(status, "done");
  assert.deepEqual(
    [context.failure, context.restarts, context.lastError, context.recentCrashesMs],
    ["RESTART_INTENSITY", 1, "Error: second", [0, 100]],
  );
});
