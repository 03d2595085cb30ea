/**
 * Markets under Binance's names: `BTC_USDT` is `BTCUSDT` in REST parameters and
 * `btcusdt` in stream names. Decimal strings in and out follow the market's own scales
 * (MarketIndex), so a price or quantity with more decimals than the market allows is
 * refused, never rounded.
 */

import type { Market } from "../../domain/market_config.ts";
import type { MarketIndex } from "../market_index.ts";
import { BinanceErrors } from "./binance_errors.ts";

/** The Binance name of a market: base and quote asset names run together. */
export function binanceSymbol(m: Market): string {
  return `${m.base.name}${m.quote.name}`;
}

export class BinanceMarkets {
  readonly #byName = new Map<string, Market>();

  /** Throws if two markets would share a Binance name (e.g. AB_C and A_BC). */
  constructor(readonly index: MarketIndex) {
    for (const m of index.list()) {
      const name = binanceSymbol(m);
      const other = this.#byName.get(name);
      if (other !== undefined) {
        throw new Error(
          `Markets ${other.spec.name} and ${m.spec.name} share the Binance symbol ${name}`,
        );
      }
      this.#byName.set(name, m);
    }
  }

  /** Every market, by id. */
  list(): Market[] {
    return this.index.list();
  }

  /** The market named `name` (upper case, as REST sends it); -1121 "Invalid symbol." else. */
  symbol(name: unknown): Market {
    const m = typeof name === "string" ? this.#byName.get(name) : undefined;
    if (m === undefined) throw BinanceErrors.badSymbol();
    return m;
  }

  /** The market of a stream name's symbol part (lower case, as streams name it). */
  streamSymbol(lower: string): Market | undefined {
    return lower === lower.toLowerCase() ? this.#byName.get(lower.toUpperCase()) : undefined;
  }

  /** The market with engine id `id`. */
  byId(id: number): Market {
    return this.index.symbolById(id);
  }
}
