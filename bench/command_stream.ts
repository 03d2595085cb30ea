/**
 * Seeded command streams for benchmarks and generated replay datasets: a BTC_USDT market,
 * users with large balances, limit orders around a drifting mid price, and cancels of
 * earlier orders. The same seed always gives the same stream.
 */

import type { Command, PlaceOrder } from "../domain/commands.ts";
import type { AssetSpec, SymbolSpec } from "../domain/market_config.ts";
import { symbolSpec } from "../domain/market_config.ts";
import { Prng } from "./prng.ts";

export const BENCH_ASSETS: AssetSpec[] = [
  { id: 1, name: "BTC", decimals: 8, displayDecimals: 6 },
  { id: 2, name: "USDT", decimals: 6, displayDecimals: 2 },
];

/** BTC_USDT: prices in cents, quantities in steps of 0.00001 BTC (1,000 units). */
export const BENCH_SYMBOL: SymbolSpec = symbolSpec({
  id: 0,
  name: "BTC_USDT",
  baseAssetId: 1,
  quoteAssetId: 2,
  priceDecimals: 2,
  qtyStepUnits: 1_000,
  minQtyUnits: 1_000,
  makerFeePpm: 1_000,
  takerFeePpm: 2_000,
});

export interface StreamOptions {
  seed: number;
  users: number;
  places: number;
  cancels: number;
  /** Start price in ticks (default 50,000.00). */
  midTicks?: number;
  /**
   * Spread of limit prices around the mid, in ticks (default 2,000: ±20.00). Orders on
   * the far side of the mid cross and trade.
   */
  spreadTicks?: number;
  /** Share of places that cross the mid and take liquidity (default 0.3). */
  takeShare?: number;
  /** Share of places that are market orders (default 0: limit only, as the peer). */
  marketShare?: number;
  /**
   * Order id of the first place (default 1). Set it past the ids of orders already in the
   * book, e.g. a {@link generateRestingBook} of `count` orders uses ids 1..count.
   */
  firstOrderId?: number;
}

export interface CommandStream {
  /** Deposits that fund every user; apply before `commands`. */
  funding: Command[];
  commands: Command[];
  places: number;
  cancels: number;
}

/** Units each user receives: 100,000 BTC and 5,000,000,000 USDT... scaled to fit 2^53. */
export function fundingFor(users: number): { baseUnits: number; quoteUnits: number } {
  // Keep the supply of each asset well below 2^53 whatever the number of users.
  const budget = 4e15;
  return {
    baseUnits: Math.floor(budget / users / 1000) * 1000,
    quoteUnits: Math.floor(budget / users),
  };
}

/**
 * Generates `places` limit orders (GTC) and `cancels` cancels interleaved at random, each
 * cancel naming an order placed earlier (some of which will already have filled).
 */
export function generateStream(o: StreamOptions): CommandStream {
  const rnd = new Prng(o.seed);
  const spread = o.spreadTicks ?? 2_000;
  const takeShare = o.takeShare ?? 0.3;
  const marketShare = o.marketShare ?? 0;
  let mid = o.midTicks ?? 5_000_000;
  const funding: Command[] = [];
  const { baseUnits, quoteUnits } = fundingFor(o.users);
  for (let u = 1; u <= o.users; u++) {
    funding.push({ type: "deposit", userId: u, assetId: 1, amountUnits: baseUnits });
    funding.push({ type: "deposit", userId: u, assetId: 2, amountUnits: quoteUnits });
  }
  const commands: Command[] = [];
  const placed: PlaceOrder[] = [];
  let cancelsLeft = o.cancels;
  let placesLeft = o.places;
  let nextId = o.firstOrderId ?? 1;
  while (placesLeft > 0 || cancelsLeft > 0) {
    const total = placesLeft + cancelsLeft;
    if (cancelsLeft > 0 && placed.length > 0 && rnd.next() * total < cancelsLeft) {
      // Mostly recent orders, like real cancel traffic.
      const back = Math.min(placed.length, 1 + Math.floor(-Math.log(1 - rnd.next()) * 200));
      const target = placed[placed.length - back];
      commands.push({ type: "cancel", userId: target.userId, orderId: target.orderId });
      cancelsLeft--;
      continue;
    }
    // Drift the mid by a few ticks.
    mid += rnd.int(-3, 3);
    if (mid < 100_000) mid = 100_000;
    const side = rnd.next() < 0.5 ? "BUY" : "SELL";
    const userId = rnd.int(1, o.users);
    const qtyUnits = rnd.int(1, 100) * 1_000;
    const take = rnd.next() < takeShare;
    // Passive orders rest on their own side of the mid; takers cross it a little.
    const offset = take ? -rnd.int(0, spread >> 3) : rnd.int(1, spread);
    const priceTicks = side === "BUY" ? mid - offset : mid + offset;
    let cmd: PlaceOrder;
    if (marketShare > 0 && rnd.next() < marketShare) {
      cmd = {
        type: "place",
        userId,
        symbolId: 0,
        side,
        orderType: "MARKET",
        qtyUnits,
        orderId: nextId++,
      };
    } else {
      cmd = {
        type: "place",
        userId,
        symbolId: 0,
        side,
        orderType: "LIMIT",
        timeInForce: "GTC",
        priceTicks,
        qtyUnits,
        orderId: nextId++,
      };
      placed.push(cmd);
    }
    commands.push(cmd);
    placesLeft--;
  }
  return { funding, commands, places: o.places, cancels: o.cancels };
}

/**
 * `count` resting limit orders that never cross: bids below the mid, asks above it,
 * spread over `levels` price levels per side, with order ids 1..count. Used for deep-book
 * and memory scenarios.
 */
export function generateRestingBook(
  seed: number,
  users: number,
  count: number,
  levels: number,
  midTicks = 5_000_000,
): Command[] {
  return Array.from(restingBookCommands(seed, users, count, levels, midTicks));
}

/**
 * The same commands as {@link generateRestingBook}, one at a time, so that a large book can
 * be built without holding every command in memory (the memory scenario measures the
 * engine, not its input).
 */
export function* restingBookCommands(
  seed: number,
  users: number,
  count: number,
  levels: number,
  midTicks = 5_000_000,
): Generator<PlaceOrder> {
  const rnd = new Prng(seed);
  for (let i = 0; i < count; i++) {
    const side = i % 2 === 0 ? "BUY" : "SELL";
    const offset = 1 + rnd.int(0, levels - 1);
    yield {
      type: "place",
      userId: rnd.int(1, users),
      symbolId: 0,
      side,
      orderType: "LIMIT",
      timeInForce: "GTC",
      priceTicks: side === "BUY" ? midTicks - offset : midTicks + offset,
      qtyUnits: rnd.int(1, 100) * 1_000,
      orderId: i + 1,
    };
  }
}
