/**
 * Users and their API keys, kept in one JSON file (`<dir>/keys.json`, mode 0o600) that
 * survives restarts.
 *
 * Every mutation rewrites the whole file atomically (write `keys.json.tmp`, fsync,
 * rename over `keys.json`, fsync the directory) and resolves only once that is durable:
 * nothing acknowledged is lost. Rewriting everything per mutation is deliberate: the
 * realistic size is a few thousand users, where a rewrite costs well under a
 * millisecond plus the fsyncs, and one file with one format is easy to check and to
 * back up. Should the store ever hold hundreds of thousands of users, replace the
 * rewrite with an append-only log.
 *
 * The in-memory state changes only after the write succeeded (mutations build the next
 * state beside the current one, write it, then swap), so a failed write leaves memory
 * and disk as they were. Mutations run one at a time on a promise chain. Lookups are
 * synchronous reads of a Map. One process owns the directory: the store does not lock
 * it against a second writer.
 */

import { randomHex, writeFileAtomic } from "./private_file.ts";
import { assert } from "../domain/assert.ts";

/** Default bound on the users one store holds. */
export const DEFAULT_MAX_USERS = 1_000_000;
/** Default bound on the live API keys of one user. */
export const DEFAULT_MAX_KEYS_PER_USER = 10;
/** Name of the store's file inside its directory. */
export const KEY_STORE_FILE = "keys.json";
/** The only file format this module reads and writes. */
export const KEY_STORE_FORMAT_VERSION = 1;

/** Length in lowercase hex characters of an API key (128 random bits). */
export const API_KEY_HEX_LENGTH = 32;
/** Length in lowercase hex characters of an API secret (256 random bits). */
export const API_SECRET_HEX_LENGTH = 64;

const API_KEY_PATTERN = /^[0-9a-f]{32}$/;
const API_SECRET_PATTERN = /^[0-9a-f]{64}$/;

export interface KeyStoreOptions {
  /** Most users the store accepts (default {@link DEFAULT_MAX_USERS}). */
  maxUsers?: number;
  /** Most live API keys per user (default {@link DEFAULT_MAX_KEYS_PER_USER}). */
  maxKeysPerUser?: number;
}

/** What {@link KeyStore.lookup} returns for a known API key. */
export interface KeyLookup {
  userId: number;
  secret: string;
}

/** A freshly created API key and its secret; the only time the secret is handed out. */
export interface CreatedKey {
  apiKey: string;
  secret: string;
}

interface UserRecord {
  userId: number;
  createdMs: number;
}

interface KeyRecord {
  apiKey: string;
  secret: string;
  userId: number;
  createdMs: number;
}

/**
 * The whole store. Treated as immutable once built: a mutation makes a new State that
 * shares the unchanged parts (Maps are copied, per-user key arrays are replaced, never
 * edited in place).
 */
interface State {
  nextUserId: number;
  /** By user id, in ascending id order. */
  users: Map<number, UserRecord>;
  /** By API key, in creation order. */
  keys: Map<string, KeyRecord>;
  /** API keys of each user, in creation order; users without keys have no entry. */
  keysByUser: Map<number, readonly string[]>;
}

/** The file's JSON shape (format_version 1). */
interface KeyFile {
  format_version: number;
  next_user_id: number;
  users: { user_id: number; created_ms: number }[];
  keys: { api_key: string; secret: string; user_id: number; created_ms: number }[];
}

function checkBound(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!(Number.isSafeInteger(value) && value >= 1)) {
    throw new RangeError(
      `Cannot open key store: ${name} must be a positive safe integer, received ${value}`,
    );
  }
  return value;
}

function checkNowMs(action: string, nowMs: number): void {
  if (!(Number.isSafeInteger(nowMs) && nowMs >= 0)) {
    throw new RangeError(
      `Cannot ${action}: nowMs must be a non-negative safe integer, received ${nowMs}`,
    );
  }
}

function isPositiveId(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 1;
}

function isMs(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Builds the state from the file's parsed JSON. Throws an Error naming `path` and the
 * first thing that is wrong.
 */
function parseKeyFile(
  path: string,
  doc: unknown,
  maxUsers: number,
  maxKeysPerUser: number,
): State {
  const bad = (what: string): Error =>
    new Error(`Cannot open key store: "${path}" is invalid: ${what}`);
  if (!isObject(doc)) throw bad("the top level is not a JSON object");
  if (doc.format_version !== KEY_STORE_FORMAT_VERSION) {
    throw bad(
      `format_version must be ${KEY_STORE_FORMAT_VERSION}, received ${
        JSON.stringify(doc.format_version)
      }`,
    );
  }
  if (!isPositiveId(doc.next_user_id)) {
    throw bad(
      `next_user_id must be a positive safe integer, received ${JSON.stringify(doc.next_user_id)}`,
    );
  }
  if (!Array.isArray(doc.users)) throw bad("users is not an array");
  if (!Array.isArray(doc.keys)) throw bad("keys is not an array");
  if (doc.users.length > maxUsers) {
    throw bad(`it holds ${doc.users.length} users, more than maxUsers ${maxUsers}`);
  }

  const userList: UserRecord[] = [];
  const seenUsers = new Set<number>();
  doc.users.forEach((u: unknown, i: number) => {
    if (!isObject(u)) throw bad(`users[${i}] is not an object`);
    if (!isPositiveId(u.user_id)) {
      throw bad(
        `users[${i}].user_id must be a positive safe integer, received ${
          JSON.stringify(u.user_id)
        }`,
      );
    }
    if (!isMs(u.created_ms)) {
      throw bad(
        `users[${i}].created_ms must be a non-negative safe integer, received ${
          JSON.stringify(u.created_ms)
        }`,
      );
    }
    if (seenUsers.has(u.user_id)) throw bad(`user_id ${u.user_id} appears twice`);
    if (u.user_id >= (doc.next_user_id as number)) {
      throw bad(`user_id ${u.user_id} is not below next_user_id ${doc.next_user_id}`);
    }
    seenUsers.add(u.user_id);
    userList.push({ userId: u.user_id, createdMs: u.created_ms });
  });
  userList.sort((a, b) => a.userId - b.userId);

  const keys = new Map<string, KeyRecord>();
  const keysByUser = new Map<number, string[]>();
  doc.keys.forEach((k: unknown, i: number) => {
    if (!isObject(k)) throw bad(`keys[${i}] is not an object`);
    if (typeof k.api_key !== "string" || !API_KEY_PATTERN.test(k.api_key)) {
      throw bad(`keys[${i}].api_key must be ${API_KEY_HEX_LENGTH} lowercase hex characters`);
    }
    // The secret's value never goes into a message.
    if (typeof k.secret !== "string" || !API_SECRET_PATTERN.test(k.secret)) {
      throw bad(`keys[${i}].secret must be ${API_SECRET_HEX_LENGTH} lowercase hex characters`);
    }
    if (!isPositiveId(k.user_id)) {
      throw bad(
        `keys[${i}].user_id must be a positive safe integer, received ${JSON.stringify(k.user_id)}`,
      );
    }
    if (!isMs(k.created_ms)) {
      throw bad(
        `keys[${i}].created_ms must be a non-negative safe integer, received ${
          JSON.stringify(k.created_ms)
        }`,
      );
    }
    if (keys.has(k.api_key)) throw bad(`api_key "${k.api_key}" appears twice`);
    if (!seenUsers.has(k.user_id)) {
      throw bad(`api_key "${k.api_key}" belongs to unknown user_id ${k.user_id}`);
    }
    const own = keysByUser.get(k.user_id) ?? [];
    if (own.length >= maxKeysPerUser) {
      throw bad(`user_id ${k.user_id} has more than maxKeysPerUser ${maxKeysPerUser} keys`);
    }
    own.push(k.api_key);
    keysByUser.set(k.user_id, own);
    keys.set(k.api_key, {
      apiKey: k.api_key,
      secret: k.secret,
      userId: k.user_id,
      createdMs: k.created_ms,
    });
  });

  return {
    nextUserId: doc.next_user_id,
    users: new Map(userList.map((u) => [u.userId, u])),
    keys,
    keysByUser,
  };
}

function serialize(state: State): string {
  const doc: KeyFile = {
    format_version: KEY_STORE_FORMAT_VERSION,
    next_user_id: state.nextUserId,
    users: [...state.users.values()].map((u) => ({ user_id: u.userId, created_ms: u.createdMs })),
    keys: [...state.keys.values()].map((k) => ({
      api_key: k.apiKey,
      secret: k.secret,
      user_id: k.userId,
      created_ms: k.createdMs,
    })),
  };
  return JSON.stringify(doc, null, 2) + "\n";
}

/** Users and API keys, durable in one directory; see the module comment. */
export class KeyStore {
  private state: State;
  /** The last queued mutation; the next one starts after it settles. */
  private tail: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly dir: string,
    private readonly path: string,
    state: State,
    private readonly maxUsers: number,
    private readonly maxKeysPerUser: number,
  ) {
    this.state = state;
  }

  /**
   * Opens the store in `dir` (created with mode 0o700 if missing) and loads
   * `dir/keys.json` if it exists, else starts empty; the file is written on the first
   * mutation. Throws if an option is not a positive safe integer, if the file can be read
   * by group or other (the message says to chmod 600 it), or if it is not valid JSON in
   * format 1 with consistent content (the message names the file and the problem). A
   * bad file is never replaced by an empty store.
   */
  static async open(dir: string, opts: KeyStoreOptions = {}): Promise<KeyStore> {
    const maxUsers = checkBound("maxUsers", opts.maxUsers, DEFAULT_MAX_USERS);
    const maxKeysPerUser = checkBound(
      "maxKeysPerUser",
      opts.maxKeysPerUser,
      DEFAULT_MAX_KEYS_PER_USER,
    );
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    const path = `${dir}/${KEY_STORE_FILE}`;
    let stat: Deno.FileInfo;
    try {
      stat = await Deno.stat(path);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      const empty: State = {
        nextUserId: 1,
        users: new Map(),
        keys: new Map(),
        keysByUser: new Map(),
      };
      return new KeyStore(dir, path, empty, maxUsers, maxKeysPerUser);
    }
    if (!stat.isFile) throw new Error(`Cannot open key store: "${path}" is not a regular file`);
    if (stat.mode !== null && (stat.mode & 0o077) !== 0) {
      throw new Error(
        `Cannot open key store: "${path}" holds API secrets but its mode is 0o${
          (stat.mode & 0o777).toString(8)
        }, readable by group or others; run \`chmod 600 ${path}\``,
      );
    }
    const text = await Deno.readTextFile(path);
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (e) {
      throw new Error(
        `Cannot open key store: "${path}" is not valid JSON (${(e as Error).message})`,
      );
    }
    const state = parseKeyFile(path, doc, maxUsers, maxKeysPerUser);
    return new KeyStore(dir, path, state, maxUsers, maxKeysPerUser);
  }

  /**
   * Runs `build` after every earlier mutation has settled, writes the state it returns
   * and only then swaps it in. `next: null` means nothing changes and nothing is written.
   */
  private mutate<T>(build: (current: State) => { next: State | null; result: T }): Promise<T> {
    const run = this.tail.then(async () => {
      const { next, result } = build(this.state);
      if (next === null) return result;
      await writeFileAtomic(this.dir, this.path, serialize(next));
      this.state = next;
      return result;
    });
    this.tail = run.catch(() => {});
    return run;
  }

  /**
   * Creates a user and returns its id (1, 2, 3, ... never reused), once durable. Throws
   * if `nowMs` is not a non-negative safe integer, if the store already holds maxUsers
   * users, or if the write fails (nothing changes then).
   */
  async createUser(nowMs: number): Promise<number> {
    checkNowMs("create user", nowMs);
    return await this.mutate((cur) => {
      if (cur.users.size >= this.maxUsers) {
        throw new Error(
          `Cannot create user: the key store holds ${cur.users.size} users, the limit maxUsers is ${this.maxUsers}`,
        );
      }
      const userId = cur.nextUserId;
      assert(!cur.users.has(userId), `next user id ${userId} is already taken`);
      const users = new Map(cur.users);
      users.set(userId, { userId, createdMs: nowMs });
      return { next: { ...cur, nextUserId: userId + 1, users }, result: userId };
    });
  }

  /**
   * Creates a random API key (32 hex chars) and secret (64 hex chars) for `userId` and
   * returns both, once durable; the secret is not handed out again except through
   * {@link lookup}. Throws for an unknown user, a user that already has maxKeysPerUser
   * keys, a bad `nowMs`, or a failed write (nothing changes then).
   */
  async createKey(userId: number, nowMs: number): Promise<CreatedKey> {
    checkNowMs("create API key", nowMs);
    return await this.mutate((cur) => {
      if (!cur.users.has(userId)) {
        throw new Error(`Cannot create API key: unknown user ${userId}`);
      }
      const own = cur.keysByUser.get(userId) ?? [];
      if (own.length >= this.maxKeysPerUser) {
        throw new Error(
          `Cannot create API key: user ${userId} already has ${own.length} keys, the limit maxKeysPerUser is ${this.maxKeysPerUser}`,
        );
      }
      let apiKey = randomHex(API_KEY_HEX_LENGTH);
      // 128 random bits do not collide in practice; the loop keeps keys unique regardless.
      while (cur.keys.has(apiKey)) apiKey = randomHex(API_KEY_HEX_LENGTH);
      const secret = randomHex(API_SECRET_HEX_LENGTH);
      const keys = new Map(cur.keys);
      keys.set(apiKey, { apiKey, secret, userId, createdMs: nowMs });
      const keysByUser = new Map(cur.keysByUser);
      keysByUser.set(userId, [...own, apiKey]);
      return { next: { ...cur, keys, keysByUser }, result: { apiKey, secret } };
    });
  }

  /**
   * Revokes `apiKey`; resolves true once that is durable, or false (writing nothing) if
   * the key is unknown. Throws if the write fails (the key then stays valid).
   */
  revokeKey(apiKey: string): Promise<boolean> {
    return this.mutate((cur) => {
      const rec = cur.keys.get(apiKey);
      if (rec === undefined) return { next: null, result: false };
      const keys = new Map(cur.keys);
      keys.delete(apiKey);
      const keysByUser = new Map(cur.keysByUser);
      const rest = (cur.keysByUser.get(rec.userId) ?? []).filter((k) => k !== apiKey);
      if (rest.length === 0) keysByUser.delete(rec.userId);
      else keysByUser.set(rec.userId, rest);
      return { next: { ...cur, keys, keysByUser }, result: true };
    });
  }

  /** The owner and secret of `apiKey`, or undefined if it is unknown or revoked. */
  lookup(apiKey: string): KeyLookup | undefined {
    const rec = this.state.keys.get(apiKey);
    return rec === undefined ? undefined : { userId: rec.userId, secret: rec.secret };
  }

  /** Whether user `userId` exists. */
  hasUser(userId: number): boolean {
    return this.state.users.has(userId);
  }

  /** Every user id, ascending. */
  userIds(): number[] {
    return [...this.state.users.keys()];
  }

  /** The live API keys of `userId` in creation order (never secrets); [] if none. */
  keysOf(userId: number): string[] {
    return [...(this.state.keysByUser.get(userId) ?? [])];
  }

  /** How many users the store holds. */
  get userCount(): number {
    return this.state.users.size;
  }
}
