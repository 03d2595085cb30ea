/**
 * Property tests: the engine (domain/engine.ts) against the naive reference engine
 * (reference_engine.ts) on seeded random command streams.
 *
 * Each stream runs on a fresh pair of engines. After every command the test compares the
 * events (all but book deltas, exactly, reject messages aside), rebuilds each book from the
 * engine's book deltas and compares it with the reference book, compares every resting
 * order (priority order, quantities, hold), every balance and every fee account, and runs
 * engine.checkInvariants().
 *
 * Failures print fast-check's seed and shrunk counterexample, and the concrete commands of
 * that counterexample. Re-run one seed with
 *   PROPERTY_SEED=<seed> deno test --allow-read --allow-env=PROPERTY_SEED,PROPERTY_RUNS \
 *     tests/domain/engine_property_test.ts
 * PROPERTY_RUNS=<n> multiplies the number of runs (soak testing).
 */

import fc from "fast-check";
import assert from "node:assert/strict";
import type { Command, PlaceOrder } from "../../domain/commands.ts";
import { Engine } from "../../domain/engine.ts";
import type { BookDelta, EngineEvent, OrderUpdated } from "../../domain/events.ts";
import type { AssetSpec, SymbolSpec } from "../../domain/market_config.ts";
import { RejectCode } from "../../domain/reject_codes.ts";
import type { Side, StpMode, TimeInForce } from "../../domain/types.ts";
import { ReferenceEngine } from "./reference_engine.ts";

// ------------------------------------------------------------------ configuration

const MAX_UNITS = Number.MAX_SAFE_INTEGER;

const ASSETS: AssetSpec[] = [
  { id: 0, name: "BTC", decimals: 8, displayDecimals: 8 },
  { id: 1, name: "USD", decimals: 6, displayDecimals: 2 },
  { id: 2, name: "PTS", decimals: 0, displayDecimals: 0 },
  { id: 3, name: "EUR", decimals: 2, displayDecimals: 2 },
];

/** A symbol shape: its assets and scale, a small price band, a lot size. */
interface Preset {
  name: string;
  baseAssetId: number;
  quoteAssetId: number;
  priceDecimals: number;
  /** Lowest price of the band; the band is 9 ticks wide. */
  priceLowTicks: number;
  maxPriceTicks: number;
  stepUnits: number;
  /** maxQty = step × this. */
  maxSteps: number;
  /** minNotional used when the scenario turns it on. */
  minNotionalUnits: number;
}

const PRESETS: Preset[] = [
  // quote = p·q·10^6 / 10^(2+8): floors on most fills.
  {
    name: "BTC-USD",
    baseAssetId: 0,
    quoteAssetId: 1,
    priceDecimals: 2,
    priceLowTicks: 100,
    maxPriceTicks: MAX_UNITS,
    stepUnits: 1000,
    maxSteps: 30,
    minNotionalUnits: 15,
  },
  // quote = p·q exactly.
  {
    name: "PTS-EUR",
    baseAssetId: 2,
    quoteAssetId: 3,
    priceDecimals: 2,
    priceLowTicks: 10,
    maxPriceTicks: 17, // the top of the band is above the max price
    stepUnits: 1,
    maxSteps: 30,
    minNotionalUnits: 20,
  },
  // quote = p·q·1000: the multiplying scale.
  {
    name: "PTS-USD",
    baseAssetId: 2,
    quoteAssetId: 1,
    priceDecimals: 3,
    priceLowTicks: 1,
    maxPriceTicks: MAX_UNITS,
    stepUnits: 1,
    maxSteps: 30,
    minNotionalUnits: 2500,
  },
  // quote = p·q / 1000, with a lot step of 50: floors, steps, assets crossing PTS-EUR.
  {
    name: "EUR-PTS",
    baseAssetId: 3,
    quoteAssetId: 2,
    priceDecimals: 1,
    priceLowTicks: 95,
    maxPriceTicks: MAX_UNITS,
    stepUnits: 50,
    maxSteps: 40,
    minNotionalUnits: 8,
  },
  // quote = p·q / 10^6: tiny quote amounts, heavy flooring.
  {
    name: "BTC-EUR",
    baseAssetId: 0,
    quoteAssetId: 3,
    priceDecimals: 0,
    priceLowTicks: 60, // one lot at the bottom of the band is worth 0 quote units
    maxPriceTicks: MAX_UNITS,
    stepUnits: 10_000,
    maxSteps: 30,
    minNotionalUnits: 5,
  },
];

const FEE_PPM_CHOICES = [0, 0, 100, 1000, 2500, 10_000, 999_999, 1_000_000];
const STP_CHOICES: StpMode[] = ["NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"];
const CIDS = ["a", "b", "c", "x.1"];
const BAD_CIDS = ["", "has space", "x".repeat(37)];

interface SymbolChoice {
  preset: number;
  makerFeePpm: number;
  takerFeePpm: number;
  minNotional: boolean;
  minQtySteps: number;
  defaultStp: StpMode;
}

interface Scenario {
  symbols: SymbolChoice[];
  users: number;
  maxOpenOrdersPerUser: number;
}

const symbolChoiceArb: fc.Arbitrary<SymbolChoice> = fc.record({
  preset: fc.nat(PRESETS.length - 1),
  makerFeePpm: fc.constantFrom(...FEE_PPM_CHOICES),
  takerFeePpm: fc.constantFrom(...FEE_PPM_CHOICES),
  minNotional: fc.boolean(),
  minQtySteps: fc.constantFrom(1, 1, 2),
  defaultStp: fc.constantFrom(...STP_CHOICES),
});

function scenarioArb(symbolCount: { min: number; max: number }): fc.Arbitrary<Scenario> {
  return fc.record({
    symbols: fc.uniqueArray(symbolChoiceArb, {
      minLength: symbolCount.min,
      maxLength: symbolCount.max,
      selector: (s) => s.preset,
    }),
    users: fc.constantFrom(3, 4),
    maxOpenOrdersPerUser: fc.constantFrom(4, 10_000, 10_000),
  });
}

/** The symbol specs of a scenario: symbol ids are 1 + the preset index. */
function symbolSpecs(sc: Scenario): SymbolSpec[] {
  return sc.symbols.map((c) => {
    const p = PRESETS[c.preset];
    return {
      id: c.preset + 1,
      name: p.name,
      baseAssetId: p.baseAssetId,
      quoteAssetId: p.quoteAssetId,
      priceDecimals: p.priceDecimals,
      priceDisplayDecimals: p.priceDecimals,
      qtyStepUnits: p.stepUnits,
      minQtyUnits: p.stepUnits * c.minQtySteps,
      maxQtyUnits: p.stepUnits * p.maxSteps,
      minNotionalUnits: c.minNotional ? p.minNotionalUnits : 0,
      maxPriceTicks: p.maxPriceTicks,
      makerFeePpm: c.makerFeePpm,
      takerFeePpm: c.takerFeePpm,
      defaultStp: c.defaultStp,
    };
  });
}

// ------------------------------------------------------------------ abstract commands

/**
 * Commands are generated abstractly (indices and multipliers) and made concrete against
 * the scenario and the reference state when applied, so that they stay meaningful while
 * fast-check shrinks them.
 */
type PriceSel = number | "zero" | "fraction" | "huge";
type QtySel = number | "zero" | "fraction" | "offStep" | "huge";
type TargetSel = { pick: "own" | "anyOpen" | "past" | "unknown"; n: number };
type CidSel = number | "none" | "bad";
type QuoteSel = number | "zero" | "tiny";
/** A multiple of the asset's unit; or, for a withdrawal, all but `leave` units available. */
type AmountSel = number | "zero" | "huge" | { leave: number };
/** Malformed fields a client might send; each makes the place command invalid. */
const GARBAGE = [
  "side",
  "orderType",
  "timeInForce",
  "stp",
  "limitQuote",
  "orderIdZero",
  "orderIdFraction",
] as const;
type Garbage = typeof GARBAGE[number];

type Step =
  | {
    k: "place";
    user: number;
    sym: number;
    side: Side;
    shape:
      | "limit"
      | "mktQty"
      | "mktQuote"
      | "mktBoth"
      | "mktNeither"
      | "mktPriced"
      | "mktSellQuote";
    tif: TimeInForce | undefined;
    /** "force": post-only even where it is not allowed. */
    postOnly: "no" | "yes" | "force";
    price: PriceSel;
    qty: QtySel;
    quote: QuoteSel;
    garbage: Garbage | null;
    stp: StpMode | undefined;
    cid: CidSel;
    explicitId: TargetSel | null;
  }
  | {
    k: "cancel";
    user: number;
    by: "id" | "cid" | "neither";
    target: TargetSel;
    cid: number;
    sym: number | null;
  }
  | {
    k: "amend";
    user: number;
    target: TargetSel;
    qty:
      | { mode: "keep" }
      | { mode: "reduce"; steps: number }
      | { mode: "total"; steps: number }
      | { mode: "offStep" }
      | { mode: "zero" };
    price:
      | { mode: "keep" }
      | { mode: "same" }
      | { mode: "band"; idx: number }
      | { mode: "zero" }
      | { mode: "huge" };
  }
  | { k: "deposit" | "withdraw"; user: number; asset: number; amount: AmountSel }
  | { k: "badUser"; which: "place" | "deposit" | "withdraw" };

/** Relative weights of command kinds; `odd` is the per-100 chance of each malformed field. */
interface Weights {
  limit: number;
  market: number;
  cancel: number;
  amend: number;
  transfer: number;
  /** Per-100 share of IOC and FOK among limit orders. */
  immediate: number;
  odd: number;
}

/** Mostly `usual`, sometimes (`odd` in 100) `unusual`. */
function mostly<T>(odd: number, usual: fc.Arbitrary<T>, unusual: fc.Arbitrary<T>): fc.Arbitrary<T> {
  return fc.oneof({ weight: 100 - odd, arbitrary: usual }, { weight: odd, arbitrary: unusual });
}

function targetArb(odd: number): fc.Arbitrary<TargetSel> {
  return fc.record({
    pick: mostly<TargetSel["pick"]>(
      odd * 3,
      fc.constant("own"),
      fc.constantFrom("anyOpen", "past", "unknown"),
    ),
    n: fc.nat(50),
  });
}

const userArb = fc.nat(3);

function placeArb(w: Weights): fc.Arbitrary<Step> {
  const odd = w.odd;
  const shape = fc.oneof(
    { weight: w.limit, arbitrary: fc.constant("limit" as const) },
    { weight: w.market, arbitrary: fc.constantFrom("mktQty" as const, "mktQuote" as const) },
    {
      weight: Math.max(1, Math.round((w.limit + w.market) * odd / 100)),
      arbitrary: fc.constantFrom(
        "mktBoth" as const,
        "mktNeither" as const,
        "mktPriced" as const,
        "mktSellQuote" as const,
      ),
    },
  );
  return fc.record({
    k: fc.constant("place" as const),
    user: userArb,
    sym: mostly(odd, fc.nat(1), fc.constant(2)), // 2: an unknown symbol
    side: fc.constantFrom<Side>("BUY", "SELL"),
    shape,
    tif: fc.oneof(
      { weight: 85 - w.immediate, arbitrary: fc.constant(undefined) },
      { weight: 15, arbitrary: fc.constant<TimeInForce>("GTC") },
      { weight: w.immediate, arbitrary: fc.constantFrom<TimeInForce>("IOC", "FOK") },
    ),
    postOnly: fc.oneof(
      { weight: 85 - odd, arbitrary: fc.constant("no" as const) },
      { weight: 15, arbitrary: fc.constant("yes" as const) },
      { weight: odd, arbitrary: fc.constant("force" as const) },
    ),
    price: mostly<PriceSel>(odd, fc.nat(5), fc.constantFrom("zero", "fraction", "huge")),
    qty: mostly<QtySel>(
      odd * 2,
      fc.oneof(
        { weight: 9, arbitrary: fc.integer({ min: 1, max: 12 }) },
        { weight: 1, arbitrary: fc.integer({ min: 13, max: 32 }) },
      ),
      fc.constantFrom("zero", "fraction", "offStep", "huge"),
    ),
    quote: mostly<QuoteSel>(odd, fc.integer({ min: 1, max: 40 }), fc.constantFrom("zero", "tiny")),
    garbage: mostly<Garbage | null>(odd, fc.constant(null), fc.constantFrom(...GARBAGE)),
    stp: fc.oneof(
      { weight: 2, arbitrary: fc.constant(undefined) },
      { weight: 3, arbitrary: fc.constantFrom(...STP_CHOICES) },
    ),
    cid: fc.oneof(
      { weight: 55 - odd, arbitrary: fc.constant("none" as const) },
      { weight: 45, arbitrary: fc.nat(CIDS.length - 1) },
      { weight: odd, arbitrary: fc.constant("bad" as const) },
    ),
    explicitId: mostly<TargetSel | null>(odd, fc.constant(null), targetArb(odd)),
  });
}

function stepArb(w: Weights): fc.Arbitrary<Step> {
  const odd = w.odd;
  const cancel: fc.Arbitrary<Step> = fc.record({
    k: fc.constant("cancel" as const),
    user: userArb,
    by: fc.oneof(
      { weight: 65 - odd, arbitrary: fc.constant("id" as const) },
      { weight: 35, arbitrary: fc.constant("cid" as const) },
      { weight: odd, arbitrary: fc.constant("neither" as const) },
    ),
    target: targetArb(odd),
    cid: fc.nat(CIDS.length - 1),
    sym: mostly<number | null>(odd * 2, fc.constant(null), fc.nat(2)),
  });
  const amend: fc.Arbitrary<Step> = fc.record({
    k: fc.constant("amend" as const),
    user: userArb,
    target: targetArb(odd),
    qty: fc.oneof(
      { weight: 25, arbitrary: fc.constant({ mode: "keep" as const }) },
      {
        weight: 45,
        arbitrary: fc.record({
          mode: fc.constant("reduce" as const),
          steps: fc.integer({ min: 1, max: 3 }),
        }),
      },
      {
        weight: 20,
        arbitrary: fc.record({
          mode: fc.constant("total" as const),
          steps: fc.integer({ min: 1, max: 32 }),
        }),
      },
      {
        weight: odd,
        arbitrary: fc.constantFrom({ mode: "offStep" as const }, { mode: "zero" as const }),
      },
    ),
    price: fc.oneof(
      { weight: 30, arbitrary: fc.constant({ mode: "keep" as const }) },
      { weight: 10, arbitrary: fc.constant({ mode: "same" as const }) },
      { weight: 40, arbitrary: fc.record({ mode: fc.constant("band" as const), idx: fc.nat(8) }) },
      {
        weight: odd,
        arbitrary: fc.constantFrom({ mode: "zero" as const }, { mode: "huge" as const }),
      },
    ),
  });
  const transfer: fc.Arbitrary<Step> = fc.record({
    k: fc.constantFrom("deposit" as const, "deposit" as const, "withdraw" as const),
    user: userArb,
    asset: mostly(odd, fc.nat(3), fc.constant(4)), // 4: an unknown asset
    amount: fc.oneof(
      { weight: 85 - odd, arbitrary: fc.integer({ min: 1, max: 30 }) },
      // Leaves a balance a few units short of or above what the next order needs.
      { weight: 15, arbitrary: fc.record({ leave: fc.nat(3) }) },
      { weight: odd, arbitrary: fc.constantFrom<AmountSel>("zero", "huge") },
    ),
  });
  const badUser: fc.Arbitrary<Step> = fc.record({
    k: fc.constant("badUser" as const),
    which: fc.constantFrom("place" as const, "deposit" as const, "withdraw" as const),
  });
  return fc.oneof(
    { weight: w.limit + w.market, arbitrary: placeArb(w) },
    { weight: w.cancel, arbitrary: cancel },
    { weight: w.amend, arbitrary: amend },
    { weight: w.transfer, arbitrary: transfer },
    { weight: odd > 0 ? 1 : 0, arbitrary: badUser },
  );
}

interface Stream {
  scenario: Scenario;
  /** Initial deposit multipliers, per user and asset (0: none). */
  funding: number[];
  steps: Step[];
}

function streamArb(
  w: Weights,
  symbolCount: { min: number; max: number },
  length: { min: number; max: number },
): fc.Arbitrary<Stream> {
  return fc.record({
    scenario: scenarioArb(symbolCount),
    funding: fc.array(fc.nat(30), { minLength: 16, maxLength: 16 }),
    steps: fc.array(stepArb(w), { minLength: length.min, maxLength: length.max, size: "max" }),
  });
}

// ------------------------------------------------------------------ concrete commands

/** Typical amounts per asset, so deposits fund a handful of orders. */
function depositUnits(specs: SymbolSpec[], ref: ReferenceEngine): number[] {
  const units = ASSETS.map(() => 1);
  for (const s of specs) {
    const p = PRESETS[s.id - 1];
    const qty = BigInt(s.qtyStepUnits * 25);
    const quote = ref.quote(s, BigInt(p.priceLowTicks + 4), qty);
    units[s.baseAssetId] = Math.max(units[s.baseAssetId], Number(qty));
    units[s.quoteAssetId] = Math.max(units[s.quoteAssetId], Number(quote));
  }
  return units;
}

function usedAssets(specs: SymbolSpec[]): number[] {
  const ids = new Set<number>();
  for (const s of specs) ids.add(s.baseAssetId).add(s.quoteAssetId);
  return [...ids].sort();
}

class Concretizer {
  readonly units: number[];
  constructor(
    readonly specs: SymbolSpec[],
    readonly users: number,
    readonly ref: ReferenceEngine,
  ) {
    this.units = depositUnits(specs, ref);
  }

  userId(u: number): number {
    return 1 + (u % this.users);
  }

  spec(sym: number): SymbolSpec {
    return this.specs[sym % this.specs.length];
  }

  symbolId(sym: number): number {
    return sym === 2 ? 77 : this.spec(sym).id;
  }

  bandPrice(spec: SymbolSpec, idx: number): number {
    return PRESETS[spec.id - 1].priceLowTicks + idx;
  }

  /**
   * The order a cancel or amend aims at, and who sends it: "own" is an open order sent by
   * its owner, "anyOpen" an open order sent by the step's user (often not the owner),
   * "past" any id handed out so far (often closed), "unknown" an id never handed out.
   */
  target(userId: number, t: TargetSel): { orderId: number; userId: number } {
    const open = [...this.ref.open].sort((a, b) => a.id - b.id);
    const past = this.ref.nextOrderId - 1;
    if (t.pick === "own" && open.length > 0) {
      const o = open[t.n % open.length];
      return { orderId: o.id, userId: o.userId };
    }
    if (t.pick === "anyOpen" && open.length > 0) {
      return { orderId: open[t.n % open.length].id, userId };
    }
    if (t.pick !== "unknown" && past > 0) return { orderId: 1 + (t.n % past), userId };
    return { orderId: 1_000_000 + t.n, userId };
  }

  /** Buys in the lower 6 ticks of the band, sells in the upper 6: they meet in the middle. */
  price(spec: SymbolSpec, side: Side, p: PriceSel): number {
    if (p === "zero") return 0;
    if (p === "fraction") return 1.5;
    if (p === "huge") return 2 ** 50;
    return this.bandPrice(spec, side === "BUY" ? p : p + 3);
  }

  qty(spec: SymbolSpec, q: QtySel): number {
    if (q === "zero") return 0;
    if (q === "fraction") return spec.qtyStepUnits + 0.5;
    if (q === "offStep") return spec.qtyStepUnits * 3 + (spec.qtyStepUnits > 1 ? 1 : 0);
    if (q === "huge") return spec.maxQtyUnits;
    return spec.qtyStepUnits * q;
  }

  command(s: Step): Command {
    switch (s.k) {
      case "place": {
        const spec = this.spec(s.sym);
        const c: PlaceOrder = {
          type: "place",
          userId: this.userId(s.user),
          symbolId: this.symbolId(s.sym),
          side: s.side,
          orderType: s.shape === "limit" ? "LIMIT" : "MARKET",
        };
        const quoteUnit = Math.max(1, this.units[spec.quoteAssetId] >> 3);
        const quote = s.quote === "zero" ? 0 : s.quote === "tiny" ? 1 : s.quote * quoteUnit;
        if (s.shape === "limit") {
          c.priceTicks = this.price(spec, s.side, s.price);
          c.qtyUnits = this.qty(spec, s.qty);
          if (s.tif !== undefined) c.timeInForce = s.tif;
        } else {
          // A MARKET order is IOC: say so sometimes, and rarely give it a wrong time in force.
          if (s.tif === "IOC") c.timeInForce = s.tif;
          if (s.tif === "GTC" && s.postOnly === "force") c.timeInForce = s.tif;
          if (s.shape === "mktQty" || s.shape === "mktBoth") c.qtyUnits = this.qty(spec, s.qty);
          if (s.shape === "mktQuote" || s.shape === "mktBoth") c.quoteUnits = quote;
          if (s.shape === "mktQuote") c.side = "BUY";
          if (s.shape === "mktSellQuote") {
            c.side = "SELL";
            c.quoteUnits = quote;
          }
          if (s.shape === "mktPriced") {
            c.qtyUnits = this.qty(spec, s.qty);
            c.priceTicks = this.price(spec, s.side, s.price);
          }
        }
        const gtc = s.shape === "limit" && (s.tif === undefined || s.tif === "GTC");
        if (s.postOnly === "force" || (s.postOnly === "yes" && gtc)) c.postOnly = true;
        if (s.stp !== undefined) c.stp = s.stp;
        if (s.cid === "bad") c.cid = BAD_CIDS[s.user % BAD_CIDS.length];
        else if (s.cid !== "none") c.cid = CIDS[s.cid];
        if (s.explicitId !== null) c.orderId = this.target(c.userId, s.explicitId).orderId;
        return s.garbage === null ? c : spoil(c, s.garbage, quote);
      }
      case "cancel": {
        const target = this.target(this.userId(s.user), s.target);
        const c: Command = { type: "cancel", userId: target.userId };
        if (s.by === "id") c.orderId = target.orderId;
        if (s.by === "cid") {
          // Usually the cid of an open order, sent by its owner.
          const withCid = this.ref.open.filter((o) => o.cid !== null);
          if (s.target.pick === "own" && withCid.length > 0) {
            const o = withCid[s.cid % withCid.length];
            c.userId = o.userId;
            c.cid = o.cid as string;
          } else {
            c.cid = CIDS[s.cid];
          }
        }
        if (s.sym !== null) c.symbolId = s.sym === 2 ? 77 : this.spec(s.sym).id;
        return c;
      }
      case "amend": {
        const { userId, orderId } = this.target(this.userId(s.user), s.target);
        const o = this.ref.open.find((x) => x.id === orderId);
        const spec = o !== undefined
          ? this.specs.find((x) => x.id === o.symbolId) as SymbolSpec
          : this.specs[0];
        const qtyNow = o !== undefined ? Number(o.qtyUnits) : spec.qtyStepUnits * 10;
        const c: Command = { type: "amend", userId, orderId };
        const q = s.qty;
        if (q.mode === "reduce") c.qtyUnits = qtyNow - q.steps * spec.qtyStepUnits;
        if (q.mode === "total") c.qtyUnits = q.steps * spec.qtyStepUnits;
        if (q.mode === "offStep") c.qtyUnits = qtyNow - 1;
        if (q.mode === "zero") c.qtyUnits = 0;
        const p = s.price;
        if (p.mode === "same") c.priceTicks = o !== undefined ? Number(o.priceTicks) : 1;
        if (p.mode === "band") c.priceTicks = this.bandPrice(spec, p.idx);
        if (p.mode === "zero") c.priceTicks = 0;
        if (p.mode === "huge") c.priceTicks = 2 ** 50;
        return c;
      }
      case "deposit":
      case "withdraw": {
        const used = usedAssets(this.specs);
        const assetId = s.asset < ASSETS.length ? used[s.asset % used.length] : 9;
        const userId = this.userId(s.user);
        let amountUnits: number;
        if (s.amount === "zero") amountUnits = 0;
        else if (s.amount === "huge") amountUnits = MAX_UNITS - 1000;
        else if (typeof s.amount === "object") {
          const available = this.ref.balance(userId, assetId).availableUnits;
          amountUnits = s.k === "withdraw" && available > s.amount.leave
            ? available - s.amount.leave
            : s.amount.leave + 1;
        } else amountUnits = s.amount * this.units[assetId === 9 ? 0 : assetId];
        return { type: s.k, userId, assetId, amountUnits };
      }
      case "badUser": {
        if (s.which === "place") {
          const spec = this.specs[0];
          return {
            type: "place",
            userId: -1,
            symbolId: spec.id,
            side: "BUY",
            orderType: "LIMIT",
            priceTicks: this.bandPrice(spec, 0),
            qtyUnits: spec.minQtyUnits,
          };
        }
        return { type: s.which, userId: -1, assetId: this.specs[0].baseAssetId, amountUnits: 1 };
      }
    }
  }
}

/** `c` with one malformed field, as an untyped client could send it. */
function spoil(c: PlaceOrder, g: Garbage, quote: number): Command {
  const bad = { ...c } as Record<string, unknown>;
  if (g === "side") bad.side = "HOLD";
  if (g === "orderType") bad.orderType = "STOP";
  if (g === "timeInForce") bad.timeInForce = "DAY";
  if (g === "stp") bad.stp = "EXPIRE_NOBODY";
  if (g === "limitQuote") {
    bad.orderType = "LIMIT";
    bad.quoteUnits = quote;
  }
  if (g === "orderIdZero") bad.orderId = 0;
  if (g === "orderIdFraction") bad.orderId = 2.5;
  return bad as unknown as Command;
}

// ------------------------------------------------------------------ the comparison

/** The book as the engine's deltas describe it: symbol -> side -> price -> qty. */
class DeltaBook {
  readonly levels = new Map<string, Map<number, number>>();
  readonly updateIds = new Map<number, number>();
  /** Deltas that repeated the level's current quantity. */
  noOps = 0;

  apply(e: BookDelta): void {
    const last = this.updateIds.get(e.symbolId) ?? 0;
    assert.equal(e.updateId, last + 1, `book delta update id of symbol ${e.symbolId}`);
    this.updateIds.set(e.symbolId, e.updateId);
    const key = `${e.symbolId}:${e.side}`;
    let side = this.levels.get(key);
    if (side === undefined) this.levels.set(key, side = new Map());
    if ((side.get(e.priceTicks) ?? 0) === e.qtyUnits) this.noOps++;
    if (e.qtyUnits === 0) side.delete(e.priceTicks);
    else side.set(e.priceTicks, e.qtyUnits);
  }

  depth(symbolId: number): { bids: [number, number][]; asks: [number, number][] } {
    const sorted = (side: Side) =>
      [...(this.levels.get(`${symbolId}:${side}`) ?? new Map<number, number>()).entries()].sort(
        (a, b) => side === "BUY" ? b[0] - a[0] : a[0] - b[0],
      );
    return { bids: sorted("BUY"), asks: sorted("SELL") };
  }
}

function withoutBookAndMessages(events: EngineEvent[]): EngineEvent[] {
  return events.filter((e) => e.type !== "book").map((e) => {
    if (e.type !== "rejected") return e;
    assert.ok(e.message.length > 0, "a rejection says why");
    return { ...e, message: "" };
  });
}

interface RunStats {
  commands: number;
  trades: number;
  rejected: number;
  noOpDeltas: number;
  /** Count of each reject reason and order end reason seen. */
  reasons: Record<string, number>;
}

const totals: Record<string, RunStats> = {};

/** Runs one stream through both engines, comparing after every command; throws on a difference. */
function runStream(stream: Stream, stats: RunStats): void {
  const specs = symbolSpecs(stream.scenario);
  const opts = {
    assets: ASSETS,
    symbols: specs,
    maxOpenOrdersPerUser: stream.scenario.maxOpenOrdersPerUser,
  };
  const engine = new Engine(opts);
  const ref = new ReferenceEngine(opts);
  const deltas = new DeltaBook();
  const conc = new Concretizer(specs, stream.scenario.users, ref);
  const users = Array.from({ length: stream.scenario.users + 1 }, (_, i) => i);
  const commands: Command[] = [];
  const assets = usedAssets(specs);
  for (let u = 1; u <= stream.scenario.users; u++) {
    for (const [i, a] of assets.entries()) {
      const k = stream.funding[(u - 1) * 4 + i];
      if (k > 0) {
        commands.push({ type: "deposit", userId: u, assetId: a, amountUnits: k * conc.units[a] });
      }
    }
  }
  const initial = commands.length;
  let i = 0;
  try {
    for (; i < initial + stream.steps.length; i++) {
      if (i >= initial) commands.push(conc.command(stream.steps[i - initial]));
      const cmd = commands[i];
      const got = engine.apply(cmd);
      const want = ref.apply(cmd);
      assert.deepStrictEqual(withoutBookAndMessages(got), want, "events (book deltas aside)");
      for (const e of got) if (e.type === "book") deltas.apply(e);
      engine.checkInvariants();
      ref.checkInvariants();
      for (const s of specs) {
        assert.deepStrictEqual(
          deltas.depth(s.id),
          ref.depth(s.id),
          `book of ${s.name} from deltas`,
        );
        assert.deepStrictEqual(
          [...engine.restingOrders(s.id)],
          ref.restingOrders(s.id),
          `resting orders of ${s.name}`,
        );
      }
      for (const u of users) {
        for (const a of ASSETS) {
          assert.deepStrictEqual(
            engine.balance(u, a.id),
            ref.balance(u, a.id),
            `balance of user ${u} asset ${a.name}`,
          );
        }
      }
      assert.deepStrictEqual(
        ASSETS.map((a) => engine.ledger.fees[a.id]),
        ASSETS.map((a) => ref.fee(a.id)),
        "fee accounts",
      );
      stats.commands++;
      for (const e of want) {
        if (e.type === "trade") stats.trades++;
        if (e.type === "rejected") {
          stats.rejected++;
          stats.reasons[e.reason] = (stats.reasons[e.reason] ?? 0) + 1;
        }
        if (e.type === "order" && e.reason !== null) {
          stats.reasons[e.reason] = (stats.reasons[e.reason] ?? 0) + 1;
        }
      }
    }
    stats.noOpDeltas += deltas.noOps;
  } catch (err) {
    const lines = commands.slice(0, i + 1).map((c, j) =>
      `  ${j === i ? ">" : " "} ${JSON.stringify(c)}`
    );
    const message = err instanceof Error ? err.message : String(err);
    throw new Error(
      `engine and reference differ at command ${i}\n` +
        `symbols: ${JSON.stringify(specs)}\n` +
        `maxOpenOrdersPerUser: ${stream.scenario.maxOpenOrdersPerUser}\n` +
        `commands:\n${lines.join("\n")}\n${message}`,
    );
  }
}

// ------------------------------------------------------------------ seeds and runs

function envNumber(name: string): number | undefined {
  const granted = Deno.permissions.querySync({ name: "env", variable: name }).state === "granted";
  if (!granted) return undefined;
  const v = Deno.env.get(name);
  return v === undefined || v === "" ? undefined : Number(v);
}

const SEED_OVERRIDE = envNumber("PROPERTY_SEED");
const RUNS_FACTOR = envNumber("PROPERTY_RUNS") ?? 1;

function check(name: string, defaultSeed: number, numRuns: number, arb: fc.Arbitrary<Stream>) {
  const seed = SEED_OVERRIDE ?? defaultSeed;
  const stats: RunStats = { commands: 0, trades: 0, rejected: 0, noOpDeltas: 0, reasons: {} };
  try {
    fc.assert(
      fc.property(arb, (stream) => runStream(stream, stats)),
      { seed, numRuns: Math.round(numRuns * RUNS_FACTOR), includeErrorInReport: true },
    );
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new Error(
      `${name}: failed with seed ${seed} (re-run with PROPERTY_SEED=${seed})\n${message}`,
    );
  }
  totals[name] = stats;
}

const BALANCED: Weights = {
  limit: 50,
  market: 8,
  cancel: 10,
  amend: 12,
  transfer: 12,
  immediate: 25,
  odd: 3,
};
const TAKING: Weights = {
  limit: 40,
  market: 40,
  cancel: 5,
  amend: 5,
  transfer: 14,
  immediate: 50,
  odd: 2,
};
const AMENDING: Weights = {
  limit: 45,
  market: 4,
  cancel: 8,
  amend: 35,
  transfer: 10,
  immediate: 10,
  odd: 3,
};

Deno.test("engine agrees with the reference on random one-symbol command streams", () => {
  check(
    "one symbol",
    0x5eed01,
    1200,
    streamArb(BALANCED, { min: 1, max: 1 }, { min: 30, max: 150 }),
  );
});

Deno.test("engine agrees with the reference on two symbols sharing assets", () => {
  check(
    "two symbols",
    0x5eed02,
    900,
    streamArb(BALANCED, { min: 2, max: 2 }, { min: 30, max: 150 }),
  );
});

Deno.test("engine agrees with the reference on streams of market, IOC, FOK and self-trading orders", () => {
  check("taking", 0x5eed03, 900, streamArb(TAKING, { min: 1, max: 2 }, { min: 30, max: 150 }));
});

Deno.test("engine agrees with the reference on streams of amends and cancels", () => {
  check("amending", 0x5eed04, 900, streamArb(AMENDING, { min: 1, max: 2 }, { min: 30, max: 150 }));
});

Deno.test("property runs exercise trades, rejections and every command", () => {
  // Guards against a generator that silently stops producing interesting streams.
  for (const [name, s] of Object.entries(totals)) {
    console.log(
      `${name}: ${s.commands} commands, ${s.trades} trades, ${s.rejected} rejections, ` +
        `${s.noOpDeltas} book deltas that repeat a level's quantity`,
    );
    console.log(`  ${JSON.stringify(s.reasons)}`);
    assert.ok(s.trades > s.commands / 40, `${name}: too few trades (${s.trades})`);
    assert.ok(s.rejected < s.commands / 2, `${name}: too many rejections (${s.rejected})`);
  }
  if (Object.keys(totals).length === 4) {
    const seen = new Set(Object.values(totals).flatMap((s) => Object.keys(s.reasons)));
    const endReasons = [
      "IOC_REMAINDER",
      "MARKET_REMAINDER",
      "FOK_NOT_FILLED",
      "STP_TAKER",
      "STP_MAKER",
      "USER_CANCEL",
    ];
    for (const reason of [...Object.keys(RejectCode), ...endReasons]) {
      assert.ok(seen.has(reason), `no command stream produced ${reason}`);
    }
  }
});

// ------------------------------------------------------------------ hand-checked examples

/**
 * The oracle is only as good as its arithmetic: these fills are worked out by hand and
 * checked on both implementations (one suite, two engines).
 */
interface Implementation {
  apply(cmd: Command): EngineEvent[];
  balance(userId: number, assetId: number): { availableUnits: number; frozenUnits: number };
}

function implementations(symbols: SymbolSpec[]): [string, Implementation][] {
  const opts = { assets: ASSETS, symbols };
  return [["engine", new Engine(opts)], ["reference", new ReferenceEngine(opts)]];
}

function exampleSymbol(
  over: Partial<SymbolSpec> & Pick<SymbolSpec, "baseAssetId" | "quoteAssetId" | "priceDecimals">,
): SymbolSpec {
  return {
    id: 1,
    name: "EXAMPLE",
    priceDisplayDecimals: over.priceDecimals,
    qtyStepUnits: 1,
    minQtyUnits: 1,
    maxQtyUnits: MAX_UNITS,
    minNotionalUnits: 0,
    maxPriceTicks: MAX_UNITS,
    makerFeePpm: 0,
    takerFeePpm: 0,
    defaultStp: "NONE",
    ...over,
  };
}

function tradesOf(events: EngineEvent[]) {
  return events.flatMap((e) =>
    e.type === "trade"
      ? [{
        price: e.priceTicks,
        qty: e.qtyUnits,
        quote: e.quoteUnits,
        buyerFee: e.buyerFeeUnits,
        sellerFee: e.sellerFeeUnits,
      }]
      : []
  );
}

function lastOrderOf(events: EngineEvent[], orderId: number): OrderUpdated | undefined {
  const found = events.filter((e): e is OrderUpdated =>
    e.type === "order" && e.orderId === orderId
  );
  return found[found.length - 1];
}

Deno.test("both engines: a limit buy fills at the maker's price, floors the quote, charges fees and releases the improvement", () => {
  // BTC (8 decimals) against USD (6), prices in cents: quote = floor(p × q / 10^4).
  const sym = exampleSymbol({
    baseAssetId: 0,
    quoteAssetId: 1,
    priceDecimals: 2,
    qtyStepUnits: 1000,
    makerFeePpm: 1000,
    takerFeePpm: 2000,
  });
  for (const [name, e] of implementations([sym])) {
    e.apply({ type: "deposit", userId: 2, assetId: 0, amountUnits: 100_000 });
    e.apply({ type: "deposit", userId: 1, assetId: 1, amountUnits: 1_000_000 });
    e.apply({
      type: "place",
      userId: 2,
      symbolId: 1,
      side: "SELL",
      orderType: "LIMIT",
      priceTicks: 10_123,
      qtyUnits: 7000,
    });
    const ev = e.apply({
      type: "place",
      userId: 1,
      symbolId: 1,
      side: "BUY",
      orderType: "LIMIT",
      priceTicks: 10_250,
      qtyUnits: 7000,
    });
    // held floor(10250 × 7000 / 10^4) = 7175; paid floor(10123 × 7000 / 10^4) = 7086;
    // buyer fee floor(7000 × 0.2 %) = 14 base; seller fee floor(7086 × 0.1 %) = 7 quote.
    assert.equal(ev[0].type === "accepted" && ev[0].holdUnits, 7175, name);
    assert.deepStrictEqual(
      tradesOf(ev),
      [{ price: 10_123, qty: 7000, quote: 7086, buyerFee: 14, sellerFee: 7 }],
      name,
    );
    assert.deepStrictEqual(e.balance(1, 1), { availableUnits: 1_000_000 - 7086, frozenUnits: 0 });
    assert.deepStrictEqual(e.balance(1, 0), { availableUnits: 7000 - 14, frozenUnits: 0 }, name);
    assert.deepStrictEqual(e.balance(2, 0), { availableUnits: 93_000, frozenUnits: 0 }, name);
    assert.deepStrictEqual(e.balance(2, 1), { availableUnits: 7086 - 7, frozenUnits: 0 }, name);
  }
});

Deno.test("both engines: a market buy by quote amount takes per level the most lots its budget affords", () => {
  // PTS (0 decimals) against EUR (2), prices in cents: quote = p × q; lots of 5.
  const sym = exampleSymbol({ baseAssetId: 2, quoteAssetId: 3, priceDecimals: 2, qtyStepUnits: 5 });
  for (const [name, e] of implementations([sym])) {
    e.apply({ type: "deposit", userId: 2, assetId: 2, amountUnits: 100 });
    e.apply({ type: "deposit", userId: 1, assetId: 3, amountUnits: 1000 });
    const sell = (priceTicks: number) =>
      e.apply({
        type: "place",
        userId: 2,
        symbolId: 1,
        side: "SELL",
        orderType: "LIMIT",
        priceTicks,
        qtyUnits: 10,
      });
    sell(7); // order 1
    sell(9); // order 2
    const ev = e.apply({
      type: "place",
      userId: 1,
      symbolId: 1,
      side: "BUY",
      orderType: "MARKET",
      quoteUnits: 130,
    });
    // At 7: 130 affords 15, the level has 10 (70). At 9: 60 affords 5 (45); 15 left
    // cannot buy a lot of 5 at 9, so the budget is spent: FILLED.
    assert.deepStrictEqual(
      tradesOf(ev),
      [
        { price: 7, qty: 10, quote: 70, buyerFee: 0, sellerFee: 0 },
        { price: 9, qty: 5, quote: 45, buyerFee: 0, sellerFee: 0 },
      ],
      name,
    );
    const taker = lastOrderOf(ev, 3);
    assert.ok(taker !== undefined, name);
    assert.equal(taker.status, "FILLED", name);
    assert.equal(taker.quoteFilledUnits, 115, name);
    assert.deepStrictEqual(e.balance(1, 3), { availableUnits: 885, frozenUnits: 0 }, name);
    assert.deepStrictEqual(e.balance(1, 2), { availableUnits: 15, frozenUnits: 0 }, name);
  }
});

Deno.test("both engines: a FOK order that others cannot fill expires, skipping its own orders under EXPIRE_MAKER", () => {
  const sym = exampleSymbol({ baseAssetId: 2, quoteAssetId: 3, priceDecimals: 2 });
  for (const [name, e] of implementations([sym])) {
    for (const userId of [1, 2]) {
      e.apply({ type: "deposit", userId, assetId: 2, amountUnits: 5 });
      e.apply({ type: "deposit", userId, assetId: 3, amountUnits: 1000 });
      e.apply({
        type: "place",
        userId,
        symbolId: 1,
        side: "SELL",
        orderType: "LIMIT",
        priceTicks: 10,
        qtyUnits: 5,
      });
    }
    const fok = (stp: StpMode) =>
      e.apply({
        type: "place",
        userId: 1,
        symbolId: 1,
        side: "BUY",
        orderType: "LIMIT",
        timeInForce: "FOK",
        priceTicks: 10,
        qtyUnits: 10,
        stp,
      });
    // Only user 2's 5 count: expired, nothing else happens.
    const expired = fok("EXPIRE_MAKER");
    assert.deepStrictEqual(
      expired.map((x) => x.type === "order" ? `${x.status} ${x.reason}` : x.type),
      ["accepted", "balance", "EXPIRED FOK_NOT_FILLED", "balance"],
      name,
    );
    assert.deepStrictEqual(e.balance(1, 3), { availableUnits: 1000, frozenUnits: 0 }, name);
    // Trading with itself allowed, both asks fill it.
    const filled = fok("NONE");
    assert.deepStrictEqual(tradesOf(filled).map((t) => t.qty), [5, 5], name);
    const fokOrder = lastOrderOf(filled, 4);
    assert.ok(fokOrder?.type === "order" && fokOrder.status === "FILLED", name);
  }
});
