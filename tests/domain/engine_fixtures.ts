/**
 * Shared setup for the engine unit tests: a fixed set of assets and symbols chosen so
 * that quote amounts are easy to work out by hand, and helpers that apply commands,
 * audit every invariant after each one, and snapshot the whole observable state.
 */

import assert from "node:assert/strict";
import type { Command, PlaceOrder } from "../../domain/commands.ts";
import { Engine } from "../../domain/engine.ts";
import type {
  CommandRejected,
  EngineEvent,
  OrderUpdated,
  TradeEvent,
} from "../../domain/events.ts";
import { type AssetSpec, symbolSpec } from "../../domain/market_config.ts";
import type { Side } from "../../domain/types.ts";

export const MAX = Number.MAX_SAFE_INTEGER;

// Assets. AAA and QQQ have 0 decimals so that on a 0-price-decimal symbol quote = price × qty.
export const AAA = 1;
export const QQQ = 2;
export const BTC = 3; // 8 decimals
export const USDT = 4; // 6 decimals
export const DDD = 5; // 1 decimal: with QQQ and price decimals 0, quote = floor(price × qty / 10)

export const ASSETS: AssetSpec[] = [
  { id: AAA, name: "AAA", decimals: 0, displayDecimals: 0 },
  { id: QQQ, name: "QQQ", decimals: 0, displayDecimals: 0 },
  { id: BTC, name: "BTC", decimals: 8, displayDecimals: 8 },
  { id: USDT, name: "USDT", decimals: 6, displayDecimals: 2 },
  { id: DDD, name: "DDD", decimals: 1, displayDecimals: 1 },
];

// Symbols.
/** AAA/QQQ, scale 1: quote = price × qty, no filters, no fees. */
export const SIMPLE = 1;
/** AAA/QQQ with maker 0.1 % (1000 ppm) and taker 0.2 % (2000 ppm). */
export const FEES = 2;
/** AAA/QQQ with step 10, min qty 20, max qty 1000, min notional 500, max price 1000. */
export const LOT = 3;
/** BTC/USDT with price decimals 2: quote = floor(price × qty / 10^4). */
export const BTCUSDT = 4;
/** DDD/QQQ: quote = floor(price × qty / 10). */
export const DUST = 5;
/** AAA/QQQ with step 10 and min qty 10. */
export const STEP = 6;
/** AAA/QQQ whose default self-trade prevention is EXPIRE_TAKER. */
export const DEFSTP = 7;

export const SYMBOLS = [
  symbolSpec({
    id: SIMPLE,
    name: "AAA-QQQ",
    baseAssetId: AAA,
    quoteAssetId: QQQ,
    priceDecimals: 0,
  }),
  symbolSpec({
    id: FEES,
    name: "AAA-QQQ-FEES",
    baseAssetId: AAA,
    quoteAssetId: QQQ,
    priceDecimals: 0,
    makerFeePpm: 1000,
    takerFeePpm: 2000,
  }),
  symbolSpec({
    id: LOT,
    name: "AAA-QQQ-LOT",
    baseAssetId: AAA,
    quoteAssetId: QQQ,
    priceDecimals: 0,
    qtyStepUnits: 10,
    minQtyUnits: 20,
    maxQtyUnits: 1000,
    minNotionalUnits: 500,
    maxPriceTicks: 1000,
  }),
  symbolSpec({
    id: BTCUSDT,
    name: "BTC-USDT",
    baseAssetId: BTC,
    quoteAssetId: USDT,
    priceDecimals: 2,
  }),
  symbolSpec({ id: DUST, name: "DDD-QQQ", baseAssetId: DDD, quoteAssetId: QQQ, priceDecimals: 0 }),
  symbolSpec({
    id: STEP,
    name: "AAA-QQQ-STEP",
    baseAssetId: AAA,
    quoteAssetId: QQQ,
    priceDecimals: 0,
    qtyStepUnits: 10,
    minQtyUnits: 10,
  }),
  symbolSpec({
    id: DEFSTP,
    name: "AAA-QQQ-STP",
    baseAssetId: AAA,
    quoteAssetId: QQQ,
    priceDecimals: 0,
    defaultStp: "EXPIRE_TAKER",
  }),
];

export function newEngine(maxOpenOrdersPerUser?: number): Engine {
  return new Engine({ assets: ASSETS, symbols: SYMBOLS, maxOpenOrdersPerUser });
}

/** Applies `cmd`, then audits every invariant of the engine. */
export function run(e: Engine, cmd: Command): EngineEvent[] {
  const events = e.apply(cmd);
  e.checkInvariants();
  return events;
}

/** Deposits and asserts it was accepted. */
export function deposit(e: Engine, userId: number, assetId: number, amountUnits: number): void {
  const ev = run(e, { type: "deposit", userId, assetId, amountUnits });
  assert.equal(ev.length, 1);
  assert.equal(ev[0].type, "balance", JSON.stringify(ev));
}

export type PlaceArgs = Omit<PlaceOrder, "type" | "symbolId" | "orderType"> & {
  symbolId?: number;
  orderType?: PlaceOrder["orderType"];
};

/** Places an order (LIMIT on SIMPLE unless said otherwise). */
export function place(e: Engine, args: PlaceArgs): EngineEvent[] {
  return run(e, { type: "place", symbolId: SIMPLE, orderType: "LIMIT", ...args });
}

/** Places a LIMIT GTC order on `symbolId` and asserts it was accepted; returns its events. */
export function limit(
  e: Engine,
  userId: number,
  side: Side,
  priceTicks: number,
  qtyUnits: number,
  extra: Partial<PlaceArgs> = {},
): EngineEvent[] {
  const ev = place(e, { userId, side, priceTicks, qtyUnits, ...extra });
  assert.equal(ev[0].type, "accepted", JSON.stringify(ev[0]));
  return ev;
}

/** [available, frozen] of one user and asset. */
export function bal(e: Engine, userId: number, assetId: number): [number, number] {
  const b = e.balance(userId, assetId);
  return [b.availableUnits, b.frozenUnits];
}

export function ofType<T extends EngineEvent["type"]>(
  events: EngineEvent[],
  type: T,
): Extract<EngineEvent, { type: T }>[] {
  return events.filter((x) => x.type === type) as Extract<EngineEvent, { type: T }>[];
}

export function trades(events: EngineEvent[]): TradeEvent[] {
  return ofType(events, "trade");
}

/** The last order update about `orderId` (or the last order update at all). */
export function lastOrder(events: EngineEvent[], orderId?: number): OrderUpdated {
  const os = ofType(events, "order").filter((o) => orderId === undefined || o.orderId === orderId);
  assert.ok(os.length > 0, `no order event in ${JSON.stringify(events)}`);
  return os[os.length - 1];
}

/** Asserts that the events are exactly one rejection and returns it. */
export function rejection(events: EngineEvent[]): CommandRejected {
  assert.equal(events.length, 1, JSON.stringify(events));
  assert.equal(events[0].type, "rejected", JSON.stringify(events));
  return events[0] as CommandRejected;
}

/**
 * Everything observable about the engine's state: balances, fees, supply, every book
 * (depth, update id, resting orders with their holds), id counters and indexes.
 */
export function snapshot(e: Engine) {
  const accounts = [...e.ledger.accounts.values()]
    .map((a) => ({
      userId: a.userId,
      available: [...a.available],
      frozen: [...a.frozen],
      openOrders: a.openOrders,
    }))
    .sort((a, b) => a.userId - b.userId);
  const books = SYMBOLS.map((s) => ({
    symbolId: s.id,
    depth: e.depth(s.id, 1000),
    orders: [...e.restingOrders(s.id)],
  }));
  return {
    accounts,
    fees: [...e.ledger.fees],
    supply: [...e.ledger.supply],
    books,
    nextOrderId: e.nextOrderId,
    nextTradeId: e.nextTradeId,
    openOrderCount: e.openOrderCount,
    cids: [...e.cids.keys()].sort(),
  };
}

/** Ids of the resting orders of a symbol, bids best first then asks best first. */
export function restingIds(e: Engine, symbolId = SIMPLE): number[] {
  return [...e.restingOrders(symbolId)].map((o) => o.orderId);
}
