/**
 * Unit tests of api/ws_connection.ts with a fake socket and a fake exchange: the depth
 * snapshot/diff boundary (diffs already in the snapshot are never sent), topic
 * filtering, and the cut-off of a socket whose unsent bytes stay high.
 */

import assert from "node:assert/strict";
import type { ApiDeps } from "../../api/api_context.ts";
import { MarketIndex } from "../../api/market_index.ts";
import { RateLimiter } from "../../api/rate_limiter.ts";
import { ReplayGuard } from "../../api/replay_guard.ts";
import { DEFAULT_AUTH, marketsFrom } from "../../api/service_config.ts";
import { DEFAULT_WS_LIMITS, WS_CLOSE_CUT_OFF, WsConnection } from "../../api/ws_connection.ts";
import type { ChangeLogEntry } from "../../domain/change_log.ts";
import type { BookDelta } from "../../domain/events.ts";
import { buildMarkets } from "../../domain/market_config.ts";
import type { PushSubscriber, SubscribeOptions } from "../../actors/push_hub.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

class FakeSocket {
  readyState: number = WebSocket.OPEN;
  bufferedAmount = 0;
  sent: Any[] = [];
  closedWith: [number, string] | null = null;
  send(text: string) {
    this.sent.push(JSON.parse(text));
  }
  close(code: number, reason: string) {
    this.closedWith = [code, reason];
    this.readyState = WebSocket.CLOSED;
  }
}

function setup() {
  const { assets, symbols } = marketsFrom(
    [{ name: "BTC", decimals: 8 }, { name: "USDT", decimals: 6 }],
    [{ name: "BTC_USDT", base: "BTC", quote: "USDT", price_decimals: 2 }],
  );
  const { assetsById, marketsById } = buildMarkets(assets, symbols);
  let sub: PushSubscriber<ChangeLogEntry<unknown>> | undefined;
  let opts: SubscribeOptions<ChangeLogEntry<unknown>> | undefined;
  const cut: string[] = [];
  const exchange = {
    subscribe(s: Any, o: Any) {
      sub = s;
      opts = o;
      return { ok: true };
    },
    unsubscribe() {},
    cutOff(_id: string, reason: string) {
      cut.push(reason);
      sub!.close(reason);
      return true;
    },
    depth: () => ({ updateId: 10, bids: [[5_000_000, 100_000_000]], asks: [] }),
  };
  const deps = {
    exchange,
    markets: new MarketIndex(marketsById, assetsById),
    auth: DEFAULT_AUTH,
    now: () => 1_000,
    logger: console,
  } as unknown as ApiDeps;
  const auth = {
    replay: new ReplayGuard({ windowMs: 5_000, maxEntries: 100 }),
    limiter: new RateLimiter({ ratePerSecond: 1, burst: 1, maxKeys: 10 }),
  };
  const socket = new FakeSocket();
  return {
    socket,
    deps,
    auth,
    cut,
    get sub() {
      return sub!;
    },
    get filter() {
      return opts!.filter!;
    },
  };
}

function delta(updateId: number, symbolId = 1): ChangeLogEntry<unknown> {
  const payload: BookDelta = {
    type: "book",
    symbolId,
    updateId,
    side: "BUY",
    priceTicks: 5_000_000,
    qtyUnits: 50_000_000,
  };
  return { seq: updateId, ts: 1, type: "book", entity: "book", id: String(symbolId), payload };
}

Deno.test("diffs already in the depth snapshot are neither queued nor sent", async () => {
  const s = setup();
  const conn = new WsConnection(
    s.socket as unknown as WebSocket,
    s.deps,
    s.auth,
    DEFAULT_WS_LIMITS,
  );
  assert.equal(conn.open(), true);
  assert.equal(s.filter(delta(5)), false, "nothing is wanted before a subscription");
  conn.onMessage(JSON.stringify({ op: "subscribe", args: ["depth.BTC_USDT"] }));
  const snapshot = s.socket.sent.find((m) => m.type === "snapshot");
  assert.equal(snapshot.data.update_id, 10);
  assert.deepEqual(snapshot.data.bids, [["50000.00", "1.00000000"]]);
  assert.equal(s.filter(delta(10)), false);
  assert.equal(s.filter(delta(11)), true);
  assert.equal(s.filter(delta(11, 2)), false, "another symbol's book");
  // Entries queued before the subscription may still be delivered: only newer ones go out.
  await s.sub.deliver([delta(9), delta(10), delta(11), delta(12)]);
  const diffs = s.socket.sent.filter((m) => m.type === "diff").map((m) => m.data.update_id);
  assert.deepEqual(diffs, [11, 12]);
  conn.onMessage(JSON.stringify({ op: "unsubscribe", args: ["depth.BTC_USDT"] }));
  assert.equal(s.filter(delta(13)), false);
});

Deno.test("a socket whose unsent bytes stay above the high water is cut off", async () => {
  const s = setup();
  const limits = { ...DEFAULT_WS_LIMITS, highWaterBytes: 1_000, stallMs: 50 };
  const conn = new WsConnection(s.socket as unknown as WebSocket, s.deps, s.auth, limits);
  conn.open();
  conn.onMessage(JSON.stringify({ op: "subscribe", args: ["depth.BTC_USDT"] }));
  s.socket.bufferedAmount = 5_000;
  await s.sub.deliver([delta(11)]);
  assert.equal(s.cut.length, 1);
  assert.match(s.cut[0], /^SLOW_CONSUMER/);
  assert.equal(s.socket.closedWith?.[0], WS_CLOSE_CUT_OFF);
  // A socket that drains in time is not cut.
  const t = setup();
  const ok = new WsConnection(t.socket as unknown as WebSocket, t.deps, t.auth, limits);
  ok.open();
  ok.onMessage(JSON.stringify({ op: "subscribe", args: ["depth.BTC_USDT"] }));
  t.socket.bufferedAmount = 5_000;
  setTimeout(() => (t.socket.bufferedAmount = 0), 20);
  await t.sub.deliver([delta(11)]);
  assert.equal(t.cut.length, 0);
  assert.equal(t.socket.closedWith, null);
});
