/**
 * Hostile and malformed requests, one table: each is answered with the right HTTP status
 * and error code, and none changes any state (balances, open orders, the WAL's commands).
 */

import assert from "node:assert/strict";
import { ApiCode } from "../../api/api_errors.ts";
import { RejectCode } from "../../domain/reject_codes.ts";
import { withTestService } from "./api_fixtures.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

const LIMIT = { symbol: "BTC_USDT", side: "BUY", type: "LIMIT", price: "50000", qty: "0.01" };

interface Case {
  name: string;
  method?: string;
  path?: string;
  /** A JSON value, or a raw string sent as is. */
  body?: unknown;
  raw?: string;
  status: number;
  code: number;
}

const CASES: Case[] = [
  { name: "malformed JSON", raw: '{"symbol": ', status: 400, code: ApiCode.INVALID_JSON },
  {
    name: "JSON that is not an object",
    raw: "[1,2]",
    status: 400,
    code: ApiCode.INVALID_PARAMETER,
  },
  { name: "empty body", raw: "", status: 400, code: ApiCode.INVALID_PARAMETER },
  {
    name: "unknown field",
    body: { ...LIMIT, leverage: 100 },
    status: 400,
    code: ApiCode.INVALID_PARAMETER,
  },
  {
    name: "price as a number",
    body: { ...LIMIT, price: 50000 },
    status: 400,
    code: ApiCode.INVALID_PARAMETER,
  },
  {
    name: "lower-case side",
    body: { ...LIMIT, side: "buy" },
    status: 400,
    code: ApiCode.INVALID_PARAMETER,
  },
  {
    name: "unknown type",
    body: { ...LIMIT, type: "STOP" },
    status: 400,
    code: ApiCode.INVALID_PARAMETER,
  },
  {
    name: "unknown symbol",
    body: { ...LIMIT, symbol: "DOGE_USDT" },
    status: 400,
    code: ApiCode.UNKNOWN_SYMBOL,
  },
  {
    name: "too many price decimals",
    body: { ...LIMIT, price: "50000.001" },
    status: 400,
    code: ApiCode.INVALID_PARAMETER,
  },
  {
    name: "too many qty decimals",
    body: { ...LIMIT, qty: "0.000000001" },
    status: 400,
    code: ApiCode.INVALID_PARAMETER,
  },
  { name: "zero qty", body: { ...LIMIT, qty: "0" }, status: 400, code: ApiCode.INVALID_PARAMETER },
  {
    name: "negative price",
    body: { ...LIMIT, price: "-1" },
    status: 400,
    code: ApiCode.INVALID_PARAMETER,
  },
  {
    name: "exponent notation",
    body: { ...LIMIT, qty: "1e-2" },
    status: 400,
    code: ApiCode.INVALID_PARAMETER,
  },
  {
    name: "qty beyond 2^53 units",
    body: { ...LIMIT, qty: "999999999999999999" },
    status: 400,
    code: ApiCode.INVALID_PARAMETER,
  },
  {
    name: "price above the symbol's maximum",
    body: { ...LIMIT, price: "20000000" },
    status: 400,
    code: RejectCode.INVALID_PRICE,
  },
  {
    name: "qty off the step",
    body: { ...LIMIT, qty: "0.000011" },
    status: 400,
    code: RejectCode.QTY_STEP,
  },
  {
    name: "notional below the minimum",
    body: { ...LIMIT, price: "1", qty: "1" },
    status: 400,
    code: RejectCode.NOTIONAL_TOO_SMALL,
  },
  {
    name: "more than the balance",
    body: { ...LIMIT, qty: "100" },
    status: 400,
    code: RejectCode.INSUFFICIENT_BALANCE,
  },
  {
    name: "LIMIT without price",
    body: { ...LIMIT, price: undefined },
    status: 400,
    code: ApiCode.INVALID_PARAMETER,
  },
  {
    name: "MARKET with price",
    body: { ...LIMIT, type: "MARKET" },
    status: 400,
    code: ApiCode.INVALID_PARAMETER,
  },
  {
    name: "MARKET SELL by quote_qty",
    body: { symbol: "BTC_USDT", side: "SELL", type: "MARKET", quote_qty: "10" },
    status: 400,
    code: ApiCode.INVALID_PARAMETER,
  },
  {
    name: "post-only IOC",
    body: { ...LIMIT, time_in_force: "IOC", post_only: true },
    status: 400,
    code: RejectCode.INVALID_ORDER_SPEC,
  },
  {
    name: "cid too long",
    body: { ...LIMIT, cid: "x".repeat(37) },
    status: 400,
    code: ApiCode.INVALID_PARAMETER,
  },
  {
    name: "cid with a space",
    body: { ...LIMIT, cid: "a b" },
    status: 400,
    code: RejectCode.INVALID_CID,
  },
  {
    name: "body too large",
    raw: JSON.stringify({ ...LIMIT, cid: "y".repeat(20_000) }),
    status: 413,
    code: ApiCode.BODY_TOO_LARGE,
  },
  {
    name: "cancel of an unknown order",
    path: "/api/v1/cancel_order",
    body: { order_id: 987654 },
    status: 404,
    code: RejectCode.UNKNOWN_ORDER,
  },
  {
    name: "cancel with neither id nor cid",
    path: "/api/v1/cancel_order",
    body: {},
    status: 400,
    code: ApiCode.INVALID_PARAMETER,
  },
  {
    name: "cancel with a negative id",
    path: "/api/v1/cancel_order",
    body: { order_id: -1 },
    status: 400,
    code: ApiCode.INVALID_PARAMETER,
  },
  {
    name: "order id that is not a number",
    method: "GET",
    path: "/api/v1/order/abc",
    status: 400,
    code: ApiCode.INVALID_PARAMETER,
  },
  {
    name: "history limit out of range",
    method: "GET",
    path: "/api/v1/orders?limit=5000",
    status: 400,
    code: ApiCode.INVALID_PARAMETER,
  },
  {
    name: "unknown query parameter",
    method: "GET",
    path: "/api/v1/orders?everything=1",
    status: 400,
    code: ApiCode.INVALID_PARAMETER,
  },
  {
    name: "unknown route",
    method: "GET",
    path: "/api/v1/nothing_here",
    status: 404,
    code: ApiCode.NOT_FOUND,
  },
  {
    name: "depth of an unknown symbol",
    method: "GET",
    path: "/api/v1/depth?symbol=NOPE",
    status: 400,
    code: ApiCode.UNKNOWN_SYMBOL,
  },
  {
    name: "klines with a bad interval",
    method: "GET",
    path: "/api/v1/klines?symbol=BTC_USDT&interval=2m",
    status: 400,
    code: ApiCode.INVALID_PARAMETER,
  },
];

Deno.test("hostile inputs get the right status and code and change nothing", async () => {
  await withTestService(async (t) => {
    const alice = await t.user({ BTC: "1", USDT: "1000" });
    const rest = await alice.client.post<Any>("/api/v1/create_order", {
      symbol: "BTC_USDT",
      side: "SELL",
      type: "LIMIT",
      price: "70000",
      qty: "0.5",
    });
    assert.equal(rest.code, 0, rest.msg);
    const state = async () => ({
      balances: (await alice.client.get<Any>("/api/v1/balances")).data,
      open: (await alice.client.get<Any>("/api/v1/orders")).data,
      depth: (await alice.client.get<Any>("/api/v1/depth?symbol=BTC_USDT")).data,
      seq: t.service.exchange.stats().lastSeq,
    });
    const before = await state();

    for (const c of CASES) {
      const method = c.method ?? "POST";
      const path = c.path ?? "/api/v1/create_order";
      const raw = c.raw ?? (c.body === undefined ? "" : JSON.stringify(c.body));
      const r = await alice.client.request(method, path, raw);
      assert.equal(r.status, c.status, `${c.name}: status (${r.msg})`);
      assert.equal(r.code, c.code, `${c.name}: code (${r.msg})`);
      assert.ok(r.msg.length > 0, `${c.name}: a message says what is wrong`);
      assert.equal("data" in r && r.data !== undefined, false, `${c.name}: no data on an error`);
    }

    const after = await state();
    // Whatever reached the engine and was refused there changed nothing.
    assert.deepEqual({ ...after, seq: 0 }, { ...before, seq: 0 });
  });
});
