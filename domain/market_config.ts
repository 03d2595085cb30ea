/**
 * Assets and symbols: the static configuration the engine trades with, and the derived
 * per-symbol constants the money path needs (quote scaling).
 */

import {
  FEE_PPM_DENOMINATOR,
  MAX_ASSET_ID,
  MAX_DECIMALS,
  MAX_SCALE_EXPONENT,
  MAX_SYMBOL_ID,
  MAX_UNITS,
} from "./limits.ts";
import type { StpMode } from "./types.ts";
import { STP_MODES } from "./types.ts";
import { QuoteScale, quoteScale } from "./money.ts";

/** An asset: amounts are integers in 10^-decimals of one coin. */
export interface AssetSpec {
  id: number;
  name: string;
  /** Internal precision: one unit is 10^-decimals of the asset. */
  decimals: number;
  /** Decimals shown to users; at most `decimals`. */
  displayDecimals: number;
}

/** A tradable pair with its filters and fees. Quantities are in base units. */
export interface SymbolSpec {
  id: number;
  name: string;
  baseAssetId: number;
  quoteAssetId: number;
  /** Prices are integers in ticks of 10^-priceDecimals quote per one base. */
  priceDecimals: number;
  /** Decimals shown for prices; at most `priceDecimals`. */
  priceDisplayDecimals: number;
  /** Quantities must be multiples of this many base units. */
  qtyStepUnits: number;
  minQtyUnits: number;
  maxQtyUnits: number;
  /** Smallest order value, in quote units (limit orders and market orders by quote amount). */
  minNotionalUnits: number;
  /** Highest price accepted, in ticks. */
  maxPriceTicks: number;
  makerFeePpm: number;
  takerFeePpm: number;
  defaultStp: StpMode;
}

/** A symbol with its assets resolved and its quote scale precomputed. */
export interface Market {
  spec: SymbolSpec;
  base: AssetSpec;
  quote: AssetSpec;
  scale: QuoteScale;
}

/** Fills in the optional parts of a symbol with permissive defaults. */
export function symbolSpec(
  s:
    & Pick<SymbolSpec, "id" | "name" | "baseAssetId" | "quoteAssetId" | "priceDecimals">
    & Partial<SymbolSpec>,
): SymbolSpec {
  return {
    priceDisplayDecimals: s.priceDecimals,
    qtyStepUnits: 1,
    minQtyUnits: 1,
    maxQtyUnits: MAX_UNITS,
    minNotionalUnits: 0,
    maxPriceTicks: MAX_UNITS,
    makerFeePpm: 0,
    takerFeePpm: 0,
    defaultStp: "NONE",
    ...s,
  };
}

function isIntIn(v: number, lo: number, hi: number): boolean {
  return Number.isSafeInteger(v) && v >= lo && v <= hi;
}

/**
 * Checks assets and symbols and resolves them into markets indexed by symbol id.
 * Throws an Error naming the offending field and value: a bad configuration is not a
 * runtime condition, the exchange must not start with it.
 */
export function buildMarkets(assets: readonly AssetSpec[], symbols: readonly SymbolSpec[]): {
  assetsById: (AssetSpec | undefined)[];
  marketsById: (Market | undefined)[];
} {
  const assetsById: (AssetSpec | undefined)[] = [];
  for (const a of assets) {
    if (!isIntIn(a.id, 0, MAX_ASSET_ID)) {
      throw new Error(
        `Invalid asset config: id must be an integer in 0..${MAX_ASSET_ID}, received ${a.id}`,
      );
    }
    if (assetsById[a.id]) throw new Error(`Invalid asset config: duplicate asset id ${a.id}`);
    if (!isIntIn(a.decimals, 0, MAX_DECIMALS)) {
      throw new Error(
        `Invalid asset config for ${a.name}: decimals must be 0..${MAX_DECIMALS}, received ${a.decimals}`,
      );
    }
    if (!isIntIn(a.displayDecimals, 0, a.decimals)) {
      throw new Error(
        `Invalid asset config for ${a.name}: display decimals must be 0..${a.decimals}, received ${a.displayDecimals}`,
      );
    }
    assetsById[a.id] = a;
  }
  const marketsById: (Market | undefined)[] = [];
  for (const s of symbols) {
    const where = `Invalid symbol config for ${s.name}`;
    if (!isIntIn(s.id, 0, MAX_SYMBOL_ID)) {
      throw new Error(`${where}: id must be 0..${MAX_SYMBOL_ID}, received ${s.id}`);
    }
    if (marketsById[s.id]) throw new Error(`${where}: duplicate symbol id ${s.id}`);
    const base = assetsById[s.baseAssetId];
    const quote = assetsById[s.quoteAssetId];
    if (!base) throw new Error(`${where}: unknown base asset id ${s.baseAssetId}`);
    if (!quote) throw new Error(`${where}: unknown quote asset id ${s.quoteAssetId}`);
    if (base === quote) throw new Error(`${where}: base and quote are the same asset ${base.name}`);
    if (!isIntIn(s.priceDecimals, 0, MAX_DECIMALS)) {
      throw new Error(
        `${where}: price decimals must be 0..${MAX_DECIMALS}, received ${s.priceDecimals}`,
      );
    }
    if (!isIntIn(s.priceDisplayDecimals, 0, s.priceDecimals)) {
      throw new Error(
        `${where}: price display decimals must be 0..${s.priceDecimals}, received ${s.priceDisplayDecimals}`,
      );
    }
    if (!isIntIn(s.qtyStepUnits, 1, MAX_UNITS)) {
      throw new Error(`${where}: qty step must be positive, received ${s.qtyStepUnits}`);
    }
    if (!isIntIn(s.minQtyUnits, 1, MAX_UNITS)) {
      throw new Error(`${where}: min qty must be positive, received ${s.minQtyUnits}`);
    }
    if (!isIntIn(s.maxQtyUnits, s.minQtyUnits, MAX_UNITS)) {
      throw new Error(`${where}: max qty must be at least min qty, received ${s.maxQtyUnits}`);
    }
    if (!isIntIn(s.minNotionalUnits, 0, MAX_UNITS)) {
      throw new Error(
        `${where}: min notional must be non-negative, received ${s.minNotionalUnits}`,
      );
    }
    if (!isIntIn(s.maxPriceTicks, 1, MAX_UNITS)) {
      throw new Error(`${where}: max price must be positive, received ${s.maxPriceTicks}`);
    }
    for (const [name, v] of [["maker fee", s.makerFeePpm], ["taker fee", s.takerFeePpm]] as const) {
      if (!isIntIn(v, 0, FEE_PPM_DENOMINATOR)) {
        throw new Error(`${where}: ${name} must be 0..${FEE_PPM_DENOMINATOR} ppm, received ${v}`);
      }
    }
    if (!STP_MODES.includes(s.defaultStp)) {
      throw new Error(`${where}: unknown STP mode "${s.defaultStp}"`);
    }
    // The quote scale is a power of ten held as a double: keep it a safe integer.
    const e = quote.decimals - s.priceDecimals - base.decimals;
    if (e < -MAX_SCALE_EXPONENT || e > MAX_SCALE_EXPONENT) {
      throw new Error(
        `${where}: quote decimals (${quote.decimals}) - price decimals (${s.priceDecimals}) - base decimals ` +
          `(${base.decimals}) must be within ±${MAX_SCALE_EXPONENT}, received ${e}`,
      );
    }
    marketsById[s.id] = {
      spec: s,
      base,
      quote,
      scale: quoteScale(base.decimals, quote.decimals, s.priceDecimals),
    };
  }
  return { assetsById, marketsById };
}
