/**
 * What the API's handlers share: the exchange facade, markets by name, the key store,
 * the admin token, auth settings, a clock and a logger. `main.ts` builds it; tests build
 * their own.
 */

import type { Exchange } from "../actors/exchange.ts";
import type { Logger } from "../actors/actor.ts";
import type { KeyStore } from "./key_store.ts";
import type { ApiMetrics } from "./metrics.ts";
import type { MarketIndex } from "./market_index.ts";
import type { RateLimiter } from "./rate_limiter.ts";
import type { ReplayGuard } from "./replay_guard.ts";
import type { AuthConfig } from "./service_config.ts";

export interface ApiDeps {
  exchange: Exchange;
  markets: MarketIndex;
  keys: KeyStore;
  adminToken: string;
  auth: AuthConfig;
  /** Wall clock in ms (tests pass their own). */
  now: () => number;
  logger: Logger;
  maxBodyBytes: number;
  /** Counters and histograms for /metrics. */
  metrics: ApiMetrics;
}

/** Auth state built from ApiDeps once per app. */
export interface AuthState {
  replay: ReplayGuard;
  limiter: RateLimiter;
}

/** Hono's environment type for our handlers: the authenticated user, once known. */
export type ApiEnv = { Variables: { userId: number } };

/** Most entries the replay guard keeps (each a signature seen within the window). */
export const MAX_REPLAY_ENTRIES = 1_000_000;
/** Most API keys the rate limiter tracks at once. */
export const MAX_RATE_LIMITED_KEYS = 100_000;
/** Longest a history query waits for the store to hold what was already answered. */
export const STORE_BARRIER_MAX_WAIT_MS = 2_000;
