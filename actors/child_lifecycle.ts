/**
 * The lifecycle of one supervised child, as an xstate v5 machine:
 *
 *   idle → starting → running → crashed → backoff → restarting → running …
 *                                   └→ failed (restart intensity exceeded)
 *   any live state → stopping → stopped;   starting fails → failed
 *
 * The machine decides; the supervisor does the effects, through three promise actors it
 * provides: `startChild` (create a fresh instance, start it, await its readiness),
 * `releaseChild` (wait for the crashed instance to end) and `stopChild` (stop the current
 * instance). Time comes from `input.now` and xstate's `clock` option, so fake time drives
 * both the backoff timers and the intensity window.
 */

import { assign, fromPromise, setup } from "xstate";
import { errorMessage } from "./actor.ts";

/** Exponential backoff: the n-th crash within the window waits `initialMs × factor^(n-1)`, at most `maxMs`. */
export interface BackoffPolicy {
  initialMs: number;
  factor: number;
  maxMs: number;
}

/** At most `maxRestarts` restarts within any `windowMs`; one more crash fails the child. */
export interface IntensityPolicy {
  maxRestarts: number;
  windowMs: number;
}

/** Input of {@link childLifecycleMachine}. */
export interface ChildLifecycleInput {
  name: string;
  backoff: BackoffPolicy;
  intensity: IntensityPolicy;
  now: () => number;
}

/** Why a child ended in "failed". */
export type ChildFailure = "START_FAILED" | "RESTART_INTENSITY";

/** Context of {@link childLifecycleMachine}. */
export interface ChildLifecycleContext extends ChildLifecycleInput {
  /** Restarts completed or attempted since the child first started. */
  restarts: number;
  /** Crash times within the current intensity window, oldest first. */
  recentCrashesMs: number[];
  /** Delay of the backoff in progress (or the last one). */
  backoffMs: number;
  lastError: string | null;
  failure: ChildFailure | null;
}

/** Events of {@link childLifecycleMachine}. */
export type ChildLifecycleEvent =
  | { type: "START" }
  | { type: "CRASH"; error: unknown }
  | { type: "STOP" };

/** The lifecycle state names, as reported by the supervisor's status. */
export type ChildLifecycleState =
  | "idle"
  | "starting"
  | "running"
  | "crashed"
  | "backoff"
  | "restarting"
  | "stopping"
  | "stopped"
  | "failed";

/** Backoff delay before the restart that follows the `crashCount`-th crash in the window. */
export function backoffDelayMs(policy: BackoffPolicy, crashCount: number): number {
  return Math.min(policy.maxMs, policy.initialMs * policy.factor ** (crashCount - 1));
}

const notProvided = (what: string) =>
  fromPromise<void>(() => Promise.reject(new Error(`child lifecycle: ${what} was not provided`)));

/** The child lifecycle machine; the supervisor provides the three effect actors. */
export const childLifecycleMachine = setup({
  types: {
    input: {} as ChildLifecycleInput,
    context: {} as ChildLifecycleContext,
    events: {} as ChildLifecycleEvent,
  },
  actors: {
    startChild: notProvided("startChild"),
    releaseChild: notProvided("releaseChild"),
    stopChild: notProvided("stopChild"),
  },
  actions: {
    /** Records a crash: its error, the window of recent crashes, the next backoff delay. */
    recordCrash: assign(({ context }, params: { error: unknown }) => {
      const nowMs = context.now();
      const recentCrashesMs = context.recentCrashesMs
        .filter((atMs) => atMs > nowMs - context.intensity.windowMs)
        .concat(nowMs);
      return {
        recentCrashesMs,
        lastError: errorMessage(params.error),
        backoffMs: backoffDelayMs(context.backoff, recentCrashesMs.length),
      };
    }),
  },
  delays: {
    backoff: ({ context }) => context.backoffMs,
  },
  guards: {
    intensityExceeded: ({ context }) =>
      context.recentCrashesMs.length > context.intensity.maxRestarts,
  },
}).createMachine({
  id: "child",
  context: ({ input }) => ({
    ...input,
    restarts: 0,
    recentCrashesMs: [],
    backoffMs: 0,
    lastError: null,
    failure: null,
  }),
  initial: "idle",
  states: {
    idle: {
      on: { START: "starting", STOP: "stopped" },
    },
    starting: {
      invoke: {
        src: "startChild",
        onDone: "running",
        onError: {
          target: "failed",
          actions: assign(({ event }) => ({
            lastError: errorMessage(event.error),
            failure: "START_FAILED" as const,
          })),
        },
      },
      on: {
        CRASH: {
          target: "failed",
          actions: assign(({ event }) => ({
            lastError: errorMessage(event.error),
            failure: "START_FAILED" as const,
          })),
        },
        STOP: "stopping",
      },
    },
    running: {
      on: {
        CRASH: {
          target: "crashed",
          actions: { type: "recordCrash", params: ({ event }) => ({ error: event.error }) },
        },
        STOP: "stopping",
      },
    },
    crashed: {
      invoke: {
        src: "releaseChild",
        onDone: [
          {
            guard: "intensityExceeded",
            target: "failed",
            actions: assign({ failure: "RESTART_INTENSITY" as const }),
          },
          { target: "backoff" },
        ],
        onError: [
          {
            guard: "intensityExceeded",
            target: "failed",
            actions: assign({ failure: "RESTART_INTENSITY" as const }),
          },
          { target: "backoff" },
        ],
      },
      on: { STOP: "stopping" },
    },
    backoff: {
      after: { backoff: "restarting" },
      on: { STOP: "stopping" },
    },
    restarting: {
      entry: assign(({ context }) => ({ restarts: context.restarts + 1 })),
      invoke: {
        src: "startChild",
        onDone: "running",
        onError: {
          target: "crashed",
          actions: { type: "recordCrash", params: ({ event }) => ({ error: event.error }) },
        },
      },
      on: {
        CRASH: {
          target: "crashed",
          actions: { type: "recordCrash", params: ({ event }) => ({ error: event.error }) },
        },
        STOP: "stopping",
      },
    },
    stopping: {
      invoke: {
        src: "stopChild",
        onDone: "stopped",
        onError: {
          target: "stopped",
          actions: assign(({ event }) => ({ lastError: errorMessage(event.error) })),
        },
      },
    },
    stopped: { type: "final" },
    failed: { type: "final" },
  },
});
