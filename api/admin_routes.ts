/**
 * Admin endpoints (`/admin/v1`, behind the admin token): users, API keys, deposits and
 * withdrawals, a user's balances, and the conservation report.
 */

import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { Command } from "../domain/commands.ts";
import type { ApiDeps, ApiEnv } from "./api_context.ts";
import { ApiError, ok } from "./api_errors.ts";
import { balanceViews } from "./order_views.ts";
import { submit } from "./submit_command.ts";
import { ApiKeyParam, Envelope, TransferBody, UserIdBody, UserIdQuery } from "./api_schemas.ts";
import { intParam } from "./query_params.ts";

const json = { "application/json": { schema: Envelope } };
const answers = {
  200: { content: json, description: "done" },
  400: { content: json, description: "invalid request or rejected" },
  401: { content: json, description: "no admin token" },
  403: { content: json, description: "wrong admin token" },
  404: { content: json, description: "unknown user or key" },
  503: { content: json, description: "overloaded or not taking commands" },
};
const body = <T>(schema: T) => ({
  body: { content: { "application/json": { schema } }, required: true },
});

const createUserRoute = createRoute({
  method: "post",
  path: "/users",
  responses: answers,
  summary: "Create a user",
});
const createKeyRoute = createRoute({
  method: "post",
  path: "/api_keys",
  request: body(UserIdBody),
  responses: answers,
  summary: "Create an API key (and its secret, shown once) for a user",
});
const deleteKeyRoute = createRoute({
  method: "delete",
  path: "/api_keys/{api_key}",
  request: { params: ApiKeyParam },
  responses: answers,
  summary: "Revoke an API key",
});
const depositRoute = createRoute({
  method: "post",
  path: "/deposit",
  request: body(TransferBody),
  responses: answers,
  summary: "Credit a user's available balance",
});
const withdrawRoute = createRoute({
  method: "post",
  path: "/withdraw",
  request: body(TransferBody),
  responses: answers,
  summary: "Debit a user's available balance",
});
const balancesRoute = createRoute({
  method: "get",
  path: "/balances",
  request: { query: UserIdQuery },
  responses: answers,
  summary: "A user's balances",
});
const totalsRoute = createRoute({
  method: "get",
  path: "/totals",
  responses: answers,
  summary: "Conservation report per asset",
});

export function addAdminRoutes(app: OpenAPIHono<ApiEnv>, deps: ApiDeps): void {
  const ix = deps.markets;

  const knownUser = (userId: number) => {
    if (!deps.keys.hasUser(userId)) throw ApiError.of("UNKNOWN_USER", `unknown user ${userId}`);
  };

  app.openapi(createUserRoute, async (c) => {
    const userId = await deps.keys.createUser(deps.now());
    return c.json(ok({ user_id: userId }), 200);
  });

  app.openapi(createKeyRoute, async (c) => {
    const { user_id } = c.req.valid("json");
    knownUser(user_id);
    const k = await deps.keys.createKey(user_id, deps.now());
    return c.json(ok({ user_id, api_key: k.apiKey, secret: k.secret }), 200);
  });

  app.openapi(deleteKeyRoute, async (c) => {
    const { api_key } = c.req.valid("param");
    if (!(await deps.keys.revokeKey(api_key))) {
      throw ApiError.of("NOT_FOUND", "unknown API key");
    }
    return c.json(ok({ api_key, revoked: true }), 200);
  });

  const transfer = (type: "deposit" | "withdraw") =>
  async (b: {
    user_id: number;
    asset: string;
    amount: string;
  }) => {
    knownUser(b.user_id);
    const asset = ix.asset(b.asset);
    const cmd: Command = {
      type,
      userId: b.user_id,
      assetId: asset.id,
      amountUnits: ix.assetUnits(asset, b.amount),
    };
    await submit(deps, cmd);
    const bal = deps.exchange.balance(b.user_id, asset.id);
    return ok({
      user_id: b.user_id,
      asset: asset.name,
      available: ix.amount(asset, bal.availableUnits),
      frozen: ix.amount(asset, bal.frozenUnits),
    });
  };
  const deposit = transfer("deposit");
  const withdraw = transfer("withdraw");
  app.openapi(depositRoute, async (c) => c.json(await deposit(c.req.valid("json")), 200));
  app.openapi(withdrawRoute, async (c) => c.json(await withdraw(c.req.valid("json")), 200));

  app.openapi(balancesRoute, (c) => {
    const userId = intParam(c.req.valid("query").user_id, "user_id", 1, Number.MAX_SAFE_INTEGER);
    knownUser(userId);
    return c.json(ok({ user_id: userId, balances: balanceViews(ix, deps.exchange, userId) }), 200);
  });

  app.openapi(totalsRoute, (c) => {
    const totals = deps.exchange.totals().map((t) => {
      const a = ix.assetById(t.assetId);
      const f = (units: bigint) => bigAmount(units, a.decimals);
      return {
        asset: a.name,
        available: f(t.availableUnits),
        frozen: f(t.frozenUnits),
        fees: f(t.feeUnits),
        deposited: f(t.depositedUnits),
        withdrawn: f(t.withdrawnUnits),
        balanced: t.balanced,
      };
    });
    return c.json(ok({ assets: totals, balanced: totals.every((t) => t.balanced) }), 200);
  });
}

/** A bigint amount of units as a decimal string (totals may pass 2^53). */
function bigAmount(units: bigint, decimals: number): string {
  const negative = units < 0n;
  let s = (negative ? -units : units).toString();
  if (decimals > 0) {
    s = s.padStart(decimals + 1, "0");
    s = `${s.slice(0, s.length - decimals)}.${s.slice(s.length - decimals)}`;
  }
  return negative ? `-${s}` : s;
}
