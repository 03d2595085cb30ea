/**
 * The exchange core in one thread: `apply(command)` runs the account shard's
 * acquisition (validation, order id, hold of funds), the matcher (price-time priority,
 * fills at the maker's price), and settlement (fees, price improvement, release of what
 * an ended order still holds) synchronously, and returns the ordered events.
 * Deterministic: the same commands always give the same events and the same state. Pure:
 * no clock, no randomness, no I/O.
 *
 * Risk is not matching: {@link Risk} owns the balances, {@link Matcher} the books; the
 * matcher reaches balances only through the {@link SettlementSink} the risk side
 * implements. The pipeline (actors/) runs the same two objects as separate stages.
 *
 * Events are written in binary form into an {@link EventBuffer} ({@link Engine.execute});
 * {@link Engine.apply} decodes them into objects.
 */

import { fail } from "./assert.ts";
import type { Command } from "./commands.ts";
import { EventBuffer } from "./event_buffer.ts";
import type { EngineEvent } from "./events.ts";
import type { Ledger } from "./ledger.ts";
import { MAX_ASSET_ID } from "./limits.ts";
import type { AssetSpec, Market, SymbolSpec } from "./market_config.ts";
import { buildMarkets } from "./market_config.ts";
import { Matcher } from "./matcher.ts";
import { quoteUnits } from "./money.ts";
import type { DepthSnapshot } from "./order_book.ts";
import { NIL } from "./order_store.ts";
import { Risk } from "./risk.ts";
import type { OrderStatus, Side, StpMode } from "./types.ts";

export interface EngineOptions {
  assets: readonly AssetSpec[];
  symbols: readonly SymbolSpec[];
  /** Bound on a user's open orders (default 10,000). */
  maxOpenOrdersPerUser?: number;
  /**
   * Run the full audit ({@link Engine.checkInvariants}: frozen = what open orders hold,
   * conservation per asset, book structure) after every this many commands; 0 (default)
   * leaves it to the caller. The cheap invariants (no crossed book, no negative balance,
   * hold arithmetic) are checked on every command regardless.
   */
  auditEveryCommands?: number;
}

/** Snapshot of one open order, for queries. */
export interface OpenOrderView {
  orderId: number;
  userId: number;
  symbolId: number;
  side: Side;
  priceTicks: number;
  qtyUnits: number;
  filledUnits: number;
  remainingUnits: number;
  quoteFilledUnits: number;
  status: OrderStatus;
  stp: StpMode;
  cid: string | null;
  postOnly: boolean;
  holdUnits: number;
}

export class Engine {
  readonly assetsById: (AssetSpec | undefined)[];
  readonly marketsById: (Market | undefined)[];
  readonly risk: Risk;
  readonly matcher: Matcher;
  readonly auditEveryCommands: number;
  /** Number of commands applied. */
  seq = 0;
  private readonly out = new EventBuffer();

  constructor(opts: EngineOptions) {
    const { assetsById, marketsById } = buildMarkets(opts.assets, opts.symbols);
    this.assetsById = assetsById;
    this.marketsById = marketsById;
    const matcher = new Matcher(marketsById);
    this.matcher = matcher;
    this.risk = new Risk({
      assetsById,
      marketsById,
      assetSlots: Math.min(assetsById.length, MAX_ASSET_ID + 1),
      maxOpenOrdersPerUser: opts.maxOpenOrdersPerUser,
      // The matcher already indexes resting orders: the shard asks it instead of
      // keeping a second index.
      locateResting: (orderId) => {
        const slot = matcher.slotOf(orderId);
        return slot === NIL ? -1 : matcher.store.riskRefOf(slot);
      },
    });
    this.risk.out = this.out;
    this.matcher.out = this.out;
    this.auditEveryCommands = opts.auditEveryCommands ?? 0;
  }

  /**
   * Applies one command and returns its events in order, as objects. `tsMs` is the time
   * of acceptance, recorded with new orders (the core reads no clock). Business
   * rejections are `rejected` events; a thrown error means a broken invariant (a bug).
   */
  apply(cmd: Command, tsMs = 0): EngineEvent[] {
    return this.execute(cmd, tsMs).decode();
  }

  /**
   * Applies one command and returns its events in binary form: the engine's own buffer,
   * valid until the next call (copy or decode what you keep). The hot path of benchmarks;
   * {@link apply} is this plus decoding.
   */
  execute(cmd: Command, tsMs = 0): EventBuffer {
    this.out.reset();
    this.seq++;
    const risk = this.risk;
    switch (cmd.type) {
      case "place": {
        const m = risk.acquirePlace(cmd, tsMs);
        if (m !== null) {
          this.matcher.seq = this.seq;
          this.matcher.place(m, risk);
        }
        break;
      }
      case "cancel": {
        const m = risk.acquireCancel(cmd);
        if (m !== null) this.matcher.cancel(m, risk);
        break;
      }
      case "amend": {
        const m = risk.acquireAmend(cmd);
        if (m !== null) {
          this.matcher.seq = this.seq;
          this.matcher.amend(m, risk);
        }
        break;
      }
      case "deposit":
        risk.deposit(cmd);
        break;
      case "withdraw":
        risk.withdraw(cmd);
        break;
      default:
        this.out.rejected(
          "place",
          "INVALID_ORDER_SPEC",
          (cmd as { userId?: number }).userId ?? 0,
          null,
          null,
          `Cannot apply command: unknown type "${(cmd as { type?: unknown }).type}"`,
        );
    }
    if (this.auditEveryCommands > 0 && this.seq % this.auditEveryCommands === 0) {
      this.checkInvariants();
    }
    return this.out;
  }

  // ---------------------------------------------------------------- queries

  get ledger(): Ledger {
    return this.risk.ledger;
  }

  get nextOrderId(): number {
    return this.risk.nextOrderId;
  }

  get nextTradeId(): number {
    return this.matcher.nextTradeId;
  }

  /** Number of open (resting) orders. */
  get openOrderCount(): number {
    return this.matcher.orders.size;
  }

  /** Open orders by `${userId}:${cid}` (read only). */
  get cids(): ReadonlyMap<string, number> {
    return this.matcher.cids;
  }

  /** Available and frozen units of one user and asset (zeros if unknown). */
  balance(userId: number, assetId: number): { availableUnits: number; frozenUnits: number } {
    return this.risk.balance(userId, assetId);
  }

  /** An open order, or undefined. */
  openOrder(orderId: number): OpenOrderView | undefined {
    const o = this.matcher.slotOf(orderId);
    return o === NIL ? undefined : this.view(o);
  }

  /** An open order by its user and client order id, or undefined. */
  openOrderByCid(userId: number, cid: string): OpenOrderView | undefined {
    const o = this.matcher.slotOfCid(userId, cid);
    return o === NIL ? undefined : this.view(o);
  }

  /** Resting orders of a symbol: bids best first, then asks best first, FIFO in a level. */
  *restingOrders(symbolId: number): Generator<OpenOrderView> {
    const book = this.matcher.books[symbolId];
    if (book === undefined) return;
    for (const o of book.ordersOf("BUY")) yield this.view(o);
    for (const o of book.ordersOf("SELL")) yield this.view(o);
  }

  /** Aggregated depth of a symbol, best first, or undefined for an unknown symbol. */
  depth(symbolId: number, limit: number): DepthSnapshot | undefined {
    return this.matcher.depth(symbolId, limit);
  }

  private view(o: number): OpenOrderView {
    const s = this.matcher.store;
    return {
      orderId: s.idOf(o),
      userId: s.userOf(o),
      symbolId: s.symbolOf(o),
      side: s.side(o),
      priceTicks: s.priceOf(o),
      qtyUnits: s.qtyOf(o),
      filledUnits: s.filledOf(o),
      remainingUnits: s.remainingOf(o),
      quoteFilledUnits: s.quoteFilledOf(o),
      status: s.filledOf(o) > 0 ? "PARTIALLY_FILLED" : "NEW",
      stp: s.stp(o),
      cid: s.cid[o],
      postOnly: s.postOnly(o),
      holdUnits: this.risk.holds.holdOf(s.riskRefOf(o)),
    };
  }

  /**
   * Full audit of every invariant; O(orders + accounts). Throws InvariantError on the
   * first violation: the shard's ledger and holds (conservation, frozen = holds, no
   * negative balance), the books' structure, and that every resting order has the hold
   * record of the same order covering what its remainder needs, one to one.
   */
  checkInvariants(): void {
    this.risk.checkInvariants();
    const s = this.matcher.store;
    const h = this.risk.holds;
    this.matcher.checkInvariants((o) => {
      const ref = s.riskRefOf(o);
      const id = s.idOf(o);
      if (!h.inUse(ref) || h.orderIdOf(ref) !== id) fail(`order ${id} has no hold record`);
      const market = this.marketsById[s.symbolOf(o)] as Market;
      const need = s.isSell(o)
        ? s.remainingOf(o)
        : quoteUnits(s.priceOf(o), s.remainingOf(o), market.scale);
      if (!(h.holdOf(ref) >= need)) fail(`order ${id} holds ${h.holdOf(ref)}, needs ${need}`);
      if (h.remainingOf(ref) !== s.remainingOf(o)) {
        fail(
          `order ${id}: the shard sees ${h.remainingOf(ref)} open, the book ${s.remainingOf(o)}`,
        );
      }
    });
    if (h.size !== this.matcher.orders.size) {
      fail(`${h.size} hold records for ${this.matcher.orders.size} open orders`);
    }
  }
}
