/**
 * The actor: a bounded mailbox and a loop that handles one message at a time, in order.
 *
 * Start contract (rustlob's ActorX): `start()` begins the loop and returns at once;
 * `stop()` stops accepting, drains what is already in the mailbox and resolves when the
 * loop has ended. An exception thrown by the handler (sync or async) is a bug or a broken
 * environment: the actor crashes, stops processing, discards what is left in its mailbox
 * (counted), answers its pending asks with "CRASHED" and reports the error through
 * `onCrash` to its supervisor. Business rejections are values, never exceptions.
 */

import { Mailbox, type MailboxStats, type SendResult } from "./mailbox.ts";

/** Where the runtime writes its log lines (default: `console`). */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** Handles one message; a returned promise is awaited before the next message. */
export type Handler<M> = (message: M) => void | Promise<void>;

/** Lifecycle of one actor instance; an instance is never restarted (build a fresh one). */
export type ActorState = "new" | "running" | "stopping" | "stopped" | "crashed";

/** Options of {@link Actor}. */
export interface ActorOptions<M> {
  /** Name used in results, errors and logs. */
  name: string;
  /** Mailbox bound (default `DEFAULT_MAILBOX_CAPACITY`). */
  capacity?: number;
  /** The message handler. */
  handle: Handler<M>;
  /** Called once with the error when the actor crashes (default: log it). */
  onCrash?: (error: unknown) => void;
  /** Logger for crashes nobody listens to (default `console`). */
  logger?: Logger;
}

/** Mailbox figures plus the actor's own counters. */
export interface ActorStats extends MailboxStats {
  name: string;
  state: ActorState;
  processed: number;
  discardedOnCrash: number;
}

/** Renders an unknown thrown value for a log line or a result message. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** A single-threaded actor over a bounded mailbox. */
export class Actor<M> {
  readonly name: string;
  readonly #mailbox: Mailbox<M>;
  readonly #handle: Handler<M>;
  readonly #onCrash: (error: unknown) => void;
  readonly #logger: Logger;
  readonly #crashListeners = new Set<(error: unknown) => void>();
  #state: ActorState = "new";
  #processed = 0;
  #discardedOnCrash = 0;
  #wake: (() => void) | undefined;
  #resolveEnded!: () => void;
  readonly #ended = new Promise<void>((resolve) => (this.#resolveEnded = resolve));

  /** @throws {RangeError} if the capacity is out of range (see `Mailbox`). */
  constructor(options: ActorOptions<M>) {
    this.name = options.name;
    this.#mailbox = new Mailbox<M>(options.name, options.capacity);
    this.#handle = options.handle;
    this.#logger = options.logger ?? console;
    this.#onCrash = options.onCrash ??
      ((error) => this.#logger.error(`Actor "${this.name}" crashed: ${errorMessage(error)}`));
  }

  /** Current lifecycle state. */
  get state(): ActorState {
    return this.#state;
  }

  /**
   * Begins the message loop and returns at once.
   * @throws {Error} if the actor is not in state "new" (instances are single-use).
   */
  start(): void {
    if (this.#state !== "new") {
      throw new Error(
        `Cannot start actor "${this.name}": state is "${this.#state}", expected "new"`,
      );
    }
    this.#state = "running";
    void this.#run();
  }

  /**
   * Stops accepting, processes what is already queued, and resolves when the loop has
   * ended (also when it ended by crashing). Idempotent: every call returns the same end.
   */
  stop(): Promise<void> {
    if (this.#state === "new") {
      this.#state = "stopping";
      this.#mailbox.close();
      void this.#run();
    } else if (this.#state === "running") {
      this.#state = "stopping";
      this.#mailbox.close();
      this.#wakeLoop();
    }
    return this.#ended;
  }

  /**
   * Enqueues a message. Never throws and never blocks: returns `ACCEPTED`, or a rejection
   * with reason "OVERLOAD" (mailbox full) or "STOPPED" (stopping, stopped or crashed).
   * Messages sent before `start()` wait in the mailbox.
   */
  send(message: M): SendResult {
    const result = this.#mailbox.offer(message);
    if (result.ok) this.#wakeLoop();
    return result;
  }

  /**
   * Crashes the actor with `error` as if its handler had thrown it: for failures found
   * outside a handler, and as the test hook for supervision. A handler already running
   * finishes, then the loop ends. Does nothing once the actor has stopped or crashed.
   */
  crash(error: unknown): void {
    if (this.#state === "stopped" || this.#state === "crashed") return;
    const wasNew = this.#state === "new";
    this.#state = "crashed";
    this.#mailbox.close();
    this.#discardedOnCrash += this.#mailbox.clear();
    for (const listener of [...this.#crashListeners]) listener(error);
    this.#crashListeners.clear();
    try {
      this.#onCrash(error);
    } catch (reportError) {
      this.#logger.error(
        `Actor "${this.name}": crash report failed: ${errorMessage(reportError)} (crash: ${
          errorMessage(error)
        })`,
      );
    }
    if (wasNew) this.#resolveEnded();
    else this.#wakeLoop();
  }

  /**
   * Registers `listener` to be called once if this actor crashes (used by `ask` to answer
   * pending requests). Returns a function that unregisters it.
   */
  addCrashListener(listener: (error: unknown) => void): () => void {
    this.#crashListeners.add(listener);
    return () => this.#crashListeners.delete(listener);
  }

  /** Depth, capacity, accepted/rejected counters, processed and discarded messages. */
  stats(): ActorStats {
    return {
      ...this.#mailbox.stats(),
      name: this.name,
      state: this.#state,
      processed: this.#processed,
      discardedOnCrash: this.#discardedOnCrash,
    };
  }

  #wakeLoop(): void {
    const wake = this.#wake;
    if (wake !== undefined) {
      this.#wake = undefined;
      wake();
    }
  }

  /** The loop. Never rejects: every handler error becomes a crash. */
  async #run(): Promise<void> {
    await null; // no handler runs inside the caller of start() or stop()
    while (this.#state === "running" || this.#state === "stopping") {
      if (this.#mailbox.depth === 0) {
        if (this.#state === "stopping") {
          this.#state = "stopped";
          break;
        }
        await new Promise<void>((resolve) => (this.#wake = resolve));
        continue;
      }
      const message = this.#mailbox.take();
      try {
        const pending = this.#handle(message);
        if (pending !== undefined) await pending;
        this.#processed++;
      } catch (error) {
        this.crash(error);
      }
    }
    this.#crashListeners.clear();
    this.#resolveEnded();
  }
}
