/**
 * Shared pieces of the system tests (settlement chaos, process crash): the seeded command
 * stream, an exchange on a data directory with a fixed clock, submission with a window of
 * commands in flight, and the state two runs must agree on — live (balances, open orders,
 * depth) and stored (trades, order rows, balance rows, read straight from the SQLite file).
 *
 * The clock is fixed so that two runs of the same stream give byte-equal rows: every
 * timestamp the exchange writes (trade ts_ms, order created/updated) comes from it.
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { BENCH_ASSETS, BENCH_SYMBOL, generateStream } from "../../bench/command_stream.ts";
import { Exchange, type ExchangeConfig } from "../../actors/exchange.ts";
import type { Clock } from "../../actors/clock.ts";
import type { Command } from "../../domain/commands.ts";
import { SqliteStore } from "../../persistence/sqlite_store.ts";

/** Users of the system streams; each gets a large balance, so no decision depends on timing. */
export const SYSTEM_USERS = 100;
/** Epoch the fixed clock reads (2024-01-01T00:00:00Z). */
export const FIXED_NOW_MS = 1_704_067_200_000;

/** Real timers (backoff, deadlines), a fixed time (rows comparable between runs). */
export const fixedClock: Clock = {
  now: () => FIXED_NOW_MS,
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimeout: (handle) => clearTimeout(handle as number),
};

/** Logs errors only (a chaos run's crashes are expected and counted, not printed). */
export const quietLogger = {
  info: (_m: string) => {},
  warn: (_m: string) => {},
  error: (_m: string) => {},
};

/**
 * The seeded stream: funding deposits, then `count` limit orders and cancels (3:1).
 * Command i (0-based) is submitted with clientRef i + 1.
 */
export function systemStream(seed: number, count: number): Command[] {
  const s = generateStream({
    seed,
    users: SYSTEM_USERS,
    places: Math.floor(count * 0.75),
    cancels: count - Math.floor(count * 0.75),
    marketShare: 0,
  });
  return [...s.funding, ...s.commands];
}

/** Deposits per asset id of a stream (the supply conservation is checked against). */
export function depositsOf(cmds: readonly Command[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const c of cmds) {
    if (c.type === "deposit") out.set(c.assetId, (out.get(c.assetId) ?? 0) + c.amountUnits);
  }
  return out;
}

/** Opens an exchange on `dir` with its SQLite store at `${dir}/exchange.db`. */
export function openSystemExchange(
  dir: string,
  extra: Partial<ExchangeConfig> = {},
): Promise<Exchange> {
  return Exchange.open({
    dataDir: dir,
    assets: BENCH_ASSETS,
    symbols: [BENCH_SYMBOL],
    store: new SqliteStore({ path: `${dir}/exchange.db` }),
    maxOpenOrdersPerUser: 1_000_000,
    snapshotEveryCommands: 1_000_000,
    clock: fixedClock,
    logger: quietLogger,
    ...extra,
  });
}

/**
 * Submits `cmds[from..]` in order (clientRef = index + 1), keeping up to `window` in
 * flight; calls `acked` for each "done". Throws on any other answer: with these streams
 * the exchange never has a reason to refuse.
 */
export async function submitStream(
  ex: Exchange,
  cmds: readonly Command[],
  from = 0,
  window = 512,
  acked: (clientRef: number) => void = () => {},
): Promise<void> {
  let next = from;
  const worker = async () => {
    while (next < cmds.length) {
      const i = next++;
      const r = await ex.submit(cmds[i], i + 1);
      if (r.status !== "done") {
        throw new Error(`Command ${i + 1} was not processed: ${JSON.stringify(r)}`);
      }
      acked(i + 1);
    }
  };
  await Promise.all(Array.from({ length: window }, worker));
}

/** Live state: every user's balances and open orders, and the whole book. */
export function liveState(ex: Exchange) {
  const users = [];
  for (let u = 0; u <= SYSTEM_USERS; u++) {
    users.push({ userId: u, balances: ex.balances(u), openOrders: ex.openOrders(u) });
  }
  return { users, depth: ex.depth(0, 5_000) };
}
export type LiveState = ReturnType<typeof liveState>;

/** SHA-256 (hex) of a state's JSON: how the crash worker reports its final live state. */
export async function stateDigest(state: unknown): Promise<string> {
  const bytes = new TextEncoder().encode(JSON.stringify(state));
  const hash = await crypto.subtle.digest("SHA-256", bytes);
  return Array.from(new Uint8Array(hash), (b) => b.toString(16).padStart(2, "0")).join("");
}

type Row = Record<string, unknown>;

/** The store's tables as two runs must agree on them, read from the SQLite file. */
export interface StoredState {
  /** Every trade row, every column, by trade_id. */
  trades: Row[];
  /**
   * The highest version of every order, every column, by order_id. (Only the latest: a
   * stored batch keeps one row per order, so the versions in between depend on batching.)
   */
  latestOrders: Row[];
  /** The highest version of every (user, asset) balance, by user and asset. */
  latestBalances: Row[];
  /** Trade rows, distinct trade ids, lowest and highest trade id. */
  tradeCount: number;
  distinctTradeIds: number;
  minTradeId: number;
  maxTradeId: number;
  /** Fees per asset id collected, from the trade rows (buyer pays base, seller quote). */
  feesByAsset: Map<number, number>;
}

/** Reads the store of a data directory (opened read-only; the exchange must be closed). */
export function readStore(dir: string, baseAssetId = 1, quoteAssetId = 2): StoredState {
  const db = new DatabaseSync(`${dir}/exchange.db`, { readOnly: true });
  try {
    const all = (sql: string) => db.prepare(sql).all() as Row[];
    const one = (sql: string) => Number(Object.values(db.prepare(sql).get() as Row)[0]);
    const fees = db.prepare(
      "SELECT COALESCE(SUM(buyer_fee), 0) AS b, COALESCE(SUM(seller_fee), 0) AS s FROM trades",
    ).get() as { b: number; s: number };
    return {
      trades: all("SELECT * FROM trades ORDER BY trade_id"),
      latestOrders: all(
        `SELECT o.* FROM orders o
           JOIN (SELECT order_id, MAX(version) AS v FROM orders GROUP BY order_id) l
             ON o.order_id = l.order_id AND o.version = l.v
         ORDER BY o.order_id`,
      ),
      latestBalances: all(
        `SELECT b.user_id, b.asset_id, b.avail, b.frozen FROM balances b
           JOIN (SELECT user_id, asset_id, MAX(version) AS v FROM balances
                 GROUP BY user_id, asset_id) l
             ON b.user_id = l.user_id AND b.asset_id = l.asset_id AND b.version = l.v
         ORDER BY b.user_id, b.asset_id`,
      ),
      tradeCount: one("SELECT COUNT(*) FROM trades"),
      distinctTradeIds: one("SELECT COUNT(DISTINCT trade_id) FROM trades"),
      minTradeId: one("SELECT COALESCE(MIN(trade_id), 0) FROM trades"),
      maxTradeId: one("SELECT COALESCE(MAX(trade_id), 0) FROM trades"),
      feesByAsset: new Map([[baseAssetId, Number(fees.b)], [quoteAssetId, Number(fees.s)]]),
    };
  } finally {
    db.close();
  }
}

/**
 * Checks a run's store and live state against the uninterrupted reference: trades
 * exactly, no duplicates, dense ids 1..N, latest order rows, live balances, open orders
 * and depth, and every latest balance row equal to the live balance.
 */
export function assertSameOutcome(
  label: string,
  got: { live: LiveState; stored: StoredState },
  want: { live: LiveState; stored: StoredState },
): void {
  const s = got.stored;
  assert.equal(s.tradeCount, s.distinctTradeIds, `${label}: duplicate trade rows`);
  if (s.tradeCount > 0) {
    assert.equal(s.minTradeId, 1, `${label}: trade ids start at 1`);
    assert.equal(s.maxTradeId, s.tradeCount, `${label}: trade ids 1..N without gaps`);
  }
  assert.ok(want.stored.tradeCount > 0, `${label}: the reference run made trades`);
  assert.equal(s.tradeCount, want.stored.tradeCount, `${label}: number of trades`);
  assertRowsEqual(`${label}: trades`, s.trades, want.stored.trades);
  assertRowsEqual(`${label}: latest order rows`, s.latestOrders, want.stored.latestOrders);
  assert.deepEqual(got.live.depth, want.live.depth, `${label}: depth`);
  for (let u = 0; u < want.live.users.length; u++) {
    assert.deepEqual(got.live.users[u], want.live.users[u], `${label}: user ${u} live state`);
  }
  assertBalanceRowsAreLive(label, s.latestBalances, got.live);
}

/** Every latest balance row equals the live balance, and every live balance has a row. */
export function assertBalanceRowsAreLive(label: string, rows: Row[], live: LiveState): void {
  const liveByKey = new Map<string, { avail: number; frozen: number }>();
  for (const u of live.users) {
    for (const b of u.balances) {
      liveByKey.set(`${u.userId}:${b.assetId}`, { avail: b.availableUnits, frozen: b.frozenUnits });
    }
  }
  const stored = new Set<string>();
  for (const r of rows) {
    const key = `${r.user_id}:${r.asset_id}`;
    stored.add(key);
    assert.deepEqual(
      { avail: Number(r.avail), frozen: Number(r.frozen) },
      liveByKey.get(key) ?? { avail: 0, frozen: 0 },
      `${label}: latest balance row of user:asset ${key} is not the live balance`,
    );
  }
  for (const [key, b] of liveByKey) {
    if (b.avail === 0 && b.frozen === 0) continue;
    assert.ok(stored.has(key), `${label}: no balance row for user:asset ${key}`);
  }
}

/** Compares two row lists, reporting the first differing row rather than a huge diff. */
export function assertRowsEqual(label: string, got: Row[], want: Row[]): void {
  const n = Math.min(got.length, want.length);
  for (let i = 0; i < n; i++) {
    if (JSON.stringify(got[i]) !== JSON.stringify(want[i])) {
      assert.deepEqual(got[i], want[i], `${label}: row ${i} differs`);
    }
  }
  assert.equal(got.length, want.length, `${label}: row count`);
}

/** Users' available + frozen + fees per asset equals the deposits (nothing created or lost). */
export function assertConservation(
  label: string,
  live: LiveState,
  fees: Map<number, number>,
  deposits: Map<number, number>,
): void {
  for (const [assetId, deposited] of deposits) {
    let held = fees.get(assetId) ?? 0;
    for (const u of live.users) {
      for (const b of u.balances) {
        if (b.assetId === assetId) held += b.availableUnits + b.frozenUnits;
      }
    }
    assert.equal(held, deposited, `${label}: asset ${assetId} users + fees != deposits`);
  }
}

/** The seed: the first of `envNames` set, else a random one. Printed by the caller. */
export function seedFrom(...envNames: string[]): number {
  for (const name of envNames) {
    const v = Deno.env.get(name);
    if (v !== undefined && v !== "") {
      const n = Number(v);
      if (!Number.isSafeInteger(n)) throw new Error(`${name} must be an integer, received "${v}"`);
      return n >>> 0;
    }
  }
  return Math.floor(Math.random() * 2 ** 32) >>> 0;
}

/** Runs the stream without interruption on a fresh directory; returns what it ended with. */
export async function referenceRun(
  cmds: readonly Command[],
): Promise<{ live: LiveState; stored: StoredState; lastSeq: number }> {
  const dir = await Deno.makeTempDir({ prefix: "system_reference_" });
  try {
    const ex = await openSystemExchange(dir);
    await submitStream(ex, cmds);
    await ex.whenIdle();
    const live = liveState(ex);
    const lastSeq = ex.stats().lastSeq;
    await ex.stop();
    return { live, stored: readStore(dir), lastSeq };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
