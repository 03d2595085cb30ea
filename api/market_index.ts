/**
 * Markets and assets by name, for the API edge: requests name symbols and assets and
 * carry decimal strings; the engine speaks ids, ticks and units. Lookups and parsing
 * throw ApiError (400) with a message that states the value.
 */

import { formatUnits, parseUnits } from "../domain/decimal.ts";
import type { AssetSpec, Market } from "../domain/market_config.ts";
import { ApiError } from "./api_errors.ts";

export class MarketIndex {
  private readonly symbolsByName = new Map<string, Market>();
  private readonly assetsByName = new Map<string, AssetSpec>();

  constructor(
    readonly markets: readonly (Market | undefined)[],
    readonly assets: readonly (AssetSpec | undefined)[],
  ) {
    for (const m of markets) if (m) this.symbolsByName.set(m.spec.name, m);
    for (const a of assets) if (a) this.assetsByName.set(a.name, a);
  }

  /** Every market, by id. */
  list(): Market[] {
    return [...this.symbolsByName.values()].sort((a, b) => a.spec.id - b.spec.id);
  }

  assetList(): AssetSpec[] {
    return [...this.assetsByName.values()].sort((a, b) => a.id - b.id);
  }

  symbol(name: unknown): Market {
    const m = typeof name === "string" ? this.symbolsByName.get(name) : undefined;
    if (m === undefined) {
      throw ApiError.of("UNKNOWN_SYMBOL", `unknown symbol ${JSON.stringify(name)}`);
    }
    return m;
  }

  asset(name: unknown): AssetSpec {
    const a = typeof name === "string" ? this.assetsByName.get(name) : undefined;
    if (a === undefined) {
      throw ApiError.of("UNKNOWN_ASSET", `unknown asset ${JSON.stringify(name)}`);
    }
    return a;
  }

  symbolById(id: number): Market {
    const m = this.markets[id];
    if (m === undefined) throw new Error(`no market with id ${id}`);
    return m;
  }

  assetById(id: number): AssetSpec {
    const a = this.assets[id];
    if (a === undefined) throw new Error(`no asset with id ${id}`);
    return a;
  }

  // ------------------------------------------------------------ decimal strings in

  /** A price (decimal string) in ticks of `m`. */
  priceTicks(m: Market, text: unknown, field = "price"): number {
    return units(text, m.spec.priceDecimals, field);
  }

  /** A base quantity (decimal string) in base units of `m`. */
  qtyUnits(m: Market, text: unknown, field = "qty"): number {
    return units(text, m.base.decimals, field);
  }

  /** A quote amount (decimal string) in quote units of `m`. */
  quoteUnits(m: Market, text: unknown, field = "quote_qty"): number {
    return units(text, m.quote.decimals, field);
  }

  /** An amount of `asset` (decimal string) in its units. */
  assetUnits(asset: AssetSpec, text: unknown, field = "amount"): number {
    return units(text, asset.decimals, field);
  }

  // ------------------------------------------------------------ decimal strings out

  price(m: Market, ticks: number): string {
    return formatUnits(ticks, m.spec.priceDecimals);
  }

  qty(m: Market, units: number): string {
    return formatUnits(units, m.base.decimals);
  }

  quote(m: Market, units: number): string {
    return formatUnits(units, m.quote.decimals);
  }

  amount(asset: AssetSpec, units: number): string {
    return formatUnits(units, asset.decimals);
  }
}

function units(text: unknown, decimals: number, field: string): number {
  const r = parseUnits(text, decimals, { field });
  if (!r.ok) throw ApiError.of("INVALID_PARAMETER", r.message);
  return r.units;
}
