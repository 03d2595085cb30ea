/**
 * The Push stage's fan-out hub: every change-log entry published goes to every
 * subscriber whose filter accepts it, in publication order, through a bounded queue per
 * subscriber drained asynchronously.
 *
 * `publish` never blocks and never awaits a subscriber: a subscriber whose queue is full
 * (it falls behind) is cut off — removed, its queue dropped, and `close` called with a
 * reason such as "SLOW_CONSUMER: queue of 1024 entries full" — and counted; the others
 * are unaffected. A subscriber whose `deliver` throws or rejects, or whose filter throws,
 * is cut off the same way. The WebSocket binding of the API implements `PushSubscriber`.
 */

import type { ChangeLogEntry } from "../domain/change_log.ts";

/** Default bound of a subscriber's queue, counting the batch being delivered. */
export const DEFAULT_PUSH_QUEUE_CAPACITY = 1_024;
/** Largest queue capacity a subscriber may ask for. */
export const MAX_PUSH_QUEUE_CAPACITY = 65_536;
/** Default bound on the number of subscribers of one hub. */
export const DEFAULT_MAX_PUSH_SUBSCRIBERS = 10_000;
/** Longest close reason, in UTF-8 bytes: the limit of a WebSocket close frame's reason. */
export const MAX_CLOSE_REASON_BYTES = 123;

/** A consumer of change-log entries (a WebSocket connection, a test probe, ...). */
export interface PushSubscriber<E extends ChangeLogEntry<unknown> = ChangeLogEntry> {
  /** Unique among the hub's subscribers. */
  readonly id: string;
  /**
   * Receives the next entries, oldest first (a batch of at most the queue capacity).
   * The hub calls it again only after the returned promise settles. Throwing or
   * rejecting cuts the subscriber off.
   */
  deliver(entries: E[]): void | Promise<void>;
  /** Called once when the hub cuts the subscriber off or shuts down; not on unsubscribe. */
  close(reason: string): void;
}

export interface SubscribeOptions<E> {
  /** Only entries for which this returns true are queued (a topic filter). */
  filter?: (entry: E) => boolean;
  /** Queue bound for this subscriber; DEFAULT_PUSH_QUEUE_CAPACITY if absent. */
  queueCapacity?: number;
}

export type SubscribeResult =
  | { ok: true }
  | {
    ok: false;
    code: "DUPLICATE_SUBSCRIBER" | "TOO_MANY_SUBSCRIBERS" | "HUB_CLOSED";
    message: string;
  };

export interface PushHubOptions {
  queueCapacity?: number;
  maxSubscribers?: number;
}

/** Counters for /metrics. */
export interface PushHubStats {
  subscribers: number;
  published: number;
  /** Entries whose delivery completed, summed over subscribers. */
  delivered: number;
  /** Entries waiting or being delivered, summed over subscribers. */
  queued: number;
  cutOff: number;
  /** `close` calls that threw (the subscriber was removed anyway). */
  closeErrors: number;
}

interface Slot<E extends ChangeLogEntry<unknown>> {
  sub: PushSubscriber<E>;
  filter: ((entry: E) => boolean) | undefined;
  capacity: number;
  pending: E[];
  inFlight: number;
  /** The running drain loop, if any. */
  draining: Promise<void> | undefined;
  active: boolean;
}

/** Fans change-log entries out to subscribers; see the module comment. */
export class PushHub<E extends ChangeLogEntry<unknown> = ChangeLogEntry> {
  readonly #slots = new Map<string, Slot<E>>();
  readonly #capacity: number;
  readonly #maxSubscribers: number;
  #closed = false;
  #published = 0;
  #delivered = 0;
  #cutOff = 0;
  #closeErrors = 0;

  /** Throws a RangeError for a capacity or subscriber bound that is not a positive integer. */
  constructor(options: PushHubOptions = {}) {
    this.#capacity = checkBound(
      options.queueCapacity ?? DEFAULT_PUSH_QUEUE_CAPACITY,
      "queueCapacity",
    );
    this.#maxSubscribers = checkBound(
      options.maxSubscribers ?? DEFAULT_MAX_PUSH_SUBSCRIBERS,
      "maxSubscribers",
    );
  }

  /**
   * Adds a subscriber; it receives entries published from now on. Refusals are values:
   * a duplicate id, the subscriber bound, or a closed hub. Throws a RangeError for an
   * invalid `queueCapacity`.
   */
  subscribe(sub: PushSubscriber<E>, options: SubscribeOptions<E> = {}): SubscribeResult {
    const capacity = checkBound(options.queueCapacity ?? this.#capacity, "queueCapacity");
    if (this.#closed) {
      return { ok: false, code: "HUB_CLOSED", message: "Cannot subscribe: the push hub is closed" };
    }
    if (this.#slots.has(sub.id)) {
      return {
        ok: false,
        code: "DUPLICATE_SUBSCRIBER",
        message: `Cannot subscribe: id "${sub.id}" is already subscribed`,
      };
    }
    if (this.#slots.size >= this.#maxSubscribers) {
      return {
        ok: false,
        code: "TOO_MANY_SUBSCRIBERS",
        message: `Cannot subscribe: the hub already has ${this.#maxSubscribers} subscribers`,
      };
    }
    this.#slots.set(sub.id, {
      sub,
      filter: options.filter,
      capacity,
      pending: [],
      inFlight: 0,
      draining: undefined,
      active: true,
    });
    return { ok: true };
  }

  /** Removes a subscriber without calling its `close`; returns false if it was not subscribed. */
  unsubscribe(id: string): boolean {
    const slot = this.#slots.get(id);
    if (slot === undefined) return false;
    this.#remove(slot);
    return true;
  }

  /**
   * Cuts a subscriber off that fell behind in a way only it can see (a socket whose
   * unsent bytes stay high): removed, counted in `cutOff`, its `close` called with
   * `reason`. Returns false if it was not subscribed.
   */
  cutOff(id: string, reason: string): boolean {
    const slot = this.#slots.get(id);
    if (slot === undefined) return false;
    this.#cut(slot, reason);
    return true;
  }

  /**
   * Queues `entry` for every subscriber that accepts it and returns how many did.
   * Synchronous: subscribers are drained later. Cuts off subscribers whose queue is full.
   */
  publish(entry: E): number {
    if (this.#closed) return 0;
    this.#published++;
    let queued = 0;
    for (const slot of this.#slots.values()) {
      if (slot.filter !== undefined) {
        let accepted: boolean;
        try {
          accepted = slot.filter(entry);
        } catch (err) {
          this.#cut(slot, `FILTER_ERROR: ${errorText(err)}`);
          continue;
        }
        if (!accepted) continue;
      }
      if (slot.pending.length + slot.inFlight >= slot.capacity) {
        this.#cut(slot, `SLOW_CONSUMER: queue of ${slot.capacity} entries full`);
        continue;
      }
      slot.pending.push(entry);
      queued++;
      if (slot.draining === undefined) slot.draining = this.#drain(slot);
    }
    return queued;
  }

  /** Resolves when every subscriber's queue is empty (or the subscriber is gone). */
  async flush(): Promise<void> {
    for (;;) {
      const running = [...this.#slots.values()].flatMap((s) => (s.draining ? [s.draining] : []));
      if (running.length === 0) return;
      await Promise.all(running);
    }
  }

  /**
   * Stops the hub: later publishes are ignored, every subscriber is removed and its
   * `close` called with `reason`. Entries still queued are dropped; call `flush` first
   * for a graceful stop.
   */
  close(reason = "SHUTDOWN: push hub stopped"): void {
    this.#closed = true;
    for (const slot of [...this.#slots.values()]) this.#closeSlot(slot, reason);
  }

  /** Current counters. */
  /** Number of subscribers (cheap: publishers skip building entries when it is 0). */
  get size(): number {
    return this.#slots.size;
  }

  stats(): PushHubStats {
    let queued = 0;
    for (const s of this.#slots.values()) queued += s.pending.length + s.inFlight;
    return {
      subscribers: this.#slots.size,
      published: this.#published,
      delivered: this.#delivered,
      queued,
      cutOff: this.#cutOff,
      closeErrors: this.#closeErrors,
    };
  }

  async #drain(slot: Slot<E>): Promise<void> {
    // Start on a later microtask so publish never runs subscriber code.
    await Promise.resolve();
    while (slot.active && slot.pending.length > 0) {
      const batch = slot.pending;
      slot.pending = [];
      slot.inFlight = batch.length;
      try {
        await slot.sub.deliver(batch);
      } catch (err) {
        if (slot.active) this.#cut(slot, `DELIVER_ERROR: ${errorText(err)}`);
        break;
      }
      slot.inFlight = 0;
      if (slot.active) this.#delivered += batch.length;
    }
    slot.inFlight = 0;
    slot.draining = undefined;
  }

  #cut(slot: Slot<E>, reason: string): void {
    this.#cutOff++;
    this.#closeSlot(slot, reason);
  }

  #closeSlot(slot: Slot<E>, reason: string): void {
    this.#remove(slot);
    try {
      slot.sub.close(truncateUtf8(reason, MAX_CLOSE_REASON_BYTES));
    } catch {
      this.#closeErrors++;
    }
  }

  #remove(slot: Slot<E>): void {
    slot.active = false;
    slot.pending = [];
    this.#slots.delete(slot.sub.id);
  }
}

function checkBound(n: number, what: string): number {
  const max = what === "queueCapacity" ? MAX_PUSH_QUEUE_CAPACITY : Number.MAX_SAFE_INTEGER;
  if (!Number.isSafeInteger(n) || n < 1 || n > max) {
    throw new RangeError(
      `Cannot configure push hub: ${what} must be an integer in [1, ${max}], received ${n}`,
    );
  }
  return n;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const encoder = new TextEncoder();

/** `s` cut to at most `maxBytes` UTF-8 bytes, on a code point boundary. */
export function truncateUtf8(s: string, maxBytes: number): string {
  if (encoder.encode(s).length <= maxBytes) return s;
  let out = "";
  let bytes = 0;
  for (const ch of s) {
    const n = encoder.encode(ch).length;
    if (bytes + n > maxBytes) break;
    out += ch;
    bytes += n;
  }
  return out;
}
