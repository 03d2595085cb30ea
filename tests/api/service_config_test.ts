/** Unit tests for api/service_config.ts: defaults, precedence, markets, and refusals. */

import assert from "node:assert/strict";
import { ConfigError, DEFAULT_PORT, loadServiceConfig } from "../../api/service_config.ts";

async function withConfigFile(value: unknown, fn: (path: string) => Promise<void>) {
  const path = await Deno.makeTempFile({ suffix: ".json" });
  try {
    await Deno.writeTextFile(path, typeof value === "string" ? value : JSON.stringify(value));
    await fn(path);
  } finally {
    await Deno.remove(path);
  }
}

Deno.test("defaults: 127.0.0.1:8080, ./data, signed auth, BTC_USDT and ETH_USDT", async () => {
  const c = await loadServiceConfig([], {});
  assert.equal(c.host, "127.0.0.1");
  assert.equal(c.port, DEFAULT_PORT);
  assert.equal(c.dataDir, "./data");
  assert.equal(c.auth.mode, "signed");
  assert.equal(c.demo, true);
  assert.deepEqual(c.symbols.map((s) => s.name), ["BTC_USDT", "ETH_USDT"]);
  const btc = c.symbols[0];
  assert.equal(btc.qtyStepUnits, 1_000, "0.00001 BTC in satoshis");
  assert.equal(btc.minNotionalUnits, 5_000_000, "5 USDT in micro-units");
  assert.equal(btc.makerFeePpm, 1_000);
});

Deno.test("store: SQLite by default; TDengine from flags, environment or file", async () => {
  assert.deepEqual((await loadServiceConfig([], {})).storage, { kind: "sqlite" });
  const url = "http://root:taosdata@tdengine.local:6041";
  assert.deepEqual(
    (await loadServiceConfig(["--store", "tdengine", "--tdengine-url", url], {})).storage,
    { kind: "tdengine", url, database: "trading" },
  );
  assert.deepEqual(
    (await loadServiceConfig([], {
      EXCHANGE_STORE: "tdengine",
      TDENGINE_URL: url,
      TDENGINE_DB: "ex",
    }))
      .storage,
    { kind: "tdengine", url, database: "ex" },
  );
  await withConfigFile({ store: "tdengine", tdengine_url: url }, async (path) => {
    const c = await loadServiceConfig(["--config", path, "--tdengine-db", "db2"], {});
    assert.deepEqual(c.storage, { kind: "tdengine", url, database: "db2" });
  });
});

Deno.test("flags override the environment, which overrides the file", async () => {
  await withConfigFile({ port: 1111, host: "0.0.0.0", data_dir: "/file" }, async (file) => {
    const fromFile = await loadServiceConfig(["--config", file], {});
    assert.deepEqual([fromFile.port, fromFile.host, fromFile.dataDir], [1111, "0.0.0.0", "/file"]);
    const fromEnv = await loadServiceConfig(["--config", file], {
      EXCHANGE_PORT: "2222",
      EXCHANGE_DATA_DIR: "/env",
    });
    assert.deepEqual([fromEnv.port, fromEnv.dataDir], [2222, "/env"]);
    const fromFlags = await loadServiceConfig(
      ["--config", file, "--port=3333", "--data-dir", "/flag", "--no-demo"],
      { EXCHANGE_PORT: "2222" },
    );
    assert.deepEqual([fromFlags.port, fromFlags.dataDir, fromFlags.demo], [3333, "/flag", false]);
  });
  const token = await loadServiceConfig([], { ADMIN_TOKEN: "from-the-environment-123" });
  assert.equal(token.adminToken, "from-the-environment-123");
});

Deno.test("markets from the file replace the defaults, decimals parsed exactly", async () => {
  const file = {
    assets: [{ name: "SOL", decimals: 9 }, { name: "USDC", decimals: 6 }],
    symbols: [{
      name: "SOL_USDC",
      base: "SOL",
      quote: "USDC",
      price_decimals: 3,
      qty_step: "0.01",
      min_notional: "1.5",
      taker_fee_ppm: 2_500,
      default_stp: "EXPIRE_TAKER",
    }],
  };
  await withConfigFile(file, async (path) => {
    const c = await loadServiceConfig(["--config", path], {});
    assert.deepEqual(c.assets.map((a) => [a.id, a.name, a.decimals]), [[1, "SOL", 9], [
      2,
      "USDC",
      6,
    ]]);
    const s = c.symbols[0];
    assert.equal(s.qtyStepUnits, 10_000_000);
    assert.equal(s.minNotionalUnits, 1_500_000);
    assert.equal(s.takerFeePpm, 2_500);
    assert.equal(s.defaultStp, "EXPIRE_TAKER");
  });
});

Deno.test("a bad configuration is refused with a message naming the field and value", async () => {
  const refused = async (args: string[], env: Record<string, string>, pattern: RegExp) => {
    await assert.rejects(loadServiceConfig(args, env), (e: unknown) => {
      assert.ok(e instanceof ConfigError, String(e));
      assert.match(e.message, pattern);
      return true;
    });
  };
  await refused(
    ["--port", "70000"],
    {},
    /port must be an integer from 0 to 65535, received "70000"/,
  );
  await refused([], { EXCHANGE_PORT: "http" }, /port must be an integer/);
  await refused(["--auth", "none"], {}, /auth mode must be "signed" or "trusted-header"/);
  await refused(["--store", "mongo"], {}, /store must be "sqlite" or "tdengine", received "mongo"/);
  await refused(["--store", "tdengine"], {}, /store tdengine needs its address: --tdengine-url/);
  await refused(
    ["--store", "tdengine", "--tdengine-url", "h:6041"],
    {},
    /Invalid TDengine URL: .*received "h:6041"/,
  );
  await refused(
    ["--store", "tdengine", "--tdengine-db", "x-y"],
    { TDENGINE_URL: "http://h:6041" },
    /Invalid TDengine database name/,
  );
  await refused(["--colour"], {}, /unknown option "--colour"/);
  await refused(["--port"], {}, /--port needs a value/);
  await refused(["--config", "/nonexistent/x.json"], {}, /cannot read the config file/);
  await withConfigFile("{ not json", async (path) => {
    await refused(["--config", path], {}, /is not valid JSON/);
  });
  const badSymbol = (patch: Record<string, unknown>) => ({
    assets: [{ name: "BTC", decimals: 8 }, { name: "USDT", decimals: 6 }],
    symbols: [{ name: "BTC_USDT", base: "BTC", quote: "USDT", price_decimals: 2, ...patch }],
  });
  for (
    const [patch, pattern] of [
      [{ base: "DOGE" }, /unknown asset "DOGE"/],
      [{ qty_step: "0.000000001" }, /qty_step has more than 8 decimal places/],
      [{ maker_fee_ppm: -1 }, /maker_fee_ppm must be an integer from 0/],
      [{ default_stp: "SOMETIMES" }, /default_stp must be one of/],
      [{ quote: "BTC" }, /trades BTC against itself/],
    ] as [Record<string, unknown>, RegExp][]
  ) {
    await withConfigFile(badSymbol(patch), async (path) => {
      await refused(["--config", path], {}, pattern);
    });
  }
});
