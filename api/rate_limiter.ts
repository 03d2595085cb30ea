/**
 * A token bucket per key (API key), with a bound on the number of buckets kept.
 *
 * Each bucket refills `ratePerSecond` tokens per second up to `burst`; a new key starts
 * full. A full bucket carries no information (dropping it and starting a new one gives the
 * same answers), so when the map is full the idle, full buckets go first; only if none of
 * the oldest-used buckets is full does the least recently used bucket go. The Map keeps
 * insertion order, and every use re-inserts its key, so iteration runs from least to most
 * recently used.
 */

/**
 * Most buckets one eviction looks at, oldest-used first. It bounds the cost of admitting a
 * new key when no bucket is idle, at the price of sometimes evicting the least recently
 * used bucket while a more recently used one deeper in the map is already full.
 */
export const EVICTION_SCAN_MAX_BUCKETS = 64;

/** Options of a {@link RateLimiter}. */
export interface RateLimiterOptions {
  /** Tokens added to a bucket per second (may be fractional, e.g. 0.5). */
  ratePerSecond: number;
  /** Capacity of a bucket: the most tokens it holds, and the tokens a new key starts with. */
  burst: number;
  /** Most buckets kept at once. */
  maxKeys: number;
}

interface Bucket {
  tokens: number;
  lastRefillMs: number;
}

function describe(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

/** Token buckets keyed by string, at most `maxKeys` of them. */
export class RateLimiter {
  readonly ratePerSecond: number;
  readonly burst: number;
  readonly maxKeys: number;
  private readonly buckets = new Map<string, Bucket>();

  /**
   * @throws {RangeError} if `ratePerSecond` or `burst` is not a positive finite number, or
   * `maxKeys` is not a positive safe integer.
   */
  constructor(opts: RateLimiterOptions) {
    const { ratePerSecond, burst, maxKeys } = opts;
    if (!Number.isFinite(ratePerSecond) || ratePerSecond <= 0) {
      throw new RangeError(
        `Cannot create RateLimiter: ratePerSecond must be a positive finite number, received ${
          describe(ratePerSecond)
        }`,
      );
    }
    if (!Number.isFinite(burst) || burst <= 0) {
      throw new RangeError(
        `Cannot create RateLimiter: burst must be a positive finite number, received ${
          describe(burst)
        }`,
      );
    }
    if (!Number.isSafeInteger(maxKeys) || maxKeys <= 0) {
      throw new RangeError(
        `Cannot create RateLimiter: maxKeys must be a positive safe integer, received ${
          describe(maxKeys)
        }`,
      );
    }
    this.ratePerSecond = ratePerSecond;
    this.burst = burst;
    this.maxKeys = maxKeys;
  }

  /** Number of buckets kept. */
  get size(): number {
    return this.buckets.size;
  }

  /**
   * Refills `key`'s bucket up to `nowMs` (a new key starts with `burst` tokens), then takes
   * `cost` tokens and returns true if the bucket holds that many; otherwise returns false
   * and takes nothing. A clock that steps back refills nothing. A `cost` above `burst` is
   * always refused.
   *
   * @throws {RangeError} if `nowMs` is not finite or `cost` is not a positive finite number.
   */
  take(key: string, nowMs: number, cost = 1): boolean {
    if (!Number.isFinite(nowMs)) {
      throw new RangeError(
        `Cannot take tokens: nowMs must be a finite number, received ${describe(nowMs)}`,
      );
    }
    if (!Number.isFinite(cost) || cost <= 0) {
      throw new RangeError(
        `Cannot take tokens: cost must be a positive finite number, received ${describe(cost)}`,
      );
    }
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      if (this.buckets.size >= this.maxKeys) this.evict(nowMs);
      bucket = { tokens: this.burst, lastRefillMs: nowMs };
    } else {
      this.refill(bucket, nowMs);
      this.buckets.delete(key); // re-inserted below: the Map's order is the LRU order
    }
    this.buckets.set(key, bucket);
    if (bucket.tokens < cost) return false;
    bucket.tokens -= cost;
    return true;
  }

  /** Whether `bucket` would hold `burst` tokens at `nowMs` (read-only). */
  private isFull(bucket: Bucket, nowMs: number): boolean {
    const elapsedMs = Math.max(0, nowMs - bucket.lastRefillMs);
    return bucket.tokens + elapsedMs * this.ratePerSecond / 1000 >= this.burst;
  }

  private refill(bucket: Bucket, nowMs: number): void {
    if (nowMs <= bucket.lastRefillMs) return;
    const refilled = bucket.tokens + (nowMs - bucket.lastRefillMs) * this.ratePerSecond / 1000;
    bucket.tokens = Math.min(this.burst, refilled);
    bucket.lastRefillMs = nowMs;
  }

  /**
   * Makes room for one bucket: drops every full bucket among the oldest-used
   * {@link EVICTION_SCAN_MAX_BUCKETS}; if there is none, drops the least recently used one.
   */
  private evict(nowMs: number): void {
    const idleKeys: string[] = [];
    let scanned = 0;
    for (const [key, bucket] of this.buckets) {
      if (scanned++ >= EVICTION_SCAN_MAX_BUCKETS) break;
      if (this.isFull(bucket, nowMs)) idleKeys.push(key);
    }
    if (idleKeys.length === 0) {
      const leastRecentKey = this.buckets.keys().next().value!;
      this.buckets.delete(leastRecentKey);
      return;
    }
    for (const key of idleKeys) this.buckets.delete(key);
  }
}
