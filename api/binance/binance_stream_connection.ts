/**
 * One connection of Binance's WebSocket streams (`/ws/<stream>`, `/stream?streams=a/b`):
 * its streams (market streams and listen-key user data streams), its requests
 * (SUBSCRIBE, UNSUBSCRIBE, LIST_SUBSCRIPTIONS, SET_PROPERTY, GET_PROPERTY) and the events
 * it sends, raw or wrapped `{"stream": name, "data": event}` when combined.
 *
 * Cadences: `trade`, `aggTrade`, `kline` and `bookTicker` are sent as the change log
 * delivers them; `@depth` diffs are batched per 1000 ms and `@depth@100ms` per 100 ms, as
 * on Binance (a batch reaching MAX_DEPTH_BATCH_LEVELS levels is sent early); partial books
 * are sent at subscription and then at their speed while the book changes; tickers at most
 * once per `tickerIntervalMs` while trades happen.
 *
 * Requests are parsed by `parseStreamRequest`; a request refused changes nothing. When a
 * listen key is closed or lapses, its stream sends `listenKeyExpired` and ends (the
 * connection stays open).
 */

import type { ChangeLogEntry } from "../../domain/change_log.ts";
import type { BookDelta, TradeEvent } from "../../domain/events.ts";
import { intervalOpenMs } from "../../domain/kline_intervals.ts";
import type { CandleRow } from "../../persistence/storage_port.ts";
import type { WsLimits } from "../ws_connection.ts";
import type { BinanceContext } from "./binance_context.ts";
import { DepthBatch } from "./binance_stream_depth.ts";
import {
  aggTradeEvent,
  bookTickerEvent,
  depthUpdateEvent,
  klineEvent,
  type LastTrade,
  miniTickerEvent,
  partialDepthEvent,
  tickerEvent,
  type Top,
  tradeEvent,
} from "./binance_stream_events.ts";
import {
  LISTEN_KEY_CHECK_MS,
  MAX_DEPTH_BATCH_LEVELS,
  MAX_STREAMS_PER_CONNECTION,
} from "./binance_stream_limits.ts";
import type { BinanceStream, MarketStream, UserStream } from "./binance_stream_names.ts";
import { INVALID_REQUEST, parseStreamRequest, refusal } from "./binance_stream_requests.ts";
import type { BinanceWsSocket, SocketHandlers } from "./binance_ws_socket.ts";
import { concernsAnyOf, type UserEvent, UserEvents, usersOf } from "./binance_user_events.ts";

/** A subscribed market stream and its sending state. */
interface Active {
  kind: "market";
  stream: MarketStream;
  /** Diff depth: changes not yet sent. */
  batch?: DepthBatch;
  /** Diff depth: the batch's send; partial depth: the next send. */
  timer?: ReturnType<typeof setTimeout>;
  /** bookTicker: the last event sent, to send only changes. */
  lastText?: string;
  /** kline: trade ids of the candle in progress, and when the stream began. */
  candle?: { openMs: number; first: number; last: number };
  sinceMs?: number;
}

/** The listen-key streams of one user on this connection. */
interface UserFeed {
  events: UserEvents;
  names: Set<string>;
}

/** Serialised public events, shared by every connection on the same stream and form. */
const sharedText = new WeakMap<object, Map<string, string>>();

export class BinanceStreamConnection implements SocketHandlers {
  /** Every stream, in subscription order (LIST_SUBSCRIPTIONS). */
  readonly #names = new Map<string, Active | UserStream>();
  /** Market streams by symbol id, and what the hub filter looks at. */
  #bySymbol = new Map<number, Active[]>();
  #tradeSymbols = new Set<number>();
  #bookSymbols = new Set<number>();
  #klineIntervals = new Map<number, Set<string>>();
  readonly #users = new Map<number, UserFeed>();
  readonly #bookTickerDirty = new Set<Active>();
  readonly #tickerDirty = new Set<number>();
  readonly #lastTrade = new Map<number, LastTrade>();
  #tickerTimer: ReturnType<typeof setTimeout> | undefined;
  #listenKeyTimer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly sock: BinanceWsSocket,
    private readonly ctx: BinanceContext,
    private readonly limits: WsLimits,
    private combined: boolean,
  ) {}

  /** Joins the hub with the streams the URL named (already valid). */
  start(initial: BinanceStream[]): void {
    if (!this.sock.open(this)) return;
    this.add(initial);
  }

  // ---------------------------------------------------------------- requests

  request(text: string): void {
    const ctx = this.ctx;
    const r = parseStreamRequest(text, ctx.markets, ctx.listenKeys, (n) => this.#names.has(n));
    if ("error" in r) return this.sock.send(r);
    const id = r.id;
    switch (r.method) {
      case "SUBSCRIBE": {
        const fresh = r.streams.filter((s) => !this.#names.has(s.name));
        const total = this.#names.size + fresh.length;
        if (total > MAX_STREAMS_PER_CONNECTION) {
          return this.sock.send(refusal(
            INVALID_REQUEST,
            `at most ${MAX_STREAMS_PER_CONNECTION} streams per connection, this request would make ${total}`,
            id,
          ));
        }
        // The streams take entries from now on; the answer goes before any of their events.
        const added = this.take(fresh);
        this.sock.send({ result: null, id });
        return this.started(added);
      }
      case "UNSUBSCRIBE":
        for (const name of r.names) this.drop(name);
        this.reindex();
        return this.sock.send({ result: null, id });
      case "LIST_SUBSCRIPTIONS":
        return this.sock.send({ result: [...this.#names.keys()], id });
      case "SET_PROPERTY":
        this.combined = r.combined;
        return this.sock.send({ result: null, id });
      case "GET_PROPERTY":
        return this.sock.send({ result: this.combined, id });
    }
  }

  refuse(reason: string): void {
    this.sock.send(refusal(INVALID_REQUEST, reason, null));
  }

  // ---------------------------------------------------------------- streams

  /** Adds streams (not yet subscribed, already valid) and sends what they start with. */
  private add(streams: BinanceStream[]): void {
    this.started(this.take(streams));
  }

  /** Registers streams; returns the market streams added. */
  private take(streams: BinanceStream[]): Active[] {
    const added: Active[] = [];
    const now = this.ctx.deps.now();
    for (const s of streams) {
      if (this.#names.has(s.name)) continue;
      if (s.kind === "user") {
        this.#names.set(s.name, s);
        let feed = this.#users.get(s.userId);
        if (feed === undefined) {
          feed = { events: new UserEvents(this.ctx.deps.markets, s.userId), names: new Set() };
          this.#users.set(s.userId, feed);
        }
        feed.names.add(s.name);
        continue;
      }
      const a: Active = { kind: "market", stream: s };
      if (s.kind === "depthDiff") a.batch = new DepthBatch();
      if (s.kind === "kline") a.sinceMs = now;
      this.#names.set(s.name, a);
      added.push(a);
    }
    this.reindex();
    return added;
  }

  /** What streams send when they begin: partial books their first snapshot. */
  private started(added: Active[]): void {
    for (const a of added) if (a.stream.kind === "depthPartial") this.sendPartial(a);
    if (this.#users.size > 0 && this.#listenKeyTimer === undefined) {
      this.#listenKeyTimer = setInterval(() => this.checkListenKeys(), LISTEN_KEY_CHECK_MS);
    }
  }

  private drop(name: string): void {
    const a = this.#names.get(name);
    if (a === undefined) return;
    this.#names.delete(name);
    if (a.kind === "user") {
      const feed = this.#users.get(a.userId);
      feed?.names.delete(name);
      if (feed !== undefined && feed.names.size === 0) this.#users.delete(a.userId);
      if (this.#users.size === 0) {
        clearInterval(this.#listenKeyTimer);
        this.#listenKeyTimer = undefined;
      }
      return;
    }
    clearTimeout(a.timer);
    this.#bookTickerDirty.delete(a);
  }

  private reindex(): void {
    const bySymbol = new Map<number, Active[]>();
    const trade = new Set<number>();
    const book = new Set<number>();
    const kline = new Map<number, Set<string>>();
    for (const a of this.#names.values()) {
      if (a.kind === "user") continue;
      const s = a.stream;
      const id = s.market.spec.id;
      bySymbol.set(id, [...(bySymbol.get(id) ?? []), a]);
      switch (s.kind) {
        case "depthDiff":
        case "depthPartial":
        case "bookTicker":
          book.add(id);
          break;
        case "kline": {
          trade.add(id);
          const set = kline.get(id) ?? new Set();
          set.add(s.interval);
          kline.set(id, set);
          break;
        }
        default:
          trade.add(id);
      }
    }
    this.#bySymbol = bySymbol;
    this.#tradeSymbols = trade;
    this.#bookSymbols = book;
    this.#klineIntervals = kline;
  }

  /** Listen keys closed or lapsed: say so (`listenKeyExpired`) and drop their streams. */
  private checkListenKeys(): void {
    const keys = this.ctx.listenKeys;
    for (const [name, s] of [...this.#names]) {
      if (s.kind !== "user" || keys.userOf(name) === s.userId) continue;
      this.emit(name, { e: "listenKeyExpired", E: this.ctx.deps.now(), listenKey: name });
      this.drop(name);
    }
  }

  // ---------------------------------------------------------------- events

  wants(e: ChangeLogEntry<unknown>): boolean {
    switch (e.type) {
      case "trade":
        return this.#tradeSymbols.has((e.payload as TradeEvent).symbolId) ||
          concernsAnyOf(e, this.#users);
      case "book":
        return this.#bookSymbols.has((e.payload as BookDelta).symbolId);
      case "candle": {
        const c = e.payload as CandleRow;
        return this.#klineIntervals.get(c.symbolId)?.has(c.interval) ?? false;
      }
      default:
        return concernsAnyOf(e, this.#users);
    }
  }

  deliver(entries: ChangeLogEntry<unknown>[]): void {
    const out: UserEvent[] = [];
    for (const e of entries) {
      if (this.#users.size > 0) {
        for (const userId of usersOf(e)) {
          const feed = this.#users.get(userId);
          if (feed === undefined) continue;
          feed.events.take(e, out);
          this.emitUser(feed, out);
        }
      }
      switch (e.type) {
        case "trade":
          this.onTrade(e as ChangeLogEntry<TradeEvent>);
          break;
        case "book":
          this.onBook(e.payload as BookDelta);
          break;
        case "candle":
          this.onCandle(e as ChangeLogEntry<CandleRow>);
          break;
      }
    }
    for (const feed of this.#users.values()) {
      feed.events.end(out);
      this.emitUser(feed, out);
    }
    for (const a of this.#bookTickerDirty) this.sendBookTicker(a);
    this.#bookTickerDirty.clear();
  }

  private onTrade(e: ChangeLogEntry<TradeEvent>): void {
    const t = e.payload;
    const streams = this.#bySymbol.get(t.symbolId);
    if (streams === undefined) return;
    const ix = this.ctx.deps.markets;
    for (const a of streams) {
      const s = a.stream;
      switch (s.kind) {
        case "trade":
          this.emitShared(e, s.name, () => tradeEvent(ix, s.market, t, e.ts));
          break;
        case "aggTrade":
          this.emitShared(e, s.name, () => aggTradeEvent(ix, s.market, t, e.ts));
          break;
        case "ticker":
        case "miniTicker":
          this.#lastTrade.set(t.symbolId, { tradeId: t.tradeId, qtyUnits: t.qtyUnits });
          this.#tickerDirty.add(t.symbolId);
          this.#tickerTimer ??= setTimeout(() => this.sendTickers(), this.limits.tickerIntervalMs);
          break;
        case "kline": {
          const openMs = intervalOpenMs(s.interval, e.ts);
          if (a.candle?.openMs === openMs) a.candle.last = t.tradeId;
          else {
            // The first trade id is known only for a candle begun after the stream was.
            const first = openMs > (a.sinceMs ?? Infinity) ? t.tradeId : -1;
            a.candle = { openMs, first, last: t.tradeId };
          }
          break;
        }
      }
    }
  }

  private onBook(d: BookDelta): void {
    const streams = this.#bySymbol.get(d.symbolId);
    if (streams === undefined) return;
    for (const a of streams) {
      switch (a.stream.kind) {
        case "depthDiff": {
          const b = a.batch!;
          b.add(d);
          if (b.size >= MAX_DEPTH_BATCH_LEVELS) this.sendDepthDiff(a);
          else a.timer ??= setTimeout(() => this.sendDepthDiff(a), a.stream.speedMs);
          break;
        }
        case "depthPartial":
          a.timer ??= setTimeout(() => this.sendPartial(a), a.stream.speedMs);
          break;
        case "bookTicker":
          this.#bookTickerDirty.add(a);
          break;
      }
    }
  }

  private onCandle(e: ChangeLogEntry<CandleRow>): void {
    const k = e.payload;
    const streams = this.#bySymbol.get(k.symbolId);
    if (streams === undefined) return;
    for (const a of streams) {
      const s = a.stream;
      if (s.kind !== "kline" || s.interval !== k.interval) continue;
      const ids = a.candle?.openMs === k.openMs ? a.candle : { first: -1, last: -1 };
      this.emit(s.name, klineEvent(this.ctx.deps.markets, s.market, k, e.ts, ids));
    }
  }

  private sendDepthDiff(a: Active): void {
    clearTimeout(a.timer);
    a.timer = undefined;
    const b = a.batch!;
    if (b.size === 0 || !this.#names.has(a.stream.name)) return;
    const s = a.stream;
    this.emit(
      s.name,
      depthUpdateEvent(
        this.ctx.deps.markets,
        s.market,
        this.ctx.deps.now(),
        b.firstId,
        b.lastId,
        b.bids,
        b.asks,
      ),
    );
    b.clear();
  }

  private sendPartial(a: Active): void {
    a.timer = undefined;
    const s = a.stream;
    if (s.kind !== "depthPartial" || !this.#names.has(s.name)) return;
    const book = this.ctx.deps.exchange.depth(s.market.spec.id, s.levels) ??
      { updateId: 0, bids: [], asks: [] };
    this.emit(s.name, partialDepthEvent(this.ctx.deps.markets, s.market, book));
  }

  private top(symbolId: number): Top {
    const d = this.ctx.deps.exchange.depth(symbolId, 1);
    return { updateId: d?.updateId ?? 0, bid: d?.bids[0], ask: d?.asks[0] };
  }

  private sendBookTicker(a: Active): void {
    const s = a.stream;
    if (!this.#names.has(s.name)) return;
    const text = JSON.stringify(
      bookTickerEvent(this.ctx.deps.markets, s.market, this.top(s.market.spec.id)),
    );
    if (text === a.lastText) return;
    a.lastText = text;
    this.sock.sendText(
      this.combined ? `{"stream":${JSON.stringify(s.name)},"data":${text}}` : text,
    );
  }

  private async sendTickers(): Promise<void> {
    this.#tickerTimer = undefined;
    const symbols = [...this.#tickerDirty];
    this.#tickerDirty.clear();
    const ix = this.ctx.deps.markets;
    for (const symbolId of symbols) {
      if (this.sock.closed) return;
      const now = this.ctx.deps.now();
      const t = await this.ctx.deps.exchange.ticker(symbolId, now);
      if (t === undefined || this.sock.closed) continue;
      for (const a of this.#bySymbol.get(symbolId) ?? []) {
        const s = a.stream;
        if (s.kind === "ticker") {
          const last = this.#lastTrade.get(symbolId);
          this.emit(s.name, tickerEvent(ix, s.market, t, this.top(symbolId), last, now));
        } else if (s.kind === "miniTicker") {
          this.emit(s.name, miniTickerEvent(ix, s.market, t, now));
        }
      }
    }
  }

  private emitUser(feed: UserFeed, out: UserEvent[]): void {
    if (out.length === 0) return;
    for (const ev of out) for (const name of feed.names) this.emit(name, ev);
    out.length = 0;
  }

  private emit(name: string, event: unknown): void {
    this.sock.send(this.combined ? { stream: name, data: event } : event);
  }

  /** Sends the event `build` makes, serialised once for every connection on the stream. */
  private emitShared(e: object, name: string, build: () => unknown): void {
    let byStream = sharedText.get(e);
    if (byStream === undefined) sharedText.set(e, byStream = new Map());
    const key = (this.combined ? "c:" : "r:") + name;
    let text = byStream.get(key);
    if (text === undefined) {
      byStream.set(
        key,
        text = JSON.stringify(this.combined ? { stream: name, data: build() } : build()),
      );
    }
    this.sock.sendText(text);
  }

  ended(): void {
    clearTimeout(this.#tickerTimer);
    clearInterval(this.#listenKeyTimer);
    for (const a of this.#names.values()) if (a.kind !== "user") clearTimeout(a.timer);
  }
}
