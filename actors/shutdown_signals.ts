/**
 * Graceful shutdown on SIGINT and SIGTERM (ARCHITECTURE.md section 7): the first signal
 * stops intake and stops the exchange gracefully (drain every stage, flush and fsync the
 * WALs, take the engine and settlement snapshots); the caller awaits `stopped` and then
 * exits 0. A second signal while that is under way exits at once with 128 + the signal's
 * number and a line saying what was skipped: the WAL already holds every acknowledged
 * command, so the next start recovers from it.
 *
 * ```ts
 * const exchange = await Exchange.open(config);
 * const signals = installShutdownSignals(exchange, { onSignal: () => server.close() });
 * await signals.stopped; // resolves after a signal and a complete graceful stop
 * Deno.exit(0);
 * ```
 *
 * Signal listeners do not keep Deno's event loop alive: something else must (the API's
 * listening socket, the exchange's work), or a process with nothing left to do ends before
 * `stopped` settles.
 */

import { errorMessage, type Logger } from "./actor.ts";

/** What the handler needs from the exchange: a graceful, idempotent stop. */
export interface GracefulStop {
  stop(): Promise<void>;
}

export interface ShutdownSignalsOptions {
  /** Signals to listen to; default SIGINT and SIGTERM (SIGINT alone on Windows). */
  signals?: readonly Deno.Signal[];
  /** Where the shutdown lines go; default `console`. */
  logger?: Logger;
  /**
   * Called on the first signal before the exchange stops, to stop feeding it (close the
   * listening socket, stop reading input). Commands submitted afterwards are refused
   * by the exchange with "unavailable".
   */
  onSignal?: (signal: Deno.Signal) => void;
  /** How the second signal ends the process; default `Deno.exit` (tests replace it). */
  exit?: (code: number) => void;
}

export interface ShutdownSignals {
  /**
   * Resolves with the signal once the exchange has stopped gracefully after it; rejects
   * with the error if the graceful stop failed (the caller then exits non-zero). Never
   * settles if no signal arrives.
   */
  readonly stopped: Promise<Deno.Signal>;
  /** Removes the listeners (they also go once the graceful stop has finished). Idempotent. */
  dispose(): void;
}

/** Exit codes by signal for the second signal: 128 + the signal number, as shells report. */
const SIGNAL_EXIT_CODES: Partial<Record<Deno.Signal, number>> = {
  SIGHUP: 129,
  SIGINT: 130,
  SIGQUIT: 131,
  SIGTERM: 143,
};

/**
 * Installs the listeners on `exchange`. Returns the promise to await and a way to remove
 * the listeners.
 * @throws {Error} if a listener cannot be installed (e.g. an unsupported signal).
 */
export function installShutdownSignals(
  exchange: GracefulStop,
  options: ShutdownSignalsOptions = {},
): ShutdownSignals {
  const signals = options.signals ??
    (Deno.build.os === "windows" ? ["SIGINT"] as const : ["SIGINT", "SIGTERM"] as const);
  const logger = options.logger ?? console;
  const exit = options.exit ?? ((code: number) => Deno.exit(code));
  let first: Deno.Signal | null = null;
  let resolveStopped!: (signal: Deno.Signal) => void;
  let rejectStopped!: (error: unknown) => void;
  const stopped = new Promise<Deno.Signal>((resolve, reject) => {
    resolveStopped = resolve;
    rejectStopped = reject;
  });
  // A rejection nobody awaited yet must not crash the process before the caller looks.
  stopped.catch(() => {});

  const listeners: [Deno.Signal, () => void][] = [];
  let disposed = false;
  const dispose = () => {
    if (disposed) return;
    disposed = true;
    for (const [signal, listener] of listeners) Deno.removeSignalListener(signal, listener);
  };

  const onSignal = (signal: Deno.Signal) => {
    if (first !== null) {
      const code = SIGNAL_EXIT_CODES[signal] ?? 1;
      logger.error(
        `Shutdown: ${signal} received during the graceful stop begun by ${first}; exiting ` +
          `now with code ${code}, without the final snapshot (the next start replays the WAL)`,
      );
      exit(code);
      return;
    }
    first = signal;
    logger.info(
      `Shutdown: ${signal} received; stopping intake, draining, flushing and taking a ` +
        `snapshot (send it again to exit at once)`,
    );
    try {
      options.onSignal?.(signal);
    } catch (e) {
      logger.error(`Shutdown: the onSignal callback failed: ${errorMessage(e)}`);
    }
    const started = performance.now();
    exchange.stop().then(
      () => {
        logger.info(
          `Shutdown: stopped gracefully in ${(performance.now() - started).toFixed(0)} ms`,
        );
        dispose();
        resolveStopped(signal);
      },
      (e) => {
        logger.error(`Shutdown: the graceful stop failed: ${errorMessage(e)}`);
        dispose();
        rejectStopped(e);
      },
    );
  };

  try {
    for (const signal of signals) {
      const listener = () => onSignal(signal);
      Deno.addSignalListener(signal, listener);
      listeners.push([signal, listener]);
    }
  } catch (e) {
    dispose();
    throw new Error(`Cannot install shutdown signal listeners: ${errorMessage(e)}`, { cause: e });
  }
  return { stopped, dispose };
}
