/**
 * A bounded FIFO mailbox: the only queue in front of an actor.
 *
 * `offer` never blocks, never drops silently and never grows past the capacity: it returns
 * {@link ACCEPTED} or an explicit rejection ("OVERLOAD" when full, "STOPPED" once closed).
 * Depth, capacity and counters are exposed for metrics.
 */

/** Default number of messages an actor's mailbox holds. */
export const DEFAULT_MAILBOX_CAPACITY = 4_096;

/** Largest capacity a mailbox may be given (its ring buffer is allocated up front). */
export const MAX_MAILBOX_CAPACITY = 1 << 20;

/** Why a message was not accepted. */
export type RejectReason = "OVERLOAD" | "STOPPED";

/** The message is in the mailbox and will be processed (unless the actor crashes first). */
export interface Accepted {
  readonly ok: true;
}

/** The message was not enqueued; `message` names the mailbox and states the bound. */
export interface Rejected {
  readonly ok: false;
  readonly reason: RejectReason;
  readonly message: string;
}

/** Result of {@link Mailbox.offer} and of an actor's `send`. */
export type SendResult = Accepted | Rejected;

/** The one accepted result (shared, so accepting allocates nothing). */
export const ACCEPTED: Accepted = Object.freeze({ ok: true });

/** Counters and gauges of one mailbox. */
export interface MailboxStats {
  depth: number;
  capacity: number;
  accepted: number;
  rejectedOverload: number;
  rejectedStopped: number;
}

/** Bounded ring buffer of messages of type `M`. */
export class Mailbox<M> {
  readonly name: string;
  readonly capacity: number;
  #slots: (M | undefined)[];
  #head = 0;
  #depth = 0;
  #closed = false;
  #accepted = 0;
  #rejectedOverload = 0;
  #rejectedStopped = 0;
  readonly #overload: Rejected;
  readonly #stopped: Rejected;

  /**
   * @throws {RangeError} if `capacity` is not an integer in 1..{@link MAX_MAILBOX_CAPACITY}.
   */
  constructor(name: string, capacity: number = DEFAULT_MAILBOX_CAPACITY) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > MAX_MAILBOX_CAPACITY) {
      throw new RangeError(
        `Cannot create mailbox "${name}": capacity must be an integer in 1..${MAX_MAILBOX_CAPACITY}, received ${capacity}`,
      );
    }
    this.name = name;
    this.capacity = capacity;
    this.#slots = new Array(capacity);
    this.#overload = Object.freeze({
      ok: false,
      reason: "OVERLOAD",
      message: `mailbox "${name}" is full (capacity ${capacity})`,
    });
    this.#stopped = Object.freeze({
      ok: false,
      reason: "STOPPED",
      message: `mailbox "${name}" is closed: the actor is stopping or has ended`,
    });
  }

  /** Messages waiting to be processed. */
  get depth(): number {
    return this.#depth;
  }

  /** True once {@link close} was called: every later offer is rejected with "STOPPED". */
  get closed(): boolean {
    return this.#closed;
  }

  /** Enqueues `message` at the tail, or says why not. */
  offer(message: M): SendResult {
    if (this.#closed) {
      this.#rejectedStopped++;
      return this.#stopped;
    }
    if (this.#depth === this.capacity) {
      this.#rejectedOverload++;
      return this.#overload;
    }
    this.#slots[(this.#head + this.#depth) % this.capacity] = message;
    this.#depth++;
    this.#accepted++;
    return ACCEPTED;
  }

  /**
   * Removes and returns the oldest message.
   * @throws {RangeError} if the mailbox is empty (check {@link depth} first).
   */
  take(): M {
    if (this.#depth === 0) {
      throw new RangeError(`Cannot take from mailbox "${this.name}": it is empty`);
    }
    const message = this.#slots[this.#head] as M;
    this.#slots[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.capacity;
    this.#depth--;
    return message;
  }

  /** Stops accepting; messages already enqueued stay and can still be taken. */
  close(): void {
    this.#closed = true;
  }

  /** Removes every waiting message and returns how many there were. */
  clear(): number {
    const removed = this.#depth;
    while (this.#depth > 0) this.take();
    return removed;
  }

  /** A snapshot of depth, capacity and counters. */
  stats(): MailboxStats {
    return {
      depth: this.#depth,
      capacity: this.capacity,
      accepted: this.#accepted,
      rejectedOverload: this.#rejectedOverload,
      rejectedStopped: this.#rejectedStopped,
    };
  }
}
