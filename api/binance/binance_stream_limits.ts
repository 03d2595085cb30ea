/**
 * Bounds of the Binance-compatible WebSocket endpoints (`/ws/...`, `/stream`,
 * `/ws-api/v3`), in one place. The bounds they share with the native `/ws` (unsent bytes,
 * stall time, hub queue, ticker cadence) come from its `WsLimits`; these are the ones
 * Binance fixes differently.
 */

/** Streams one connection may hold (Binance: 1024). */
export const MAX_STREAMS_PER_CONNECTION = 1_024;

/**
 * Longest client message, in bytes: room for a SUBSCRIBE naming every stream a
 * connection may hold (1024 names of up to 40 characters).
 */
export const MAX_REQUEST_BYTES = 65_536;

/** Longest stream name accepted (a listen key is 60 characters). */
export const MAX_STREAM_NAME_LENGTH = 100;

/**
 * Client messages per second a connection may send, sustained (Binance: 5; a little more
 * here, so that a client subscribing many watchers at start is not cut off).
 */
export const REQUESTS_PER_SECOND = 10;

/** Client messages a connection may send in a burst above the sustained rate. */
export const REQUEST_BURST = 50;

/**
 * Most distinct levels one `depthUpdate` event carries: a batch that reaches it is sent
 * before its interval ends (the next event continues at `u + 1`, so no update is lost).
 */
export const MAX_DEPTH_BATCH_LEVELS = 1_000;

/** Orders of a user stream whose fills wait for the order's own update (see UserEvents). */
export const MAX_PENDING_ORDERS = 4_096;

/** Post-only orders a user stream remembers, to report them as `LIMIT_MAKER`. */
export const MAX_REMEMBERED_ORDERS = 16_384;

/** User data subscriptions one `/ws-api/v3` connection may hold (Binance: 1000). */
export const MAX_WS_API_SUBSCRIPTIONS = 1_000;

/** How often a connection with user data streams checks that their listen keys live. */
export const LISTEN_KEY_CHECK_MS = 1_000;

/** Longest request id (Binance: an alphanumeric string of at most 36 characters). */
export const MAX_REQUEST_ID_LENGTH = 36;

/** A signed WebSocket API request's `recvWindow`: as for signed REST requests. */
export { DEFAULT_RECV_WINDOW_MS, MAX_RECV_WINDOW_MS } from "./binance_auth.ts";

/** Close code for a connection that sent more requests than allowed (policy violation). */
export const WS_CLOSE_TOO_MANY_REQUESTS = 1008;
