/** Edge cases found in review: id reuse, value checks on amend, deltas of untouched levels. */

import assert from "node:assert/strict";
import { Engine } from "../../domain/engine.ts";
import type { EngineEvent } from "../../domain/events.ts";
import { symbolSpec } from "../../domain/market_config.ts";

/** BASE 4 decimals, QUOTE 0 decimals, price 0 decimals: quote = floor(price × qty / 10^4). */
function engine(minNotionalUnits = 1): Engine {
  const e = new Engine({
    assets: [
      { id: 1, name: "BASE", decimals: 4, displayDecimals: 4 },
      { id: 2, name: "QUOTE", decimals: 0, displayDecimals: 0 },
    ],
    symbols: [
      symbolSpec({
        id: 0,
        name: "BASE_QUOTE",
        baseAssetId: 1,
        quoteAssetId: 2,
        priceDecimals: 0,
        qtyStepUnits: 10_000,
        minQtyUnits: 10_000,
        minNotionalUnits,
      }),
    ],
  });
  e.apply({ type: "deposit", userId: 1, assetId: 2, amountUnits: 1_000 });
  e.apply({ type: "deposit", userId: 2, assetId: 1, amountUnits: 1_000_000 });
  return e;
}

function rejectionOf(events: EngineEvent[]): string | null {
  const r = events.find((e) => e.type === "rejected");
  return r && r.type === "rejected" ? r.reason : null;
}

Deno.test("an explicit order id below the next free id is refused even when that order is closed", () => {
  const e = engine();
  const sell = e.apply({
    type: "place",
    userId: 2,
    symbolId: 0,
    side: "SELL",
    orderType: "LIMIT",
    priceTicks: 10,
    qtyUnits: 10_000,
    orderId: 7,
  });
  assert.equal(rejectionOf(sell), null);
  e.apply({
    type: "place",
    userId: 1,
    symbolId: 0,
    side: "BUY",
    orderType: "LIMIT",
    priceTicks: 10,
    qtyUnits: 10_000,
  });
  assert.equal(e.openOrderCount, 0, "order 7 filled and closed");
  const reuse = e.apply({
    type: "place",
    userId: 2,
    symbolId: 0,
    side: "SELL",
    orderType: "LIMIT",
    priceTicks: 10,
    qtyUnits: 10_000,
    orderId: 7,
  });
  assert.equal(rejectionOf(reuse), "DUPLICATE_ORDER_ID");
  assert.equal(e.openOrderCount, 0);
  e.checkInvariants();
});

Deno.test("reducing an order's qty below the minimum value is refused and changes nothing", () => {
  const e = engine(2);
  // Buy 2.0000 at 1: value 2 (the minimum); the hold is 2.
  e.apply({
    type: "place",
    userId: 1,
    symbolId: 0,
    side: "BUY",
    orderType: "LIMIT",
    priceTicks: 1,
    qtyUnits: 20_000,
  });
  const before = e.openOrder(1);
  const out = e.apply({ type: "amend", userId: 1, orderId: 1, qtyUnits: 10_000 });
  assert.equal(rejectionOf(out), "NOTIONAL_TOO_SMALL");
  assert.deepEqual(e.openOrder(1), before);
  assert.deepEqual(e.balance(1, 2), { availableUnits: 998, frozenUnits: 2 });
  e.checkInvariants();
});

Deno.test("reducing a buy to a value that floors to 0 is refused, so no fill can be free", () => {
  // Lot 0.5000 BASE, minimum value 0: 1.0000 at 1 is worth 1; 0.5000 at 1 floors to 0.
  const e2 = new Engine({
    assets: [
      { id: 1, name: "BASE", decimals: 4, displayDecimals: 4 },
      { id: 2, name: "QUOTE", decimals: 0, displayDecimals: 0 },
    ],
    symbols: [
      symbolSpec({
        id: 0,
        name: "BASE_QUOTE",
        baseAssetId: 1,
        quoteAssetId: 2,
        priceDecimals: 0,
        qtyStepUnits: 5_000,
      }),
    ],
  });
  e2.apply({ type: "deposit", userId: 1, assetId: 2, amountUnits: 100 });
  // 1.0000 at 1 is worth 1 (hold 1); reduced to 0.5000 it is worth floor(0.5) = 0.
  e2.apply({
    type: "place",
    userId: 1,
    symbolId: 0,
    side: "BUY",
    orderType: "LIMIT",
    priceTicks: 1,
    qtyUnits: 10_000,
  });
  assert.equal(
    rejectionOf(e2.apply({ type: "amend", userId: 1, orderId: 1, qtyUnits: 5_000 })),
    "NOTIONAL_TOO_SMALL",
  );
  assert.equal(e2.openOrder(1)?.holdUnits, 1);
  e2.checkInvariants();
});

Deno.test("a taker expired by STP before touching a level emits no delta for that level", () => {
  const e = engine(0);
  e.apply({ type: "deposit", userId: 1, assetId: 1, amountUnits: 10_000 });
  e.apply({
    type: "place",
    userId: 1,
    symbolId: 0,
    side: "SELL",
    orderType: "LIMIT",
    priceTicks: 10,
    qtyUnits: 10_000,
  });
  const updateId = e.depth(0, 10)?.updateId;
  const out = e.apply({
    type: "place",
    userId: 1,
    symbolId: 0,
    side: "BUY",
    orderType: "LIMIT",
    priceTicks: 10,
    qtyUnits: 10_000,
    stp: "EXPIRE_TAKER",
  });
  assert.equal(out.filter((x) => x.type === "book").length, 0);
  assert.equal(e.depth(0, 10)?.updateId, updateId);
  const end = out.find((x) => x.type === "order");
  assert.ok(end && end.type === "order" && end.status === "EXPIRED" && end.reason === "STP_TAKER");
  e.checkInvariants();
});
