/**
 * The root supervisor: starts its children in order and stops them in reverse, restarts a
 * crashed child from a fresh instance after an exponential backoff, and shuts the whole
 * tree down cleanly (one error log line, non-zero exit code) when a child crashes more
 * often than the restart intensity allows. It never calls `Deno.exit`: `main.ts` reads the
 * code from `terminated` or `onShutdown`.
 *
 * Each child's lifecycle is the xstate machine of `child_lifecycle.ts`; this module does
 * the effects (create, start, await readiness, stop) and keeps the status for /health.
 */

import { type Actor as XActor, createActor, fromPromise } from "xstate";
import { errorMessage, type Logger } from "./actor.ts";
import {
  type BackoffPolicy,
  childLifecycleMachine,
  type ChildLifecycleState,
  type IntensityPolicy,
} from "./child_lifecycle.ts";
import { type Clock, realClock } from "./clock.ts";

/** What the supervisor needs from a child (an `Actor` satisfies it). */
export interface SupervisedChild {
  /** Begins the child's work and returns at once. */
  start(): void;
  /** Stops the child; resolves when it has ended (also when it had crashed). */
  stop(): Promise<void>;
  /** Optional: resolves when the child is ready to serve; a rejection is a start failure. */
  ready?(): Promise<void>;
}

/** Handed to `ChildSpec.create` for each incarnation of a child. */
export interface ChildContext {
  name: string;
  /** 1 for the first instance, +1 for each restart. */
  generation: number;
  /** The child calls this once when it crashes (pass it as the actor's `onCrash`). */
  onCrash(error: unknown): void;
}

/** One supervised child. */
export interface ChildSpec {
  name: string;
  /**
   * Builds a FRESH instance from state known to be valid (durable state, or state owned by
   * a longer-lived parent): it is called again for every restart.
   */
  create(context: ChildContext): SupervisedChild;
}

/** A child's status, for /health. */
export interface ChildStatus {
  name: string;
  state: ChildLifecycleState;
  restarts: number;
  generation: number;
  lastError: string | null;
  /** Clock time at which the child entered `state`. */
  sinceMs: number;
}

/** How the tree ended. */
export interface Termination {
  code: number;
  reason: string;
}

/** Exit codes the supervisor reports. */
export const ExitCode = {
  OK: 0,
  START_FAILED: 1,
  RESTART_INTENSITY: 2,
  INTERNAL_ERROR: 3,
  /** A child found its environment or shared state broken (e.g. the WAL failed). */
  FATAL: 4,
} as const;

/** Default restart backoff: 100 ms, doubling, at most 5 s. */
export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 100, factor: 2, maxMs: 5_000 };

/** Default restart intensity: at most 3 restarts within 30 s. */
export const DEFAULT_INTENSITY: IntensityPolicy = { maxRestarts: 3, windowMs: 30_000 };

/** Most children one supervisor takes. */
export const MAX_CHILDREN = 64;

/** Options of {@link Supervisor}. */
export interface SupervisorOptions {
  /** Started in this order, stopped in reverse. */
  children: readonly ChildSpec[];
  backoff?: BackoffPolicy;
  intensity?: IntensityPolicy;
  clock?: Clock;
  logger?: Logger;
  /** Called once when the tree has ended, with the exit code for `main.ts`. */
  onShutdown?: (termination: Termination) => void;
}

type LifecycleActor = XActor<typeof childLifecycleMachine>;

interface Child {
  spec: ChildSpec;
  machine: LifecycleActor;
  generation: number;
  instance: SupervisedChild | undefined;
  starting: Promise<void> | undefined;
  state: ChildLifecycleState;
  sinceMs: number;
}

type Phase = "new" | "starting" | "running" | "stopping" | "terminated";

/** The root of the actor tree. */
export class Supervisor {
  /** Resolves once, when every child has been stopped; never rejects. */
  readonly terminated: Promise<Termination>;
  readonly #children: Child[];
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #onShutdown: ((termination: Termination) => void) | undefined;
  #phase: Phase = "new";
  #shutdown: Promise<Termination> | undefined;
  #resolveTerminated!: (termination: Termination) => void;

  /** @throws {RangeError} if a child name repeats or a policy value is out of range. */
  constructor(options: SupervisorOptions) {
    const backoff = options.backoff ?? DEFAULT_BACKOFF;
    const intensity = options.intensity ?? DEFAULT_INTENSITY;
    validate(options.children, backoff, intensity);
    this.#clock = options.clock ?? realClock;
    this.#logger = options.logger ?? console;
    this.#onShutdown = options.onShutdown;
    this.terminated = new Promise((resolve) => (this.#resolveTerminated = resolve));
    const now = () => this.#clock.now();
    this.#children = options.children.map((spec) => {
      // The machine is attached just below: its effect actors close over `child`.
      const child = {
        spec,
        generation: 0,
        instance: undefined,
        starting: undefined,
        state: "idle",
        sinceMs: now(),
      } as Partial<Child> as Child;
      const logic = childLifecycleMachine.provide({
        actors: {
          startChild: fromPromise(() => this.#startInstance(child)),
          releaseChild: fromPromise(() => child.instance?.stop() ?? Promise.resolve()),
          stopChild: fromPromise(() => this.#stopInstance(child)),
        },
      });
      child.machine = createActor(logic, {
        input: { name: spec.name, backoff, intensity, now },
        clock: this.#clock,
      });
      child.machine.subscribe({
        next: (snapshot) => this.#observe(child, snapshot.value as ChildLifecycleState),
        error: (error) => this.#internalError(child, error),
      });
      child.machine.start();
      return child;
    });
  }

  /**
   * Starts the children in order, awaiting each one's readiness.
   * @throws {Error} naming the child if one fails to start; the children already started
   *   are then stopped in reverse and `terminated` resolves with `ExitCode.START_FAILED`.
   */
  async start(): Promise<void> {
    if (this.#phase !== "new") {
      throw new Error(`Cannot start supervisor: phase is "${this.#phase}", expected "new"`);
    }
    this.#phase = "starting";
    for (const child of this.#children) {
      if (this.#phase !== "starting") return;
      child.machine.send({ type: "START" });
      const state = await untilState(child.machine, ["running", "failed", "stopped"]);
      if (state === "failed") {
        const reason =
          `child "${child.spec.name}" failed to start: ${child.machine.getSnapshot().context.lastError}`;
        this.#logger.error(`Supervisor: ${reason}; stopping the tree`);
        await this.#shutDown({ code: ExitCode.START_FAILED, reason });
        throw new Error(`Cannot start supervisor: ${reason}`);
      }
    }
    if (this.#phase === "starting") this.#phase = "running";
  }

  /** Stops the children in reverse order. Idempotent; resolves with the termination. */
  stop(): Promise<Termination> {
    return this.#shutDown({ code: ExitCode.OK, reason: "stopped" });
  }

  /**
   * Shuts the tree down because something a restart cannot fix happened (the WAL failed,
   * shared state is broken): children stop in reverse order and the termination carries
   * a non-zero code and the reason. Idempotent with stop().
   */
  fail(reason: string): Promise<Termination> {
    this.#logger.error(`Supervisor: ${reason}; shutting down the tree`);
    return this.#shutDown({ code: ExitCode.FATAL, reason });
  }

  /** Each child's lifecycle state, restarts, last error and since when, in start order. */
  status(): ChildStatus[] {
    return this.#children.map((child) => {
      const { restarts, lastError } = child.machine.getSnapshot().context;
      return {
        name: child.spec.name,
        state: child.state,
        restarts,
        generation: child.generation,
        lastError,
        sinceMs: child.sinceMs,
      };
    });
  }

  async #startInstance(child: Child): Promise<void> {
    const generation = ++child.generation;
    const context: ChildContext = {
      name: child.spec.name,
      generation,
      onCrash: (error) => {
        if (child.generation === generation) child.machine.send({ type: "CRASH", error });
      },
    };
    child.starting = (async () => {
      child.instance = undefined;
      const instance = child.spec.create(context);
      child.instance = instance;
      instance.start();
      await instance.ready?.();
    })();
    await child.starting;
  }

  async #stopInstance(child: Child): Promise<void> {
    await child.starting?.catch(() => {});
    await child.instance?.stop();
  }

  #observe(child: Child, state: ChildLifecycleState): void {
    if (state === child.state) return;
    child.state = state;
    child.sinceMs = this.#clock.now();
    const { context } = child.machine.getSnapshot();
    const name = child.spec.name;
    if (state === "backoff") {
      this.#logger.warn(
        `Supervisor: child "${name}" crashed (${context.lastError}); restart ${
          context.restarts + 1
        } in ${context.backoffMs} ms`,
      );
    } else if (state === "failed" && context.failure === "RESTART_INTENSITY") {
      const { maxRestarts, windowMs } = context.intensity;
      const reason =
        `child "${name}" crashed ${context.recentCrashesMs.length} times within ${windowMs} ms, more than the restart intensity allows (${maxRestarts} restarts per ${windowMs} ms)`;
      this.#logger.error(
        `Supervisor: ${reason}; shutting down the tree. Last error: ${context.lastError}`,
      );
      void this.#shutDown({ code: ExitCode.RESTART_INTENSITY, reason });
    }
  }

  #internalError(child: Child, error: unknown): void {
    const reason = `lifecycle of child "${child.spec.name}" failed: ${errorMessage(error)}`;
    this.#logger.error(`Supervisor: ${reason}; shutting down the tree`);
    void this.#shutDown({ code: ExitCode.INTERNAL_ERROR, reason });
  }

  #shutDown(termination: Termination): Promise<Termination> {
    if (this.#shutdown !== undefined) return this.#shutdown;
    this.#phase = "stopping";
    this.#shutdown = (async () => {
      for (const child of [...this.#children].reverse()) await this.#stopChild(child);
      this.#phase = "terminated";
      this.#resolveTerminated(termination);
      try {
        this.#onShutdown?.(termination);
      } catch (error) {
        this.#logger.error(`Supervisor: onShutdown failed: ${errorMessage(error)}`);
      }
      return termination;
    })();
    return this.#shutdown;
  }

  /** Stops one child through its machine, or directly if the machine has already ended. */
  async #stopChild(child: Child): Promise<void> {
    try {
      if (child.machine.getSnapshot().status === "active") {
        child.machine.send({ type: "STOP" });
        await untilState(child.machine, ["stopped", "failed"]);
      } else {
        await this.#stopInstance(child);
      }
    } catch (error) {
      this.#logger.error(
        `Supervisor: stopping child "${child.spec.name}" failed: ${errorMessage(error)}`,
      );
    }
  }
}

/** Resolves with the machine's state as soon as it is one of `states`. */
function untilState(
  machine: LifecycleActor,
  states: readonly ChildLifecycleState[],
): Promise<ChildLifecycleState> {
  return new Promise((resolve, reject) => {
    const current = machine.getSnapshot();
    if (states.includes(current.value as ChildLifecycleState)) {
      return resolve(current.value as ChildLifecycleState);
    }
    if (current.status !== "active") {
      return reject(new Error(`child lifecycle ended in "${current.value}"`));
    }
    const subscription = machine.subscribe({
      next: (snapshot) => {
        const state = snapshot.value as ChildLifecycleState;
        if (!states.includes(state)) return;
        subscription.unsubscribe();
        resolve(state);
      },
      error: (error) => reject(error),
    });
  });
}

function validate(
  children: readonly ChildSpec[],
  backoff: BackoffPolicy,
  intensity: IntensityPolicy,
): void {
  const where = "Cannot create supervisor";
  if (children.length > MAX_CHILDREN) {
    throw new RangeError(`${where}: at most ${MAX_CHILDREN} children, received ${children.length}`);
  }
  const names = new Set<string>();
  for (const { name } of children) {
    if (name === "" || names.has(name)) {
      throw new RangeError(
        `${where}: child names must be unique and non-empty, received "${name}"`,
      );
    }
    names.add(name);
  }
  const { initialMs, factor, maxMs } = backoff;
  if (!(initialMs > 0 && factor >= 1 && maxMs >= initialMs && Number.isFinite(maxMs))) {
    throw new RangeError(
      `${where}: backoff needs initialMs > 0, factor >= 1, finite maxMs >= initialMs, received ${
        JSON.stringify(backoff)
      }`,
    );
  }
  const { maxRestarts, windowMs } = intensity;
  if (!(Number.isInteger(maxRestarts) && maxRestarts >= 0 && windowMs > 0)) {
    throw new RangeError(
      `${where}: intensity needs an integer maxRestarts >= 0 and windowMs > 0, received ${
        JSON.stringify(intensity)
      }`,
    );
  }
}
