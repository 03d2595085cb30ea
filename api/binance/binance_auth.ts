/**
 * Authentication of the Binance-compatible REST API, as Binance does it.
 *
 * - USER_STREAM endpoints (listen keys) need only the `X-MBX-APIKEY` header.
 * - SIGNED endpoints (TRADE, USER_DATA) also need `timestamp` (ms), an optional
 *   `recvWindow` (default 5000, at most 60000) and `signature`: the lowercase hex
 *   HMAC-SHA256 with the API secret of totalParams, the query string followed directly by
 *   the request body, exactly as sent, with the `signature` parameter taken out.
 *
 * Checks, in order: API key (-2014 missing or malformed, -2015 unknown), parameters
 * (-1101 duplicated), the key's rate limit (-1003, HTTP 429), `signature` and `timestamp`
 * sent (-1102), the signature (-1022, compared in constant time), `recvWindow` (-1131),
 * the timestamp (-1021). The rate limit comes before the signature check so that guessing
 * signatures costs requests too.
 */

import type { Context } from "hono";
import { signatureMatches } from "../signature.ts";
import type { BinanceContext } from "./binance_context.ts";
import { BinanceError, BinanceErrors } from "./binance_errors.ts";
import { BinanceParams } from "./binance_params.ts";

/** Binance's default `recvWindow`. */
export const DEFAULT_RECV_WINDOW_MS = 5_000;
/** Largest `recvWindow` Binance accepts. */
export const MAX_RECV_WINDOW_MS = 60_000;
/** How far ahead of the server's clock a timestamp may be. */
export const MAX_TIMESTAMP_AHEAD_MS = 1_000;
/** Longest API key accepted before looking it up (ours are 32 characters). */
const MAX_API_KEY_LENGTH = 128;
const API_KEY_RE = /^[A-Za-z0-9]+$/;

/** The parameters every signed endpoint accepts besides its own. */
export const SIGNED_PARAMS = ["timestamp", "recvWindow", "signature"] as const;

/** An authenticated request: its user, API key and parameters. */
export interface BinanceRequest {
  userId: number;
  apiKey: string;
  params: BinanceParams;
}

/**
 * Authenticates a request to a SIGNED endpoint; throws the BinanceError that says why
 * not. The caller still checks which parameters its endpoint reads.
 */
export async function signedRequest(ctx: BinanceContext, c: Context): Promise<BinanceRequest> {
  const { userId, apiKey, secret } = apiKeyOf(ctx, c);
  const query = rawQuery(c.req.url);
  const body = await c.req.text();
  const params = BinanceParams.parse(query, body);
  const now = ctx.deps.now();
  takeRequest(ctx, c, apiKey, now);
  const signature = params.required("signature");
  params.required("timestamp");
  const totalParams = withoutSignature(query) + withoutSignature(body);
  if (!signatureMatches(secret, totalParams, signature)) throw BinanceErrors.invalidSignature();
  const timestampMs = params.requiredInt("timestamp");
  const recvWindowMs = params.optionalInt("recvWindow") ?? DEFAULT_RECV_WINDOW_MS;
  if (recvWindowMs > MAX_RECV_WINDOW_MS) {
    throw new BinanceError(400, -1131, `recvWindow must be less than ${MAX_RECV_WINDOW_MS}`);
  }
  if (timestampMs >= now + MAX_TIMESTAMP_AHEAD_MS) throw BinanceErrors.timestampAhead();
  if (now - timestampMs > recvWindowMs) throw BinanceErrors.invalidTimestamp();
  return { userId, apiKey, params };
}

/** Authenticates a request to a USER_STREAM endpoint (API key only). */
export async function userStreamRequest(
  ctx: BinanceContext,
  c: Context,
): Promise<BinanceRequest> {
  const { userId, apiKey } = apiKeyOf(ctx, c);
  const params = BinanceParams.parse(rawQuery(c.req.url), await c.req.text());
  takeRequest(ctx, c, apiKey, ctx.deps.now());
  return { userId, apiKey, params };
}

function apiKeyOf(ctx: BinanceContext, c: Context) {
  const apiKey = c.req.header("x-mbx-apikey");
  if (
    apiKey === undefined || apiKey.length === 0 || apiKey.length > MAX_API_KEY_LENGTH ||
    !API_KEY_RE.test(apiKey)
  ) {
    throw BinanceErrors.badApiKeyFormat();
  }
  const key = ctx.deps.keys.lookup(apiKey);
  if (key === undefined) throw BinanceErrors.rejectedApiKey();
  return { userId: key.userId, apiKey, secret: key.secret };
}

/** Takes one request from the key's bucket; -1003 (HTTP 429, Retry-After) when empty. */
function takeRequest(ctx: BinanceContext, c: Context, apiKey: string, now: number): void {
  if (ctx.limiter.take(apiKey, now)) return;
  c.header("Retry-After", "1");
  throw BinanceErrors.tooManyRequests(ctx.limiter.ratePerSecond, "1 SECOND");
}

/** The query string of an absolute URL as sent (without "?" and any fragment). */
export function rawQuery(url: string): string {
  const q = url.indexOf("?");
  if (q < 0) return "";
  const hash = url.indexOf("#", q);
  return hash < 0 ? url.slice(q + 1) : url.slice(q + 1, hash);
}

/**
 * `encoded` (a query string or form body) without its `signature=...` pair and the `&`
 * that joined it, every other byte as sent.
 */
export function withoutSignature(encoded: string): string {
  if (!encoded.includes("signature")) return encoded;
  return encoded.split("&").filter((pair) => nameOf(pair) !== "signature").join("&");
}

function nameOf(pair: string): string {
  const eq = pair.indexOf("=");
  const raw = (eq < 0 ? pair : pair.slice(0, eq)).replaceAll("+", " ");
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}
