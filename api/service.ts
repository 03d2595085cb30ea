/**
 * The exchange as a service (`deno task start`): opens the store and the exchange
 * (recovering from the data dir), the key store and the admin token, creates the demo
 * users on the first start, and serves the HTTP API until a signal stops it gracefully
 * or the supervisor gives up.
 */

import { Exchange } from "../actors/exchange.ts";
import type { Logger } from "../actors/actor.ts";
import { installShutdownSignals } from "../actors/shutdown_signals.ts";
import { SqliteWorkerStore } from "../persistence/sqlite_worker_store.ts";
import type { StoragePort } from "../persistence/storage_port.ts";
import { TdengineStore } from "../persistence/tdengine_store.ts";
import type { ApiDeps } from "./api_context.ts";
import { buildApp } from "./app.ts";
import { loadOrCreateAdminToken } from "./admin_token.ts";
import { KeyStore } from "./key_store.ts";
import { MarketIndex } from "./market_index.ts";
import { ApiMetrics } from "./metrics.ts";
import type { ServiceConfig } from "./service_config.ts";
import type { WsLimits } from "./ws_connection.ts";

/** Funds each demo user receives on the first start, by asset name (decimal strings). */
export const DEMO_FUNDS: Record<string, string> = {
  BTC: "10",
  ETH: "100",
  USDT: "1000000",
};

/** The configured store, not yet initialised (the exchange does that as it opens). */
function openStore(config: ServiceConfig, logger: Logger, workerUrl?: string): StoragePort {
  if (config.storage.kind === "tdengine") {
    const store = new TdengineStore({
      url: config.storage.url,
      database: config.storage.database,
      logger,
    });
    logger.info(`Store: TDengine at ${store.location} (REST)`);
    return store;
  }
  const path = `${config.dataDir}/exchange.db`;
  logger.info(`Store: SQLite at ${path}`);
  return new SqliteWorkerStore({ path, workerUrl });
}

/** A started service: its address, and how to stop it. */
export interface RunningService {
  /** The port it listens on (the one chosen when the config said 0). */
  port: number;
  hostname: string;
  exchange: Exchange;
  /** Stops serving, then stops the exchange gracefully. Idempotent. */
  stop(): Promise<void>;
  /** Resolves with the process exit code once the service has ended. */
  finished: Promise<number>;
}

/** Starts the service. Throws if the data dir, the store or the config is unusable. */
export async function startService(
  config: ServiceConfig,
  opts: {
    logger?: Logger;
    installSignals?: boolean;
    now?: () => number;
    /** WebSocket bounds (tests make them small). */
    wsLimits?: WsLimits;
    /** Entry module of the SQLite store's worker (the bundle passes itself). */
    storeWorkerUrl?: string;
  } = {},
): Promise<RunningService> {
  const logger = opts.logger ?? console;
  const now = opts.now ?? (() => Date.now());
  await Deno.mkdir(config.dataDir, { recursive: true });
  const authDir = `${config.dataDir}/auth`;
  const keys = await KeyStore.open(authDir);
  const admin = await loadOrCreateAdminToken(authDir, config.adminToken);
  const exchange = await Exchange.open({
    dataDir: config.dataDir,
    assets: config.assets,
    symbols: config.symbols,
    store: openStore(config, logger, opts.storeWorkerUrl),
    logger,
  });
  const markets = new MarketIndex(exchange.markets, exchange.assets);
  if (config.auth.mode === "trusted-header") {
    logger.warn(
      "Auth mode trusted-header: X-User-ID is believed as sent. Use it only behind a gateway that sets it.",
    );
  }
  if (admin.source === "created") {
    logger.info(
      `Created the admin token (stored in ${authDir}/admin_token, shown once): ${admin.token}`,
    );
  }
  if (config.demo && keys.userCount === 0) {
    await createDemoUsers(exchange, keys, markets, logger, now);
  }

  const deps: ApiDeps = {
    exchange,
    markets,
    keys,
    adminToken: admin.token,
    auth: config.auth,
    now,
    logger,
    maxBodyBytes: config.maxBodyBytes,
    metrics: new ApiMetrics(),
  };
  const app = buildApp(deps, opts.wsLimits);
  let listening!: (addr: Deno.NetAddr) => void;
  const listeningAt = new Promise<Deno.NetAddr>((r) => (listening = r));
  const server = Deno.serve({
    hostname: config.host,
    port: config.port,
    onListen: (addr) => listening(addr as Deno.NetAddr),
  }, app.fetch);
  const addr = await listeningAt;
  logger.info(
    `Listening on http://${addr.hostname}:${addr.port} (data dir ${config.dataDir}, ${
      markets.list().map((m) => m.spec.name).join(", ")
    })`,
  );

  let stopping: Promise<void> | null = null;
  const stop = () => {
    if (stopping === null) {
      stopping = (async () => {
        await server.shutdown();
        await exchange.stop();
      })();
    }
    return stopping;
  };
  let signals: ReturnType<typeof installShutdownSignals> | undefined;
  if (opts.installSignals) {
    signals = installShutdownSignals(exchange, {
      logger,
      onSignal: () => void server.shutdown(),
    });
  }
  const finished = Promise.race([
    exchange.terminated.then(async (t) => {
      // The supervisor gave up (or the exchange stopped): stop serving too.
      await server.shutdown();
      return t.code;
    }),
    signals === undefined ? new Promise<number>(() => {}) : signals.stopped.then(
      () => 0,
      (e) => {
        logger.error(`Graceful stop failed: ${e instanceof Error ? e.message : e}`);
        return 1;
      },
    ),
  ]);
  return { port: addr.port, hostname: addr.hostname, exchange, stop, finished };
}

async function createDemoUsers(
  exchange: Exchange,
  keys: KeyStore,
  markets: MarketIndex,
  logger: Logger,
  now: () => number,
): Promise<void> {
  const lines: string[] = [];
  for (const name of ["alice", "bob"]) {
    const userId = await keys.createUser(now());
    const key = await keys.createKey(userId, now());
    const funded: string[] = [];
    for (const asset of markets.assetList()) {
      const amount = DEMO_FUNDS[asset.name] ?? "1000";
      const r = await exchange.submit({
        type: "deposit",
        userId,
        assetId: asset.id,
        amountUnits: markets.assetUnits(asset, amount),
      });
      if (r.status !== "done" || r.events.some((e) => e.type === "rejected")) {
        throw new Error(`Cannot fund demo user ${name}: ${JSON.stringify(r)}`);
      }
      funded.push(`${amount} ${asset.name}`);
    }
    lines.push(
      `  ${name}: user_id ${userId}, api_key ${key.apiKey}, secret ${key.secret} (${
        funded.join(", ")
      })`,
    );
  }
  logger.info(
    `Created two demo users with funded balances (first start; --no-demo to skip):\n${
      lines.join("\n")
    }`,
  );
}
