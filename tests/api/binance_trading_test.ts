/**
 * The Binance-compatible signed REST API (/api/v3 orders, account, trades, listen keys)
 * over real sockets: requests signed here as Binance clients sign them, every answer
 * checked field by field against what the engine did, and every refusal checked for
 * Binance's code, message and HTTP status and for changing nothing.
 */

import assert from "node:assert/strict";
import { signPayload } from "../../api/signature.ts";
import {
  capWhole,
  history,
  type HistoryReader,
  MAX_HISTORY_QUERIES,
} from "../../api/binance/binance_order_history.ts";
import { withoutSignature } from "../../api/binance/binance_auth.ts";
import type { BinanceContext } from "../../api/binance/binance_context.ts";
import { binanceTradingRoutes } from "../../api/binance/binance_trading_routes.ts";
import { Hono } from "hono";
import type { Page } from "../../persistence/storage_port.ts";
import { type TestService, type TestUser, withTestService } from "./api_fixtures.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

interface SendOptions {
  /** Where the parameters go: all in the query, all in the body, or split (default query for GET/DELETE, body for POST/PUT). */
  where?: "query" | "body" | "split";
  timestamp?: number;
  /** Secret to sign with (default the user's); null: no signature. */
  secret?: string | null;
  /** API key header (default the user's); null: no header. */
  apiKey?: string | null;
  /** Extra raw text appended to the query after signing (tampering). */
  appendQuery?: string;
  /** What is signed (default query + body, Binance's totalParams). */
  signOver?: (query: string, body: string) => string;
}

interface Answer {
  status: number;
  body: Any;
  headers: Headers;
}

/** Sends a signed Binance request: totalParams = query + body, signature appended last. */
async function send(
  t: TestService,
  user: Pick<TestUser, "apiKey" | "secret">,
  method: string,
  path: string,
  params: Record<string, string> = {},
  opts: SendOptions = {},
): Promise<Answer> {
  const all = new URLSearchParams(params);
  if (opts.timestamp !== null) all.set("timestamp", String(opts.timestamp ?? Date.now()));
  const where = opts.where ?? (method === "GET" || method === "DELETE" ? "query" : "body");
  let query = "";
  let body = "";
  if (where === "query") query = all.toString();
  else if (where === "body") body = all.toString();
  else {
    const entries = [...all];
    const half = Math.ceil(entries.length / 2);
    query = new URLSearchParams(entries.slice(0, half)).toString();
    body = new URLSearchParams(entries.slice(half)).toString();
  }
  const secret = opts.secret === undefined ? user.secret : opts.secret;
  if (secret !== null) {
    const signature = signPayload(secret, (opts.signOver ?? ((q, b) => q + b))(query, body));
    if (body !== "") body += `&signature=${signature}`;
    else query += (query === "" ? "" : "&") + `signature=${signature}`;
  }
  query += opts.appendQuery ?? "";
  return await raw(
    t,
    method,
    path + (query === "" ? "" : `?${query}`),
    body,
    opts.apiKey === undefined ? user.apiKey : opts.apiKey,
  );
}

async function raw(
  t: TestService,
  method: string,
  pathWithQuery: string,
  body: string,
  apiKey: string | null,
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (apiKey !== null) headers["X-MBX-APIKEY"] = apiKey;
  if (body !== "") headers["content-type"] = "application/x-www-form-urlencoded";
  const res = await fetch(`${t.baseUrl}/api/v3${pathWithQuery}`, {
    method,
    headers,
    body: body === "" ? undefined : body,
  });
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text), headers: res.headers };
}

/** Asserts a Binance error answer, exactly. */
function assertError(a: Answer, status: number, code: number, msg: string): void {
  assert.deepEqual(a.body, { code, msg }, `HTTP ${a.status} ${JSON.stringify(a.body)}`);
  assert.equal(a.status, status);
}

function ok(a: Answer): Any {
  assert.equal(a.status, 200, JSON.stringify(a.body));
  return a.body;
}

async function balances(t: TestService, u: TestUser): Promise<Record<string, [string, string]>> {
  const acct = ok(await send(t, u, "GET", "/account"));
  return Object.fromEntries(acct.balances.map((b: Any) => [b.asset, [b.free, b.locked]]));
}

const SELL_LIMIT = {
  symbol: "BTCUSDT",
  side: "SELL",
  type: "LIMIT",
  timeInForce: "GTC",
  price: "50000",
  quantity: "1",
};

// ------------------------------------------------------------------ authentication

Deno.test("a signature over the query, the body, or both is accepted", async () => {
  await withTestService(async (t) => {
    const alice = await t.user({ BTC: "1" });
    for (const where of ["query", "body", "split"] as const) {
      const placed = ok(
        await send(t, alice, "POST", "/order", {
          ...SELL_LIMIT,
          quantity: "0.1",
          newOrderRespType: "ACK",
        }, { where }),
      );
      assert.equal(placed.symbol, "BTCUSDT");
      assert.equal(typeof placed.orderId, "number");
    }
    ok(await send(t, alice, "GET", "/openOrders", { symbol: "BTCUSDT" }, { where: "query" }));
    // DELETE may carry a body too: symbol in the query, timestamp and signature in the body.
    const cancelled = ok(
      await send(t, alice, "DELETE", "/openOrders", { symbol: "BTCUSDT" }, { where: "split" }),
    );
    assert.equal(cancelled.length, 3);
    // The signature is taken out of totalParams wherever it stands.
    assert.equal(withoutSignature("a=1&signature=ff&b=2"), "a=1&b=2");
    assert.equal(withoutSignature("signature=ff"), "");
    assert.equal(withoutSignature("a=1&b=2"), "a=1&b=2");
  });
});

Deno.test("authentication failures answer Binance's code, message and status, and change nothing", async () => {
  await withTestService(async (t) => {
    const alice = await t.user({ BTC: "1", USDT: "1000" });
    const before = await balances(t, alice);
    const place = (opts: SendOptions, params: Record<string, string> = SELL_LIMIT) =>
      send(t, alice, "POST", "/order", params, opts);
    const badFormat = [401, -2014, "API-key format invalid."] as const;
    assertError(await place({ apiKey: null }), ...badFormat);
    assertError(await place({ apiKey: "" }), ...badFormat);
    assertError(await place({ apiKey: "not a key!" }), ...badFormat);
    assertError(
      await place({ apiKey: "0".repeat(32) }),
      401,
      -2015,
      "Invalid API-key, IP, or permissions for action.",
    );
    const badSignature = [400, -1022, "Signature for this request is not valid."] as const;
    assertError(await place({ secret: "f".repeat(64) }), ...badSignature);
    assertError(await place({ appendQuery: "&newOrderRespType=ACK" }), ...badSignature);
    // totalParams joins query and body with nothing between them.
    assertError(
      await place({ where: "split", signOver: (q, b) => `${q}&${b}` }),
      ...badSignature,
    );
    assertError(
      await place({ where: "split", signOver: (q, b) => b + q }),
      ...badSignature,
    );
    assertError(
      await place({ secret: null }),
      400,
      -1102,
      "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.",
    );
    assertError(
      await place({ timestamp: null as unknown as number }),
      400,
      -1102,
      "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.",
    );
    const outside = [
      400,
      -1021,
      "Timestamp for this request is outside of the recvWindow.",
    ] as const;
    assertError(await place({ timestamp: Date.now() - 6_000 }), ...outside);
    // A longer recvWindow lets the same age through; one above 60000 is refused.
    ok(
      await place({ timestamp: Date.now() - 6_000 }, {
        ...SELL_LIMIT,
        quantity: "0.01",
        recvWindow: "10000",
      }),
    );
    assertError(
      await place({}, { ...SELL_LIMIT, recvWindow: "60001" }),
      400,
      -1131,
      "recvWindow must be less than 60000",
    );
    assertError(
      await place({ timestamp: Date.now() + 2_000 }),
      400,
      -1021,
      "Timestamp for this request was 1000ms ahead of the server's time.",
    );
    assertError(
      await place({ timestamp: "12x" as unknown as number }),
      400,
      -1100,
      "Illegal characters found in parameter 'timestamp'; legal range is '^[0-9]{1,20}$'.",
    );
    // The same parameter twice: in the query and the body, or twice in one.
    assertError(
      await place({ where: "split", appendQuery: "&price=1" }),
      400,
      -1101,
      "Duplicate values for parameter 'price'.",
    );
    assertError(
      await raw(t, "GET", "/account?timestamp=1&timestamp=2&signature=00", "", alice.apiKey),
      400,
      -1101,
      "Duplicate values for parameter 'timestamp'.",
    );
    assertError(
      await place({}, { ...SELL_LIMIT, icebergQty: "0.1" }),
      400,
      -1104,
      "Not all sent parameters were read; read '8' parameter(s) but was sent '9'.",
    );
    // Only the one accepted order (recvWindow 10000) changed anything.
    const after = await balances(t, alice);
    assert.deepEqual(after.USDT, before.USDT);
    assert.deepEqual(after.BTC, ["0.99000000", "0.01000000"]);
    const open = ok(await send(t, alice, "GET", "/openOrders", {}));
    assert.equal(open.length, 1);
  });
});

Deno.test("the mounted Binance app answers its own errors as bare {code, msg}", async () => {
  await withTestService(async (t) => {
    const res = await fetch(`${t.baseUrl}/api/v3/account?timestamp=1`);
    assert.equal(res.status, 401);
    // Binance's shape, not the native envelope {code, msg, data}.
    assert.deepEqual(await res.json(), { code: -2014, msg: "API-key format invalid." });
  });
});

Deno.test("an unexpected failure inside the mounted app is logged and answered -1000 (500)", async () => {
  const logged: string[] = [];
  const ctx = {
    deps: {
      keys: {
        lookup: () => {
          throw new Error("key store exploded");
        },
      },
      logger: { info: () => {}, warn: () => {}, error: (m: string) => logged.push(m) },
      now: () => Date.now(),
    },
  } as unknown as BinanceContext;
  const app = new Hono();
  app.onError((_e, c) => c.text("the parent's handler", 500));
  app.route("/api/v3", binanceTradingRoutes(ctx));
  const res = await app.request("/api/v3/account?timestamp=1", {
    headers: { "X-MBX-APIKEY": "abc" },
  });
  assert.equal(res.status, 500);
  assert.deepEqual(await res.json(), {
    code: -1000,
    msg: "An unknown error occurred while processing the request.",
  });
  assert.equal(logged.length, 1);
  assert.match(logged[0], /GET \/api\/v3\/account failed: Error: key store exploded/);
});

Deno.test("each API key is rate limited with -1003 and HTTP 429", async () => {
  await withTestService(async (t) => {
    const alice = await t.user({});
    ok(await send(t, alice, "GET", "/account"));
    ok(await send(t, alice, "GET", "/account"));
    const limited = await send(t, alice, "GET", "/account");
    assertError(
      limited,
      429,
      -1003,
      "Too much request weight used; current limit is 1 request weight per 1 SECOND. Please use WebSocket Streams for live updates to avoid polling the API.",
    );
    assert.equal(limited.headers.get("retry-after"), "1");
  }, { auth: { ratePerSecond: 1, burst: 2 } });
});

// ------------------------------------------------------------------ new orders

Deno.test("LIMIT, MARKET and the three response types against another user's resting order", async () => {
  await withTestService(async (t) => {
    const alice = await t.user({ BTC: "2" });
    const bob = await t.user({ USDT: "100000" });

    const rest = ok(
      await send(t, alice, "POST", "/order", {
        ...SELL_LIMIT,
        newClientOrderId: "alice-1",
        newOrderRespType: "RESULT",
      }),
    );
    assert.ok(rest.transactTime > 0);
    assert.deepEqual(rest, {
      symbol: "BTCUSDT",
      orderId: rest.orderId,
      orderListId: -1,
      clientOrderId: "alice-1",
      transactTime: rest.transactTime,
      price: "50000.00",
      origQty: "1.00000000",
      executedQty: "0.00000000",
      origQuoteOrderQty: "0.000000",
      cummulativeQuoteQty: "0.000000",
      status: "NEW",
      timeInForce: "GTC",
      type: "LIMIT",
      side: "SELL",
      workingTime: rest.transactTime,
      selfTradePreventionMode: "NONE",
    });

    // IOC limit buy of 0.4 takes 0.4 at 50,000 (FULL is the default for LIMIT).
    const ioc = ok(
      await send(t, bob, "POST", "/order", {
        symbol: "BTCUSDT",
        side: "BUY",
        type: "LIMIT",
        timeInForce: "IOC",
        price: "50100",
        quantity: "0.4",
        newClientOrderId: "bob-ioc",
        selfTradePreventionMode: "EXPIRE_TAKER",
      }),
    );
    assert.deepEqual(ioc, {
      symbol: "BTCUSDT",
      orderId: ioc.orderId,
      orderListId: -1,
      clientOrderId: "bob-ioc",
      transactTime: ioc.transactTime,
      price: "50100.00",
      origQty: "0.40000000",
      executedQty: "0.40000000",
      origQuoteOrderQty: "0.000000",
      cummulativeQuoteQty: "20000.000000",
      status: "FILLED",
      timeInForce: "IOC",
      type: "LIMIT",
      side: "BUY",
      workingTime: ioc.transactTime,
      selfTradePreventionMode: "EXPIRE_TAKER",
      fills: [{
        price: "50000.00",
        qty: "0.40000000",
        commission: "0.00040000",
        commissionAsset: "BTC",
        tradeId: ioc.fills[0].tradeId,
      }],
    });

    // MARKET by quantity: 0.1 at 50,000 (MARKET shows timeInForce GTC and price 0).
    const byQty = ok(
      await send(t, bob, "POST", "/order", {
        symbol: "BTCUSDT",
        side: "BUY",
        type: "MARKET",
        quantity: "0.1",
      }),
    );
    assert.equal(byQty.clientOrderId.length, 22);
    assert.match(byQty.clientOrderId, /^[A-Za-z0-9]{22}$/);
    assert.equal(byQty.price, "0.00");
    assert.equal(byQty.origQty, "0.10000000");
    assert.equal(byQty.executedQty, "0.10000000");
    assert.equal(byQty.cummulativeQuoteQty, "5000.000000");
    assert.equal(byQty.status, "FILLED");
    assert.equal(byQty.timeInForce, "GTC");
    assert.equal(byQty.type, "MARKET");
    assert.deepEqual(byQty.fills.map((f: Any) => [f.price, f.qty, f.commission]), [
      ["50000.00", "0.10000000", "0.00010000"],
    ]);

    // MARKET BUY by quote amount: 5,000 USDT buys 0.1.
    const byQuote = ok(
      await send(t, bob, "POST", "/order", {
        symbol: "BTCUSDT",
        side: "BUY",
        type: "MARKET",
        quoteOrderQty: "5000",
        newOrderRespType: "RESULT",
      }),
    );
    assert.equal(byQuote.origQuoteOrderQty, "5000.000000");
    assert.equal(byQuote.origQty, "0.10000000");
    assert.equal(byQuote.executedQty, "0.10000000");
    assert.equal(byQuote.cummulativeQuoteQty, "5000.000000");
    assert.equal(byQuote.status, "FILLED");
    assert.equal(byQuote.fills, undefined);

    // FOK for more than rests (0.4 left) expires untouched; IOC for more fills part.
    const fok = ok(
      await send(t, bob, "POST", "/order", {
        symbol: "BTCUSDT",
        side: "BUY",
        type: "LIMIT",
        timeInForce: "FOK",
        price: "50000",
        quantity: "0.5",
      }),
    );
    assert.equal(fok.status, "EXPIRED");
    assert.equal(fok.executedQty, "0.00000000");
    assert.deepEqual(fok.fills, []);
    const iocPart = ok(
      await send(t, bob, "POST", "/order", {
        symbol: "BTCUSDT",
        side: "BUY",
        type: "LIMIT",
        timeInForce: "IOC",
        price: "50000",
        quantity: "0.5",
        newOrderRespType: "ACK",
      }),
    );
    assert.deepEqual(Object.keys(iocPart), [
      "symbol",
      "orderId",
      "orderListId",
      "clientOrderId",
      "transactTime",
    ]);
    const iocState = ok(
      await send(t, bob, "GET", "/order", { symbol: "BTCUSDT", orderId: String(iocPart.orderId) }),
    );
    assert.equal(iocState.status, "EXPIRED");
    assert.equal(iocState.executedQty, "0.40000000");
    assert.equal(iocState.origQty, "0.50000000");

    // MARKET SELL by quantity: Bob sells 0.1 into Alice's bid; the seller pays in USDT.
    ok(
      await send(t, alice, "POST", "/order", {
        symbol: "BTCUSDT",
        side: "BUY",
        type: "LIMIT",
        timeInForce: "GTC",
        price: "40000",
        quantity: "0.1",
      }),
    );
    const sell = ok(
      await send(t, bob, "POST", "/order", {
        symbol: "BTCUSDT",
        side: "SELL",
        type: "MARKET",
        quantity: "0.1",
      }),
    );
    assert.equal(sell.status, "FILLED");
    assert.deepEqual(
      sell.fills.map((f: Any) => [f.price, f.qty, f.commission, f.commissionAsset]),
      [["40000.00", "0.10000000", "4.000000", "USDT"]],
    );
    // Alice sold 1 BTC for 50,000 less 0.1 %, then bought 0.1 for 4,000 less 0.0001 BTC.
    assert.deepEqual(await balances(t, alice), {
      BTC: ["1.09990000", "0.00000000"],
      ETH: ["0.00000000", "0.00000000"],
      USDT: ["45950.000000", "0.000000"],
    });
  });
});

Deno.test("LIMIT_MAKER rests as a post-only order, and is refused with -2010 when it would take", async () => {
  await withTestService(async (t) => {
    const alice = await t.user({ BTC: "1" });
    const bob = await t.user({ USDT: "100000" });
    ok(await send(t, alice, "POST", "/order", SELL_LIMIT));
    const before = await balances(t, bob);
    assertError(
      await send(t, bob, "POST", "/order", {
        symbol: "BTCUSDT",
        side: "BUY",
        type: "LIMIT_MAKER",
        price: "50000",
        quantity: "0.1",
        newClientOrderId: "bob-maker",
      }),
      400,
      -2010,
      "Order would immediately match and take.",
    );
    assert.deepEqual(await balances(t, bob), before);
    assert.deepEqual(ok(await send(t, bob, "GET", "/openOrders", {})), []);
    assert.deepEqual(ok(await send(t, bob, "GET", "/allOrders", { symbol: "BTCUSDT" })), []);
    assertError(
      await send(t, bob, "GET", "/order", { symbol: "BTCUSDT", origClientOrderId: "bob-maker" }),
      400,
      -2013,
      "Order does not exist.",
    );

    // Below the ask it rests; LIMIT_MAKER answers ACK unless asked otherwise.
    const rests = ok(
      await send(t, bob, "POST", "/order", {
        symbol: "BTCUSDT",
        side: "BUY",
        type: "LIMIT_MAKER",
        price: "49000",
        quantity: "0.1",
      }),
    );
    assert.deepEqual(Object.keys(rests), [
      "symbol",
      "orderId",
      "orderListId",
      "clientOrderId",
      "transactTime",
    ]);
    const full = ok(
      await send(t, bob, "POST", "/order", {
        symbol: "BTCUSDT",
        side: "BUY",
        type: "LIMIT_MAKER",
        price: "48000",
        quantity: "0.1",
        newOrderRespType: "FULL",
      }),
    );
    assert.equal(full.type, "LIMIT_MAKER");
    assert.equal(full.timeInForce, "GTC");
    assert.equal(full.status, "NEW");
    assert.deepEqual(full.fills, []);
    assert.deepEqual((await balances(t, bob)).USDT, ["90300.000000", "9700.000000"]);
    // Read back while it rests: still LIMIT_MAKER, with the STP mode it was placed with.
    const stpd = ok(
      await send(t, bob, "POST", "/order", {
        symbol: "BTCUSDT",
        side: "BUY",
        type: "LIMIT_MAKER",
        price: "47000",
        quantity: "0.1",
        selfTradePreventionMode: "EXPIRE_BOTH",
      }),
    );
    const read = ok(
      await send(t, bob, "GET", "/order", { symbol: "BTCUSDT", orderId: String(stpd.orderId) }),
    );
    assert.deepEqual([read.type, read.selfTradePreventionMode], ["LIMIT_MAKER", "EXPIRE_BOTH"]);
    const open = ok(await send(t, bob, "GET", "/openOrders", { symbol: "BTCUSDT" }));
    assert.deepEqual(
      open.map((o: { orderId: number; type: string }) => [o.orderId, o.type]),
      [[rests.orderId, "LIMIT_MAKER"], [full.orderId, "LIMIT_MAKER"], [
        stpd.orderId,
        "LIMIT_MAKER",
      ]],
    );
    // Closed, it is read back from the store: still LIMIT_MAKER with its STP mode.
    ok(
      await send(t, bob, "DELETE", "/order", { symbol: "BTCUSDT", orderId: String(stpd.orderId) }),
    );
    const closed = ok(
      await send(t, bob, "GET", "/order", { symbol: "BTCUSDT", orderId: String(stpd.orderId) }),
    );
    assert.deepEqual(
      [closed.status, closed.type, closed.selfTradePreventionMode],
      ["CANCELED", "LIMIT_MAKER", "EXPIRE_BOTH"],
    );
  });
});

Deno.test("insufficient funds are refused with -2010 and change nothing", async () => {
  await withTestService(async (t) => {
    const alice = await t.user({ BTC: "1" });
    const bob = await t.user({ USDT: "1000" });
    ok(await send(t, alice, "POST", "/order", SELL_LIMIT));
    const aliceBefore = await balances(t, alice);
    const bobBefore = await balances(t, bob);
    const insufficient = [
      400,
      -2010,
      "Account has insufficient balance for requested action.",
    ] as const;
    assertError(
      await send(t, bob, "POST", "/order", {
        symbol: "BTCUSDT",
        side: "BUY",
        type: "LIMIT",
        timeInForce: "GTC",
        price: "50000",
        quantity: "0.1",
      }),
      ...insufficient,
    );
    assertError(
      await send(t, bob, "POST", "/order", {
        symbol: "BTCUSDT",
        side: "BUY",
        type: "MARKET",
        quoteOrderQty: "1000.01",
      }),
      ...insufficient,
    );
    assertError(
      await send(t, alice, "POST", "/order", { ...SELL_LIMIT, price: "60000", quantity: "0.1" }),
      ...insufficient,
    );
    assert.deepEqual(await balances(t, alice), aliceBefore);
    assert.deepEqual(await balances(t, bob), bobBefore);
    assert.deepEqual(ok(await send(t, bob, "GET", "/allOrders", { symbol: "BTCUSDT" })), []);
    assert.equal(ok(await send(t, alice, "GET", "/allOrders", { symbol: "BTCUSDT" })).length, 1);
  });
});

Deno.test("malformed and out-of-filter orders answer Binance's errors and change nothing", async () => {
  await withTestService(async (t) => {
    const alice = await t.user({ BTC: "1", USDT: "100000" });
    ok(await send(t, alice, "POST", "/order", { ...SELL_LIMIT, newClientOrderId: "taken" }));
    const before = await balances(t, alice);
    const cases: [Record<string, string>, number, string][] = [
      [{ ...SELL_LIMIT, symbol: "BTCEUR" }, -1121, "Invalid symbol."],
      [
        { ...SELL_LIMIT, symbol: "" },
        -1102,
        "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.",
      ],
      [{ ...SELL_LIMIT, side: "SHORT" }, -1117, "Invalid side."],
      [{ ...SELL_LIMIT, type: "LIMITED" }, -1116, "Invalid orderType."],
      [{ ...SELL_LIMIT, type: "STOP_LOSS_LIMIT" }, -1014, "Unsupported order combination."],
      [{ ...SELL_LIMIT, timeInForce: "GTD" }, -1115, "Invalid timeInForce."],
      [
        { symbol: "BTCUSDT", side: "SELL", type: "LIMIT", price: "50000", quantity: "1" },
        -1102,
        "Mandatory parameter 'timeInForce' was not sent, was empty/null, or malformed.",
      ],
      [
        { symbol: "BTCUSDT", side: "SELL", type: "LIMIT", timeInForce: "GTC", quantity: "1" },
        -1102,
        "Mandatory parameter 'price' was not sent, was empty/null, or malformed.",
      ],
      [{ ...SELL_LIMIT, price: "50000.001" }, -1013, "Filter failure: PRICE_FILTER"],
      [{ ...SELL_LIMIT, price: "0" }, -1013, "Filter failure: PRICE_FILTER"],
      [{ ...SELL_LIMIT, price: "20000000" }, -1013, "Filter failure: PRICE_FILTER"],
      [
        { ...SELL_LIMIT, price: "5e4" },
        -1100,
        "Illegal characters found in parameter 'price'; legal range is '^([0-9]{1,20})(\\.[0-9]{1,20})?$'.",
      ],
      [{ ...SELL_LIMIT, quantity: "0.000001" }, -1013, "Filter failure: LOT_SIZE"],
      [
        { ...SELL_LIMIT, quantity: "0.000000001" },
        -1111,
        "Parameter 'quantity' has too much precision.",
      ],
      [{ ...SELL_LIMIT, quantity: "0" }, -1013, "Invalid quantity."],
      [{ ...SELL_LIMIT, quantity: "0.00001", price: "100" }, -1013, "Filter failure: NOTIONAL"],
      [
        { ...SELL_LIMIT, quoteOrderQty: "100" },
        -1106,
        "Parameter 'quoteOrderQty' sent when not required.",
      ],
      [
        { symbol: "BTCUSDT", side: "SELL", type: "MARKET", quoteOrderQty: "100" },
        -1106,
        "Parameter 'quoteOrderQty' sent when not required.",
      ],
      [
        { symbol: "BTCUSDT", side: "BUY", type: "MARKET", quantity: "0.1", quoteOrderQty: "100" },
        -1106,
        "Parameter 'quoteOrderQty' sent when not required.",
      ],
      [
        { symbol: "BTCUSDT", side: "BUY", type: "MARKET" },
        -1102,
        "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!",
      ],
      [
        { symbol: "BTCUSDT", side: "BUY", type: "MARKET", quantity: "0.1", price: "1" },
        -1106,
        "Parameter 'price' sent when not required.",
      ],
      [
        { symbol: "BTCUSDT", side: "BUY", type: "MARKET", quantity: "0.1", timeInForce: "IOC" },
        -1106,
        "Parameter 'timeInForce' sent when not required.",
      ],
      [
        { symbol: "BTCUSDT", side: "BUY", type: "MARKET", quoteOrderQty: "10.0000001" },
        -1111,
        "Parameter 'quoteOrderQty' has too much precision.",
      ],
      [
        { ...SELL_LIMIT, type: "LIMIT_MAKER" },
        -1106,
        "Parameter 'timeInForce' sent when not required.",
      ],
      [{ ...SELL_LIMIT, newClientOrderId: "" }, -1118, "New client order ID was empty."],
      [
        { ...SELL_LIMIT, newClientOrderId: "a b" },
        -1100,
        "Illegal characters found in parameter 'newClientOrderId'; legal range is '^[\\.A-Z\\:/a-z0-9_-]{1,36}$'.",
      ],
      [
        { ...SELL_LIMIT, newClientOrderId: "x".repeat(37) },
        -1100,
        "Illegal characters found in parameter 'newClientOrderId'; legal range is '^[\\.A-Z\\:/a-z0-9_-]{1,36}$'.",
      ],
      [
        { ...SELL_LIMIT, quantity: "0.1", newClientOrderId: "taken" },
        -2010,
        "Duplicate order sent.",
      ],
      [
        { ...SELL_LIMIT, newOrderRespType: "MINI" },
        -1100,
        "Illegal characters found in parameter 'newOrderRespType'; legal range is 'ACK, RESULT, FULL'.",
      ],
      [
        { ...SELL_LIMIT, selfTradePreventionMode: "DECREMENT" },
        -1100,
        "Illegal characters found in parameter 'selfTradePreventionMode'; legal range is 'NONE, EXPIRE_TAKER, EXPIRE_MAKER, EXPIRE_BOTH'.",
      ],
    ];
    for (const [params, code, msg] of cases) {
      assertError(await send(t, alice, "POST", "/order", params), 400, code, msg);
    }
    assert.deepEqual(await balances(t, alice), before);
    assert.equal(ok(await send(t, alice, "GET", "/allOrders", { symbol: "BTCUSDT" })).length, 1);
  });
});

Deno.test("GET and DELETE /order find an order by orderId or origClientOrderId, open or closed", async () => {
  await withTestService(async (t) => {
    const alice = await t.user({ BTC: "1" });
    const placed = ok(
      await send(t, alice, "POST", "/order", {
        ...SELL_LIMIT,
        quantity: "0.3",
        newClientOrderId: "a-1",
      }),
    );
    const id = String(placed.orderId);
    const expected = {
      symbol: "BTCUSDT",
      orderId: placed.orderId,
      orderListId: -1,
      clientOrderId: "a-1",
      price: "50000.00",
      origQty: "0.30000000",
      executedQty: "0.00000000",
      cummulativeQuoteQty: "0.000000",
      status: "NEW",
      timeInForce: "GTC",
      type: "LIMIT",
      side: "SELL",
      stopPrice: "0.00",
      icebergQty: "0.00000000",
      time: placed.transactTime,
      updateTime: placed.transactTime,
      isWorking: true,
      workingTime: placed.transactTime,
      origQuoteOrderQty: "0.000000",
      selfTradePreventionMode: "NONE",
    };
    const get = (params: Record<string, string>) =>
      send(t, alice, "GET", "/order", { symbol: "BTCUSDT", ...params });
    assert.deepEqual(ok(await get({ orderId: id })), expected);
    assert.deepEqual(ok(await get({ origClientOrderId: "a-1" })), expected);
    assert.deepEqual(ok(await get({ orderId: id, origClientOrderId: "a-1" })), expected);
    const noSuch = [400, -2013, "Order does not exist."] as const;
    assertError(await get({ orderId: id, origClientOrderId: "a-2" }), ...noSuch);
    assertError(await get({ orderId: String(placed.orderId + 1000) }), ...noSuch);
    assertError(await get({ origClientOrderId: "nope" }), ...noSuch);
    assertError(
      await send(t, alice, "GET", "/order", { symbol: "ETHUSDT", orderId: id }),
      ...noSuch,
    );
    assertError(
      await get({}),
      400,
      -1102,
      "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
    );

    // Cancel by client order id: the answer names the cancel's own id and the order's.
    const cancelled = ok(
      await send(t, alice, "DELETE", "/order", {
        symbol: "BTCUSDT",
        origClientOrderId: "a-1",
        newClientOrderId: "cancel-a-1",
      }),
    );
    assert.deepEqual(cancelled, {
      symbol: "BTCUSDT",
      origClientOrderId: "a-1",
      orderId: placed.orderId,
      orderListId: -1,
      clientOrderId: "cancel-a-1",
      transactTime: cancelled.transactTime,
      price: "50000.00",
      origQty: "0.30000000",
      executedQty: "0.00000000",
      origQuoteOrderQty: "0.000000",
      cummulativeQuoteQty: "0.000000",
      status: "CANCELED",
      timeInForce: "GTC",
      type: "LIMIT",
      side: "SELL",
      selfTradePreventionMode: "NONE",
    });
    // Closed now: read from the store, by id and by client order id.
    const closed = ok(await get({ orderId: id }));
    assert.equal(closed.status, "CANCELED");
    assert.ok(closed.updateTime >= closed.time);
    assert.deepEqual(ok(await get({ origClientOrderId: "a-1" })), closed);
    const unknown = [400, -2011, "Unknown order sent."] as const;
    assertError(
      await send(t, alice, "DELETE", "/order", { symbol: "BTCUSDT", orderId: id }),
      ...unknown,
    );
    assertError(
      await send(t, alice, "DELETE", "/order", { symbol: "BTCUSDT", origClientOrderId: "a-1" }),
      ...unknown,
    );

    // Cancel by id (the cancel's id is made up when not given); a wrong symbol is unknown.
    const second = ok(await send(t, alice, "POST", "/order", { ...SELL_LIMIT, quantity: "0.2" }));
    assertError(
      await send(t, alice, "DELETE", "/order", {
        symbol: "ETHUSDT",
        orderId: String(second.orderId),
      }),
      ...unknown,
    );
    assertError(
      await send(t, alice, "DELETE", "/order", {
        symbol: "BTCUSDT",
        orderId: String(second.orderId),
        origClientOrderId: "not-its-id",
      }),
      ...unknown,
    );
    const byId = ok(
      await send(t, alice, "DELETE", "/order", {
        symbol: "BTCUSDT",
        orderId: String(second.orderId),
      }),
    );
    assert.equal(byId.status, "CANCELED");
    assert.equal(byId.origClientOrderId, second.clientOrderId);
    assert.match(byId.clientOrderId, /^[A-Za-z0-9]{22}$/);
    assert.notEqual(byId.clientOrderId, second.clientOrderId);
    assert.deepEqual((await balances(t, alice)).BTC, ["1.00000000", "0.00000000"]);
  });
});

Deno.test("another user's order is invisible: -2013 to read, -2011 to cancel", async () => {
  await withTestService(async (t) => {
    const alice = await t.user({ BTC: "1" });
    const mallory = await t.user({ BTC: "1" });
    const placed = ok(
      await send(t, alice, "POST", "/order", { ...SELL_LIMIT, newClientOrderId: "secret-1" }),
    );
    const id = String(placed.orderId);
    const keys: Record<string, string>[] = [{ orderId: id }, { origClientOrderId: "secret-1" }];
    for (const key of keys) {
      assertError(
        await send(t, mallory, "GET", "/order", { symbol: "BTCUSDT", ...key }),
        400,
        -2013,
        "Order does not exist.",
      );
      assertError(
        await send(t, mallory, "DELETE", "/order", { symbol: "BTCUSDT", ...key }),
        400,
        -2011,
        "Unknown order sent.",
      );
    }
    assert.deepEqual(ok(await send(t, mallory, "GET", "/openOrders", {})), []);
    assert.deepEqual(ok(await send(t, mallory, "GET", "/allOrders", { symbol: "BTCUSDT" })), []);
    assert.deepEqual(
      ok(await send(t, mallory, "GET", "/myTrades", { symbol: "BTCUSDT", orderId: id })),
      [],
    );
    assertError(
      await send(t, mallory, "DELETE", "/openOrders", { symbol: "BTCUSDT" }),
      400,
      -2011,
      "Unknown order sent.",
    );
    assert.equal(
      ok(await send(t, alice, "GET", "/order", { symbol: "BTCUSDT", orderId: id })).status,
      "NEW",
    );
  });
});

Deno.test("openOrders lists open orders oldest first; DELETE /openOrders cancels one symbol's", async () => {
  await withTestService(async (t) => {
    const alice = await t.user({ BTC: "1", ETH: "1" });
    const bob = await t.user({ USDT: "100000" });
    const ids: number[] = [];
    for (const price of ["50000", "51000", "52000"]) {
      ids.push(
        ok(await send(t, alice, "POST", "/order", { ...SELL_LIMIT, price, quantity: "0.1" }))
          .orderId,
      );
    }
    const eth = ok(
      await send(t, alice, "POST", "/order", {
        ...SELL_LIMIT,
        symbol: "ETHUSDT",
        price: "3000",
        quantity: "0.5",
      }),
    );
    // Bob takes part of the first: it stays open, partly filled, updated after creation.
    ok(
      await send(t, bob, "POST", "/order", {
        symbol: "BTCUSDT",
        side: "BUY",
        type: "MARKET",
        quantity: "0.04",
      }),
    );
    const btc = ok(await send(t, alice, "GET", "/openOrders", { symbol: "BTCUSDT" }));
    assert.deepEqual(btc.map((o: Any) => o.orderId), ids);
    assert.equal(btc[0].status, "PARTIALLY_FILLED");
    assert.equal(btc[0].executedQty, "0.04000000");
    assert.equal(btc[0].cummulativeQuoteQty, "2000.000000");
    assert.ok(btc[0].updateTime >= btc[0].time);
    assert.equal(btc[1].status, "NEW");
    const all = ok(await send(t, alice, "GET", "/openOrders", {}));
    assert.deepEqual(all.map((o: Any) => o.orderId), [...ids, eth.orderId]);
    assertError(
      await send(t, alice, "GET", "/openOrders", { symbol: "XYZ" }),
      400,
      -1121,
      "Invalid symbol.",
    );

    const cancelled = ok(await send(t, alice, "DELETE", "/openOrders", { symbol: "BTCUSDT" }));
    assert.deepEqual(
      cancelled.map((o: Any) => [o.orderId, o.status]),
      ids.map((id) => [id, "CANCELED"]),
    );
    assert.equal(cancelled[0].executedQty, "0.04000000");
    assertError(
      await send(t, alice, "DELETE", "/openOrders", { symbol: "BTCUSDT" }),
      400,
      -2011,
      "Unknown order sent.",
    );
    assertError(
      await send(t, alice, "DELETE", "/openOrders", {}),
      400,
      -1102,
      "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.",
    );
    assert.deepEqual(
      ok(await send(t, alice, "GET", "/openOrders", {})).map((o: Any) => o.orderId),
      [
        eth.orderId,
      ],
    );
    assert.deepEqual(await balances(t, alice), {
      BTC: ["0.96000000", "0.00000000"],
      ETH: ["0.50000000", "0.50000000"],
      USDT: ["1998.000000", "0.000000"],
    });
  });
});

Deno.test("GET /account shows free and locked balances, commissions and omitZeroBalances", async () => {
  await withTestService(async (t) => {
    const alice = await t.user({ BTC: "1.5", USDT: "1000" });
    ok(await send(t, alice, "POST", "/order", { ...SELL_LIMIT, quantity: "0.5" }));
    ok(
      await send(t, alice, "POST", "/order", {
        symbol: "BTCUSDT",
        side: "BUY",
        type: "LIMIT",
        timeInForce: "GTC",
        price: "1000",
        quantity: "0.25",
      }),
    );
    const acct = ok(await send(t, alice, "GET", "/account"));
    assert.ok(acct.updateTime > 0);
    assert.deepEqual(acct, {
      makerCommission: 10,
      takerCommission: 10,
      buyerCommission: 0,
      sellerCommission: 0,
      commissionRates: {
        maker: "0.00100000",
        taker: "0.00100000",
        buyer: "0.00000000",
        seller: "0.00000000",
      },
      canTrade: true,
      canWithdraw: true,
      canDeposit: true,
      brokered: false,
      requireSelfTradePrevention: false,
      preventSor: false,
      updateTime: acct.updateTime,
      accountType: "SPOT",
      balances: [
        { asset: "BTC", free: "1.00000000", locked: "0.50000000" },
        { asset: "ETH", free: "0.00000000", locked: "0.00000000" },
        { asset: "USDT", free: "750.000000", locked: "250.000000" },
      ],
      permissions: ["SPOT"],
      uid: alice.userId,
    });
    const nonZero = ok(await send(t, alice, "GET", "/account", { omitZeroBalances: "true" }));
    assert.deepEqual(nonZero.balances.map((b: Any) => b.asset), ["BTC", "USDT"]);
    assertError(
      await send(t, alice, "GET", "/account", { omitZeroBalances: "yes" }),
      400,
      -1100,
      "Illegal characters found in parameter 'omitZeroBalances'; legal range is 'true, false'.",
    );
  });
});

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("allOrders pages oldest first by orderId, startTime, endTime and limit", async () => {
  await withTestService(async (t) => {
    const alice = await t.user({ BTC: "1" });
    const placed: Any[] = [];
    for (let i = 0; i < 7; i++) {
      placed.push(
        ok(
          await send(t, alice, "POST", "/order", {
            ...SELL_LIMIT,
            price: String(50000 + i),
            quantity: "0.01",
          }),
        ),
      );
      await pause(3); // distinct times, so that time bounds select exactly
    }
    const ids = placed.map((o) => o.orderId);
    ok(
      await send(t, alice, "DELETE", "/order", { symbol: "BTCUSDT", orderId: String(ids[1]) }),
    );
    const all = (params: Record<string, string>) =>
      send(t, alice, "GET", "/allOrders", { symbol: "BTCUSDT", ...params });
    const idsOf = async (params: Record<string, string>) =>
      ok(await all(params)).map((o: Any) => o.orderId);

    const every = ok(await all({}));
    assert.deepEqual(every.map((o: Any) => o.orderId), ids);
    assert.deepEqual(every.map((o: Any) => o.status), [
      "NEW",
      "CANCELED",
      "NEW",
      "NEW",
      "NEW",
      "NEW",
      "NEW",
    ]);
    assert.equal(every[0].price, "50000.00");
    assert.deepEqual(await idsOf({ limit: "3" }), ids.slice(4));
    assert.deepEqual(await idsOf({ orderId: String(ids[2]), limit: "2" }), ids.slice(2, 4));
    assert.deepEqual(await idsOf({ orderId: String(ids[6] + 1) }), []);
    const at = (i: number) => String(placed[i].transactTime);
    assert.deepEqual(await idsOf({ startTime: at(4) }), ids.slice(4));
    assert.deepEqual(await idsOf({ startTime: at(4), limit: "1" }), [ids[4]]);
    assert.deepEqual(await idsOf({ endTime: at(1) }), ids.slice(0, 2));
    assert.deepEqual(await idsOf({ startTime: at(2), endTime: at(3) }), ids.slice(2, 4));
    assert.deepEqual(await idsOf({ orderId: String(ids[5]), startTime: at(1) }), ids.slice(5));

    assertError(
      await all({ limit: "1001" }),
      400,
      -1130,
      "Data sent for parameter 'limit' is not valid: limit must be between 1 and 1000.",
    );
    assertError(
      await all({ limit: "0" }),
      400,
      -1130,
      "Data sent for parameter 'limit' is not valid: limit must be between 1 and 1000.",
    );
    assertError(
      await all({ startTime: "0", endTime: String(24 * 3_600_000 + 1) }),
      400,
      -1127,
      "More than 24 hours between startTime and endTime.",
    );
    assertError(
      await all({ orderId: "-1" }),
      400,
      -1100,
      "Illegal characters found in parameter 'orderId'; legal range is '^[0-9]{1,20}$'.",
    );
    assertError(
      await send(t, alice, "GET", "/allOrders", {}),
      400,
      -1102,
      "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.",
    );
  });
});

Deno.test("myTrades shows each side's commission, and a self-trade once per order", async () => {
  await withTestService(async (t) => {
    const alice = await t.user({ BTC: "1", USDT: "10000" });
    const bob = await t.user({ USDT: "100000" });
    const sell = ok(await send(t, alice, "POST", "/order", SELL_LIMIT));
    await pause(3);
    const buy1 = ok(
      await send(t, bob, "POST", "/order", {
        symbol: "BTCUSDT",
        side: "BUY",
        type: "MARKET",
        quantity: "0.3",
      }),
    );
    await pause(3);
    const buy2 = ok(
      await send(t, bob, "POST", "/order", {
        symbol: "BTCUSDT",
        side: "BUY",
        type: "LIMIT",
        timeInForce: "IOC",
        price: "50000",
        quantity: "0.2",
      }),
    );
    await pause(3);
    // Alice buys 0.1 from herself (the market's STP mode is NONE).
    const self = ok(
      await send(t, alice, "POST", "/order", {
        symbol: "BTCUSDT",
        side: "BUY",
        type: "LIMIT",
        timeInForce: "GTC",
        price: "50000",
        quantity: "0.1",
      }),
    );
    const [t1, t2, t3] = [buy1.fills[0], buy2.fills[0], self.fills[0]].map((f) => f.tradeId);
    assert.ok(t1 < t2 && t2 < t3);

    const trades = (u: TestUser, params: Record<string, string> = {}) =>
      send(t, u, "GET", "/myTrades", { symbol: "BTCUSDT", ...params });
    const mine = ok(await trades(alice));
    assert.equal(mine.length, 4);
    assert.deepEqual(mine[0], {
      symbol: "BTCUSDT",
      id: t1,
      orderId: sell.orderId,
      orderListId: -1,
      price: "50000.00",
      qty: "0.30000000",
      quoteQty: "15000.000000",
      commission: "15.000000",
      commissionAsset: "USDT",
      time: mine[0].time,
      isBuyer: false,
      isMaker: true,
      isBestMatch: true,
    });
    assert.deepEqual(
      mine.map((
        x: Any,
      ) => [x.id, x.orderId, x.isBuyer, x.isMaker, x.commission, x.commissionAsset]),
      [
        [t1, sell.orderId, false, true, "15.000000", "USDT"],
        [t2, sell.orderId, false, true, "10.000000", "USDT"],
        [t3, sell.orderId, false, true, "5.000000", "USDT"],
        [t3, self.orderId, true, false, "0.00010000", "BTC"],
      ],
    );
    const bobs = ok(await trades(bob));
    assert.deepEqual(
      bobs.map((
        x: Any,
      ) => [x.id, x.orderId, x.isBuyer, x.isMaker, x.qty, x.commission, x.commissionAsset]),
      [
        [t1, buy1.orderId, true, false, "0.30000000", "0.00030000", "BTC"],
        [t2, buy2.orderId, true, false, "0.20000000", "0.00020000", "BTC"],
      ],
    );

    const ids = async (u: TestUser, params: Record<string, string>) =>
      ok(await trades(u, params)).map((x: Any) => `${x.id}/${x.orderId}`);
    assert.deepEqual(await ids(alice, { fromId: String(t2) }), [
      `${t2}/${sell.orderId}`,
      `${t3}/${sell.orderId}`,
      `${t3}/${self.orderId}`,
    ]);
    assert.deepEqual(await ids(alice, { fromId: String(t2), limit: "1" }), [
      `${t2}/${sell.orderId}`,
    ]);
    // Both sides of a self-trade or neither: the newest 3 are t2 and t3's pair.
    assert.deepEqual(await ids(alice, { limit: "3" }), [
      `${t2}/${sell.orderId}`,
      `${t3}/${sell.orderId}`,
      `${t3}/${self.orderId}`,
    ]);
    assert.deepEqual(await ids(alice, { limit: "2" }), [
      `${t3}/${sell.orderId}`,
      `${t3}/${self.orderId}`,
    ]);
    assert.deepEqual(await ids(alice, { orderId: String(self.orderId) }), [
      `${t3}/${self.orderId}`,
    ]);
    assert.deepEqual(await ids(alice, { orderId: String(sell.orderId), limit: "2" }), [
      `${t1}/${sell.orderId}`,
      `${t2}/${sell.orderId}`,
    ]);
    assert.deepEqual(await ids(bob, { orderId: String(sell.orderId) }), []);
    assert.deepEqual(await ids(bob, { startTime: String(mine[1].time) }), [
      `${t2}/${buy2.orderId}`,
    ]);
    assert.deepEqual(await ids(bob, { endTime: String(mine[0].time) }), [`${t1}/${buy1.orderId}`]);
    assertError(
      await trades(alice, { fromId: String(t1), startTime: "1" }),
      400,
      -1128,
      "Combination of optional parameters invalid.",
    );
    assertError(
      await trades(alice, { orderId: String(sell.orderId), endTime: "1" }),
      400,
      -1128,
      "Combination of optional parameters invalid.",
    );
  });
});

Deno.test("listen keys: created with the API key alone, kept alive and closed by their user only", async () => {
  await withTestService(async (t) => {
    const alice = await t.user({});
    const bob = await t.user({});
    const stream = (method: string, query: string, apiKey: string | null, body = "") =>
      raw(t, method, `/userDataStream${query}`, body, apiKey);
    const created = ok(await stream("POST", "", alice.apiKey));
    assert.deepEqual(Object.keys(created), ["listenKey"]);
    assert.match(created.listenKey, /^[A-Za-z0-9]{60}$/);
    const key = created.listenKey;
    // As on Binance, asking again while the key lives returns it (extended).
    assert.equal(ok(await stream("POST", "", alice.apiKey)).listenKey, key);
    const bobs = ok(await stream("POST", "", bob.apiKey)).listenKey;
    assert.notEqual(bobs, key);

    assert.deepEqual(ok(await stream("PUT", `?listenKey=${key}`, alice.apiKey)), {});
    // ccxt sends it in a form body.
    assert.deepEqual(ok(await stream("PUT", "", alice.apiKey, `listenKey=${key}`)), {});
    const missing = [400, -1125, "This listenKey does not exist."] as const;
    assertError(await stream("PUT", `?listenKey=${key}`, bob.apiKey), ...missing);
    assertError(await stream("DELETE", `?listenKey=${key}`, bob.apiKey), ...missing);
    assertError(await stream("PUT", "?listenKey=nope", alice.apiKey), ...missing);
    assertError(
      await stream("PUT", "", alice.apiKey),
      400,
      -1102,
      "Mandatory parameter 'listenKey' was not sent, was empty/null, or malformed.",
    );
    assertError(await stream("POST", "", null), 401, -2014, "API-key format invalid.");
    assertError(
      await stream("POST", "", "f".repeat(32)),
      401,
      -2015,
      "Invalid API-key, IP, or permissions for action.",
    );
    assertError(
      await stream("POST", "?symbol=BTCUSDT", alice.apiKey),
      400,
      -1104,
      "Not all sent parameters were read; read '0' parameter(s) but was sent '1'.",
    );
    assert.deepEqual(ok(await stream("DELETE", `?listenKey=${key}`, alice.apiKey)), {});
    assertError(await stream("PUT", `?listenKey=${key}`, alice.apiKey), ...missing);
    assertError(await stream("DELETE", `?listenKey=${key}`, alice.apiKey), ...missing);
    const fresh = ok(await stream("POST", "", alice.apiKey)).listenKey;
    assert.notEqual(fresh, key, "after a close, a new key");
    assert.deepEqual(ok(await stream("PUT", `?listenKey=${bobs}`, bob.apiKey)), {});
  });
});

// ------------------------------------------------------------------ history reader

interface Row {
  t: number;
  id: number;
}

/** The store's history queries over `rows`: newest first by (time, id), keyset pages. */
function memoryReader(rows: Row[]): { read: HistoryReader<Row>; queries: () => number } {
  const sorted = [...rows].sort((a, b) => b.t - a.t || b.id - a.id);
  let queries = 0;
  const read: HistoryReader<Row> = (q) => {
    queries++;
    let from = 0;
    if (q.cursor !== undefined) {
      const [t, id] = q.cursor.split(":").map(Number);
      from = sorted.findIndex((r) => r.t < t || (r.t === t && r.id < id));
      if (from < 0) from = sorted.length;
    }
    const within = sorted.slice(from).filter((r) => r.t >= q.startMs && r.t <= q.endMs);
    const page = within.slice(0, q.limit);
    const out: Page<Row> = { rows: page };
    if (within.length > q.limit) {
      const last = page[page.length - 1];
      out.nextCursor = `${last.t}:${last.id}`;
    }
    return Promise.resolve(out);
  };
  return { read, queries: () => queries };
}

const KEYS = { timeOf: (r: Row) => r.t, idOf: (r: Row) => r.id };
const all = () => true;

Deno.test("history finds the oldest rows after a bound in few queries, and the newest without one", async () => {
  // 20,000 rows, 4 per ms from t = 1,000,000, ids in time order.
  const rows: Row[] = [];
  for (let i = 0; i < 20_000; i++) rows.push({ t: 1_000_000 + Math.floor(i / 4), id: i + 1 });
  const mem = memoryReader(rows);
  const fromTime = await history(mem.read, KEYS, { startMs: 1_002_000, limit: 500, keep: all });
  assert.deepEqual(fromTime.map((r) => r.id), rows.slice(8_000, 8_500).map((r) => r.id));
  assert.ok(mem.queries() < 40, `${mem.queries()} queries`);

  const fromId = await history(mem.read, KEYS, { minId: 12_345, limit: 3, keep: all });
  assert.deepEqual(fromId.map((r) => r.id), [12_345, 12_346, 12_347]);
  const beyond = await history(mem.read, KEYS, { minId: 30_000, limit: 3, keep: all });
  assert.deepEqual(beyond, []);

  const newest = await history(mem.read, KEYS, { endMs: 1_000_009, limit: 5, keep: all });
  assert.deepEqual(newest.map((r) => r.id), [36, 37, 38, 39, 40]);
  const latest = await history(mem.read, KEYS, { limit: 2, keep: all });
  assert.deepEqual(latest.map((r) => r.id), [19_999, 20_000]);

  // A filter skips rows without counting them.
  const even = await history(mem.read, KEYS, {
    startMs: 1_000_000,
    limit: 4,
    keep: (r) => r.id % 2 === 0,
  });
  assert.deepEqual(even.map((r) => r.id), [2, 4, 6, 8]);
});

Deno.test("history reads a millisecond holding more rows than a page, oldest first", async () => {
  // 2,500 rows in one ms between two quiet ones.
  const rows: Row[] = [{ t: 10, id: 1 }];
  for (let i = 0; i < 2_500; i++) rows.push({ t: 20, id: 2 + i });
  rows.push({ t: 30, id: 2_502 });
  const mem = memoryReader(rows);
  const got = await history(mem.read, KEYS, { startMs: 15, limit: 1000, keep: all });
  assert.deepEqual(got.map((r) => r.id), rows.slice(1, 1_001).map((r) => r.id));
  const tail = await history(mem.read, KEYS, { minId: 2_500, limit: 10, keep: all });
  assert.deepEqual(tail.map((r) => r.id), [2_500, 2_501, 2_502]);
});

Deno.test("history refuses a request that would take more than its query budget", async () => {
  // 200,000 rows, one per ms: keeping one row in 50,000 needs far more than the budget.
  const rows: Row[] = [];
  for (let i = 0; i < 200_000; i++) rows.push({ t: i, id: i + 1 });
  const mem = memoryReader(rows);
  await assert.rejects(
    () => history(mem.read, KEYS, { startMs: 0, limit: 4, keep: (r) => r.id % 50_000 === 0 }),
    (e: Any) => e.code === -1130 && /narrow it with startTime and endTime/.test(e.message),
  );
  assert.equal(mem.queries(), MAX_HISTORY_QUERIES);
});

Deno.test("capWhole keeps groups whole from the chosen end", () => {
  const groups = [[1], [2, 3], [4], [5, 6]];
  assert.deepEqual(capWhole(groups, 3, true), [1, 2, 3]);
  assert.deepEqual(capWhole(groups, 2, true), [1]);
  assert.deepEqual(capWhole(groups, 3, false), [4, 5, 6]);
  assert.deepEqual(capWhole(groups, 1, false), [5, 6]);
  assert.deepEqual(capWhole(groups, 10, false), [1, 2, 3, 4, 5, 6]);
});
