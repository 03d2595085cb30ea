/**
 * Exact integer money arithmetic.
 *
 * Amounts are non-negative safe integers. Products such as price × qty may exceed 2^53,
 * so each function takes a fast path in doubles only when the result is provably exact
 * and falls back to bigint otherwise. A result that does not fit a safe integer is
 * reported as {@link OVERFLOW} (-1), never rounded.
 */

import { FEE_PPM_DENOMINATOR, MAX_UNITS } from "./limits.ts";

/** Sentinel for "the exact result is not a safe integer". */
export const OVERFLOW = -1;

const MAX_BIG = BigInt(MAX_UNITS);

/**
 * quote units = floor(priceTicks × qtyUnits × mul / div), where mul and div are powers of
 * ten derived from the decimals of the base, the quote and the price.
 */
export interface QuoteScale {
  mul: number;
  div: number;
}

/**
 * Scale for a symbol: one tick is 10^-priceDecimals quote per one whole base, a base unit
 * is 10^-baseDecimals, a quote unit 10^-quoteDecimals, so
 * quote = price × qty × 10^(quoteDecimals - priceDecimals - baseDecimals).
 */
export function quoteScale(
  baseDecimals: number,
  quoteDecimals: number,
  priceDecimals: number,
): QuoteScale {
  const e = quoteDecimals - priceDecimals - baseDecimals;
  return e >= 0 ? { mul: 10 ** e, div: 1 } : { mul: 1, div: 10 ** -e };
}

const TWO_POW_52 = 2 ** 52;

/** floor(a / b) for non-negative safe integers a and b > 0, exactly. */
export function floorDiv(a: number, b: number): number {
  if (a < TWO_POW_52) {
    // a / b is correctly rounded, so its floor is the true floor or one more (when the
    // quotient lies just below an integer); q * b <= a + b < 2^53 is exact. Much cheaper
    // than the remainder operator on doubles.
    const q = Math.floor(a / b);
    return q * b > a ? q - 1 : q;
  }
  return (a - (a % b)) / b;
}

/**
 * floor(a × b × mul / div) for non-negative safe integers, or OVERFLOW if the result
 * exceeds 2^53 - 1. Exact for all inputs.
 */
export function mulDivFloor(a: number, b: number, mul: number, div: number): number {
  const p = a * b;
  // If the true product is <= MAX_UNITS the double product is exact; if it is larger the
  // rounded double is >= 2^53 > MAX_UNITS (rounding is monotonic), so this test is exact.
  if (p <= MAX_UNITS) {
    if (mul === 1) return div === 1 ? p : floorDiv(p, div);
    const r = p * mul;
    if (r <= MAX_UNITS) return div === 1 ? r : floorDiv(r, div);
  }
  const big = (BigInt(a) * BigInt(b) * BigInt(mul)) / BigInt(div);
  return big <= MAX_BIG ? Number(big) : OVERFLOW;
}

/** Quote units paid for `qtyUnits` at `priceTicks` (floored), or OVERFLOW. */
export function quoteUnits(priceTicks: number, qtyUnits: number, scale: QuoteScale): number {
  return mulDivFloor(priceTicks, qtyUnits, scale.mul, scale.div);
}

/**
 * The largest quantity, a multiple of `stepUnits`, whose quote amount at `priceTicks` is
 * at most `budgetUnits`. Never exceeds MAX_UNITS.
 */
export function maxQtyForQuote(
  budgetUnits: number,
  priceTicks: number,
  scale: QuoteScale,
  stepUnits: number,
): number {
  // quote(p, f) <= B  <=>  p·f·mul <= (B+1)·div - 1  <=>  f <= floor(((B+1)·div - 1) / (p·mul))
  const numPlusOne = (budgetUnits + 1) * scale.div;
  const den = priceTicks * scale.mul;
  let f: number;
  if (numPlusOne <= MAX_UNITS && den <= MAX_UNITS) {
    f = floorDiv(numPlusOne - 1, den);
  } else {
    const big = (BigInt(budgetUnits + 1) * BigInt(scale.div) - 1n) /
      (BigInt(priceTicks) * BigInt(scale.mul));
    f = big <= MAX_BIG ? Number(big) : MAX_UNITS;
  }
  return f - (f % stepUnits);
}

/** Fee on `amountUnits` at `ppm` parts per million, floored (the user keeps the dust). */
export function feeUnits(amountUnits: number, ppm: number): number {
  if (ppm === 0) return 0;
  return mulDivFloor(amountUnits, ppm, 1, FEE_PPM_DENOMINATOR);
}
