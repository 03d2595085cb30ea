/**
 * The account shard and the matcher run as separate stages with queues between them:
 * acquisition runs ahead of matching, and settlement runs behind it. Whatever the
 * interleaving, the shard's invariants must hold after every step (conservation, frozen =
 * what orders hold including amend extras in flight, no negative balance), and once the
 * queues drain, the shard and the books must agree order by order.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { Prng } from "../../bench/prng.ts";
import type { Command } from "../../domain/commands.ts";
import { EventBuffer } from "../../domain/event_buffer.ts";
import { buildMarkets, symbolSpec } from "../../domain/market_config.ts";
import type { MatchAmend, MatchCancel, MatchPlace } from "../../domain/match_input.ts";
import { Matcher } from "../../domain/matcher.ts";
import { quoteUnits } from "../../domain/money.ts";
import { NIL } from "../../domain/order_store.ts";
import { Risk } from "../../domain/risk.ts";
import { replaySettlement, SettlementRecorder } from "../../domain/settlement_log.ts";
import type { Side, StpMode } from "../../domain/types.ts";

const ASSETS = [
  { id: 0, name: "BASE", decimals: 4, displayDecimals: 4 },
  { id: 1, name: "QUOTE", decimals: 2, displayDecimals: 2 },
];
const SYMBOL = symbolSpec({
  id: 0,
  name: "BASE_QUOTE",
  baseAssetId: 0,
  quoteAssetId: 1,
  priceDecimals: 2,
  qtyStepUnits: 100,
  minQtyUnits: 100,
  makerFeePpm: 1_000,
  takerFeePpm: 2_500,
});

type ToMatch =
  | { kind: "place"; m: MatchPlace }
  | { kind: "cancel"; m: MatchCancel }
  | { kind: "amend"; m: MatchAmend };

function randomCommand(rnd: Prng, users: number, placed: number[]): Command {
  const userId = rnd.int(1, users);
  const r = rnd.next();
  if (r < 0.08) {
    return { type: "deposit", userId, assetId: rnd.int(0, 1), amountUnits: rnd.int(1, 50_000) };
  }
  if (r < 0.12) {
    return { type: "withdraw", userId, assetId: rnd.int(0, 1), amountUnits: rnd.int(1, 20_000) };
  }
  if (r < 0.3 && placed.length > 0) {
    return {
      type: "cancel",
      userId: rnd.next() < 0.8 ? userId : rnd.int(1, users),
      orderId: placed[rnd.int(0, placed.length - 1)],
    };
  }
  if (r < 0.45 && placed.length > 0) {
    const orderId = placed[rnd.int(0, placed.length - 1)];
    return rnd.next() < 0.5 ? { type: "amend", userId, orderId, qtyUnits: rnd.int(1, 8) * 100 } : {
      type: "amend",
      userId,
      orderId,
      priceTicks: rnd.int(95, 105),
      qtyUnits: rnd.next() < 0.5 ? undefined : rnd.int(1, 8) * 100,
    };
  }
  const side: Side = rnd.next() < 0.5 ? "BUY" : "SELL";
  const stp: StpMode =
    (["NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"] as const)[rnd.int(0, 3)];
  const k = rnd.next();
  if (k < 0.1) {
    return {
      type: "place",
      userId,
      symbolId: 0,
      side,
      orderType: "MARKET",
      qtyUnits: rnd.int(1, 5) * 100,
      stp,
    };
  }
  if (k < 0.15 && side === "BUY") {
    return {
      type: "place",
      userId,
      symbolId: 0,
      side,
      orderType: "MARKET",
      quoteUnits: rnd.int(1, 500),
      stp,
    };
  }
  return {
    type: "place",
    userId,
    symbolId: 0,
    side,
    orderType: "LIMIT",
    timeInForce: (["GTC", "GTC", "GTC", "IOC", "FOK"] as const)[rnd.int(0, 4)],
    postOnly: rnd.next() < 0.1,
    priceTicks: rnd.int(95, 105),
    qtyUnits: rnd.int(1, 8) * 100,
    stp,
  };
}

function runStaged(seed: number, steps: number): void {
  const rnd = new Prng(seed);
  const { assetsById, marketsById } = buildMarkets(ASSETS, [SYMBOL]);
  const matcher = new Matcher(marketsById);
  const risk = new Risk({
    assetsById,
    marketsById,
    assetSlots: 2,
    maxOpenOrdersPerUser: 50,
    locateResting: (id) => {
      const slot = matcher.slotOf(id);
      return slot === NIL ? -1 : matcher.store.riskRefOf(slot);
    },
  });
  risk.out = new EventBuffer();
  matcher.out = new EventBuffer();
  const recorder = new SettlementRecorder();
  const toMatch: ToMatch[] = [];
  const toSettle: Float64Array[] = [];
  const placed: number[] = [];
  const users = 3;
  for (let u = 1; u <= users; u++) {
    risk.deposit({ type: "deposit", userId: u, assetId: 0, amountUnits: 100_000 });
    risk.deposit({ type: "deposit", userId: u, assetId: 1, amountUnits: 100_000 });
  }
  let issued = 0;
  const audit = (where: string) => {
    try {
      risk.checkInvariants();
    } catch (e) {
      throw new Error(`seed ${seed}, ${where}: ${(e as Error).message}`);
    }
  };
  while (issued < steps || toMatch.length > 0 || toSettle.length > 0) {
    const r = rnd.next();
    if (issued < steps && (r < 0.4 || (toMatch.length === 0 && toSettle.length === 0))) {
      const cmd = randomCommand(rnd, users, placed);
      issued++;
      risk.out.reset();
      if (cmd.type === "place") {
        const m = risk.acquirePlace(cmd);
        if (m !== null) {
          toMatch.push({ kind: "place", m: { ...m } });
          placed.push(m.orderId);
        }
      } else if (cmd.type === "cancel") {
        const m = risk.acquireCancel(cmd);
        if (m !== null) toMatch.push({ kind: "cancel", m: { ...m } });
      } else if (cmd.type === "amend") {
        const m = risk.acquireAmend(cmd);
        if (m !== null) toMatch.push({ kind: "amend", m: { ...m } });
      } else if (cmd.type === "deposit") {
        risk.deposit(cmd);
      } else {
        risk.withdraw(cmd);
      }
      audit(`after acquiring ${JSON.stringify(cmd)}`);
    } else if (toMatch.length > 0 && (r < 0.75 || toSettle.length === 0)) {
      const next = toMatch.shift() as ToMatch;
      recorder.reset();
      matcher.out.reset();
      if (next.kind === "place") matcher.place(next.m, recorder);
      else if (next.kind === "cancel") matcher.cancel(next.m, recorder);
      else matcher.amend(next.m, recorder);
      toSettle.push(recorder.take());
    } else if (toSettle.length > 0) {
      risk.out.reset();
      replaySettlement(toSettle.shift() as Float64Array, risk);
      audit("after a settlement step");
    }
  }
  // Drained: every resting order has exactly its hold record, covering its remainder.
  const s = matcher.store;
  const h = risk.holds;
  let resting = 0;
  matcher.checkInvariants((o) => {
    resting++;
    const ref = s.riskRefOf(o);
    assert.ok(
      h.inUse(ref) && h.orderIdOf(ref) === s.idOf(o),
      `seed ${seed}: order ${s.idOf(o)} lost its hold`,
    );
    assert.equal(
      h.remainingOf(ref),
      s.remainingOf(o),
      `seed ${seed}: remaining of order ${s.idOf(o)}`,
    );
    assert.equal(
      h.pendingOf(ref),
      0,
      `seed ${seed}: order ${s.idOf(o)} still holds an amend extra`,
    );
    assert.ok(!h.amending(ref), `seed ${seed}: order ${s.idOf(o)} still marked as being amended`);
    const need = s.isSell(o)
      ? s.remainingOf(o)
      : quoteUnits(s.priceOf(o), s.remainingOf(o), marketsById[0]!.scale);
    assert.ok(
      h.holdOf(ref) >= need,
      `seed ${seed}: order ${s.idOf(o)} holds ${h.holdOf(ref)}, needs ${need}`,
    );
  });
  assert.equal(
    h.size,
    resting,
    `seed ${seed}: ${h.size} hold records for ${resting} resting orders`,
  );
  audit("drained");
}

Deno.test("acquisition ahead of matching and settlement behind it keep the shard's invariants, and agree once drained", () => {
  const seed = Number(Deno.env.get("PROPERTY_SEED") ?? 0x57a6ed);
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 2 ** 31 - 1 }),
      (streamSeed) => runStaged(streamSeed, 150),
    ),
    { seed, numRuns: 300 },
  );
});
