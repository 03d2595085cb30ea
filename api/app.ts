/**
 * The HTTP application: the native REST API under /api/v1 (public market data, private
 * endpoints behind user auth), admin under /admin/v1 (behind the admin token), /health,
 * WebSocket streams at /ws, /metrics, the OpenAPI document at /openapi.json and a
 * reference page rendered from it at /docs. Every answer uses the envelope
 * `{code, msg, data}`; errors carry a stable code and a message that says what is wrong.
 */

import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import {
  type ApiDeps,
  type ApiEnv,
  MAX_RATE_LIMITED_KEYS,
  MAX_REPLAY_ENTRIES,
} from "./api_context.ts";
import { ApiError, errorBody, ok } from "./api_errors.ts";
import { addAdminRoutes } from "./admin_routes.ts";
import { renderDocsPage } from "./docs_page.ts";
import { invalidRequestMessage } from "./json_route.ts";
import { addMarketRoutes } from "./market_routes.ts";
import { addOrderRoutes } from "./order_routes.ts";
import { RateLimiter } from "./rate_limiter.ts";
import { ReplayGuard } from "./replay_guard.ts";
import { adminAuth, userAuth } from "./request_auth.ts";
import { DEFAULT_WS_LIMITS, type WsLimits } from "./ws_connection.ts";
import { wsHandler } from "./ws_route.ts";
import { addBinanceApi } from "./binance/binance_api.ts";

/** The Hono app serving the exchange's HTTP API. */
export function buildApp(
  deps: ApiDeps,
  wsLimits: WsLimits = DEFAULT_WS_LIMITS,
): OpenAPIHono<ApiEnv> {
  const app = new OpenAPIHono<ApiEnv>({ defaultHook: validationHook });
  const state = {
    replay: new ReplayGuard({
      windowMs: deps.auth.timestampWindowMs,
      maxEntries: MAX_REPLAY_ENTRIES,
    }),
    limiter: new RateLimiter({
      ratePerSecond: deps.auth.ratePerSecond,
      burst: deps.auth.burst,
      maxKeys: MAX_RATE_LIMITED_KEYS,
    }),
  };

  // Requests are counted by route pattern, found from the path: Hono's `routePath` was
  // measured at about 9 µs a request (a sixth of a signed order's cost).
  let routeOf: ((path: string) => string) | undefined;
  app.use("*", async (c, next) => {
    const t0 = performance.now();
    await next();
    routeOf ??= routeLabeller(app.routes.map((r) => r.path));
    deps.metrics.request(routeOf(c.req.path), c.res.status, (performance.now() - t0) / 1000);
  });
  app.use(
    "*",
    bodyLimit({
      maxSize: deps.maxBodyBytes,
      onError: () => {
        throw ApiError.of(
          "BODY_TOO_LARGE",
          `request body larger than ${deps.maxBodyBytes} bytes`,
        );
      },
    }),
  );

  const publicApi = new OpenAPIHono<ApiEnv>({ defaultHook: validationHook });
  addMarketRoutes(publicApi, deps);
  const privateApi = new OpenAPIHono<ApiEnv>({ defaultHook: validationHook });
  privateApi.use("*", userAuth(deps, state));
  addOrderRoutes(privateApi, deps);
  const adminApi = new OpenAPIHono<ApiEnv>({ defaultHook: validationHook });
  adminApi.use("*", adminAuth(deps));
  addAdminRoutes(adminApi, deps);

  app.get("/health", (c) => {
    const stages = deps.exchange.health();
    const healthy = stages.every((s) => s.state === "running");
    return c.json(
      ok({
        status: healthy ? "ok" : "degraded",
        stages: stages.map((s) => ({
          name: s.name,
          state: s.state,
          restarts: s.restarts,
          last_error: s.lastError,
          since: s.sinceMs,
        })),
      }),
      healthy ? 200 : 503,
    );
  });
  app.get("/ws", wsHandler(deps, state, wsLimits));
  app.get("/metrics", (c) =>
    c.text(deps.metrics.render(deps.exchange), 200, {
      "content-type": "text/plain; version=0.0.4; charset=utf-8",
    }));
  app.route("/api/v1", publicApi);
  app.route("/api/v1", privateApi);
  app.route("/admin/v1", adminApi);
  const docConfig = {
    openapi: "3.1.0",
    info: { title: "Exchange core: native REST API", version: "1" },
  };
  app.doc31("/openapi.json", docConfig);
  let docsHtml: string | undefined;
  app.get("/docs", (c) => c.html(docsHtml ??= renderDocsPage(app.getOpenAPI31Document(docConfig))));

  addBinanceApi(app, deps, wsLimits);

  app.notFound((c) =>
    c.json(
      errorBody(ApiError.of("NOT_FOUND", "").code, `no route ${c.req.method} ${c.req.path}`),
      404,
    )
  );
  app.onError((err, c) => errorAnswer(err, c, deps));
  return app;
}

/**
 * A function from a request path to its route pattern (`/api/v1/order/:order_id`), or
 * "unmatched": metrics must not get a label per order id or per unknown path.
 */
function routeLabeller(patterns: readonly string[]): (path: string) => string {
  const literal = new Set<string>();
  const withParams: { prefix: string; pattern: string; segments: number }[] = [];
  for (const p of patterns) {
    if (p.includes("*")) continue;
    const colon = p.indexOf("/:");
    if (colon < 0) literal.add(p);
    else {withParams.push({
        prefix: p.slice(0, colon + 1),
        pattern: p,
        segments: p.split("/").length,
      });}
  }
  return (path) => {
    if (literal.has(path)) return path;
    for (const w of withParams) {
      if (path.startsWith(w.prefix) && path.split("/").length === w.segments) return w.pattern;
    }
    return "unmatched";
  };
}

function errorAnswer(err: unknown, c: Context, deps: ApiDeps): Response {
  if (err instanceof ApiError) {
    if (err.retryAfterS !== undefined) c.header("Retry-After", String(err.retryAfterS));
    return c.json(errorBody(err.code, err.message), err.status as ContentfulStatusCode);
  }
  if (err instanceof HTTPException && err.status < 500) {
    // Hono's own 4xx, e.g. a body that is not JSON where JSON was required.
    const invalidJson = err.status === 400;
    const e = invalidJson
      ? ApiError.of("INVALID_JSON", `the request body is not valid JSON: ${err.message}`)
      : new ApiError(err.status, ApiError.of("INVALID_PARAMETER", "").code, err.message);
    return c.json(errorBody(e.code, e.message), e.status as ContentfulStatusCode);
  }
  deps.logger.error(
    `HTTP ${c.req.method} ${c.req.path} failed: ${err instanceof Error ? err.stack : err}`,
  );
  const e = ApiError.of("INTERNAL", "internal error; the request may not have been applied");
  return c.json(errorBody(e.code, e.message), 500);
}

/** Answers a request that fails its schema with 400 and the first problems found. */
function validationHook(
  result: { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } },
  c: Context,
): Response | undefined {
  if (result.success) return undefined;
  const e = ApiError.of("INVALID_PARAMETER", invalidRequestMessage(result.error?.issues ?? []));
  return c.json(errorBody(e.code, e.message), 400);
}
