/**
 * The first start of the service: it creates the admin token (stored 0600) and two funded
 * demo users and prints them once; a second start on the same data dir reuses them.
 */

import assert from "node:assert/strict";
import type { Logger } from "../../actors/actor.ts";
import { startService } from "../../api/service.ts";
import { loadServiceConfig } from "../../api/service_config.ts";
import { SignedClient } from "../../api/signed_client.ts";

async function start(dataDir: string, logs: string[]) {
  const logger: Logger = {
    info: (m) => logs.push(m),
    warn: (m) => logs.push(m),
    error: (m) => logs.push(m),
  };
  const config = await loadServiceConfig(["--port", "0", "--data-dir", dataDir], {});
  return await startService(config, { logger });
}

Deno.test("the first start creates the admin token and funded demo users, once", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "service_start_" });
  try {
    const logs: string[] = [];
    const first = await start(dataDir, logs);
    const tokenLine = logs.find((l) => l.startsWith("Created the admin token"));
    assert.ok(tokenLine !== undefined, logs.join("\n"));
    const token = (await Deno.readTextFile(`${dataDir}/auth/admin_token`)).trim();
    assert.ok(tokenLine.endsWith(token), "the printed token is the stored one");
    assert.equal((await Deno.stat(`${dataDir}/auth/admin_token`)).mode! & 0o777, 0o600);
    assert.equal((await Deno.stat(`${dataDir}/auth/keys.json`)).mode! & 0o777, 0o600);
    const demo = logs.find((l) => l.startsWith("Created two demo users"));
    assert.ok(demo !== undefined);
    const m = /bob: user_id (\d+), api_key (\w+), secret (\w+)/.exec(demo)!;
    const bob = new SignedClient(`http://127.0.0.1:${first.port}`, { apiKey: m[2], secret: m[3] });
    const bal = await bob.get<{ balances: { asset: string; available: string }[] }>(
      "/api/v1/balances",
    );
    assert.equal(bal.code, 0, bal.msg);
    assert.equal(bal.data!.balances.find((b) => b.asset === "USDT")!.available, "1000000.000000");
    for (const stage of ["acquiring", "match", "settlement", "kline", "push"]) {
      assert.ok(logs.includes(`Stage ${stage} started`), `a log line for stage ${stage}`);
    }
    await first.stop();

    const again: string[] = [];
    const second = await start(dataDir, again);
    assert.ok(!again.some((l) => l.startsWith("Created")), again.join("\n"));
    const admin = await fetch(`http://127.0.0.1:${second.port}/admin/v1/totals`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal((await admin.json()).code, 0, "the stored token still works");
    await second.stop();
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
