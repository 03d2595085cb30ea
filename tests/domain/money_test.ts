/**
 * Unit tests for domain/money.ts. Expected values are worked out by hand (shown in the
 * comments) and, for products beyond 2^53, checked against plain bigint arithmetic.
 */

import assert from "node:assert/strict";
import {
  feeUnits,
  floorDiv,
  maxQtyForQuote,
  mulDivFloor,
  OVERFLOW,
  quoteScale,
  quoteUnits,
} from "../../domain/money.ts";

const MAX = Number.MAX_SAFE_INTEGER; // 9_007_199_254_740_991

/** floor(a·b·mul/div) in bigint, or OVERFLOW: the obviously-correct oracle. */
function oracle(a: number, b: number, mul: number, div: number): number {
  const r = (BigInt(a) * BigInt(b) * BigInt(mul)) / BigInt(div);
  return r <= BigInt(MAX) ? Number(r) : OVERFLOW;
}

Deno.test("quoteScale gives mul or div as the power of ten of quote - price - base decimals", async (t) => {
  await t.step("BTC 8, USDT 6, price 2: 6-2-8 = -4 divides by 10^4", () => {
    assert.deepEqual(quoteScale(8, 6, 2), { mul: 1, div: 10_000 });
  });
  await t.step("base 0, quote 2, price 2: exponent 0 is the identity", () => {
    assert.deepEqual(quoteScale(0, 2, 2), { mul: 1, div: 1 });
  });
  await t.step("base 0, quote 8, price 2: exponent +6 multiplies by 10^6", () => {
    assert.deepEqual(quoteScale(0, 8, 2), { mul: 1_000_000, div: 1 });
  });
  await t.step("base 18, quote 6, price 2: exponent -14", () => {
    assert.deepEqual(quoteScale(18, 6, 2), { mul: 1, div: 100_000_000_000_000 });
  });
  await t.step("base 8, quote 8, price 8: exponent -8", () => {
    assert.deepEqual(quoteScale(8, 8, 8), { mul: 1, div: 100_000_000 });
  });
  await t.step("base 1, quote 0, price 0: exponent -1", () => {
    assert.deepEqual(quoteScale(1, 0, 0), { mul: 1, div: 10 });
  });
});

Deno.test("floorDiv floors exactly", () => {
  assert.equal(floorDiv(7, 2), 3);
  assert.equal(floorDiv(6, 3), 2);
  assert.equal(floorDiv(0, 5), 0);
  assert.equal(floorDiv(4, 5), 0);
  // MAX = 9_007_199_254_740_991 = 10·900_719_925_474_099 + 1
  assert.equal(floorDiv(MAX, 10), 900_719_925_474_099);
});

Deno.test("mulDivFloor floors small products exactly", () => {
  assert.equal(mulDivFloor(7, 3, 1, 2), 10); // 21/2 = 10.5
  assert.equal(mulDivFloor(10, 10, 1, 100), 1); // exactly 1
  assert.equal(mulDivFloor(99, 1, 1, 100), 0); // 0.99
  assert.equal(mulDivFloor(3, 7, 1000, 1), 21_000);
  assert.equal(mulDivFloor(5, 5, 10, 3), 83); // 250/3 = 83.33
  assert.equal(mulDivFloor(0, 12345, 1, 7), 0);
  // 30000.50 USDT × 0.00012345 BTC: 3_000_050 × 12_345 = 37_035_617_250; / 10^4 = 3_703_561.725
  assert.equal(mulDivFloor(3_000_050, 12_345, 1, 10_000), 3_703_561);
  assert.equal(quoteUnits(3_000_050, 12_345, { mul: 1, div: 10_000 }), 3_703_561);
});

Deno.test("mulDivFloor computes products beyond 2^53 exactly through bigint", async (t) => {
  await t.step("9e9 × 9e9 / 10^4 = 8.1e15 exactly", () => {
    // 8.1e19 / 1e4 = 8_100_000_000_000_000 (< 2^53 - 1)
    const r = mulDivFloor(9_000_000_000, 9_000_000_000, 1, 10_000);
    assert.equal(r, 8_100_000_000_000_000);
    assert.equal(BigInt(r), (9_000_000_000n * 9_000_000_000n) / 10_000n);
  });
  await t.step("9e9 × 9_000_000_007 / 10^4 keeps the low digits", () => {
    // 9e9 × 9_000_000_007 = 81_000_000_063_000_000_000; / 1e4 = 8_100_000_006_300_000
    assert.equal(mulDivFloor(9_000_000_000, 9_000_000_007, 1, 10_000), 8_100_000_006_300_000);
  });
  await t.step("(2^53-1) × 3 / 7 floors exactly", () => {
    // 27_021_597_764_222_973 = 7 × 3_860_228_252_031_853 + 2
    assert.equal(mulDivFloor(MAX, 3, 1, 7), 3_860_228_252_031_853);
    assert.equal(oracle(MAX, 3, 1, 7), 3_860_228_252_031_853);
  });
  await t.step("a product just above 2^53 whose double rounds is floored exactly", () => {
    // 2^53 + 1 = 9_007_199_254_740_993 = 3 × 3_002_399_751_580_331 (odd, not representable)
    // (2^53 + 1) / 2 = 4_503_599_627_370_496.5 -> 4_503_599_627_370_496
    assert.equal(mulDivFloor(3, 3_002_399_751_580_331, 1, 2), 4_503_599_627_370_496);
    // with div 10: 900_719_925_474_099.3 -> 900_719_925_474_099
    assert.equal(mulDivFloor(3, 3_002_399_751_580_331, 1, 10), 900_719_925_474_099);
  });
  await t.step("agrees with bigint on products around 2^53 and beyond", () => {
    const as = [94_906_265, 94_906_266, 94_906_267, 3_000_000_007, 9_000_000_000, 2 ** 40 + 3];
    const divs = [1, 7, 10, 10_000, 100_000_000, 10 ** 14];
    for (const a of as) {
      for (const b of as) {
        for (const div of divs) {
          assert.equal(mulDivFloor(a, b, 1, div), oracle(a, b, 1, div), `${a}×${b}/${div}`);
        }
        assert.equal(mulDivFloor(a, b, 1000, 1), oracle(a, b, 1000, 1), `${a}×${b}×1000`);
      }
    }
  });
});

Deno.test("mulDivFloor reports OVERFLOW when the result exceeds 2^53 - 1", () => {
  assert.equal(OVERFLOW, -1);
  assert.equal(mulDivFloor(9_000_000_000, 9_000_000_000, 1, 1), OVERFLOW);
  assert.equal(mulDivFloor(9_000_000_000, 9_000_000_000, 1, 1000), OVERFLOW); // 8.1e16
  assert.equal(mulDivFloor(2 ** 52, 2, 1, 1), OVERFLOW); // exactly 2^53
  assert.equal(mulDivFloor(MAX, 2, 1, 1), OVERFLOW);
  assert.equal(mulDivFloor(MAX, 1, 10, 1), OVERFLOW); // mul pushes it over
  assert.equal(mulDivFloor(2 ** 50, 1, 8, 1), OVERFLOW); // 2^53 after mul
  // ... but a result of exactly 2^53 - 1 is fine, even via bigint
  assert.equal(mulDivFloor(MAX, 1, 1, 1), MAX);
  assert.equal(mulDivFloor(MAX, 2, 1, 2), MAX);
  assert.equal(mulDivFloor(MAX, 10, 1, 10), MAX);
});

Deno.test("maxQtyForQuote is the largest step multiple whose quote fits the budget", async (t) => {
  const unit = { mul: 1, div: 1 };
  const btc = { mul: 1, div: 10_000 };
  /** f fits, and f + step does not (the boundary is tight). */
  function tight(budget: number, price: number, scale: typeof unit, step: number, f: number) {
    assert.equal(maxQtyForQuote(budget, price, scale, step), f);
    assert.equal(f % step, 0);
    assert.ok(quoteUnits(price, f, scale) <= budget, `quote(${f}) <= ${budget}`);
    const next = quoteUnits(price, f + step, scale);
    assert.ok(next === OVERFLOW || next > budget, `quote(${f + step}) = ${next} > ${budget}`);
  }
  await t.step("budget 1000 at 3: 333 (999), 334 costs 1002", () => {
    tight(1000, 3, unit, 1, 333);
    assert.equal(quoteUnits(3, 334, unit), 1002);
  });
  await t.step("step 10 rounds down to 330", () => tight(1000, 3, unit, 10, 330));
  await t.step("budget exactly divisible: 1000 at 4 is 250", () => tight(1000, 4, unit, 1, 250));
  await t.step("budget below one unit's price gives 0", () => tight(2, 3, unit, 1, 0));
  await t.step("floored scale: 3_703_561 at 30000.50 buys 12_345 units", () => {
    // quote(12_345) = 3_703_561 (see mulDivFloor test); quote(12_346) =
    // floor(3_000_050 × 12_346 / 1e4) = floor(37_038_617_300 / 1e4) = 3_703_861
    tight(3_703_561, 3_000_050, btc, 1, 12_345);
    assert.equal(quoteUnits(3_000_050, 12_346, btc), 3_703_861);
  });
  await t.step("floored scale: one quote unit less buys 12_344", () => {
    // quote(12_344) = floor(37_032_617_200 / 1e4) = 3_703_261 <= 3_703_560
    tight(3_703_560, 3_000_050, btc, 1, 12_344);
  });
  await t.step("floor lets a budget buy units worth a fraction over it", () => {
    // at price 3 with div 10: quote(f) = floor(3f/10); budget 1 buys f = 6 (18/10 = 1.8)
    tight(1, 3, { mul: 1, div: 10 }, 1, 6);
  });
  await t.step("big values: 8.1e15 at 9e9 (div 1e4) buys exactly 9e9", () => {
    // f = floor(((8.1e15 + 1)·1e4 - 1) / 9e9) = floor((8.1e19 + 9_999) / 9e9) = 9e9
    tight(8_100_000_000_000_000, 9_000_000_000, btc, 1, 9_000_000_000);
    // 9e9 = 7 × 1_285_714_285 + 5 -> 8_999_999_995
    tight(8_100_000_000_000_000, 9_000_000_000, btc, 7, 8_999_999_995);
  });
  await t.step("big values: one quote unit less buys 9e9 - 1", () => {
    // quote(9e9 - 1) = floor((8.1e19 - 9e9) / 1e4) = 8.1e15 - 900_000
    tight(8_099_999_999_999_999, 9_000_000_000, btc, 1, 8_999_999_999);
  });
  await t.step("never exceeds 2^53 - 1, then rounds to the step", () => {
    // at price 1 with div 1e4, budget MAX would buy ~9e19 units: capped
    assert.equal(maxQtyForQuote(MAX, 1, btc, 1), MAX);
    assert.equal(maxQtyForQuote(MAX, 1, btc, 10), 9_007_199_254_740_990);
    tight(MAX, 1, unit, 1, MAX);
  });
  await t.step("multiplying scale: 1000 at price 3 with mul 10 buys 33", () => {
    tight(1000, 3, { mul: 10, div: 1 }, 1, 33); // 30·33 = 990, 30·34 = 1020
  });
});

Deno.test("feeUnits floors the fee in parts per million", () => {
  assert.equal(feeUnits(1000, 1000), 1); // 0.1 % of 1000
  assert.equal(feeUnits(999, 1000), 0); // 0.999 floors to 0: the user keeps the dust
  assert.equal(feeUnits(123_456_789, 2500), 308_641); // 308_641.9725
  assert.equal(feeUnits(7000, 2000), 14);
  assert.equal(feeUnits(6993, 1000), 6); // 6.993
  assert.equal(feeUnits(5_000_000, 0), 0);
  assert.equal(feeUnits(MAX, 1_000_000), MAX); // 100 %
  // MAX - MAX/1e6 = 9_007_190_247_541_736.259009
  assert.equal(feeUnits(MAX, 999_999), 9_007_190_247_541_736);
});
