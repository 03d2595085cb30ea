/**
 * Authentication of private requests, as Hono middleware. Signed mode (the default):
 * headers X-API-KEY, X-TIMESTAMP (ms) and X-SIGNATURE, the lowercase hex
 * HMAC-SHA256(secret, timestamp + METHOD + path_with_query + raw_body); the timestamp
 * must be within the window of the server's clock, a signature is accepted once, and
 * each key has a request rate limit. Trusted-header mode (explicit config only): the
 * user id is taken from X-User-ID as is. The admin token guards /admin.
 */

import type { MiddlewareHandler } from "hono";
import { type ApiDeps, type ApiEnv, type AuthState } from "./api_context.ts";
import { ApiError } from "./api_errors.ts";
import { tokenMatches } from "./admin_token.ts";
import { signatureMatches, signaturePayload } from "./signature.ts";

const TIMESTAMP_RE = /^\d{1,16}$/;

/** Middleware that authenticates a user and sets `userId`, or answers 401/403/429. */
export function userAuth(deps: ApiDeps, state: AuthState): MiddlewareHandler<ApiEnv> {
  if (deps.auth.mode === "trusted-header") {
    return async (c, next) => {
      const raw = c.req.header("x-user-id");
      if (raw === undefined) throw ApiError.of("MISSING_AUTH", "missing header X-User-ID");
      const userId = /^\d{1,15}$/.test(raw) ? Number(raw) : NaN;
      if (!Number.isSafeInteger(userId) || !deps.keys.hasUser(userId)) {
        throw ApiError.of("UNKNOWN_USER", `unknown user in X-User-ID, received "${raw}"`);
      }
      c.set("userId", userId);
      await next();
    };
  }
  return async (c, next) => {
    const apiKey = c.req.header("x-api-key");
    const ts = c.req.header("x-timestamp");
    const signature = c.req.header("x-signature");
    if (apiKey === undefined || ts === undefined || signature === undefined) {
      throw ApiError.of(
        "MISSING_AUTH",
        "a private endpoint needs the headers X-API-KEY, X-TIMESTAMP and X-SIGNATURE",
      );
    }
    const key = deps.keys.lookup(apiKey);
    if (key === undefined) throw ApiError.of("UNKNOWN_API_KEY", "unknown API key");
    const now = deps.now();
    const tsMs = TIMESTAMP_RE.test(ts) ? Number(ts) : NaN;
    const windowMs = deps.auth.timestampWindowMs;
    if (!Number.isSafeInteger(tsMs) || Math.abs(now - tsMs) > windowMs) {
      throw ApiError.of(
        "STALE_TIMESTAMP",
        `X-TIMESTAMP must be the current time in ms within ${windowMs} ms of the server's (${now}), received "${ts}"`,
      );
    }
    const body = await c.req.text();
    const payload = signaturePayload(ts, c.req.method, pathWithQuery(c.req.url), body);
    if (!signatureMatches(key.secret, payload, signature)) {
      throw ApiError.of(
        "BAD_SIGNATURE",
        "X-SIGNATURE does not match: sign timestamp + METHOD + path with query + raw body with HMAC-SHA256, lowercase hex",
      );
    }
    const seen = state.replay.check(signature, tsMs, now);
    if (seen === "replayed") {
      throw ApiError.of(
        "REPLAYED_REQUEST",
        "this signature was already used: sign each request anew",
      );
    }
    if (seen === "full") {
      throw ApiError.of("TOO_MANY_REQUESTS_IN_WINDOW", "too many signed requests in the window", 1);
    }
    if (!state.limiter.take(apiKey, now)) {
      throw ApiError.of(
        "RATE_LIMITED",
        `rate limit of ${deps.auth.ratePerSecond} requests/s per API key exceeded`,
        1,
      );
    }
    c.set("userId", key.userId);
    await next();
  };
}

/**
 * The path and query of an absolute URL as the client sent them ("/a/b?x=1"), without
 * parsing the whole URL: the request line is already normalised by the HTTP server.
 */
export function pathWithQuery(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return "/";
  const hash = url.indexOf("#", start);
  return hash < 0 ? url.slice(start) : url.slice(start, hash);
}

/** Middleware for /admin: `Authorization: Bearer <admin token>`. */
export function adminAuth(deps: ApiDeps): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const header = c.req.header("authorization");
    if (header === undefined || !header.startsWith("Bearer ")) {
      throw ApiError.of(
        "ADMIN_TOKEN_REQUIRED",
        "admin endpoints need Authorization: Bearer <admin token>",
      );
    }
    if (!tokenMatches(deps.adminToken, header.slice("Bearer ".length))) {
      throw ApiError.of("FORBIDDEN", "wrong admin token");
    }
    await next();
  };
}
