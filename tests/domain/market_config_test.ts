/** Unit tests for domain/market_config.ts: every bad field is refused by name. */

import assert from "node:assert/strict";
import {
  type AssetSpec,
  buildMarkets,
  type SymbolSpec,
  symbolSpec,
} from "../../domain/market_config.ts";
import { quoteUnits } from "../../domain/money.ts";

const MAX = Number.MAX_SAFE_INTEGER;

const BTC: AssetSpec = { id: 1, name: "BTC", decimals: 8, displayDecimals: 6 };
const USDT: AssetSpec = { id: 2, name: "USDT", decimals: 6, displayDecimals: 2 };

function btcUsdt(overrides: Partial<SymbolSpec> = {}): SymbolSpec {
  return symbolSpec({
    id: 1,
    name: "BTC-USDT",
    baseAssetId: 1,
    quoteAssetId: 2,
    priceDecimals: 2,
    qtyStepUnits: 1000,
    minQtyUnits: 1000,
    maxQtyUnits: 100_000_000_000,
    minNotionalUnits: 5_000_000,
    maxPriceTicks: 100_000_000_00,
    makerFeePpm: 1000,
    takerFeePpm: 2000,
    defaultStp: "EXPIRE_TAKER",
    ...overrides,
  });
}

Deno.test("symbolSpec fills in permissive defaults", () => {
  assert.deepEqual(
    symbolSpec({ id: 3, name: "X-Y", baseAssetId: 1, quoteAssetId: 2, priceDecimals: 4 }),
    {
      id: 3,
      name: "X-Y",
      baseAssetId: 1,
      quoteAssetId: 2,
      priceDecimals: 4,
      priceDisplayDecimals: 4,
      qtyStepUnits: 1,
      minQtyUnits: 1,
      maxQtyUnits: MAX,
      minNotionalUnits: 0,
      maxPriceTicks: MAX,
      makerFeePpm: 0,
      takerFeePpm: 0,
      defaultStp: "NONE",
    },
  );
});

Deno.test("buildMarkets indexes assets and markets by id and derives the quote scale", () => {
  const { assetsById, marketsById } = buildMarkets([BTC, USDT], [btcUsdt()]);
  assert.equal(assetsById[1], BTC);
  assert.equal(assetsById[2], USDT);
  assert.equal(assetsById[0], undefined);
  const m = marketsById[1];
  assert.ok(m);
  assert.equal(m.base, BTC);
  assert.equal(m.quote, USDT);
  assert.equal(m.spec.name, "BTC-USDT");
  assert.deepEqual(m.scale, { mul: 1, div: 10_000 }); // 6 - 2 - 8 = -4
  assert.equal(marketsById[0], undefined);
});

Deno.test("buildMarkets accepts the edge values of every bound", () => {
  const assets: AssetSpec[] = [
    { id: 0, name: "ZERO", decimals: 0, displayDecimals: 0 },
    { id: 1023, name: "TOP", decimals: 18, displayDecimals: 18 },
  ];
  const s = symbolSpec({
    id: 4095,
    name: "ZERO-TOP",
    baseAssetId: 0,
    quoteAssetId: 1023,
    priceDecimals: 18,
    minNotionalUnits: 0,
    makerFeePpm: 0,
    takerFeePpm: 1_000_000,
    maxQtyUnits: 1,
  });
  const { marketsById } = buildMarkets(assets, [s]);
  assert.deepEqual(marketsById[4095]?.scale, { mul: 1, div: 1 }); // 18 - 18 - 0
});

/** Asserts that buildMarkets throws and its message contains every part. */
function refuses(assets: AssetSpec[], symbols: SymbolSpec[], ...parts: string[]): void {
  assert.throws(() => buildMarkets(assets, symbols), (e: unknown) => {
    assert.ok(e instanceof Error);
    for (const p of parts) assert.ok(e.message.includes(p), `"${e.message}" should say "${p}"`);
    return true;
  });
}

Deno.test("buildMarkets refuses each bad asset field, naming it and the value", async (t) => {
  await t.step("id below 0", () => {
    refuses([{ ...BTC, id: -1 }], [], "asset config", "id must be an integer in 0..1023", "-1");
  });
  await t.step("id above 1023", () => {
    refuses([{ ...BTC, id: 1024 }], [], "id must be an integer in 0..1023, received 1024");
  });
  await t.step("id not an integer", () => {
    refuses([{ ...BTC, id: 1.5 }], [], "id must be an integer", "received 1.5");
  });
  await t.step("duplicate id", () => {
    refuses([BTC, { ...USDT, id: 1 }], [], "duplicate asset id 1");
  });
  await t.step("decimals above 18", () => {
    refuses([{ ...BTC, decimals: 19 }], [], "for BTC", "decimals must be 0..18, received 19");
  });
  await t.step("negative decimals", () => {
    refuses([{ ...BTC, decimals: -1 }], [], "decimals must be 0..18, received -1");
  });
  await t.step("display decimals above decimals", () => {
    refuses(
      [{ ...BTC, displayDecimals: 9 }],
      [],
      "for BTC",
      "display decimals must be 0..8, received 9",
    );
  });
});

Deno.test("buildMarkets refuses each bad symbol field, naming it and the value", async (t) => {
  const assets = [BTC, USDT];
  const cases: [string, Partial<SymbolSpec>, string][] = [
    ["id above 4095", { id: 4096 }, "id must be 0..4095, received 4096"],
    ["negative id", { id: -1 }, "id must be 0..4095, received -1"],
    ["unknown base asset", { baseAssetId: 7 }, "unknown base asset id 7"],
    ["unknown quote asset", { quoteAssetId: 8 }, "unknown quote asset id 8"],
    ["base equals quote", { quoteAssetId: 1 }, "base and quote are the same asset BTC"],
    ["price decimals above 18", { priceDecimals: 19 }, "price decimals must be 0..18, received 19"],
    [
      "price display decimals above price decimals",
      { priceDisplayDecimals: 3 },
      "price display decimals must be 0..2, received 3",
    ],
    ["qty step 0", { qtyStepUnits: 0 }, "qty step must be positive, received 0"],
    ["fractional qty step", { qtyStepUnits: 0.5 }, "qty step must be positive, received 0.5"],
    ["min qty 0", { minQtyUnits: 0 }, "min qty must be positive, received 0"],
    [
      "max qty below min qty",
      { maxQtyUnits: 999 },
      "max qty must be at least min qty, received 999",
    ],
    ["max qty beyond 2^53", { maxQtyUnits: 2 ** 53 }, "max qty must be at least min qty"],
    [
      "negative min notional",
      { minNotionalUnits: -1 },
      "min notional must be non-negative, received -1",
    ],
    ["max price 0", { maxPriceTicks: 0 }, "max price must be positive, received 0"],
    [
      "maker fee above 100 %",
      { makerFeePpm: 1_000_001 },
      "maker fee must be 0..1000000 ppm, received 1000001",
    ],
    ["negative taker fee", { takerFeePpm: -1 }, "taker fee must be 0..1000000 ppm, received -1"],
    [
      "unknown STP mode",
      { defaultStp: "BOGUS" as SymbolSpec["defaultStp"] },
      'unknown STP mode "BOGUS"',
    ],
  ];
  for (const [label, override, message] of cases) {
    await t.step(label, () => {
      refuses(assets, [btcUsdt(override)], "Invalid symbol config for BTC-USDT", message);
    });
  }
  await t.step("duplicate symbol id", () => {
    refuses(assets, [btcUsdt(), btcUsdt({ name: "AGAIN" })], "for AGAIN", "duplicate symbol id 1");
  });
});

Deno.test("every accepted market computes exact quote amounts (or the config is refused)", () => {
  // The scale is 10^(quote - price - base decimals); with 18-decimal base assets and
  // price decimals the exponent can go below -22, where 10^-e is no longer an exact
  // double. Such a market must either be refused or still floor price × qty exactly.
  const WEI: AssetSpec = { id: 3, name: "WEI18", decimals: 18, displayDecimals: 8 };
  const WHOLE: AssetSpec = { id: 4, name: "WHOLE", decimals: 0, displayDecimals: 0 };
  const s = symbolSpec({
    id: 9,
    name: "WEI18-WHOLE",
    baseAssetId: 3,
    quoteAssetId: 4,
    priceDecimals: 5, // exponent 0 - 5 - 18 = -23
  });
  let built: ReturnType<typeof buildMarkets> | undefined;
  try {
    built = buildMarkets([WEI, WHOLE], [s]);
  } catch (e) {
    // Refusing the configuration is an acceptable answer if it names the decimals.
    assert.match((e as Error).message, /decimals/);
    return;
  }
  const m = built.marketsById[9];
  assert.ok(m);
  // 2_000_000_000 ticks × 5_000_000_000_000_000 units = 10^25 exactly, so the quote is
  // 10^25 / 10^23 = 100 units. Dividing by the double nearest 10^23
  // (100_000_000_000_000_008_388_608) instead would give 99.
  const price = 2_000_000_000;
  const qty = 5_000_000_000_000_000;
  const exact = Number((BigInt(price) * BigInt(qty)) / 10n ** 23n);
  assert.equal(exact, 100);
  assert.equal(quoteUnits(price, qty, m.scale), exact);
});
