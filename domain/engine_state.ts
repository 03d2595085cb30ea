/**
 * The state of the account shard and the matcher as plain data, for engine snapshots:
 * captured when the pipeline is quiescent (every stage caught up to the same command),
 * and restored into freshly built objects on recovery, before the command WAL after the
 * snapshot is replayed. Indexes (orders by id, cids, price-level maps) are rebuilt from
 * the records rather than stored.
 */

import { fail } from "./assert.ts";
import type { Matcher } from "./matcher.ts";
import { Level } from "./order_book.ts";
import { NIL } from "./order_store.ts";
import type { ArenaState } from "./record_arena.ts";
import type { Risk } from "./risk.ts";

/** Bump when the layout of any part changes; restoring another version is refused. */
export const ENGINE_STATE_VERSION = 1;

export interface LevelState {
  priceTicks: number;
  head: number;
  tail: number;
  totalUnits: number;
  count: number;
}

export interface EngineState {
  version: number;
  risk: {
    nextOrderId: number;
    lastSettledSeq: number;
    assetSlots: number;
    /** Per account: userId, openOrders, available[assetSlots], frozen[assetSlots]. */
    accounts: number[][];
    fees: number[];
    supply: number[];
    deposited: string[];
    withdrawn: string[];
    holds: ArenaState;
  };
  matcher: {
    nextTradeId: number;
    orders: ArenaState;
    books: { symbolId: number; updateId: number; bids: LevelState[]; asks: LevelState[] }[];
  };
}

/** Captures the shard and the matcher. Both must be quiescent (no taker in flight). */
export function captureEngineState(risk: Risk, matcher: Matcher): EngineState {
  const ledger = risk.ledger;
  const accounts: number[][] = [];
  for (const a of ledger.accounts.values()) {
    accounts.push([a.userId, a.openOrders, ...a.available, ...a.frozen]);
  }
  const books: EngineState["matcher"]["books"] = [];
  for (const book of matcher.books) {
    if (book === undefined) continue;
    const levels = (side: typeof book.bids) =>
      side.levels.map((l) => ({
        priceTicks: l.priceTicks,
        head: l.head,
        tail: l.tail,
        totalUnits: l.totalUnits,
        count: l.count,
      }));
    books.push({
      symbolId: book.symbolId,
      updateId: book.updateId,
      bids: levels(book.bids),
      asks: levels(book.asks),
    });
  }
  return {
    version: ENGINE_STATE_VERSION,
    risk: {
      nextOrderId: risk.nextOrderId,
      lastSettledSeq: risk.lastSettledSeq,
      assetSlots: ledger.assetSlots,
      accounts,
      fees: [...ledger.fees],
      supply: [...ledger.supply],
      deposited: ledger.deposited.map(String),
      withdrawn: ledger.withdrawn.map(String),
      holds: risk.holds.exportState(),
    },
    matcher: {
      nextTradeId: matcher.nextTradeId,
      orders: matcher.store.exportState(),
      books,
    },
  };
}

/**
 * Restores a captured state into a freshly built shard and matcher (same assets and
 * symbols). Throws on a version or configuration mismatch.
 */
export function restoreEngineState(risk: Risk, matcher: Matcher, st: EngineState): void {
  if (st.version !== ENGINE_STATE_VERSION) {
    fail(`engine snapshot version ${st.version}, this build reads ${ENGINE_STATE_VERSION}`);
  }
  const ledger = risk.ledger;
  const n = ledger.assetSlots;
  if (st.risk.assetSlots !== n) {
    fail(`snapshot has ${st.risk.assetSlots} asset slots, the engine ${n}`);
  }
  for (const row of st.risk.accounts) {
    const acct = ledger.open(row[0]);
    acct.openOrders = row[1];
    acct.available.set(row.slice(2, 2 + n));
    acct.frozen.set(row.slice(2 + n, 2 + 2 * n));
  }
  ledger.fees.set(st.risk.fees);
  ledger.supply.set(st.risk.supply);
  st.risk.deposited.forEach((v, i) => (ledger.deposited[i] = BigInt(v)));
  st.risk.withdrawn.forEach((v, i) => (ledger.withdrawn[i] = BigInt(v)));
  risk.nextOrderId = st.risk.nextOrderId;
  risk.lastSettledSeq = st.risk.lastSettledSeq;
  const h = risk.holds;
  h.importState(st.risk.holds);
  for (const ref of h.slots()) {
    const cid = h.cid[ref];
    if (cid !== null) risk.cids.set(`${h.userOf(ref)}:${cid}`, ref);
    if (h.resting(ref)) risk.orderIndex?.set(h.orderIdOf(ref), ref);
  }

  matcher.nextTradeId = st.matcher.nextTradeId;
  const s = matcher.store;
  s.importState(st.matcher.orders);
  for (const b of st.matcher.books) {
    const book = matcher.books[b.symbolId];
    if (book === undefined) fail(`snapshot has a book for unknown symbol ${b.symbolId}`);
    book.updateId = b.updateId;
    for (const [side, levels] of [[book.bids, b.bids], [book.asks, b.asks]] as const) {
      for (const l of levels) {
        const level = new Level(l.priceTicks);
        level.head = l.head;
        level.tail = l.tail;
        level.totalUnits = l.totalUnits;
        level.count = l.count;
        side.levels.push(level);
        side.byPrice.set(l.priceTicks, level);
        for (let o = l.head; o !== NIL; o = s.nextOf(o)) {
          matcher.orders.set(s.idOf(o), o);
          const cid = s.cid[o];
          if (cid !== null) matcher.cids.set(`${s.userOf(o)}:${cid}`, o);
        }
      }
    }
  }
}
