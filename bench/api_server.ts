/**
 * A server under test of the API bench, run as its own process:
 *
 *   deno run -A bench/api_server.ts exchange DATA_DIR   the service (startService) on
 *       127.0.0.1, port chosen by the system, signed auth with a rate limit high enough
 *       not to be the bench's limit, admin token from ADMIN_TOKEN;
 *   deno run -A bench/api_server.ts bare                 a bare Hono app with one JSON
 *       endpoint, `POST /bare`, that answers the body it received in the envelope.
 *
 * It writes `{"port":N}` on stdout once listening, then takes commands on stdin (JSON
 * lines): `{"op":"profile-start"}` and `{"op":"profile-stop"}` (a V8 CPU profile of the
 * server; the summary is written back), `{"op":"lag-start"}` and `{"op":"lag-stop"}` (how
 * late a 1 ms timer fires: the event loop's stalls). Closing stdin stops it: the service
 * stops gracefully, then the process exits.
 */

import { Hono } from "hono";
import type { Logger } from "../actors/actor.ts";
import { startService } from "../api/service.ts";
import { loadServiceConfig } from "../api/service_config.ts";
import { stdinLines, writeLine } from "./child_process.ts";
import { CpuProfiler, summarizeProfile } from "./cpu_profile.ts";
import { LoopLagMonitor } from "./loop_lag.ts";

/** Requests per second per API key and burst: far above what two cores can send. */
export const BENCH_RATE_PER_SECOND = 10_000_000;

const REPO_ROOT = new URL("../", import.meta.url).href;

async function startExchange(dataDir: string): Promise<{ port: number; stop(): Promise<void> }> {
  const config = await loadServiceConfig(
    ["--port", "0", "--host", "127.0.0.1", "--data-dir", dataDir, "--no-demo"],
    { ADMIN_TOKEN: Deno.env.get("ADMIN_TOKEN") },
  );
  config.auth = {
    ...config.auth,
    ratePerSecond: BENCH_RATE_PER_SECOND,
    burst: BENCH_RATE_PER_SECOND,
  };
  // Errors and warnings go to stderr, where the bench collects them; info is dropped.
  const logger: Logger = {
    info: () => {},
    warn: (m) => console.error(`warn: ${m}`),
    error: (m) => console.error(`error: ${m}`),
  };
  const service = await startService(config, { logger });
  return { port: service.port, stop: () => service.stop() };
}

async function startBare(): Promise<{ port: number; stop(): Promise<void> }> {
  const app = new Hono();
  app.post("/bare", async (c) => c.json({ code: 0, msg: "ok", data: await c.req.json() }));
  let listening!: (addr: Deno.NetAddr) => void;
  const at = new Promise<Deno.NetAddr>((r) => (listening = r));
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: (addr) => listening(addr as Deno.NetAddr),
  }, app.fetch);
  const addr = await at;
  return { port: addr.port, stop: () => server.shutdown() };
}

if (import.meta.main) {
  const [kind, dataDir] = Deno.args;
  if (kind !== "bare" && !(kind === "exchange" && dataDir !== undefined)) {
    console.error("Usage: api_server.ts exchange DATA_DIR | api_server.ts bare");
    Deno.exit(2);
  }
  const server = kind === "bare" ? await startBare() : await startExchange(dataDir);
  writeLine({ port: server.port });
  let profiler: CpuProfiler | undefined;
  let lag: LoopLagMonitor | undefined;
  for await (const msg of stdinLines()) {
    const op = (msg as { op?: string }).op;
    if (op === "profile-start" && profiler === undefined) {
      profiler = new CpuProfiler();
      await profiler.start();
      writeLine({ ok: true });
    } else if (op === "profile-stop" && profiler !== undefined) {
      const profile = await profiler.stop();
      profiler = undefined;
      const rawPath = Deno.env.get("API_BENCH_PROFILE_FILE");
      if (rawPath) await Deno.writeTextFile(rawPath, JSON.stringify(profile));
      writeLine({
        summary: summarizeProfile(profile, REPO_ROOT, ["api/", "actors/", "persistence/"], 25),
      });
    } else if (op === "lag-start" && lag === undefined) {
      lag = new LoopLagMonitor();
      writeLine({ ok: true });
    } else if (op === "lag-stop" && lag !== undefined) {
      writeLine({ lag: lag.stop() });
      lag = undefined;
    } else {
      writeLine({ error: `unknown or out-of-turn op ${JSON.stringify(op)}` });
    }
  }
  await server.stop();
  Deno.exit(0);
}
