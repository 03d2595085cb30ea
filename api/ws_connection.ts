/**
 * One WebSocket connection of `/ws`: its commands (subscribe, unsubscribe, ping, login),
 * its topics, and its place in the push hub, through which it receives the change log.
 *
 * It never slows matching: the hub queues entries per connection up to a bound and the
 * connection sends them as fast as the socket takes them. When the client reads too
 * slowly (the socket's unsent bytes stay above a bound, or the hub's queue fills) the
 * connection is closed with a reason (close code 4000 + `SLOW_CONSUMER`).
 *
 * Messages, client to server:
 *   {"op":"subscribe","args":["trades.BTC_USDT", ...]}   {"op":"unsubscribe","args":[...]}
 *   {"op":"ping"}   {"op":"login","args":{"api_key":..,"timestamp":..,"signature":..}}
 * Server to client: acknowledgements `{"op":..,"ok":true,...}`, errors
 * `{"op":"error","code":..,"msg":..}`, and pushes `{"topic":..,"data":..}` (depth adds
 * `"type":"snapshot"|"diff"`).
 */

import type { ChangeLogEntry } from "../domain/change_log.ts";
import type { BalanceChanged, BookDelta, OrderUpdated, TradeEvent } from "../domain/events.ts";
import { MAX_DEPTH_LEVELS } from "../domain/limits.ts";
import type { CandleRow } from "../persistence/storage_port.ts";
import type { ApiDeps, AuthState } from "./api_context.ts";
import { ApiCode } from "./api_errors.ts";
import { candleView } from "./market_views.ts";
import { tradeView, updateView } from "./order_views.ts";
import { signatureMatches, signaturePayload } from "./signature.ts";
import { entryMatches, parseTopic, PRIVATE_TOPICS, type Topic } from "./ws_topics.ts";
import { closeWebSocket, drainedOrCut } from "./ws_socket_io.ts";

/** Bounds of one connection. */
export interface WsLimits {
  /** Topics one connection may hold. */
  maxTopics: number;
  /** Longest client message, in bytes. */
  maxMessageBytes: number;
  /** Unsent bytes above which delivery waits for the client to read. */
  highWaterBytes: number;
  /** How long unsent bytes may stay above the high water before the connection is cut. */
  stallMs: number;
  /** Entries the hub queues for the connection before cutting it off. */
  queueCapacity: number;
  /** Least time between two ticker pushes of a symbol. */
  tickerIntervalMs: number;
}

export const DEFAULT_WS_LIMITS: WsLimits = {
  maxTopics: 64,
  maxMessageBytes: 4_096,
  highWaterBytes: 4 * 1024 * 1024,
  stallMs: 5_000,
  queueCapacity: 16_384,
  tickerIntervalMs: 1_000,
};

/** Close code for a connection the server cut off (application range 4000-4999). */
export const WS_CLOSE_CUT_OFF = 4000;

/** Serialised public messages, shared by every connection on the same topic. */
const publicText = new WeakMap<object, Map<string, string>>();

let nextConnectionNo = 1;

export class WsConnection {
  readonly id = `ws-${nextConnectionNo++}`;
  private userId: number | null = null;
  private readonly topics = new Map<string, Topic>();
  /** Depth topics: book deltas at or below the snapshot's update id are already in it. */
  private readonly depthFrom = new Map<number, number>();
  private readonly tickerDirty = new Set<number>();
  private tickerTimer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;

  constructor(
    private readonly socket: WebSocket,
    private readonly deps: ApiDeps,
    private readonly auth: AuthState,
    private readonly limits: WsLimits,
  ) {}

  /** Joins the push hub; false (and the socket closed) if the hub refused. */
  open(): boolean {
    const r = this.deps.exchange.subscribe(
      {
        id: this.id,
        deliver: (entries) => this.deliver(entries),
        close: (reason) => this.cut(reason),
      },
      { filter: (e) => this.wants(e), queueCapacity: this.limits.queueCapacity },
    );
    if (!r.ok) {
      this.send({ op: "error", code: ApiCode.UNAVAILABLE, msg: r.message });
      this.closeSocket(1013, r.code);
      return false;
    }
    return true;
  }

  /** The socket closed (either side): leave the hub, stop timers. */
  ended(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.tickerTimer);
    this.deps.exchange.unsubscribe(this.id);
  }

  /** One message from the client. */
  onMessage(data: unknown): void {
    if (typeof data !== "string") {
      return this.error(ApiCode.INVALID_JSON, "messages must be JSON text frames");
    }
    if (data.length > this.limits.maxMessageBytes) {
      return this.error(
        ApiCode.BODY_TOO_LARGE,
        `message longer than ${this.limits.maxMessageBytes} bytes`,
      );
    }
    let msg: { op?: unknown; args?: unknown };
    try {
      msg = JSON.parse(data);
    } catch {
      return this.error(ApiCode.INVALID_JSON, "the message is not valid JSON");
    }
    if (typeof msg !== "object" || msg === null) {
      return this.error(ApiCode.INVALID_PARAMETER, "a message is a JSON object with an op");
    }
    switch (msg.op) {
      case "ping":
        return this.send({ op: "pong", ts: this.deps.now() });
      case "subscribe":
        return this.subscribe(msg.args);
      case "unsubscribe":
        return this.unsubscribe(msg.args);
      case "login":
        return this.login(msg.args);
      default:
        return this.error(
          ApiCode.INVALID_PARAMETER,
          `unknown op ${JSON.stringify(msg.op)}: use subscribe, unsubscribe, login or ping`,
        );
    }
  }

  // ---------------------------------------------------------------- commands

  private subscribe(args: unknown): void {
    if (!Array.isArray(args) || args.length === 0) {
      return this.error(ApiCode.INVALID_PARAMETER, "subscribe needs args: a list of topics");
    }
    const parsed: Topic[] = [];
    for (const name of args) {
      const t = parseTopic(this.deps.markets, name);
      if (typeof t === "string") return this.error(ApiCode.INVALID_PARAMETER, t);
      if (PRIVATE_TOPICS.has(t.kind) && this.userId === null) {
        return this.error(ApiCode.MISSING_AUTH, `topic "${t.name}" needs a login first`);
      }
      parsed.push(t);
    }
    const fresh = parsed.filter((t) => !this.topics.has(t.name));
    if (this.topics.size + fresh.length > this.limits.maxTopics) {
      return this.error(
        ApiCode.INVALID_PARAMETER,
        `at most ${this.limits.maxTopics} topics per connection`,
      );
    }
    for (const t of fresh) this.topics.set(t.name, t);
    this.send({ op: "subscribe", ok: true, args: parsed.map((t) => t.name) });
    // Depth starts with a snapshot; later diffs continue from its update id.
    for (const t of fresh) if (t.kind === "depth") this.sendDepthSnapshot(t);
  }

  private unsubscribe(args: unknown): void {
    if (!Array.isArray(args) || args.length === 0) {
      return this.error(ApiCode.INVALID_PARAMETER, "unsubscribe needs args: a list of topics");
    }
    for (const name of args) {
      const t = typeof name === "string" ? this.topics.get(name) : undefined;
      if (t === undefined) {
        return this.error(ApiCode.INVALID_PARAMETER, `not subscribed to ${JSON.stringify(name)}`);
      }
    }
    for (const name of args as string[]) {
      const t = this.topics.get(name);
      this.topics.delete(name);
      if (t?.kind === "depth") this.depthFrom.delete(t.symbolId);
    }
    this.send({ op: "unsubscribe", ok: true, args });
  }

  private login(args: unknown): void {
    if (this.userId !== null) return this.error(ApiCode.INVALID_PARAMETER, "already logged in");
    const a = (typeof args === "object" && args !== null ? args : {}) as Record<string, unknown>;
    const { api_key: apiKey, timestamp, signature } = a;
    if (typeof apiKey !== "string" || typeof signature !== "string") {
      return this.error(
        ApiCode.MISSING_AUTH,
        "login needs args {api_key, timestamp, signature}",
      );
    }
    const key = this.deps.keys.lookup(apiKey);
    if (key === undefined) return this.error(ApiCode.UNKNOWN_API_KEY, "unknown API key");
    const ts = typeof timestamp === "number" ? String(timestamp) : timestamp;
    const now = this.deps.now();
    const window = this.deps.auth.timestampWindowMs;
    const tsMs = typeof ts === "string" && /^\d{1,16}$/.test(ts) ? Number(ts) : NaN;
    if (!Number.isSafeInteger(tsMs) || Math.abs(now - tsMs) > window) {
      return this.error(
        ApiCode.STALE_TIMESTAMP,
        `timestamp must be the current time in ms within ${window} ms of the server's (${now})`,
      );
    }
    if (!signatureMatches(key.secret, signaturePayload(String(ts), "GET", "/ws", ""), signature)) {
      return this.error(
        ApiCode.BAD_SIGNATURE,
        'signature does not match: sign timestamp + "GET" + "/ws" with HMAC-SHA256, lowercase hex',
      );
    }
    const seen = this.auth.replay.check(signature, tsMs, now);
    if (seen !== "fresh") {
      return this.error(
        seen === "replayed" ? ApiCode.REPLAYED_REQUEST : ApiCode.TOO_MANY_REQUESTS_IN_WINDOW,
        seen === "replayed" ? "this signature was already used" : "too many signed requests",
      );
    }
    this.userId = key.userId;
    this.send({ op: "login", ok: true, user_id: key.userId });
  }

  // ---------------------------------------------------------------- pushes

  /** The hub's filter: does any of this connection's topics take `e`? */
  private wants(e: ChangeLogEntry<unknown>): boolean {
    for (const t of this.topics.values()) {
      if (!entryMatches(t, e, this.userId)) continue;
      if (t.kind === "depth") {
        const from = this.depthFrom.get(t.symbolId) ?? Infinity;
        if ((e.payload as BookDelta).updateId <= from) continue;
      }
      return true;
    }
    return false;
  }

  private async deliver(entries: ChangeLogEntry<unknown>[]): Promise<void> {
    if (this.closed) return;
    for (const e of entries) {
      for (const t of this.topics.values()) {
        if (!entryMatches(t, e, this.userId)) continue;
        this.push(t, e);
      }
    }
    await this.drained();
  }

  private push(t: Topic, e: ChangeLogEntry<unknown>): void {
    const ix = this.deps.markets;
    switch (t.kind) {
      case "trades":
        return this.sendShared(e, t.name, () => {
          const p = e.payload as TradeEvent;
          const m = ix.symbolById(p.symbolId);
          return {
            topic: t.name,
            data: {
              trade_id: p.tradeId,
              symbol: m.spec.name,
              price: ix.price(m, p.priceTicks),
              qty: ix.qty(m, p.qtyUnits),
              quote_qty: ix.quote(m, p.quoteUnits),
              taker_side: p.takerSide,
              time: e.ts,
            },
          };
        });
      case "depth": {
        const p = e.payload as BookDelta;
        if (p.updateId <= (this.depthFrom.get(t.symbolId) ?? Infinity)) return;
        return this.sendShared(e, t.name, () => {
          const m = ix.symbolById(p.symbolId);
          return {
            topic: t.name,
            type: "diff",
            data: {
              update_id: p.updateId,
              side: p.side,
              price: ix.price(m, p.priceTicks),
              qty: ix.qty(m, p.qtyUnits),
            },
          };
        });
      }
      case "kline":
        return this.sendShared(e, t.name, () => {
          const k = e.payload as CandleRow;
          return { topic: t.name, data: candleView(ix, ix.symbolById(k.symbolId), k) };
        });
      case "ticker":
        this.tickerDirty.add(t.symbolId);
        if (this.tickerTimer === undefined) {
          this.tickerTimer = setTimeout(() => this.sendTickers(), this.limits.tickerIntervalMs);
        }
        return;
      case "orders":
        return this.send({ topic: "orders", data: updateView(ix, e.payload as OrderUpdated) });
      case "user_trades":
        return this.send({
          topic: "user_trades",
          data: tradeView(ix, { ...(e.payload as TradeEvent), tsMs: e.ts }, this.userId!),
        });
      case "balances": {
        const b = e.payload as BalanceChanged;
        const a = ix.assetById(b.assetId);
        return this.send({
          topic: "balances",
          data: {
            asset: a.name,
            available: ix.amount(a, b.availableUnits),
            frozen: ix.amount(a, b.frozenUnits),
          },
        });
      }
    }
  }

  private sendDepthSnapshot(t: Topic & { kind: "depth" }): void {
    const ix = this.deps.markets;
    const m = ix.symbolById(t.symbolId);
    const d = this.deps.exchange.depth(t.symbolId, MAX_DEPTH_LEVELS);
    const updateId = d?.updateId ?? 0;
    this.depthFrom.set(t.symbolId, updateId);
    const level = ([p, q]: [number, number]) => [ix.price(m, p), ix.qty(m, q)];
    this.send({
      topic: t.name,
      type: "snapshot",
      data: {
        update_id: updateId,
        bids: (d?.bids ?? []).map(level),
        asks: (d?.asks ?? []).map(level),
      },
    });
  }

  private async sendTickers(): Promise<void> {
    this.tickerTimer = undefined;
    const ix = this.deps.markets;
    const symbols = [...this.tickerDirty];
    this.tickerDirty.clear();
    for (const symbolId of symbols) {
      if (this.closed) return;
      const m = ix.symbolById(symbolId);
      const name = `ticker.${m.spec.name}`;
      if (!this.topics.has(name)) continue;
      const t = await this.deps.exchange.ticker(symbolId, this.deps.now());
      if (t === undefined || this.closed) continue;
      this.send({
        topic: name,
        data: {
          symbol: m.spec.name,
          open: ix.price(m, t.openTicks),
          high: ix.price(m, t.highTicks),
          low: ix.price(m, t.lowTicks),
          last: ix.price(m, t.lastTicks),
          volume: ix.qty(m, t.baseVolumeUnits),
          quote_volume: ix.quote(m, t.quoteVolumeUnits),
          trades: t.trades,
          open_time: t.openMs,
          close_time: t.closeMs,
        },
      });
    }
  }

  // ---------------------------------------------------------------- socket

  /** Sends the message `build` makes, serialised once for every connection on the topic. */
  private sendShared(e: object, topic: string, build: () => unknown): void {
    let byTopic = publicText.get(e);
    if (byTopic === undefined) publicText.set(e, byTopic = new Map());
    let text = byTopic.get(topic);
    if (text === undefined) byTopic.set(topic, text = JSON.stringify(build()));
    this.sendText(text);
  }

  private send(msg: unknown): void {
    this.sendText(JSON.stringify(msg));
  }

  private sendText(text: string): void {
    if (this.closed || this.socket.readyState !== WebSocket.OPEN) return;
    this.socket.send(text);
  }

  private error(code: number, msg: string): void {
    this.send({ op: "error", code, msg });
  }

  /** Waits for the reader (see drainedOrCut); a reader stalled too long is cut off. */
  private drained(): Promise<void> {
    return drainedOrCut(this.socket, this.limits, this.deps.exchange, this.id, () => this.closed);
  }

  /** The hub (or the stall check) cut this connection off: say why and close. */
  private cut(reason: string): void {
    if (this.closed) return;
    this.send({ op: "error", code: ApiCode.OVERLOADED, msg: reason });
    this.closeSocket(WS_CLOSE_CUT_OFF, reason);
    this.ended();
  }

  private closeSocket(code: number, reason: string): void {
    closeWebSocket(this.socket, code, reason);
  }
}
