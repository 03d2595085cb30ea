/**
 * A real service for API tests: started on an ephemeral 127.0.0.1 port over a fresh
 * data dir, with a quiet logger, an admin client, and helpers to create funded users.
 */

import assert from "node:assert/strict";
import type { Logger } from "../../actors/actor.ts";
import { type RunningService, startService } from "../../api/service.ts";
import { DEFAULT_AUTH, loadServiceConfig, type ServiceConfig } from "../../api/service_config.ts";
import { SignedClient } from "../../api/signed_client.ts";
import { DEFAULT_WS_LIMITS, type WsLimits } from "../../api/ws_connection.ts";

export const ADMIN_TOKEN = "test-admin-token-0123456789";

export interface TestService {
  service: RunningService;
  config: ServiceConfig;
  baseUrl: string;
  admin: SignedClient;
  logs: string[];
  dataDir: string;
  /** Creates a user with an API key, funded by deposits (asset name → decimal string). */
  user(funds?: Record<string, string>): Promise<TestUser>;
  stop(): Promise<void>;
}

export interface TestUser {
  userId: number;
  apiKey: string;
  secret: string;
  client: SignedClient;
}

export async function startTestService(
  opts: {
    dataDir?: string;
    auth?: Partial<ServiceConfig["auth"]>;
    maxBodyBytes?: number;
    wsLimits?: Partial<WsLimits>;
  } = {},
): Promise<TestService> {
  const dataDir = opts.dataDir ?? await Deno.makeTempDir({ prefix: "api_test_" });
  const config = await loadServiceConfig(
    ["--port", "0", "--data-dir", dataDir, "--no-demo", "--admin-token", ADMIN_TOKEN],
    {},
  );
  config.auth = { ...DEFAULT_AUTH, ...opts.auth };
  if (opts.maxBodyBytes !== undefined) config.maxBodyBytes = opts.maxBodyBytes;
  const logs: string[] = [];
  const logger: Logger = {
    info: (m) => logs.push(`info: ${m}`),
    warn: (m) => logs.push(`warn: ${m}`),
    error: (m) => logs.push(`error: ${m}`),
  };
  const service = await startService(config, {
    logger,
    wsLimits: { ...DEFAULT_WS_LIMITS, ...opts.wsLimits },
  });
  const baseUrl = `http://127.0.0.1:${service.port}`;
  const admin = new SignedClient(baseUrl);
  const adminPost = (path: string, body: unknown) =>
    admin.request("POST", path, JSON.stringify(body), {
      authorization: `Bearer ${ADMIN_TOKEN}`,
    });
  return {
    service,
    config,
    baseUrl,
    admin,
    logs,
    dataDir,
    async user(funds = {}) {
      const u = await adminPost("/admin/v1/users", {});
      if (u.code !== 0) throw new Error(`cannot create a user: ${u.msg}`);
      const userId = (u.data as { user_id: number }).user_id;
      const k = await adminPost("/admin/v1/api_keys", { user_id: userId });
      if (k.code !== 0) throw new Error(`cannot create a key: ${k.msg}`);
      const { api_key: apiKey, secret } = k.data as { api_key: string; secret: string };
      for (const [asset, amount] of Object.entries(funds)) {
        const d = await adminPost("/admin/v1/deposit", { user_id: userId, asset, amount });
        if (d.code !== 0) throw new Error(`cannot deposit: ${d.msg}`);
      }
      return { userId, apiKey, secret, client: new SignedClient(baseUrl, { apiKey, secret }) };
    },
    async stop() {
      await service.stop();
      await service.finished;
    },
  };
}

/** Admin request with the bearer token. */
export function adminRequest(
  t: TestService,
  method: string,
  path: string,
  body?: unknown,
  token = ADMIN_TOKEN,
) {
  return t.admin.request(method, path, body === undefined ? "" : JSON.stringify(body), {
    authorization: `Bearer ${token}`,
  });
}

/** Runs `fn` against a fresh service, then stops it and removes its data dir. */
export async function withTestService(
  fn: (t: TestService) => Promise<void>,
  opts?: Parameters<typeof startTestService>[0],
): Promise<void> {
  const t = await startTestService(opts);
  try {
    await fn(t);
  } finally {
    await t.stop();
    await Deno.remove(t.dataDir, { recursive: true });
  }
}

/**
 * The trades of the shared scenario, on BTC_USDT:
 * t1 0.01 @ 10000 and t2 0.02 @ 10000 and t3 0.005 @ 10100 (one taker BUY order),
 * then t4 0.004 @ 9000 (taker SELL). The book is left with an ask 0.015 @ 10100 and a
 * bid 0.016 @ 9000.
 */
export async function tradeScenario(t: TestService): Promise<void> {
  const alice = await t.user({ USDT: "100000", BTC: "10" });
  const bob = await t.user({ USDT: "100000", BTC: "10" });
  const order = async (c: typeof alice.client, side: string, price: string, qty: string) => {
    const r = await c.post("/api/v1/create_order", {
      symbol: "BTC_USDT",
      side,
      type: "LIMIT",
      price,
      qty,
    });
    assert.equal(r.code, 0, r.msg);
  };
  await order(alice.client, "SELL", "10000", "0.01");
  await order(alice.client, "SELL", "10000", "0.02");
  await order(alice.client, "SELL", "10100", "0.02");
  await order(bob.client, "BUY", "10100", "0.035");
  await order(bob.client, "BUY", "9000", "0.02");
  await order(alice.client, "SELL", "9000", "0.004");
  await t.service.exchange.whenIdle();
}
