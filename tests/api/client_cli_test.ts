/**
 * The terminal client against a real service: admin commands, orders that rest and
 * trade, reads of orders, balances, trades and depth, a cancel, WebSocket watching, and
 * the exit codes of bad usage (2) and server refusals (1).
 */

import assert from "node:assert/strict";
import { runClientCli } from "../../api/client_cli.ts";
import { ADMIN_TOKEN, type TestService, type TestUser, withTestService } from "./api_fixtures.ts";

/** Output of one client run, line by line. */
interface Captured {
  out: string[];
  err: string[];
  log(s: string): void;
  error(s: string): void;
}

function capture(): Captured {
  const c: Captured = {
    out: [],
    err: [],
    log: (s) => c.out.push(s),
    error: (s) => c.err.push(s),
  };
  return c;
}

interface Run {
  code: number;
  out: string;
  err: string;
}

/** Runs the client against `t` (as `u` when given) and returns its exit code and output. */
async function cli(t: TestService, args: string[], u?: TestUser): Promise<Run> {
  const c = capture();
  const auth = u === undefined ? [] : ["--api-key", u.apiKey, "--secret", u.secret];
  const code = await runClientCli(["--url", t.baseUrl, ...auth, ...args], {}, c);
  return { code, out: c.out.join("\n"), err: c.err.join("\n") };
}

/** Resolves once `cond` holds; rejects after `timeoutMs`. */
async function until(cond: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

Deno.test("admin commands create a user and a key, deposit, withdraw and report totals", async () => {
  await withTestService(async (t) => {
    const admin = ["--admin-token", ADMIN_TOKEN];
    const user = await cli(t, [...admin, "admin", "create-user"]);
    assert.equal(user.code, 0, user.err);
    const match = /^user (\d+)$/.exec(user.out);
    assert.ok(match, user.out);
    const userId = match[1];

    const key = await cli(t, [...admin, "--json", "admin", "create-key", userId]);
    assert.equal(key.code, 0, key.err);
    const { api_key: apiKey, secret } = JSON.parse(key.out);
    assert.equal(typeof apiKey, "string");
    assert.equal(typeof secret, "string");

    const deposit = await cli(t, [...admin, "admin", "deposit", userId, "USDT", "1000"]);
    assert.equal(deposit.code, 0, deposit.err);
    assert.equal(deposit.out, `user ${userId} USDT available 1000.000000 frozen 0.000000`);
    const withdraw = await cli(t, [...admin, "admin", "withdraw", userId, "USDT", "250.5"]);
    assert.equal(withdraw.code, 0, withdraw.err);
    assert.equal(withdraw.out, `user ${userId} USDT available 749.500000 frozen 0.000000`);

    // The new key works with the defaults taken from the environment.
    const c = capture();
    const env = { EXCHANGE_URL: t.baseUrl, EXCHANGE_API_KEY: apiKey, EXCHANGE_SECRET: secret };
    assert.equal(await runClientCli(["balances"], env, c), 0, c.err.join("\n"));
    assert.ok(
      c.out.some((l) => /^USDT\s+available\s+749\.500000 frozen 0\.000000$/.test(l)),
      c.out.join("\n"),
    );

    const totals = await cli(t, [...admin, "admin", "totals"]);
    assert.equal(totals.code, 0, totals.err);
    assert.match(totals.out, /^USDT .*deposited 1000\.000000 withdrawn 250\.500000 balanced$/m);
    assert.match(totals.out, /every asset balances$/);

    const noToken = await cli(t, ["admin", "totals"]);
    assert.equal(noToken.code, 2);
    assert.match(noToken.err, /admin totals needs the admin token/);
    const badToken = await cli(t, ["--admin-token", "wrong-token-0123456789", "admin", "totals"]);
    assert.equal(badToken.code, 1);
    assert.match(badToken.err, /^error 2007: /);
  });
});

Deno.test("a resting order is taken by another user; orders, balances, trades, depth and cancel show it", async () => {
  await withTestService(async (t) => {
    const alice = await t.user({ BTC: "2" });
    const bob = await t.user({ USDT: "100000" });

    const sell = await cli(t, [
      "create-order",
      "BTC_USDT",
      "SELL",
      "LIMIT",
      "--price",
      "50000",
      "--qty",
      "1",
      "--cid",
      "alice-1",
    ], alice);
    assert.equal(sell.code, 0, sell.err);
    const sellMatch = /^order (\d+) BTC_USDT SELL LIMIT 50000\.00 x 1 filled 0 NEW cid alice-1$/
      .exec(sell.out);
    assert.ok(sellMatch, sell.out);
    const sellId = sellMatch[1];

    const depth = await cli(t, ["depth", "BTC_USDT"]);
    assert.equal(depth.code, 0, depth.err);
    assert.deepEqual(depth.out.split("\n").slice(1), ["ask 50000.00 1"]);

    // Lower-case words are accepted.
    const buy = await cli(t, [
      "create-order",
      "BTC_USDT",
      "buy",
      "limit",
      "--price=50100",
      "--qty=0.4",
    ], bob);
    assert.equal(buy.code, 0, buy.err);
    const [buyLine, fillLine] = buy.out.split("\n");
    assert.match(buyLine, /^order \d+ BTC_USDT BUY LIMIT 50100\.00 x 0\.4 filled 0\.4 FILLED$/);
    assert.match(fillLine, /^fill \d+ 0\.4 @ 50000\.00 TAKER fee 0\.0004 BTC$/);

    const aliceOrders = await cli(t, ["orders", "--symbol", "BTC_USDT"], alice);
    assert.equal(aliceOrders.code, 0, aliceOrders.err);
    assert.match(
      aliceOrders.out,
      new RegExp(
        `^order ${sellId} BTC_USDT SELL LIMIT 50000\\.00 x 1 filled 0\\.4 PARTIALLY_FILLED`,
      ),
    );
    const filledOnly = await cli(t, ["orders", "--status", "FILLED"], alice);
    assert.equal(filledOnly.out, "no orders");

    const bobBalances = await cli(t, ["balances"], bob);
    assert.equal(bobBalances.code, 0, bobBalances.err);
    assert.match(bobBalances.out, /^BTC\s+available\s+0\.39960000 frozen 0\.00000000$/m);
    assert.match(bobBalances.out, /^USDT\s+available\s+80000\.000000 frozen 0\.000000$/m);

    const aliceTrades = await cli(t, ["trades", "--symbol", "BTC_USDT", "--limit", "10"], alice);
    assert.equal(aliceTrades.code, 0, aliceTrades.err);
    assert.match(
      aliceTrades.out,
      new RegExp(`^trade \\d+ BTC_USDT SELL 0\\.4 @ 50000\\.00 MAKER fee 20 USDT order ${sellId} `),
    );

    const publicTrades = await cli(t, ["public-trades", "BTC_USDT"]);
    assert.match(publicTrades.out, /^trade \d+ BTC_USDT BUY 0\.4 @ 50000\.00 \d{4}-/);

    const one = await cli(t, ["order", sellId], alice);
    assert.match(one.out, /filled 0\.4 PARTIALLY_FILLED cid alice-1$/);

    const cancel = await cli(t, ["cancel", "--symbol", "BTC_USDT", "--cid", "alice-1"], alice);
    assert.equal(cancel.code, 0, cancel.err);
    assert.match(cancel.out, new RegExp(`^order ${sellId} .* filled 0\\.4 CANCELED cid alice-1$`));

    const after = await cli(t, ["depth", "BTC_USDT", "--limit", "5"]);
    assert.deepEqual(after.out.split("\n").slice(1), ["(empty book)"]);
    const again = await cli(t, ["cancel", sellId], alice);
    assert.equal(again.code, 1, "an order already canceled cannot be canceled");
    assert.match(again.err, /^error -?\d+: /);
  });
});

Deno.test("--json prints the answer's data as indented JSON", async () => {
  await withTestService(async (t) => {
    const alice = await t.user({ USDT: "1000" });
    const placed = await cli(t, [
      "--json",
      "create-order",
      "BTC_USDT",
      "BUY",
      "LIMIT",
      "--price",
      "100",
      "--qty",
      "1",
    ], alice);
    assert.equal(placed.code, 0, placed.err);
    const order = JSON.parse(placed.out);
    assert.equal(order.status, "NEW");
    assert.ok(placed.out.includes('\n  "order_id": '), "indented by two spaces");

    const amended = await cli(
      t,
      ["amend", String(order.order_id), "--qty", "0.5", "--json"],
      alice,
    );
    assert.equal(amended.code, 0, amended.err);
    assert.equal(JSON.parse(amended.out).qty, "0.50000000");

    const balances = JSON.parse((await cli(t, ["balances", "--json"], alice)).out);
    const usdt = balances.balances.find((b: { asset: string }) => b.asset === "USDT");
    assert.deepEqual(usdt, { asset: "USDT", available: "950.000000", frozen: "50.000000" });

    const info = JSON.parse((await cli(t, ["--json", "info"])).out);
    assert.ok(info.symbols.some((s: { symbol: string }) => s.symbol === "BTC_USDT"));
    const ticker = JSON.parse((await cli(t, ["--json", "ticker", "BTC_USDT"])).out);
    assert.equal(ticker.best_bid, "100.00");
    const tickerLines = (await cli(t, ["ticker", "BTC_USDT"])).out;
    assert.match(tickerLines, /^BTC_USDT last - bid 100\.00 ask -$/m);
  });
});

Deno.test("watch prints a trade pushed while it runs, then stops after --count", async () => {
  await withTestService(async (t) => {
    const alice = await t.user({ BTC: "1" });
    const bob = await t.user({ USDT: "10000" });
    const c = capture();
    const watching = runClientCli(
      ["--url", t.baseUrl, "watch", "trades.BTC_USDT", "--count", "1"],
      {},
      c,
    );
    await until(() => c.err.some((l) => l.startsWith("watching trades.BTC_USDT")), "subscribe");

    assert.equal((await cli(t, sellArgs("0.1"), alice)).code, 0);
    assert.equal((await cli(t, buyArgs("0.1"), bob)).code, 0);

    assert.equal(await watching, 0, c.err.join("\n"));
    assert.equal(c.out.length, 1, c.out.join("\n"));
    assert.match(c.out[0], /^trade \d+ BTC_USDT BUY 0\.1 @ 50000\.00 \d{4}-/);
  });
});

Deno.test("watch logs in with the API key for private topics and prints compact JSON", async () => {
  await withTestService(async (t) => {
    const alice = await t.user({ BTC: "1" });
    const bob = await t.user({ USDT: "10000" });
    const c = capture();
    const auth = ["--api-key", alice.apiKey, "--secret", alice.secret];
    const watching = runClientCli(
      ["--url", t.baseUrl, ...auth, "watch", "user_trades", "--count", "1"],
      {},
      c,
    );
    await until(() => c.err.some((l) => l.startsWith("watching user_trades")), "login");

    assert.equal((await cli(t, sellArgs("0.2"), alice)).code, 0);
    assert.equal((await cli(t, buyArgs("0.2"), bob)).code, 0);

    assert.equal(await watching, 0, c.err.join("\n"));
    assert.equal(c.out.length, 1);
    const push = JSON.parse(c.out[0]);
    assert.equal(push.topic, "user_trades");
    assert.equal(push.data.side, "SELL", "alice sees her own side");
    assert.equal(push.data.role, "MAKER");

    // Without a key a private topic is bad usage; an unknown topic is the server's refusal.
    const noKey = await cli(t, ["watch", "orders"]);
    assert.equal(noKey.code, 2);
    assert.match(noKey.err, /watch orders needs an API key/);
    const badTopic = await cli(t, ["watch", "trades.NOPE", "--count", "1"]);
    assert.equal(badTopic.code, 1);
    assert.match(badTopic.err, /^error 1002: unknown symbol "NOPE"/);
  });
});

Deno.test("bad usage exits 2 naming the problem; a server refusal exits 1 with its code", async () => {
  await withTestService(async (t) => {
    const poor = await t.user({ USDT: "10" });

    const unknown = await cli(t, ["frobnicate"]);
    assert.equal(unknown.code, 2);
    assert.equal(unknown.out, "");
    assert.match(unknown.err, /^client: unknown command "frobnicate"\n.*--help/);

    const cases: [string[], RegExp][] = [
      [["create-order", "BTC_USDT", "HOLD", "LIMIT", "--price", "1", "--qty", "1"], /the side/],
      [["create-order", "BTC_USDT", "BUY", "LIMIT", "--qty", "1"], /needs --price and --qty/],
      [["create-order", "BTC_USDT", "BUY", "LIMIT", "--price", "-5", "--qty", "1"], /"-5"/],
      [["order", "twelve"], /ORDER_ID must be a positive integer, received "twelve"/],
      [["orders", "--status", "DONE"], /--status must be one of/],
      [["balances", "--price", "1"], /balances takes no option --price/],
      [["depth"], /depth takes 1 argument/],
      [["ticker", "BTC_USDT", "--bogus"], /unknown option "--bogus"/],
      [["admin", "promote"], /unknown admin command "promote"/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(t, args, poor);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.err}`);
      assert.match(r.err, message, args.join(" "));
    }
    const noKey = await cli(t, ["balances"]);
    assert.equal(noKey.code, 2);
    assert.match(noKey.err, /balances needs an API key/);

    // 10 USDT cannot buy 1 BTC at 50,000.
    const refused = await cli(t, buyArgs("1"), poor);
    assert.equal(refused.code, 1);
    assert.equal(refused.out, "");
    assert.match(refused.err, /^error -2001: /);

    const help = capture();
    assert.equal(await runClientCli(["--help"], {}, help), 0);
    for (const word of ["create-order", "cancel", "amend", "orders", "public-trades", "watch"]) {
      assert.ok(help.out.join("\n").includes(word), word);
    }
    assert.equal(await runClientCli([], {}, capture()), 2, "no command is bad usage");
    // What `deno task client -- <command>` passes: the "--" is not a command.
    const dashed = capture();
    assert.equal(await runClientCli(["--", "--help"], {}, dashed), 0);
    assert.equal(await runClientCli(["--", "info"], { EXCHANGE_URL: t.baseUrl }, dashed), 0);
  });
});

Deno.test("an exchange that cannot be reached exits 1", async () => {
  // A port that was free a moment ago: nothing listens on it.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const c = capture();
  const code = await runClientCli(["--url", `http://127.0.0.1:${port}`, "info"], {}, c);
  assert.equal(code, 1);
  assert.match(c.err.join("\n"), /^client: cannot reach http:\/\/127\.0\.0\.1:\d+: /);
});

function sellArgs(qty: string): string[] {
  return ["create-order", "BTC_USDT", "SELL", "LIMIT", "--price", "50000", "--qty", qty];
}

function buyArgs(qty: string): string[] {
  return ["create-order", "BTC_USDT", "BUY", "LIMIT", "--price", "50000", "--qty", qty];
}
