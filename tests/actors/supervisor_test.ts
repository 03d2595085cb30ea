/** actors/supervisor.ts and actors/child_lifecycle.ts: order, restarts, backoff, intensity. */

import assert from "node:assert/strict";
import { createClock } from "@sinonjs/fake-timers";
import { Actor, type Logger } from "../../actors/actor.ts";
import type { Clock } from "../../actors/clock.ts";
import {
  type ChildContext,
  type ChildSpec,
  ExitCode,
  type SupervisedChild,
  Supervisor,
  type SupervisorOptions,
  type Termination,
} from "../../actors/supervisor.ts";

/** A fake clock behind the runtime's `Clock` interface; `tick` also runs pending promises. */
function fakeTime() {
  const fake = createClock(0);
  const clock: Clock = {
    now: () => fake.now,
    setTimeout: (callback, delayMs) => fake.setTimeout(callback, delayMs),
    clearTimeout: (handle) => fake.clearTimeout(handle as ReturnType<typeof fake.setTimeout>),
  };
  return { clock, tick: (ms: number) => fake.tickAsync(ms), now: () => fake.now };
}

/** A logger that keeps its lines, per level. */
function captureLog() {
  const lines = { info: [] as string[], warn: [] as string[], error: [] as string[] };
  const logger: Logger = {
    info: (line) => lines.info.push(line),
    warn: (line) => lines.warn.push(line),
    error: (line) => lines.error.push(line),
  };
  return { logger, lines };
}

interface Hooks {
  /** Readiness of a child's instance of the given generation (default: ready at once). */
  ready?: (name: string, generation: number) => Promise<void>;
  /** Awaited before an instance stops. */
  beforeStop?: (name: string, generation: number) => Promise<void>;
  /** Throws from create() for this child. */
  createFails?: string;
}

/** A stage-like child: an actor whose state (`worked`) starts at zero in every instance. */
class TestChild implements SupervisedChild {
  readonly actor: Actor<"work" | "boom">;
  worked = 0;
  constructor(readonly context: ChildContext, readonly log: string[], readonly hooks: Hooks) {
    this.actor = new Actor({
      name: context.name,
      onCrash: context.onCrash,
      handle: (message) => {
        if (message === "boom") {
          throw new Error(`boom in ${context.name}#${context.generation}`);
        }
        this.worked++;
      },
    });
  }
  get tag(): string {
    return `${this.context.name}#${this.context.generation}`;
  }
  start(): void {
    this.log.push(`start ${this.tag}`);
    this.actor.start();
  }
  async stop(): Promise<void> {
    this.log.push(`stop ${this.tag}`);
    await this.hooks.beforeStop?.(this.context.name, this.context.generation);
    await this.actor.stop();
  }
  ready(): Promise<void> {
    return this.hooks.ready?.(this.context.name, this.context.generation) ?? Promise.resolve();
  }
}

/** Builds a supervisor over children with the given names, on fake time. */
function tree(names: string[], options: Partial<SupervisorOptions> = {}, hooks: Hooks = {}) {
  const time = fakeTime();
  const { logger, lines } = captureLog();
  const log: string[] = [];
  const instances = new Map<string, TestChild[]>(names.map((name) => [name, []]));
  const shutdowns: Termination[] = [];
  const children: ChildSpec[] = names.map((name) => ({
    name,
    create: (context) => {
      if (hooks.createFails === name) throw new Error(`cannot open ${name}.db`);
      const child = new TestChild(context, log, hooks);
      instances.get(name)!.push(child);
      return child;
    },
  }));
  const supervisor = new Supervisor({
    children,
    clock: time.clock,
    logger,
    onShutdown: (termination) => shutdowns.push(termination),
    ...options,
  });
  const current = (name: string) => instances.get(name)!.at(-1)!;
  const state = (name: string) => supervisor.status().find((s) => s.name === name)!;
  return { ...time, supervisor, log, lines, instances, current, state, shutdowns };
}

Deno.test("children start in order, each awaited until ready, and stop in reverse", async () => {
  const gate = Promise.withResolvers<void>();
  const t = tree(["persistence", "match", "push"], {}, {
    ready: (name) => name === "match" ? gate.promise : Promise.resolve(),
  });
  let started = false;
  const starting = t.supervisor.start().then(() => (started = true));
  await t.tick(0);
  assert.deepEqual(t.log, ["start persistence#1", "start match#1"], "push waits for match");
  assert.equal(t.state("match").state, "starting");
  assert.equal(started, false);
  gate.resolve();
  await starting;
  assert.deepEqual(t.log, ["start persistence#1", "start match#1", "start push#1"]);
  assert.deepEqual(t.supervisor.status().map((s) => s.state), ["running", "running", "running"]);

  const termination = await t.supervisor.stop();
  assert.deepEqual(t.log.slice(3), ["stop push#1", "stop match#1", "stop persistence#1"]);
  assert.deepEqual(termination, { code: ExitCode.OK, reason: "stopped" });
  assert.deepEqual(await t.supervisor.terminated, termination);
  assert.deepEqual(t.shutdowns, [termination]);
  assert.equal(await t.supervisor.stop(), termination, "stop is idempotent");
  assert.deepEqual(t.supervisor.status().map((s) => s.state), ["stopped", "stopped", "stopped"]);
  assert.equal(t.lines.error.length, 0);
});

Deno.test("a crashed child is restarted as a fresh instance after a backoff", async () => {
  const t = tree(["match"], { backoff: { initialMs: 100, factor: 2, maxMs: 1_000 } });
  await t.supervisor.start();
  const first = t.current("match");
  first.actor.send("work");
  first.actor.send("boom");
  await t.tick(0);
  assert.equal(first.actor.state, "crashed");
  assert.equal(t.state("match").state, "backoff");
  assert.equal(t.state("match").lastError, "Error: boom in match#1");
  await t.tick(100);
  const second = t.current("match");
  assert.notEqual(second, first, "the restarted child is a new instance");
  assert.equal(first.worked, 1);
  assert.equal(second.worked, 0, "the new instance starts from fresh state");
  assert.equal(second.actor.state, "running");
  assert.deepEqual(t.log, ["start match#1", "stop match#1", "start match#2"]);
  assert.deepEqual(t.lines.warn, [
    'Supervisor: child "match" crashed (Error: boom in match#1); restart 1 in 100 ms',
  ]);
  second.actor.send("work");
  await t.tick(0);
  assert.equal(second.worked, 1, "the new instance serves messages");
  assert.deepEqual(
    { state: t.state("match").state, restarts: t.state("match").restarts },
    { state: "running", restarts: 1 },
  );
  await t.supervisor.stop();
});

Deno.test("backoff delays grow exponentially and are capped", async () => {
  const t = tree(["settlement"], {
    backoff: { initialMs: 100, factor: 2, maxMs: 300 },
    intensity: { maxRestarts: 10, windowMs: 60_000 },
  });
  await t.supervisor.start();
  /** Crashes the current instance and measures, 1 ms at a time, until it runs again. */
  const restartDelayMs = async () => {
    t.current("settlement").actor.send("boom");
    await t.tick(0);
    const crashedAtMs = t.now();
    for (let waitedMs = 0; waitedMs < 10_000; waitedMs++) {
      if (t.state("settlement").state === "running") return t.now() - crashedAtMs;
      await t.tick(1);
    }
    throw new Error("settlement was not restarted within 10000 ms");
  };
  const delays = [];
  for (let i = 0; i < 5; i++) delays.push(await restartDelayMs());
  assert.deepEqual(delays, [100, 200, 300, 300, 300]);
  assert.equal(t.state("settlement").restarts, 5);
  assert.equal(t.instances.get("settlement")!.length, 6);
  await t.supervisor.stop();
});

Deno.test("exceeding the restart intensity shuts the tree down cleanly, once", async () => {
  const t = tree(["persistence", "match", "push"], {
    backoff: { initialMs: 100, factor: 2, maxMs: 1_000 },
    intensity: { maxRestarts: 3, windowMs: 30_000 },
  });
  await t.supervisor.start();
  for (let crash = 1; crash <= 3; crash++) {
    t.current("match").actor.send("boom");
    await t.tick(1_000);
    assert.equal(t.state("match").state, "running", `restarted after crash ${crash}`);
  }
  assert.equal(t.lines.error.length, 0, "three restarts within 30 s are allowed");
  const logBefore = t.log.length;
  t.current("match").actor.send("boom");
  const termination = await t.supervisor.terminated;

  const reason = 'child "match" crashed 4 times within 30000 ms, more than the restart ' +
    "intensity allows (3 restarts per 30000 ms)";
  assert.deepEqual(termination, { code: ExitCode.RESTART_INTENSITY, reason });
  assert.notEqual(termination.code, 0);
  assert.deepEqual(t.shutdowns, [termination], "onShutdown is called once");
  assert.deepEqual(t.lines.error, [
    `Supervisor: ${reason}; shutting down the tree. Last error: Error: boom in match#4`,
  ]);
  assert.deepEqual(t.log.slice(logBefore), [
    "stop match#4", // the crashed instance is released
    "stop push#1",
    "stop match#4",
    "stop persistence#1",
  ]);
  assert.deepEqual(
    t.supervisor.status().map(({ name, state }) => `${name}:${state}`),
    ["persistence:stopped", "match:failed", "push:stopped"],
  );
  await t.tick(60_000);
  assert.equal(t.instances.get("match")!.length, 4, "no restart after the shutdown");
  assert.equal(await t.supervisor.stop(), termination, "stop after shutdown returns the same end");
});

Deno.test("crashes spread wider than the intensity window never shut the tree down", async () => {
  const t = tree(["kline"], {
    backoff: { initialMs: 100, factor: 2, maxMs: 1_000 },
    intensity: { maxRestarts: 2, windowMs: 10_000 },
  });
  await t.supervisor.start();
  for (let crash = 0; crash < 6; crash++) {
    t.current("kline").actor.send("boom");
    await t.tick(6_000); // at most two crashes in any 10 s
    assert.equal(t.state("kline").state, "running", `crash ${crash + 1} was restarted`);
  }
  assert.equal(t.state("kline").restarts, 6);
  assert.equal(t.lines.error.length, 0);
  assert.match(t.lines.warn.at(-1)!, /restart 6 in 200 ms/, "the backoff resets with the window");
  await t.supervisor.stop();
});

Deno.test("status shows every lifecycle state with restarts, last error and since", async () => {
  const readyGate = Promise.withResolvers<void>();
  const stopGate = Promise.withResolvers<void>();
  const restartGate = Promise.withResolvers<void>();
  let stopping = false;
  const t = tree(["acquiring"], { backoff: { initialMs: 50, factor: 2, maxMs: 50 } }, {
    ready: (_name, generation) => generation === 1 ? readyGate.promise : restartGate.promise,
    beforeStop: () => stopping ? stopGate.promise : Promise.resolve(),
  });
  const status = () => t.state("acquiring");
  assert.deepEqual(status(), {
    name: "acquiring",
    state: "idle",
    restarts: 0,
    generation: 0,
    lastError: null,
    sinceMs: 0,
  });
  const starting = t.supervisor.start();
  await t.tick(10);
  assert.equal(status().state, "starting");
  readyGate.resolve();
  await starting;
  assert.deepEqual([status().state, status().sinceMs], ["running", 10]);

  await t.tick(5);
  t.current("acquiring").actor.crash(new RangeError("negative balance"));
  assert.deepEqual(
    [status().state, status().lastError, status().sinceMs],
    ["crashed", "RangeError: negative balance", 15],
  );
  await t.tick(0);
  assert.deepEqual([status().state, status().restarts], ["backoff", 0]);
  await t.tick(50);
  assert.deepEqual([status().state, status().restarts, status().generation], [
    "restarting",
    1,
    2,
  ]);
  assert.equal(status().sinceMs, 65);
  restartGate.resolve();
  await t.tick(0);
  assert.equal(status().state, "running");

  stopping = true;
  const stopped = t.supervisor.stop();
  await t.tick(0);
  assert.equal(status().state, "stopping");
  stopGate.resolve();
  await stopped;
  assert.deepEqual(status(), {
    name: "acquiring",
    state: "stopped",
    restarts: 1,
    generation: 2,
    lastError: "RangeError: negative balance",
    sinceMs: 65,
  });
});

Deno.test("a child that fails to start stops the started ones and names itself", async (t) => {
  await t.step("create() throws", async () => {
    const tr = tree(["persistence", "match", "push"], {}, { createFails: "match" });
    await assert.rejects(
      tr.supervisor.start(),
      new Error(
        'Cannot start supervisor: child "match" failed to start: Error: cannot open match.db',
      ),
    );
    assert.deepEqual(tr.log, ["start persistence#1", "stop persistence#1"]);
    assert.equal((await tr.supervisor.terminated).code, ExitCode.START_FAILED);
    assert.equal(tr.lines.error.length, 1);
    assert.match(tr.lines.error[0], /child "match" failed to start/);
    assert.deepEqual(
      tr.supervisor.status().map((s) => s.state),
      ["stopped", "failed", "stopped"],
    );
  });
  await t.step("ready() rejects: the half-started instance is stopped too", async () => {
    const tr = tree(["persistence", "match"], {}, {
      ready: (name) => name === "match" ? Promise.reject(new Error("no disk")) : Promise.resolve(),
    });
    await assert.rejects(tr.supervisor.start(), /child "match" failed to start: Error: no disk/);
    assert.deepEqual(tr.log, [
      "start persistence#1",
      "start match#1",
      "stop match#1",
      "stop persistence#1",
    ]);
    assert.deepEqual(tr.shutdowns.map((s) => s.code), [ExitCode.START_FAILED]);
  });
});

Deno.test("stop during a backoff ends the child without restarting it", async () => {
  const t = tree(["push"], { backoff: { initialMs: 1_000, factor: 2, maxMs: 1_000 } });
  await t.supervisor.start();
  t.current("push").actor.send("boom");
  await t.tick(0);
  assert.equal(t.state("push").state, "backoff");
  await t.supervisor.stop();
  await t.tick(5_000);
  assert.equal(t.state("push").state, "stopped");
  assert.equal(t.instances.get("push")!.length, 1);
});

Deno.test("stop while a child is restarting waits for its start, then stops it", async () => {
  const restartReady = Promise.withResolvers<void>();
  const t = tree(["match"], { backoff: { initialMs: 10, factor: 2, maxMs: 10 } }, {
    ready: (_name, generation) => generation === 1 ? Promise.resolve() : restartReady.promise,
  });
  await t.supervisor.start();
  t.current("match").actor.send("boom");
  await t.tick(10);
  assert.equal(t.state("match").state, "restarting");
  let ended = false;
  const stopping = t.supervisor.stop().then(() => (ended = true));
  await t.tick(0);
  assert.equal(t.state("match").state, "stopping");
  assert.equal(ended, false);
  assert.deepEqual(t.log, ["start match#1", "stop match#1", "start match#2"]);
  restartReady.resolve();
  await stopping;
  assert.deepEqual(t.log.slice(3), ["stop match#2"]);
  assert.equal(t.current("match").actor.state, "stopped");
});

Deno.test("a crash report from a replaced instance is ignored", async () => {
  const t = tree(["match"], { backoff: { initialMs: 10, factor: 2, maxMs: 10 } });
  await t.supervisor.start();
  const first = t.current("match");
  first.actor.send("boom");
  await t.tick(10);
  assert.equal(t.state("match").generation, 2);
  first.context.onCrash(new Error("stale"));
  await t.tick(0);
  assert.deepEqual([t.state("match").state, t.state("match").restarts], ["running", 1]);
  await t.supervisor.stop();
});

Deno.test("the supervisor refuses bad options, stating the value", () => {
  const child: ChildSpec = { name: "a", create: () => ({ start() {}, stop: async () => {} }) };
  assert.throws(
    () => new Supervisor({ children: [child, child] }),
    /child names must be unique and non-empty, received "a"/,
  );
  assert.throws(
    () => new Supervisor({ children: [], backoff: { initialMs: 100, factor: 0.5, maxMs: 1_000 } }),
    /backoff needs .* received \{"initialMs":100,"factor":0.5,"maxMs":1000\}/,
  );
  assert.throws(
    () => new Supervisor({ children: [], intensity: { maxRestarts: 1.5, windowMs: 1_000 } }),
    /intensity needs .* received \{"maxRestarts":1.5,"windowMs":1000\}/,
  );
});

Deno.test("fail() stops every child in reverse order and terminates with the FATAL code", async () => {
  const stopped: string[] = [];
  const child = (name: string) => ({
    name,
    create: () => ({ start() {}, stop: () => Promise.resolve(void stopped.push(name)) }),
  });
  const logs: string[] = [];
  const sup = new Supervisor({
    children: [child("a"), child("b")],
    logger: { info: () => {}, warn: () => {}, error: (m: string) => logs.push(m) },
  });
  await sup.start();
  const t = await sup.fail("the WAL failed");
  assert.deepEqual(stopped, ["b", "a"]);
  assert.equal(t.code, ExitCode.FATAL);
  assert.match(t.reason, /the WAL failed/);
  assert.equal((await sup.terminated).code, ExitCode.FATAL);
  assert.equal(logs.length, 1);
});
