/**
 * WebSocket `/ws` over real sockets: a local book kept from the depth snapshot and diffs
 * equals the engine's after a burst of random orders; private streams reach only their
 * owner; a reader that stalls is cut off while every command still completes.
 */

import assert from "node:assert/strict";
import { Prng } from "../../bench/prng.ts";
import { signatureMatches, signaturePayload, signPayload } from "../../api/signature.ts";
import { ApiCode } from "../../api/api_errors.ts";
import { type TestService, type TestUser, withTestService } from "./api_fixtures.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

/** A WebSocket client that records every message and can wait for one. */
class WsProbe {
  readonly messages: Any[] = [];
  private waiters: { pred: (m: Any) => boolean; resolve: (m: Any) => void }[] = [];
  private constructor(readonly socket: WebSocket) {
    socket.onmessage = (e) => {
      const m = JSON.parse(e.data);
      this.messages.push(m);
      this.waiters = this.waiters.filter((w) => {
        if (!w.pred(m)) return true;
        w.resolve(m);
        return false;
      });
    };
  }

  static async open(t: TestService): Promise<WsProbe> {
    const socket = new WebSocket(`${t.baseUrl.replace("http", "ws")}/ws`);
    await new Promise((resolve, reject) => {
      socket.onopen = resolve;
      socket.onerror = reject;
    });
    return new WsProbe(socket);
  }

  send(msg: unknown): void {
    this.socket.send(JSON.stringify(msg));
  }

  /** The first message (already received or coming) that satisfies `pred`. */
  next(pred: (m: Any) => boolean, timeoutMs = 5_000): Promise<Any> {
    const found = this.messages.find(pred);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no matching message in ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiters.push({
        pred,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  }

  async close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return;
    const closed = new Promise((r) => (this.socket.onclose = r));
    this.socket.close();
    await closed;
  }
}

async function login(p: WsProbe, u: TestUser): Promise<void> {
  const timestamp = Date.now();
  const signature = signPayload(u.secret, signaturePayload(String(timestamp), "GET", "/ws", ""));
  assert.ok(
    signatureMatches(u.secret, signaturePayload(String(timestamp), "GET", "/ws", ""), signature),
  );
  p.send({ op: "login", args: { api_key: u.apiKey, timestamp, signature } });
  const ack = await p.next((m) => m.op === "login" || m.op === "error");
  assert.equal(ack.ok, true, JSON.stringify(ack));
}

/** Applies depth messages to a local book; checks update ids run without gaps. */
class LocalBook {
  bids = new Map<string, string>();
  asks = new Map<string, string>();
  updateId = -1;

  apply(m: Any): void {
    if (m.type === "snapshot") {
      this.bids = new Map(m.data.bids);
      this.asks = new Map(m.data.asks);
      this.updateId = m.data.update_id;
      return;
    }
    assert.ok(this.updateId >= 0, "a diff before the snapshot");
    assert.equal(m.data.update_id, this.updateId + 1, "diffs follow the snapshot without gaps");
    this.updateId = m.data.update_id;
    const side = m.data.side === "BUY" ? this.bids : this.asks;
    if (Number(m.data.qty) === 0) side.delete(m.data.price);
    else side.set(m.data.price, m.data.qty);
  }

  levels(side: "bids" | "asks"): [string, string][] {
    const sorted = [...this[side].entries()].sort((a, b) => Number(a[0]) - Number(b[0]));
    return side === "bids" ? sorted.reverse() : sorted;
  }
}

Deno.test("a local book from the depth snapshot and diffs equals the engine's after a random burst", async () => {
  const seed = Number(Deno.env.get("WS_TEST_SEED") ?? 7);
  console.log(`seed ${seed} (WS_TEST_SEED to replay)`);
  await withTestService(async (t) => {
    const users = await Promise.all(
      [0, 1, 2].map(() => t.user({ BTC: "100", USDT: "10000000" })),
    );
    const early = await WsProbe.open(t);
    early.send({ op: "subscribe", args: ["depth.BTC_USDT", "trades.BTC_USDT"] });
    await early.next((m) => m.op === "subscribe");
    const prng = new Prng(seed);
    const random = () => prng.next();
    let late: WsProbe | undefined;
    const open: { user: TestUser; id: number }[] = [];
    for (let round = 0; round < 12; round++) {
      if (round === 6) late = await WsProbe.open(t);
      const batch = [];
      for (let i = 0; i < 25; i++) {
        const user = users[Math.floor(random() * users.length)];
        if (open.length > 0 && random() < 0.2) {
          const [o] = open.splice(Math.floor(random() * open.length), 1);
          batch.push(o.user.client.post("/api/v1/cancel_order", { order_id: o.id }));
          continue;
        }
        const side = random() < 0.5 ? "BUY" : "SELL";
        const price = (50_000 + Math.floor((random() - 0.5) * 40) * 5).toFixed(2);
        const qty = (Math.floor(random() * 50 + 1) / 1000).toFixed(3);
        batch.push(
          user.client.post<Any>("/api/v1/create_order", {
            symbol: "BTC_USDT",
            side,
            type: "LIMIT",
            price,
            qty,
          }).then((r) => {
            assert.equal(r.code, 0, r.msg);
            if (r.data.status === "NEW" || r.data.status === "PARTIALLY_FILLED") {
              open.push({ user, id: r.data.order_id });
            }
            return r;
          }),
        );
      }
      // A second client joins mid-burst, while this round's commands are in flight: its
      // snapshot is not empty, and diffs already in the snapshot must not follow it.
      if (round === 6) late!.send({ op: "subscribe", args: ["depth.BTC_USDT"] });
      await Promise.all(batch);
    }
    await t.service.exchange.whenIdle();
    const depth = await t.admin.get<Any>("/api/v1/depth?symbol=BTC_USDT&limit=5000");
    // Wait until both clients have seen the last update.
    for (const p of [early, late!]) {
      await p.next((m) =>
        m.topic === "depth.BTC_USDT" && m.data.update_id === depth.data.update_id
      );
    }
    for (const p of [early, late!]) {
      const book = new LocalBook();
      for (const m of p.messages) if (m.topic === "depth.BTC_USDT") book.apply(m);
      assert.equal(book.updateId, depth.data.update_id);
      assert.deepEqual(book.levels("bids"), depth.data.bids);
      assert.deepEqual(book.levels("asks"), depth.data.asks);
    }
    assert.ok(depth.data.bids.length + depth.data.asks.length > 5, "the burst left a real book");
    const trades = early.messages.filter((m) => m.topic === "trades.BTC_USDT");
    const stored = await t.admin.get<Any>("/api/v1/public_trades?symbol=BTC_USDT&limit=1000");
    assert.equal(trades.length, stored.data.trades.length, "every trade was pushed once");
    await early.close();
    await late!.close();
  });
});

Deno.test("private streams reach only their owner, and need a login", async () => {
  await withTestService(async (t) => {
    const alice = await t.user({ BTC: "1" });
    const bob = await t.user({ USDT: "100000" });
    const pa = await WsProbe.open(t);
    const pb = await WsProbe.open(t);
    const anon = await WsProbe.open(t);
    anon.send({ op: "subscribe", args: ["orders"] });
    const refused = await anon.next((m) => m.op === "error");
    assert.equal(refused.code, ApiCode.MISSING_AUTH);

    await login(pa, alice);
    await login(pb, bob);
    for (const p of [pa, pb]) {
      p.send({ op: "subscribe", args: ["orders", "user_trades", "balances"] });
      await p.next((m) => m.op === "subscribe");
    }
    const sell = await alice.client.post<Any>("/api/v1/create_order", {
      symbol: "BTC_USDT",
      side: "SELL",
      type: "LIMIT",
      price: "40000",
      qty: "0.5",
    });
    const buy = await bob.client.post<Any>("/api/v1/create_order", {
      symbol: "BTC_USDT",
      side: "BUY",
      type: "LIMIT",
      price: "40000",
      qty: "0.5",
    });
    assert.equal(buy.data.status, "FILLED");
    await pa.next((m) => m.topic === "user_trades");
    await pb.next((m) => m.topic === "user_trades");
    await pa.next((m) => m.topic === "orders" && m.data.status === "FILLED");
    await pb.next((m) => m.topic === "orders" && m.data.status === "FILLED");

    const ordersOf = (p: WsProbe) =>
      p.messages.filter((m) => m.topic === "orders").map((m) => m.data.order_id);
    assert.ok(ordersOf(pa).every((id) => id === sell.data.order_id), "alice sees only hers");
    assert.ok(ordersOf(pb).every((id) => id === buy.data.order_id), "bob sees only his");
    const aliceTrade = pa.messages.find((m) => m.topic === "user_trades").data;
    assert.equal(aliceTrade.side, "SELL");
    assert.equal(aliceTrade.role, "MAKER");
    const bobTrade = pb.messages.find((m) => m.topic === "user_trades").data;
    assert.equal(bobTrade.side, "BUY");
    const bobAssets = new Set(
      pb.messages.filter((m) => m.topic === "balances").map((m) => m.data.asset),
    );
    assert.ok(bobAssets.has("BTC") && bobAssets.has("USDT"));
    assert.equal(
      anon.messages.filter((m) => m.topic !== undefined).length,
      0,
      "nothing private reached the anonymous connection",
    );

    // Ping, and a replayed login.
    pa.send({ op: "ping" });
    assert.equal((await pa.next((m) => m.op === "pong")).op, "pong");
    const ts = Date.now();
    const sig = signPayload(alice.secret, signaturePayload(String(ts), "GET", "/ws", ""));
    anon.send({ op: "login", args: { api_key: alice.apiKey, timestamp: ts, signature: sig } });
    await anon.next((m) => m.op === "login");
    const again = await WsProbe.open(t);
    again.send({ op: "login", args: { api_key: alice.apiKey, timestamp: ts, signature: sig } });
    const replayed = await again.next((m) => m.op === "error");
    assert.equal(replayed.code, ApiCode.REPLAYED_REQUEST);
    for (const p of [pa, pb, anon, again]) await p.close();
  });
});

Deno.test("bad WebSocket messages get errors and the connection stays usable", async () => {
  await withTestService(async (t) => {
    const p = await WsProbe.open(t);
    const cases: [unknown, number][] = [
      ["not json", ApiCode.INVALID_JSON],
      [{ op: "dance" }, ApiCode.INVALID_PARAMETER],
      [{ op: "subscribe", args: ["trades.NOPE"] }, ApiCode.INVALID_PARAMETER],
      [{ op: "subscribe", args: ["kline.2m.BTC_USDT"] }, ApiCode.INVALID_PARAMETER],
      [{ op: "subscribe" }, ApiCode.INVALID_PARAMETER],
      [{ op: "unsubscribe", args: ["trades.BTC_USDT"] }, ApiCode.INVALID_PARAMETER],
      [
        { op: "login", args: { api_key: "x", timestamp: 1, signature: "y" } },
        ApiCode.UNKNOWN_API_KEY,
      ],
      ["x".repeat(5_000), ApiCode.BODY_TOO_LARGE],
    ];
    for (const [msg, code] of cases) {
      const before = p.messages.length;
      p.socket.send(typeof msg === "string" ? msg : JSON.stringify(msg));
      const err = await p.next((m) => m.op === "error" && p.messages.indexOf(m) >= before);
      assert.equal(err.code, code, JSON.stringify(msg));
    }
    p.send({ op: "subscribe", args: ["kline.1m.BTC_USDT", "ticker.BTC_USDT"] });
    const ack = await p.next((m) => m.op === "subscribe");
    assert.deepEqual(ack.args, ["kline.1m.BTC_USDT", "ticker.BTC_USDT"]);
    await p.close();
  });
});

Deno.test("a reader that stops reading is cut off, and every command still completes", async () => {
  await withTestService(async (t) => {
    const healthy = await WsProbe.open(t);
    healthy.send({ op: "subscribe", args: ["depth.BTC_USDT"] });
    await healthy.next((m) => m.op === "subscribe");

    // A raw TCP client: upgrades, subscribes, then never reads again.
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: t.service.port });
    const enc = new TextEncoder();
    await conn.write(enc.encode(
      "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    ));
    const head = new Uint8Array(1024);
    const n = await conn.read(head);
    assert.match(new TextDecoder().decode(head.subarray(0, n ?? 0)), /^HTTP\/1.1 101/);
    await conn.write(maskedTextFrame(JSON.stringify({
      op: "subscribe",
      args: ["depth.BTC_USDT", "trades.BTC_USDT"],
    })));
    // Let the server take the subscription before the burst.
    const hub = () => t.service.exchange.stats().push;
    for (let i = 0; i < 100 && hub().subscribers < 2; i++) await delay(10);
    assert.equal(hub().subscribers, 2);

    // A burst straight into the exchange (no HTTP in the way): 60,000 resting orders from
    // 8 makers. Each is a depth diff of about 110 bytes: 6.6 MB, more than the kernel's
    // socket buffers (about 4 MB on loopback) take from a reader that does not read.
    const makers = await Promise.all(Array.from({ length: 8 }, () => t.user({ BTC: "100" })));
    const results = await Promise.all(
      Array.from({ length: ORDERS }, (_, i) =>
        t.service.exchange.submit({
          type: "place",
          userId: makers[i % makers.length].userId,
          symbolId: 1,
          side: "SELL",
          orderType: "LIMIT",
          priceTicks: 5_000_000 + (i % 3_000) * 100,
          qtyUnits: 100_000,
        })),
    );
    assert.ok(results.every((r) => r.status === "done"), "every command completed");
    await t.service.exchange.whenIdle();
    for (let i = 0; i < 500 && hub().cutOff < 1; i++) await delay(10);
    assert.equal(hub().cutOff, 1, "the stalled reader was cut off");
    assert.equal(hub().subscribers, 1, "the healthy one is still subscribed");
    const last = t.service.exchange.depth(1, 1)!.updateId;
    await healthy.next((m) => m.topic === "depth.BTC_USDT" && m.data.update_id === last);
    const diffs = healthy.messages.filter((m) => m.type === "diff");
    assert.equal(diffs.length, ORDERS, "the healthy reader got every diff");
    conn.close();
    await healthy.close();
  }, { wsLimits: { highWaterBytes: 256 * 1024, stallMs: 1_500, queueCapacity: 65_536 } });
});

const ORDERS = 60_000;

function delay(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}

/** A client-to-server WebSocket text frame (clients must mask). */
function maskedTextFrame(text: string): Uint8Array {
  const payload = new TextEncoder().encode(text);
  assert.ok(payload.length < 126);
  const mask = [1, 2, 3, 4];
  const frame = new Uint8Array(2 + 4 + payload.length);
  frame[0] = 0x81;
  frame[1] = 0x80 | payload.length;
  frame.set(mask, 2);
  for (let i = 0; i < payload.length; i++) frame[6 + i] = payload[i] ^ mask[i % 4];
  return frame;
}
