/**
 * Remembers request signatures seen recently, so a captured signed request cannot be
 * replayed while its timestamp is still accepted.
 *
 * A request's timestamp may lie up to `windowMs` in the past or the future of the server
 * clock, so a signature must be kept until `timestampMs + windowMs`: after that the
 * timestamp check alone rejects it. Entries live in a Map (signature → expiry) beside a
 * binary min-heap on expiry. Timestamps arrive out of order, so a FIFO queue would not
 * expire in expiry order; the heap does, at O(log n) per entry, and each entry is pushed
 * and popped exactly once, so a call costs amortised O(log n) and never scans.
 */

import { fail } from "../domain/assert.ts";

/** Outcome of {@link ReplayGuard.check}. */
export type ReplayVerdict = "fresh" | "replayed" | "full";

/** Options of a {@link ReplayGuard}. */
export interface ReplayGuardOptions {
  /** How far a request timestamp may be from the server clock, either way, in ms. */
  windowMs: number;
  /** Most live signatures remembered at once; beyond it `check` answers "full". */
  maxEntries: number;
}

function describe(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

function requirePositiveSafeInteger(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new RangeError(
      `Cannot create ReplayGuard: ${name} must be a positive safe integer, received ${
        describe(value)
      }`,
    );
  }
}

/** Signatures seen within the timestamp window, bounded by `maxEntries`. */
export class ReplayGuard {
  readonly windowMs: number;
  readonly maxEntries: number;
  private readonly expiryMsBySignature = new Map<string, number>();
  // Min-heap on expiry, as two parallel arrays; exactly one heap slot per Map entry.
  private readonly heapExpiryMs: number[] = [];
  private readonly heapSignature: string[] = [];

  /** @throws {RangeError} if `windowMs` or `maxEntries` is not a positive safe integer. */
  constructor(opts: ReplayGuardOptions) {
    requirePositiveSafeInteger("windowMs", opts.windowMs);
    requirePositiveSafeInteger("maxEntries", opts.maxEntries);
    this.windowMs = opts.windowMs;
    this.maxEntries = opts.maxEntries;
  }

  /** Number of live signatures remembered (as of the last `check`). */
  get size(): number {
    return this.expiryMsBySignature.size;
  }

  /**
   * Drops entries whose expiry is before `nowMs`, then answers: "replayed" if `signature`
   * is remembered; "full" if `maxEntries` signatures are remembered already (nothing is
   * recorded: the caller answers with an overload error); otherwise records `signature`
   * until `timestampMs + windowMs` and answers "fresh". The caller must have rejected
   * timestamps outside the window before calling; an entry is live up to and including
   * its expiry.
   *
   * @throws {RangeError} if `timestampMs` or `nowMs` is not a finite number.
   */
  check(signature: string, timestampMs: number, nowMs: number): ReplayVerdict {
    if (!Number.isFinite(timestampMs)) {
      throw new RangeError(
        `Cannot check replay: timestampMs must be a finite number, received ${timestampMs}`,
      );
    }
    if (!Number.isFinite(nowMs)) {
      throw new RangeError(`Cannot check replay: nowMs must be a finite number, received ${nowMs}`);
    }
    this.dropExpired(nowMs);
    if (this.expiryMsBySignature.has(signature)) return "replayed";
    if (this.expiryMsBySignature.size >= this.maxEntries) return "full";
    const expiryMs = timestampMs + this.windowMs;
    this.expiryMsBySignature.set(signature, expiryMs);
    this.heapPush(expiryMs, signature);
    return "fresh";
  }

  private dropExpired(nowMs: number): void {
    const expiries = this.heapExpiryMs;
    while (expiries.length > 0 && expiries[0] < nowMs) {
      const signature = this.heapSignature[0];
      const expiryMs = expiries[0];
      if (this.expiryMsBySignature.get(signature) !== expiryMs) {
        fail(`replay guard heap and map disagree on signature expiry ${expiryMs}`);
      }
      this.expiryMsBySignature.delete(signature);
      this.heapPop();
    }
    if (expiries.length !== this.expiryMsBySignature.size) {
      fail(
        `replay guard heap holds ${expiries.length} entries, map ${this.expiryMsBySignature.size}`,
      );
    }
  }

  private heapPush(expiryMs: number, signature: string): void {
    const expiries = this.heapExpiryMs;
    const signatures = this.heapSignature;
    let i = expiries.length;
    expiries.push(expiryMs);
    signatures.push(signature);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (expiries[parent] <= expiryMs) break;
      expiries[i] = expiries[parent];
      signatures[i] = signatures[parent];
      i = parent;
    }
    expiries[i] = expiryMs;
    signatures[i] = signature;
  }

  private heapPop(): void {
    const expiries = this.heapExpiryMs;
    const signatures = this.heapSignature;
    const lastExpiryMs = expiries.pop()!;
    const lastSignature = signatures.pop()!;
    const n = expiries.length;
    if (n === 0) return;
    let i = 0;
    while (true) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && expiries[right] < expiries[left] ? right : left;
      if (expiries[child] >= lastExpiryMs) break;
      expiries[i] = expiries[child];
      signatures[i] = signatures[child];
      i = child;
    }
    expiries[i] = lastExpiryMs;
    signatures[i] = lastSignature;
  }
}
