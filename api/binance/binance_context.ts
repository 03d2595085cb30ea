/**
 * What the Binance-compatible API's handlers share: the native API's dependencies (the
 * exchange, key store, clock, logger), the markets under Binance's names, the listen keys
 * of user data streams, and a request-weight limiter per API key.
 */

import type { ApiDeps } from "../api_context.ts";
import { RateLimiter } from "../rate_limiter.ts";
import { BinanceMarkets } from "./binance_markets.ts";
import { ListenKeys } from "./listen_keys.ts";

export interface BinanceContext {
  deps: ApiDeps;
  markets: BinanceMarkets;
  listenKeys: ListenKeys;
  /** Signed requests per API key (answers -1003 when empty). */
  limiter: RateLimiter;
}

/** Most API keys the Binance API's limiter tracks at once. */
const MAX_LIMITED_KEYS = 100_000;

export function binanceContext(deps: ApiDeps): BinanceContext {
  return {
    deps,
    markets: new BinanceMarkets(deps.markets),
    listenKeys: new ListenKeys(deps.now),
    limiter: new RateLimiter({
      ratePerSecond: deps.auth.ratePerSecond,
      burst: deps.auth.burst,
      maxKeys: MAX_LIMITED_KEYS,
    }),
  };
}
