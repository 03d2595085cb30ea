/**
 * The clock the actor runtime reads time and schedules timers through.
 *
 * Deadlines (ask), backoff delays and restart-intensity windows all go through a `Clock`,
 * so tests drive them with fake time (for example `@sinonjs/fake-timers`' `createClock()`,
 * which satisfies this interface) and never wait on the wall clock. The same object is
 * handed to xstate as its `clock` option.
 */

/** Opaque handle returned by {@link Clock.setTimeout}. */
export type TimerHandle = unknown;

/** Time source and one-shot timers. */
export interface Clock {
  /** Current time in milliseconds (epoch for the real clock; any origin for a fake one). */
  now(): number;
  /** Calls `callback` once, `delayMs` milliseconds from now; returns a handle to cancel it. */
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  /** Cancels a timer; cancelling a fired or cancelled timer does nothing. */
  clearTimeout(handle: TimerHandle): void;
}

/** The process clock: `Date.now()` and the global timers. */
export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimeout: (handle) => clearTimeout(handle as number),
};
