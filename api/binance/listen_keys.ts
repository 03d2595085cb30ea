/**
 * Listen keys of Binance's user data streams: `POST /api/v3/userDataStream` gives one to
 * an API key's user, `PUT` keeps it alive, `DELETE` closes it, and `/ws/<listenKey>`
 * streams that user's events. A key lapses 60 minutes after its last keep-alive, as on
 * Binance. As on Binance, a user holds one key: asking again returns the live one,
 * extended. Bounded: at most MAX_LISTEN_KEYS live keys in all.
 */

/** A key lapses this long after it was created or last kept alive. */
export const LISTEN_KEY_TTL_MS = 60 * 60 * 1000;
/** Most live listen keys at once (each user may hold several). */
export const MAX_LISTEN_KEYS = 100_000;
const KEY_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/** Binance's listen keys are 60 characters of letters and digits. */
export const LISTEN_KEY_LENGTH = 60;

interface Entry {
  userId: number;
  apiKey: string;
  expiresMs: number;
}

export class ListenKeys {
  readonly #keys = new Map<string, Entry>();
  /** The live key of each user. */
  readonly #byUser = new Map<number, string>();

  constructor(private readonly now: () => number) {}

  /**
   * The key of `userId` (asked for with `apiKey`): its live one, extended, or a new one;
   * undefined when MAX_LISTEN_KEYS live keys exist (lapsed keys are dropped first).
   */
  create(userId: number, apiKey: string): string | undefined {
    const held = this.#byUser.get(userId);
    if (held !== undefined && this.keepAlive(held, userId)) return held;
    if (this.#keys.size >= MAX_LISTEN_KEYS) this.#dropLapsed();
    if (this.#keys.size >= MAX_LISTEN_KEYS) return undefined;
    const bytes = crypto.getRandomValues(new Uint8Array(LISTEN_KEY_LENGTH));
    let key = "";
    for (const b of bytes) key += KEY_CHARS[b % KEY_CHARS.length];
    this.#keys.set(key, { userId, apiKey, expiresMs: this.now() + LISTEN_KEY_TTL_MS });
    this.#byUser.set(userId, key);
    return key;
  }

  /** The user of a live key, or undefined (unknown or lapsed). */
  userOf(key: string): number | undefined {
    const e = this.#live(key);
    return e?.userId;
  }

  /** Extends a live key owned through `apiKey`'s user; false if there is none. */
  keepAlive(key: string, userId: number): boolean {
    const e = this.#live(key);
    if (e === undefined || e.userId !== userId) return false;
    e.expiresMs = this.now() + LISTEN_KEY_TTL_MS;
    return true;
  }

  /** Closes a live key of `userId`; false if there is none. */
  close(key: string, userId: number): boolean {
    const e = this.#live(key);
    if (e === undefined || e.userId !== userId) return false;
    this.#forget(key, e);
    return true;
  }

  /** Keys still live, for tests and metrics. */
  get size(): number {
    this.#dropLapsed();
    return this.#keys.size;
  }

  #live(key: string): Entry | undefined {
    const e = this.#keys.get(key);
    if (e === undefined) return undefined;
    if (e.expiresMs < this.now()) {
      this.#forget(key, e);
      return undefined;
    }
    return e;
  }

  #dropLapsed(): void {
    const now = this.now();
    for (const [k, e] of this.#keys) if (e.expiresMs < now) this.#forget(k, e);
  }

  #forget(key: string, e: Entry): void {
    this.#keys.delete(key);
    if (this.#byUser.get(e.userId) === key) this.#byUser.delete(e.userId);
  }
}
