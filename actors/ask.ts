/**
 * Request/reply between actors with a deadline.
 *
 * `ask` builds a message that carries a `reply` function, sends it, and resolves to the
 * first reply, or to a typed failure: "OVERLOAD" (the target's mailbox is full),
 * "STOPPED" (the target no longer accepts messages), "TIMEOUT" (the deadline passed; a
 * later reply is ignored) or "CRASHED" (the target crashed before replying; the request
 * may or may not have taken effect). The promise never rejects.
 *
 * A target that stops normally after taking the message does not end the ask: its
 * handler may have handed `reply` on to another actor (Acquiring → Match), so the ask
 * waits for that reply or for its deadline.
 */

import { errorMessage } from "./actor.ts";
import { type Clock, realClock, type TimerHandle } from "./clock.ts";
import type { SendResult } from "./mailbox.ts";

/** Longest deadline an ask may be given. */
export const MAX_ASK_DEADLINE_MS = 5 * 60_000;

/** What `ask` needs from its target (an `Actor` satisfies it). */
export interface AskTarget<M> {
  readonly name: string;
  send(message: M): SendResult;
  addCrashListener(listener: (error: unknown) => void): () => void;
}

/**
 * Answers an ask. Returns true if this reply was delivered, false if it was ignored
 * (the ask had already been answered, timed out, or its target crashed).
 */
export type Reply<R> = (value: R) => boolean;

/** Why an ask got no reply. */
export type AskFailureReason = "OVERLOAD" | "STOPPED" | "TIMEOUT" | "CRASHED";

/** The outcome of an ask: the reply value, or why there is none. */
export type AskResult<R> =
  | { readonly ok: true; readonly value: R }
  | {
    readonly ok: false;
    readonly reason: AskFailureReason;
    readonly message: string;
    /** The crash error, for "CRASHED". */
    readonly error?: unknown;
  };

/**
 * Sends `makeMessage(reply)` to `target` and waits at most `deadlineMs` for the reply.
 * Resolves to an {@link AskResult}; never rejects.
 * @throws {RangeError} synchronously if `deadlineMs` is not in 1..{@link MAX_ASK_DEADLINE_MS}.
 */
export function ask<M, R>(
  target: AskTarget<M>,
  makeMessage: (reply: Reply<R>) => M,
  deadlineMs: number,
  clock: Clock = realClock,
): Promise<AskResult<R>> {
  if (!Number.isFinite(deadlineMs) || deadlineMs < 1 || deadlineMs > MAX_ASK_DEADLINE_MS) {
    throw new RangeError(
      `Cannot ask "${target.name}": deadlineMs must be in 1..${MAX_ASK_DEADLINE_MS}, received ${deadlineMs}`,
    );
  }
  let settled = false;
  let settle!: (result: AskResult<R>) => void;
  const answer = new Promise<AskResult<R>>((resolve) => (settle = resolve));
  // Filled in once the message is accepted; a reply may come before that (synchronously).
  const cleanup: { timer?: TimerHandle; unwatch?: () => void } = {};

  const finish = (result: AskResult<R>): boolean => {
    if (settled) return false;
    settled = true;
    if (cleanup.timer !== undefined) clock.clearTimeout(cleanup.timer);
    cleanup.unwatch?.();
    settle(result);
    return true;
  };

  const sent = target.send(makeMessage((value) => finish({ ok: true, value })));
  if (!sent.ok) {
    finish({
      ok: false,
      reason: sent.reason,
      message: `Cannot ask "${target.name}": ${sent.message}`,
    });
    return answer;
  }
  if (settled) return answer; // replied synchronously while being sent
  cleanup.unwatch = target.addCrashListener((error) =>
    finish({
      ok: false,
      reason: "CRASHED",
      message: `"${target.name}" crashed before replying: ${errorMessage(error)}`,
      error,
    })
  );
  cleanup.timer = clock.setTimeout(
    () =>
      finish({
        ok: false,
        reason: "TIMEOUT",
        message: `"${target.name}" did not reply within ${deadlineMs} ms`,
      }),
    deadlineMs,
  );
  return answer;
}
