/**
 * Binance-compatible WebSocket streams over real sockets: market stream payloads with
 * exact values, the SUBSCRIBE protocol and its errors, Binance's local-order-book
 * procedure ending with the engine's book, user data streams (listen key and WebSocket
 * API) reaching only their owner, and a stalled reader cut off while matching continues.
 */

import assert from "node:assert/strict";
import { Prng } from "../../bench/prng.ts";
import { signPayload } from "../../api/signature.ts";
import { adminRequest, type TestService, type TestUser, withTestService } from "./api_fixtures.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

/** A WebSocket client that records every message and can wait for one. */
class Probe {
  readonly messages: Any[] = [];
  closeCode: number | undefined;
  private waiters: { pred: (m: Any) => boolean; resolve: (m: Any) => void }[] = [];
  private readonly closed: Promise<void>;
  private nextId = 1;

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
    this.closed = new Promise((resolve) => {
      socket.onclose = (e) => {
        this.closeCode = e.code;
        resolve();
      };
    });
  }

  /** Opens `path` (e.g. "/ws/btcusdt@trade") and waits until the server took the streams. */
  static async open(t: TestService, path: string): Promise<Probe> {
    const socket = new WebSocket(`${t.baseUrl.replace("http", "ws")}${path}`);
    await new Promise((resolve, reject) => {
      socket.onopen = resolve;
      socket.onerror = reject;
    });
    const p = new Probe(socket);
    // Requests are handled after the connection's streams began: an answer proves it.
    if (!path.startsWith("/ws-api")) await p.request("LIST_SUBSCRIPTIONS");
    return p;
  }

  send(msg: unknown): void {
    this.socket.send(typeof msg === "string" ? msg : JSON.stringify(msg));
  }

  /** Sends a stream request and returns its answer (result or error). */
  async request(method: string, params?: unknown): Promise<Any> {
    const id = this.nextId++;
    this.send({ method, params, id });
    return await this.next((m) => m.id === id && ("result" in m || "error" in m));
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

  /** Messages received after index `from` that satisfy `pred`. */
  after(from: number, pred: (m: Any) => boolean): Any[] {
    return this.messages.slice(from).filter(pred);
  }

  whenClosed(): Promise<void> {
    return this.closed;
  }

  async close(): Promise<void> {
    if (this.socket.readyState !== WebSocket.CLOSED) this.socket.close();
    await this.closed;
  }
}

function limitOrder(u: TestUser, side: "BUY" | "SELL", price: string, qty: string, cid?: string) {
  return u.client.post<Any>("/api/v1/create_order", {
    symbol: "BTC_USDT",
    side,
    type: "LIMIT",
    price,
    qty,
    ...(cid === undefined ? {} : { cid }),
  });
}

async function binanceGet(t: TestService, pathWithQuery: string): Promise<Any> {
  const res = await fetch(`${t.baseUrl}${pathWithQuery}`);
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  return body;
}

async function listenKeyOf(t: TestService, u: TestUser): Promise<string> {
  const res = await fetch(`${t.baseUrl}/api/v3/userDataStream`, {
    method: "POST",
    headers: { "X-MBX-APIKEY": u.apiKey },
  });
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  return body.listenKey;
}

function delay(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}

/** Resolves once `cond()` holds (checked every 50 ms); throws after `timeoutMs`. */
async function until(cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`condition not met in ${timeoutMs} ms`);
    await delay(50);
  }
}

Deno.test("raw and combined market streams carry Binance's payloads with exact values", async () => {
  await withTestService(async (t) => {
    const alice = await t.user({ BTC: "1" });
    const bob = await t.user({ USDT: "100000" });
    const raw = await Probe.open(t, "/ws/btcusdt@trade");
    const names = [
      "btcusdt@trade",
      "btcusdt@aggTrade",
      "btcusdt@kline_1m",
      "btcusdt@bookTicker",
      "btcusdt@depth5@100ms",
      "btcusdt@ticker",
      "btcusdt@miniTicker",
    ];
    const combined = await Probe.open(t, `/stream?streams=${names.join("/")}`);
    assert.deepEqual((await combined.request("LIST_SUBSCRIPTIONS")).result, names);
    // A partial book starts with the book as it is: empty.
    const first = await combined.next((m) => m.stream === "btcusdt@depth5@100ms");
    assert.deepEqual(first.data, { lastUpdateId: 0, bids: [], asks: [] });

    assert.equal((await limitOrder(alice, "SELL", "40000", "0.5")).data.status, "NEW");
    const ask = await combined.next((m) =>
      m.stream === "btcusdt@bookTicker" && m.data.a === "40000.00"
    );
    assert.deepEqual(ask.data, {
      u: 1,
      s: "BTCUSDT",
      b: "0.00",
      B: "0.00000000",
      a: "40000.00",
      A: "0.50000000",
    });
    const partial = await combined.next((m) =>
      m.stream === "btcusdt@depth5@100ms" && m.data.asks.length === 1
    );
    assert.deepEqual(partial.data, {
      lastUpdateId: 1,
      bids: [],
      asks: [["40000.00", "0.50000000"]],
    });

    assert.equal((await limitOrder(bob, "BUY", "40000", "0.3")).data.status, "FILLED");
    const [stored] = await binanceGet(t, "/api/v3/trades?symbol=BTCUSDT&limit=1");
    const trade = {
      e: "trade",
      E: stored.time,
      s: "BTCUSDT",
      t: stored.id,
      p: "40000.00",
      q: "0.30000000",
      T: stored.time,
      m: false,
      M: true,
    };
    assert.deepEqual(await raw.next((m) => m.e === "trade"), trade);
    assert.deepEqual((await combined.next((m) => m.stream === "btcusdt@trade")).data, trade);
    assert.deepEqual((await combined.next((m) => m.stream === "btcusdt@aggTrade")).data, {
      e: "aggTrade",
      E: stored.time,
      s: "BTCUSDT",
      a: stored.id,
      p: "40000.00",
      q: "0.30000000",
      f: stored.id,
      l: stored.id,
      T: stored.time,
      m: false,
      M: true,
    });
    const kline = (await combined.next((m) => m.stream === "btcusdt@kline_1m")).data;
    const openMs = Math.floor(stored.time / 60_000) * 60_000;
    assert.deepEqual(kline, {
      e: "kline",
      E: stored.time,
      s: "BTCUSDT",
      k: {
        t: openMs,
        T: openMs + 59_999,
        s: "BTCUSDT",
        i: "1m",
        f: kline.k.f,
        L: stored.id,
        o: "40000.00",
        c: "40000.00",
        h: "40000.00",
        l: "40000.00",
        v: "0.30000000",
        n: 1,
        x: false,
        q: "12000.000000",
        V: "0.30000000",
        Q: "12000.000000",
        B: "0",
      },
    });
    // The first trade id is known only for a candle begun after the stream was.
    assert.ok([-1, stored.id].includes(kline.k.f), `f ${kline.k.f}`);
    const after = await combined.next((m) =>
      m.stream === "btcusdt@bookTicker" && m.data.A === "0.20000000"
    );
    assert.equal(after.data.u, 2);
    const ticker = (await combined.next((m) => m.stream === "btcusdt@ticker")).data;
    assert.equal(ticker.e, "24hrTicker");
    assert.equal(ticker.s, "BTCUSDT");
    for (const [k, v] of Object.entries({ p: "0.00", P: "0.000", w: "40000.00", c: "40000.00" })) {
      assert.equal(ticker[k], v, k);
    }
    for (const [k, v] of Object.entries({ Q: "0.30000000", o: "40000.00", h: "40000.00" })) {
      assert.equal(ticker[k], v, k);
    }
    assert.equal(ticker.v, "0.30000000");
    assert.equal(ticker.q, "12000.000000");
    assert.equal(ticker.a, "40000.00");
    assert.equal(ticker.A, "0.20000000");
    assert.equal(ticker.n, 1);
    assert.equal(ticker.L, stored.id);
    const mini = (await combined.next((m) => m.stream === "btcusdt@miniTicker")).data;
    assert.deepEqual({ ...mini, E: 0 }, {
      e: "24hrMiniTicker",
      E: 0,
      s: "BTCUSDT",
      c: "40000.00",
      o: "40000.00",
      h: "40000.00",
      l: "40000.00",
      v: "0.30000000",
      q: "12000.000000",
    });
    // Nothing about other symbols, and the raw stream got exactly one event.
    assert.equal(raw.messages.filter((m) => m.e !== undefined).length, 1);
    await raw.close();
    await combined.close();
  });
});

Deno.test("SUBSCRIBE, UNSUBSCRIBE and LIST_SUBSCRIPTIONS answer as Binance; bad requests change nothing", async () => {
  await withTestService(async (t) => {
    const alice = await t.user({ BTC: "1" });
    const bob = await t.user({ USDT: "100000" });
    // ccxt's way: a stream id in the path, streams by SUBSCRIBE.
    const p = await Probe.open(t, "/ws/0");
    assert.deepEqual(await p.request("LIST_SUBSCRIPTIONS"), { result: [], id: 2 });
    assert.deepEqual(await p.request("SUBSCRIBE", ["btcusdt@trade", "ethusdt@depth@100ms"]), {
      result: null,
      id: 3,
    });
    // Subscribing again to a stream held is not an error and adds nothing.
    assert.deepEqual(await p.request("SUBSCRIBE", ["btcusdt@trade"]), { result: null, id: 4 });
    const listed = ["btcusdt@trade", "ethusdt@depth@100ms"];
    assert.deepEqual((await p.request("LIST_SUBSCRIPTIONS")).result, listed);

    const errors: [unknown, number, RegExp][] = [
      ["not json", 3, /^Invalid JSON: /],
      [[1, 2], 2, /a request is a JSON object/],
      [{ method: "SUBSCRIB", params: [], id: 901 }, 2, /unknown method "SUBSCRIB"/],
      [{ method: "SUBSCRIBE", params: ["xxxusdt@trade"], id: 901 }, 2, /unknown symbol "xxxusdt"/],
      [{ method: "SUBSCRIBE", params: ["BTCUSDT@trade"], id: 901 }, 2, /lower case/],
      [{ method: "SUBSCRIBE", params: ["btcusdt@kline_2m"], id: 901 }, 2, /unknown interval "2m"/],
      [{ method: "SUBSCRIBE", params: ["btcusdt@depth@250ms"], id: 901 }, 2, /update speed/],
      [{ method: "SUBSCRIBE", params: ["btcusdt@depth7"], id: 901 }, 2, /5, 10 or 20/],
      [{ method: "SUBSCRIBE", params: ["btcusdt@trades"], id: 901 }, 2, /unknown stream/],
      [{ method: "SUBSCRIBE", params: [], id: 901 }, 2, /non-empty list/],
      [{ method: "SUBSCRIBE", params: "btcusdt@trade", id: 901 }, 2, /non-empty list/],
      [{ method: "SUBSCRIBE", params: [7], id: 901 }, 2, /stream name is a string/],
      [{ method: "SUBSCRIBE", params: ["a".repeat(60)], id: 901 }, 2, /does not exist/],
      // A valid stream beside an invalid one: nothing is subscribed.
      [{ method: "SUBSCRIBE", params: ["btcusdt@aggTrade", "nope"], id: 901 }, 2, /"nope"/],
      [{ method: "UNSUBSCRIBE", params: ["btcusdt@trade", "nope"], id: 901 }, 2, /"nope"/],
      [{ method: "SET_PROPERTY", params: ["combined", "yes"], id: 901 }, 1, /expected a boolean/],
      [{ method: "SET_PROPERTY", params: ["fast", true], id: 901 }, 2, /"combined"/],
      [{ method: "LIST_SUBSCRIPTIONS", id: { a: 1 } }, 1, /id must be/],
      [{ method: "LIST_SUBSCRIPTIONS", id: "a b" }, 1, /id must be/],
      [
        {
          method: "SUBSCRIBE",
          params: Array.from({ length: 1_025 }, (_, i) => `btcusdt@kline_${i}`),
          id: 901,
        },
        2,
        /at most 1024 streams/,
      ],
      ["x".repeat(70_000), 2, /longer than 65536/],
    ];
    for (const [msg, code, text] of errors) {
      const from = p.messages.length;
      p.send(msg);
      const err = await p.next((m) => m.error !== undefined && p.messages.indexOf(m) >= from);
      assert.equal(err.error.code, code, JSON.stringify(msg).slice(0, 80));
      assert.match(err.error.msg, text);
      const sentId = typeof msg === "object" && msg !== null && "id" in msg ? msg.id : null;
      assert.equal(err.id, typeof sentId === "number" ? sentId : null);
    }
    assert.deepEqual((await p.request("LIST_SUBSCRIPTIONS")).result, listed, "nothing changed");

    // Unsubscribing a stream not held is ignored, as on Binance.
    assert.equal((await p.request("UNSUBSCRIBE", ["btcusdt@trade", "ethusdt@trade"])).result, null);
    assert.deepEqual((await p.request("LIST_SUBSCRIPTIONS")).result, ["ethusdt@depth@100ms"]);

    // Combined form switched on by SET_PROPERTY; GET_PROPERTY reads it.
    assert.equal((await p.request("SUBSCRIBE", ["btcusdt@trade"])).result, null);
    assert.equal((await p.request("GET_PROPERTY", ["combined"])).result, false);
    assert.equal((await p.request("SET_PROPERTY", ["combined", true])).result, null);
    assert.equal((await p.request("GET_PROPERTY", ["combined"])).result, true);
    await limitOrder(alice, "SELL", "40000", "0.1");
    await limitOrder(bob, "BUY", "40000", "0.1");
    const wrapped = await p.next((m) => m.stream === "btcusdt@trade");
    assert.equal(wrapped.data.e, "trade");
    assert.equal(wrapped.data.q, "0.10000000");
    await p.close();
  });
});

Deno.test("a client sending messages faster than allowed is told so and disconnected", async () => {
  await withTestService(async (t) => {
    for (const [path, method] of [["/ws/0", "LIST_SUBSCRIPTIONS"], ["/ws-api/v3", "ping"]]) {
      const p = await Probe.open(t, path);
      for (let i = 0; i < 80; i++) p.send({ method, id: 1_000 + i });
      const err = await p.next((m) => m.error !== undefined);
      if (path === "/ws-api/v3") assert.deepEqual([err.status, err.error.code], [429, -1003]);
      assert.match(err.error.msg, /more than 10 messages per second \(burst 50\)/);
      await p.whenClosed();
      assert.equal(p.closeCode, 1008, `${path}: ${p.closeCode}`);
      const answered = p.messages.filter((m) => m.id >= 1_000).length;
      assert.ok(answered < 80, `${path}: ${answered} requests answered`);
    }
    // Matching is not affected, and a new connection is served.
    const fresh = await Probe.open(t, "/ws/btcusdt@trade");
    assert.deepEqual((await fresh.request("LIST_SUBSCRIPTIONS")).result, ["btcusdt@trade"]);
    await fresh.close();
  });
});

Deno.test("streams named in the URL must exist: the upgrade is refused with a Binance error", async () => {
  await withTestService(async (t) => {
    const cases: [string, number, RegExp][] = [
      ["/ws/xxxusdt@trade", -1130, /unknown symbol "xxxusdt"/],
      ["/ws/btcusdt@trade/btcusdt@nope", -1130, /unknown stream "btcusdt@nope"/],
      ["/stream?streams=btcusdt@trade/nope", -1130, /unknown stream "nope"/],
      [`/ws/${"A".repeat(60)}`, -1125, /This listenKey does not exist/],
      // Valid streams, but not a WebSocket upgrade.
      ["/ws/btcusdt@trade", -1130, /WebSocket upgrades only/],
      ["/ws-api/v3", -1130, /WebSocket upgrades only/],
    ];
    for (const [path, code, msg] of cases) {
      const res = await fetch(`${t.baseUrl}${path}`);
      const body = await res.json();
      assert.equal(res.status, 400, path);
      assert.equal(body.code, code, path);
      assert.match(body.msg, msg, path);
    }
    // The native /ws is still there.
    const native = new WebSocket(`${t.baseUrl.replace("http", "ws")}/ws`);
    await new Promise((resolve, reject) => {
      native.onopen = resolve;
      native.onerror = reject;
    });
    const pong = new Promise<Any>((r) => (native.onmessage = (e) => r(JSON.parse(e.data))));
    native.send(JSON.stringify({ op: "ping" }));
    assert.equal((await pong).op, "pong");
    const closed = new Promise((r) => (native.onclose = r));
    native.close();
    await closed;
  });
});

/**
 * A local book kept by Binance's documented procedure: buffer the diff events, take a
 * REST snapshot, drop events with `u` <= its lastUpdateId, then apply events whose `U`
 * follows the book's update id with no gap.
 */
class BinanceBook {
  bids = new Map<string, string>();
  asks = new Map<string, string>();
  updateId = -1;
  private buffer: Any[] = [];

  /** Takes one diff event (buffered until the snapshot). */
  event(d: Any): void {
    assert.equal(d.e, "depthUpdate");
    assert.ok(d.U <= d.u, `U ${d.U} > u ${d.u}`);
    if (this.updateId < 0) return void this.buffer.push(d);
    if (d.u <= this.updateId) return;
    assert.ok(d.U <= this.updateId + 1, `gap: book at ${this.updateId}, event from ${d.U}`);
    assert.ok(d.u >= this.updateId + 1);
    for (const [p, q] of d.b) this.level(this.bids, p, q);
    for (const [p, q] of d.a) this.level(this.asks, p, q);
    this.updateId = d.u;
  }

  snapshot(s: Any): void {
    const first = this.buffer[0];
    // Binance: a snapshot older than the first buffered event is taken again.
    if (first !== undefined) assert.ok(s.lastUpdateId >= first.U - 1, "snapshot too old");
    this.bids = new Map(s.bids);
    this.asks = new Map(s.asks);
    this.updateId = s.lastUpdateId;
    const buffered = this.buffer;
    this.buffer = [];
    for (const d of buffered) this.event(d);
  }

  private level(side: Map<string, string>, p: string, q: string): void {
    if (Number(q) === 0) side.delete(p);
    else side.set(p, q);
  }

  levels(side: "bids" | "asks"): [string, string][] {
    const sorted = [...this[side].entries()].sort((a, b) => Number(a[0]) - Number(b[0]));
    return side === "bids" ? sorted.reverse() : sorted;
  }
}

Deno.test("a local book kept by Binance's procedure (REST depth + diffs) ends as the engine's", async () => {
  const seed = Number(Deno.env.get("BINANCE_WS_TEST_SEED") ?? 11);
  console.log(`seed ${seed} (BINANCE_WS_TEST_SEED to replay)`);
  await withTestService(async (t) => {
    const users = await Promise.all(
      [0, 1, 2].map(() => t.user({ BTC: "100", USDT: "10000000" })),
    );
    const books = new Map<Probe, BinanceBook>();
    const follow = (p: Probe, book: BinanceBook) => {
      books.set(p, book);
      const onMessage = p.socket.onmessage!;
      p.socket.onmessage = (e) => {
        onMessage.call(p.socket, e);
        const m = p.messages.at(-1);
        const d = m.stream !== undefined ? m.data : m;
        if (d.e === "depthUpdate") book.event(d);
      };
    };
    const snapshot = async (book: BinanceBook) =>
      book.snapshot(await binanceGet(t, "/api/v3/depth?symbol=BTCUSDT&limit=5000"));

    // One client before the burst (every 100 ms), one joining mid-burst (every second).
    const early = await Probe.open(t, "/ws/btcusdt@depth@100ms");
    follow(early, new BinanceBook());
    await snapshot(books.get(early)!);
    const prng = new Prng(seed);
    const random = () => prng.next();
    let late: Probe | undefined;
    const open: { user: TestUser; id: number }[] = [];
    for (let round = 0; round < 12; round++) {
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
          limitOrder(user, side, price, qty).then((r) => {
            assert.equal(r.code, 0, r.msg);
            if (r.data.status === "NEW" || r.data.status === "PARTIALLY_FILLED") {
              open.push({ user, id: r.data.order_id });
            }
          }),
        );
      }
      // The late client subscribes and takes its snapshot while this round is in flight.
      if (round === 6) {
        late = await Probe.open(t, "/stream?streams=btcusdt@depth");
        follow(late, new BinanceBook());
        await delay(20);
        await snapshot(books.get(late)!);
      }
      await Promise.all(batch);
    }
    await t.service.exchange.whenIdle();
    const engine = await binanceGet(t, "/api/v3/depth?symbol=BTCUSDT&limit=5000");
    assert.ok(engine.bids.length + engine.asks.length > 5, "the burst left a real book");
    assert.ok(books.get(late!)!.updateId > 0, "the late client's snapshot was not empty");
    for (const p of [early, late!]) {
      const book = books.get(p)!;
      // Wait for the batch holding the last update (at most a second away).
      await p.next((m) => (m.data ?? m).u === engine.lastUpdateId, 3_000);
      assert.equal(book.updateId, engine.lastUpdateId);
      assert.deepEqual(book.levels("bids"), engine.bids);
      assert.deepEqual(book.levels("asks"), engine.asks);
    }
    const events = early.messages.filter((m) => m.e === "depthUpdate");
    assert.ok(events.length > 0);
    for (let i = 1; i < events.length; i++) {
      assert.equal(events[i].U, events[i - 1].u + 1, "events follow each other without gaps");
    }
    await early.close();
    await late!.close();
  });
});

Deno.test("a listen key's stream sends executionReport and outboundAccountPosition to its owner only", async () => {
  await withTestService(async (t) => {
    const alice = await t.user({ BTC: "1" });
    const bob = await t.user({ USDT: "100000" });
    const aliceKey = await listenKeyOf(t, alice);
    const bobKey = await listenKeyOf(t, bob);
    const pa = await Probe.open(t, `/ws/${aliceKey}`);
    const pb = await Probe.open(t, `/ws/${bobKey}`);
    // The same stream combined, beside a market stream.
    const pc = await Probe.open(t, `/stream?streams=${aliceKey}/btcusdt@trade`);

    const sell = await limitOrder(alice, "SELL", "40000", "0.5", "alice-1");
    assert.equal(sell.data.status, "NEW");
    const buy = await limitOrder(bob, "BUY", "40000", "0.3");
    assert.equal(buy.data.status, "FILLED");
    const cancel = await alice.client.post<Any>("/api/v1/cancel_order", {
      order_id: sell.data.order_id,
    });
    assert.equal(cancel.code, 0, cancel.msg);
    const [stored] = await binanceGet(t, "/api/v3/trades?symbol=BTCUSDT&limit=1");

    const reports = async (p: Probe, n: number) => {
      await p.next(() => p.messages.filter((m) => m.e === "executionReport").length >= n);
      return p.messages.filter((m) => m.e === "executionReport");
    };
    const [aNew, aTrade, aCancel] = await reports(pa, 3);
    const base = {
      e: "executionReport",
      s: "BTCUSDT",
      c: "alice-1",
      S: "SELL",
      o: "LIMIT",
      f: "GTC",
      q: "0.50000000",
      p: "40000.00",
      P: "0.00",
      F: "0.00000000",
      g: -1,
      r: "NONE",
      i: sell.data.order_id,
      M: false,
      Q: "0.000000",
      V: aNew.V,
    };
    const created = aNew.O;
    assert.deepEqual(aNew, {
      ...base,
      E: created,
      C: "",
      x: "NEW",
      X: "NEW",
      l: "0.00000000",
      z: "0.00000000",
      L: "0.00",
      n: "0",
      N: null,
      T: created,
      t: -1,
      I: 0,
      w: true,
      m: false,
      O: created,
      Z: "0.000000",
      Y: "0.000000",
      W: created,
    });
    assert.deepEqual(aTrade, {
      ...base,
      E: stored.time,
      C: "",
      x: "TRADE",
      X: "PARTIALLY_FILLED",
      l: "0.30000000",
      z: "0.30000000",
      L: "40000.00",
      // The seller pays in quote: the maker fee on 12000 USDT.
      n: aTrade.n,
      N: "USDT",
      T: stored.time,
      t: stored.id,
      I: aTrade.I,
      w: true,
      m: true,
      O: created,
      Z: "12000.000000",
      Y: "12000.000000",
      W: created,
    });
    assert.deepEqual(aCancel, {
      ...base,
      E: aCancel.E,
      C: "alice-1",
      x: "CANCELED",
      X: "CANCELED",
      l: "0.00000000",
      z: "0.30000000",
      L: "0.00",
      n: "0",
      N: null,
      T: aCancel.E,
      t: -1,
      I: 0,
      w: false,
      m: false,
      O: created,
      Z: "12000.000000",
      Y: "0.000000",
      W: created,
    });
    const [bNew, bTrade] = await reports(pb, 2);
    assert.equal(bNew.x, "NEW");
    assert.equal(bNew.c, "", "an order placed without a client id shows an empty one");
    assert.deepEqual(
      [bTrade.x, bTrade.X, bTrade.l, bTrade.z, bTrade.m, bTrade.N, bTrade.t, bTrade.i],
      ["TRADE", "FILLED", "0.30000000", "0.30000000", false, "BTC", stored.id, buy.data.order_id],
    );
    // Fees as the REST trade list shows them.
    const myTrades = async (u: TestUser) => {
      const ts = Date.now();
      const q = `symbol=BTCUSDT&timestamp=${ts}`;
      const res = await fetch(
        `${t.baseUrl}/api/v3/myTrades?${q}&signature=${signPayload(u.secret, q)}`,
        { headers: { "X-MBX-APIKEY": u.apiKey } },
      );
      return await res.json();
    };
    assert.equal(aTrade.n, (await myTrades(alice))[0].commission);
    assert.equal(bTrade.n, (await myTrades(bob))[0].commission);

    // Balances: the last position of each asset is the account's.
    await t.service.exchange.whenIdle();
    const lastPositions = async (p: Probe, assets: string[]) => {
      const seen = new Map<string, Any>();
      await p.next(() => {
        for (const m of p.messages) {
          if (m.e === "outboundAccountPosition") { for (const b of m.B) seen.set(b.a, b); }
        }
        return assets.every((a) => seen.has(a));
      });
      return seen;
    };
    const account = async (u: TestUser) => {
      const r = await u.client.get<Any>("/api/v1/balances");
      return new Map<string, Any>(r.data.balances.map((b: Any) => [b.asset, b]));
    };
    await delay(100);
    for (
      const [p, u, assets] of [[pa, alice, ["BTC", "USDT"]], [pb, bob, ["BTC", "USDT"]]] as const
    ) {
      const seen = await lastPositions(p, [...assets]);
      const held = await account(u);
      for (const a of assets) {
        assert.equal(Number(seen.get(a).f), Number(held.get(a).available), `${a} free`);
        assert.equal(Number(seen.get(a).l), Number(held.get(a).frozen), `${a} locked`);
      }
    }
    // Alice's position after placing: half her BTC held.
    const placed = pa.messages.find((m) => m.e === "outboundAccountPosition");
    assert.deepEqual(placed.B, [{ a: "BTC", f: "0.50000000", l: "0.50000000" }]);

    // Only the owner: no order of the other in either stream.
    const ids = (p: Probe) => new Set(p.messages.filter((m) => m.i !== undefined).map((m) => m.i));
    assert.deepEqual([...ids(pa)], [sell.data.order_id]);
    assert.deepEqual([...ids(pb)], [buy.data.order_id]);
    // The combined stream carries the same events, named by the listen key.
    await pc.next((m) => m.stream === aliceKey && m.data.x === "CANCELED");
    assert.deepEqual(
      pc.messages.filter((m) => m.stream === aliceKey && m.data.e === "executionReport")
        .map((m) => m.data),
      [aNew, aTrade, aCancel],
    );

    // Closing the listen key ends its stream with listenKeyExpired.
    const res = await fetch(`${t.baseUrl}/api/v3/userDataStream?listenKey=${aliceKey}`, {
      method: "DELETE",
      headers: { "X-MBX-APIKEY": alice.apiKey },
    });
    assert.equal(res.status, 200, await res.text());
    const expired = await pa.next((m) => m.e === "listenKeyExpired");
    assert.equal(expired.listenKey, aliceKey);
    assert.deepEqual((await pa.request("LIST_SUBSCRIPTIONS")).result, []);
    for (const p of [pa, pb, pc]) await p.close();
  });
});

/** The signed params of userDataStream.subscribe.signature, as ccxt sends them. */
function signedParams(
  u: TestUser,
  extra: Record<string, unknown> = {},
  tsMs = Date.now(),
): Record<string, unknown> {
  const params: Record<string, unknown> = { apiKey: u.apiKey, timestamp: tsMs, ...extra };
  const payload = Object.keys(params).sort().map((k) => `${k}=${params[k]}`).join("&");
  return { ...params, signature: signPayload(u.secret, payload) };
}

Deno.test("the WebSocket API subscribes a user data stream by signature and refuses a bad one", async () => {
  await withTestService(async (t) => {
    const alice = await t.user({ BTC: "1" });
    const bob = await t.user({ USDT: "100000" });
    const api = await Probe.open(t, "/ws-api/v3");
    const call = async (id: string, method: string, params?: unknown) => {
      api.send({ id, method, ...(params === undefined ? {} : { params }) });
      return await api.next((m) => m.id === id);
    };
    assert.deepEqual(await call("p1", "ping"), { id: "p1", status: 200, result: {} });

    const bad = signedParams(alice);
    const refusals: [string, unknown, number, number, RegExp][] = [
      ["e1", { ...bad, signature: "0".repeat(64) }, 400, -1022, /^Signature for this request/],
      ["e2", { ...bad, timestamp: Number(bad.timestamp) + 1 }, 400, -1022, /Signature/],
      ["e3", signedParams(bob, {}, Date.now() - 60_000), 400, -1021, /outside of the recvWindow/],
      ["e4", signedParams(bob, {}, Date.now() + 60_000), 400, -1021, /ahead of the server/],
      ["e5", { ...bad, apiKey: "f".repeat(32) }, 401, -2015, /Invalid API-key/],
      ["e6", { apiKey: alice.apiKey, timestamp: Date.now() }, 400, -1102, /'signature'/],
      ["e7", { ...bad, symbol: "BTCUSDT" }, 400, -1103, /'symbol'/],
      ["e8", signedParams(bob, { recvWindow: 70_000 }), 400, -1130, /recvWindow/],
      ["e9", [1], 400, -1135, /'params'/],
    ];
    for (const [id, params, status, code, msg] of refusals) {
      const r = await call(id, "userDataStream.subscribe.signature", params);
      assert.equal(r.status, status, id);
      assert.equal(r.error.code, code, id);
      assert.match(r.error.msg, msg, id);
    }
    assert.deepEqual(await call("e10", "order.place", {}), {
      id: "e10",
      status: 400,
      error: {
        code: -1020,
        msg:
          'This operation is not supported: method "order.place"; this server offers ping, time, userDataStream.subscribe.signature, userDataStream.unsubscribe, session.subscriptions.',
      },
    });
    api.send("{not json");
    const notJson = await api.next((m) => m.id === null && m.error?.code === -1135);
    assert.equal(notJson.status, 400);

    // Refusals changed nothing: no subscription, and an order sends nothing here.
    assert.deepEqual((await call("s0", "session.subscriptions")).result, []);
    const before = api.messages.length;
    await limitOrder(alice, "SELL", "45000", "0.1");
    await t.service.exchange.whenIdle();
    await delay(100);
    assert.equal(api.after(before, (m) => m.event !== undefined).length, 0);

    const ok = await call("s1", "userDataStream.subscribe.signature", signedParams(alice));
    assert.deepEqual(ok, { id: "s1", status: 200, result: { subscriptionId: 0 } });
    const again = await call("s2", "userDataStream.subscribe.signature", signedParams(alice));
    assert.equal(again.status, 400);
    assert.match(again.error.msg, /already has subscription 0/);
    const okBob = await call("s3", "userDataStream.subscribe.signature", signedParams(bob));
    assert.deepEqual(okBob.result, { subscriptionId: 1 });

    const sell = await limitOrder(alice, "SELL", "41000", "0.2", "a-2");
    const buy = await limitOrder(bob, "BUY", "41000", "0.2");
    assert.equal(buy.data.status, "FILLED");
    const report = (sid: number, x: string, orderId: number) =>
      api.next((m) =>
        m.subscriptionId === sid && m.event.e === "executionReport" && m.event.x === x &&
        m.event.i === orderId
      );
    const aliceNew = await report(0, "NEW", sell.data.order_id);
    assert.equal(aliceNew.event.c, "a-2");
    assert.equal((await report(0, "TRADE", sell.data.order_id)).event.X, "FILLED");
    assert.equal((await report(1, "TRADE", buy.data.order_id)).event.X, "FILLED");
    await api.next((m) => m.subscriptionId === 1 && m.event.e === "outboundAccountPosition");
    // Each subscription carries only its account's orders.
    for (const m of api.messages.filter((m) => m.event?.e === "executionReport")) {
      assert.equal(m.event.i, m.subscriptionId === 0 ? sell.data.order_id : buy.data.order_id);
    }

    assert.deepEqual(await call("u1", "userDataStream.unsubscribe", { subscriptionId: 0 }), {
      id: "u1",
      status: 200,
      result: {},
    });
    assert.equal(
      (await api.next((m) => m.subscriptionId === 0 && m.event.e === "eventStreamTerminated"))
        .event.e,
      "eventStreamTerminated",
    );
    assert.deepEqual((await call("s4", "session.subscriptions")).result, [{ subscriptionId: 1 }]);
    const unsubscribed = api.messages.length;
    await limitOrder(alice, "SELL", "46000", "0.1");
    await t.service.exchange.whenIdle();
    await delay(100);
    assert.equal(api.after(unsubscribed, (m) => m.subscriptionId === 0).length, 0);
    await api.close();
  });
});

Deno.test("a taker's fills are reported one by one; IOC remainders expire, amends are REPLACED", async () => {
  await withTestService(async (t) => {
    const alice = await t.user({ BTC: "1" });
    const bob = await t.user({ USDT: "100000" });
    const pa = await Probe.open(t, `/ws/${await listenKeyOf(t, alice)}`);
    const pb = await Probe.open(t, `/ws/${await listenKeyOf(t, bob)}`);
    await limitOrder(alice, "SELL", "40000", "0.1");
    await limitOrder(alice, "SELL", "40100", "0.2");
    const maker = await alice.client.post<Any>("/api/v1/create_order", {
      symbol: "BTC_USDT",
      side: "SELL",
      type: "LIMIT",
      price: "40200",
      qty: "0.3",
      post_only: true,
    });
    assert.equal(maker.code, 0, maker.msg);
    const ioc = await bob.client.post<Any>("/api/v1/create_order", {
      symbol: "BTC_USDT",
      side: "BUY",
      type: "LIMIT",
      price: "40100",
      qty: "0.5",
      time_in_force: "IOC",
    });
    assert.equal(ioc.data.status, "EXPIRED");
    const reportsOf = async (p: Probe, orderId: number, n: number) => {
      const of = () => p.messages.filter((m) => m.e === "executionReport" && m.i === orderId);
      await p.next(() => of().length >= n);
      return of();
    };
    const got = (await reportsOf(pb, ioc.data.order_id, 4)).map((r: Any) => [
      r.x,
      r.X,
      r.f,
      r.l,
      r.L,
      r.z,
      r.Z,
      r.m,
      r.w,
    ]);
    assert.deepEqual(got, [
      ["NEW", "NEW", "IOC", "0.00000000", "0.00", "0.00000000", "0.000000", false, false],
      [
        "TRADE",
        "PARTIALLY_FILLED",
        "IOC",
        "0.10000000",
        "40000.00",
        "0.10000000",
        "4000.000000",
        false,
        false,
      ],
      [
        "TRADE",
        "PARTIALLY_FILLED",
        "IOC",
        "0.20000000",
        "40100.00",
        "0.30000000",
        "12020.000000",
        false,
        false,
      ],
      [
        "EXPIRED",
        "EXPIRED",
        "IOC",
        "0.00000000",
        "0.00",
        "0.30000000",
        "12020.000000",
        false,
        false,
      ],
    ]);

    const amend = await alice.client.post<Any>("/api/v1/amend_order", {
      order_id: maker.data.order_id,
      qty: "0.25",
    });
    assert.equal(amend.code, 0, amend.msg);
    const fill = await limitOrder(bob, "BUY", "40200", "0.25");
    assert.equal(fill.data.status, "FILLED");
    const makerReports = await reportsOf(pa, maker.data.order_id, 3);
    assert.deepEqual(
      makerReports.map((r: Any) => [r.o, r.x, r.X, r.q, r.z, r.m, r.w]),
      [
        ["LIMIT_MAKER", "NEW", "NEW", "0.30000000", "0.00000000", false, true],
        ["LIMIT_MAKER", "REPLACED", "NEW", "0.25000000", "0.00000000", false, true],
        ["LIMIT_MAKER", "TRADE", "FILLED", "0.25000000", "0.25000000", true, false],
      ],
    );
    await pa.close();
    await pb.close();
  });
});

Deno.test("a reader that stops reading is cut off with code 4000, and matching goes on", async () => {
  await withTestService(async (t) => {
    // Two makers (a user holds at most 10,000 open orders), both streams on each reader.
    const makers = [await t.user({ BTC: "1000" }), await t.user({ BTC: "1000" })];
    const path = `/ws/${await listenKeyOf(t, makers[0])}/${await listenKeyOf(t, makers[1])}`;
    const healthy = await Probe.open(t, path);

    // A raw TCP client: upgrades to the same user stream, then never reads again.
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: t.service.port });
    await conn.write(new TextEncoder().encode(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n` +
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
        "Sec-WebSocket-Version: 13\r\n\r\n",
    ));
    const head = new Uint8Array(1024);
    const n = await conn.read(head);
    assert.match(new TextDecoder().decode(head.subarray(0, n ?? 0)), /^HTTP\/1.1 101/);
    const hub = () => t.service.exchange.stats().push;
    for (let i = 0; i < 100 && hub().subscribers < 2; i++) await delay(10);
    assert.equal(hub().subscribers, 2);

    // A burst straight into the exchange: each order is an executionReport of about 600
    // bytes and a position of about 100 for both readers, 10 MB in all: more than the
    // kernel's socket buffers take from a reader that does not read.
    const results = await Promise.all(
      Array.from({ length: ORDERS }, (_, i) =>
        t.service.exchange.submit({
          type: "place",
          userId: makers[i % 2].userId,
          symbolId: 1,
          side: "SELL",
          orderType: "LIMIT",
          priceTicks: 5_000_000 + (i % 3_000) * 100,
          qtyUnits: 100_000,
        })),
    );
    assert.ok(
      results.every((r) => r.status === "done" && r.events.some((e) => e.type === "accepted")),
      "every order was placed",
    );
    await t.service.exchange.whenIdle();
    for (let i = 0; i < 500 && hub().cutOff < 1; i++) await delay(10);
    assert.equal(hub().cutOff, 1, "the stalled reader was cut off");
    assert.equal(hub().subscribers, 1, "the healthy one is still subscribed");
    const news = () => healthy.messages.filter((m) => m.e === "executionReport" && m.x === "NEW");
    await until(() => news().length === ORDERS, 20_000);
    assert.equal(new Set(news().map((m) => m.i)).size, ORDERS, "the healthy reader got them all");

    // Reading now, the stalled client finds the close frame after what was buffered.
    assert.equal(await closeCodeOf(conn), 4000);
    await healthy.close();
  }, { wsLimits: { highWaterBytes: 256 * 1024, stallMs: 1_500, queueCapacity: 65_536 } });
});

const ORDERS = 15_000;

/** Reads server frames (unmasked) until a close frame; returns its status code. */
async function closeCodeOf(conn: Deno.Conn): Promise<number> {
  let buf = new Uint8Array(0);
  const chunk = new Uint8Array(1 << 16);
  let at = 0;
  for (;;) {
    // Parse whole frames from `at`.
    while (buf.length - at >= 2) {
      const opcode = buf[at] & 0x0f;
      let len = buf[at + 1] & 0x7f;
      let off = at + 2;
      if (len === 126) {
        if (buf.length - at < 4) break;
        len = (buf[at + 2] << 8) | buf[at + 3];
        off = at + 4;
      } else if (len === 127) {
        if (buf.length - at < 10) break;
        len = Number(new DataView(buf.buffer, buf.byteOffset + at + 2, 8).getBigUint64(0));
        off = at + 10;
      }
      if (buf.length < off + len) break;
      if (opcode === 8) {
        conn.close();
        return (buf[off] << 8) | buf[off + 1];
      }
      at = off + len;
    }
    const n = await conn.read(chunk);
    if (n === null) throw new Error("the connection ended without a close frame");
    const next = new Uint8Array(buf.length - at + n);
    next.set(buf.subarray(at));
    next.set(chunk.subarray(0, n), buf.length - at);
    buf = next;
    at = 0;
  }
}

Deno.test("a deposit and a withdrawal reach their owner as balanceUpdate, then the position", async () => {
  await withTestService(async (t) => {
    const alice = await t.user({ USDT: "100" });
    const bob = await t.user({ USDT: "100" });
    const pa = await Probe.open(t, `/ws/${await listenKeyOf(t, alice)}`);
    const pb = await Probe.open(t, `/ws/${await listenKeyOf(t, bob)}`);
    const transfer = async (path: string, amount: string) => {
      const r = await adminRequest(t, "POST", path, {
        user_id: alice.userId,
        asset: "USDT",
        amount,
      });
      assert.equal(r.code, 0, r.msg);
    };
    await transfer("/admin/v1/deposit", "25.5");
    const dep = await pa.next((m) => m.e === "balanceUpdate");
    assert.deepEqual({ ...dep, E: 0, T: 0 }, {
      e: "balanceUpdate",
      E: 0,
      a: "USDT",
      d: "25.500000",
      T: 0,
    });
    assert.equal(dep.E, dep.T);
    const pos = await pa.next((m) => m.e === "outboundAccountPosition");
    assert.deepEqual(pos.B, [{ a: "USDT", f: "125.500000", l: "0.000000" }]);
    assert.ok(pa.messages.indexOf(dep) < pa.messages.indexOf(pos), "balanceUpdate comes first");
    await transfer("/admin/v1/withdraw", "0.5");
    const wd = await pa.next((m) => m.e === "balanceUpdate" && m.d.startsWith("-"));
    assert.equal(wd.d, "-0.500000");
    // Trading moves balances without a balanceUpdate.
    const buy = await limitOrder(alice, "BUY", "10000", "0.001");
    assert.equal(buy.code, 0, buy.msg);
    await pa.next((m) => m.e === "executionReport");
    assert.equal(pa.messages.filter((m) => m.e === "balanceUpdate").length, 2);
    assert.equal(pb.messages.filter((m) => m.e === "balanceUpdate").length, 0, "only the owner");
    await pa.close();
    await pb.close();
  });
});
