/**
 * One connection of Binance's WebSocket API (`/ws-api/v3`), for its user data stream
 * methods: `userDataStream.subscribe.signature` (params `apiKey`, `timestamp`, optional
 * `recvWindow`, and `signature`, the HMAC-SHA256 hex of the other params sorted by name
 * as `apiKey=..&timestamp=..`), `userDataStream.unsubscribe`, `session.subscriptions`,
 * `ping` and `time`.
 *
 * Answers are `{"id", "status": 200, "result": {..}}` or `{"id", "status": 4xx,
 * "error": {"code", "msg"}}`; events of a subscription come as
 * `{"subscriptionId": n, "event": {..}}`. One subscription per account per connection,
 * as on Binance.
 */

import type { ChangeLogEntry } from "../../domain/change_log.ts";
import { signatureMatches } from "../signature.ts";
import type { BinanceContext } from "./binance_context.ts";
import { BinanceError, BinanceErrors } from "./binance_errors.ts";
import {
  DEFAULT_RECV_WINDOW_MS,
  MAX_RECV_WINDOW_MS,
  MAX_REQUEST_ID_LENGTH,
  MAX_WS_API_SUBSCRIPTIONS,
} from "./binance_stream_limits.ts";
import {
  type BinanceWsSocket,
  parseRequestId,
  type RequestId,
  type SocketHandlers,
} from "./binance_ws_socket.ts";
import { concernsAnyOf, type UserEvent, UserEvents, usersOf } from "./binance_user_events.ts";

const TIMESTAMP_TEXT = /^\d{1,16}$/;
const SIGNED_PARAMS = new Set(["apiKey", "timestamp", "recvWindow", "signature"]);
const METHODS =
  "ping, time, userDataStream.subscribe.signature, userDataStream.unsubscribe, session.subscriptions";

/** -1135: the request is not the JSON Binance expects. */
function invalidJson(msg: string): BinanceError {
  return new BinanceError(400, -1135, msg);
}

/** -1020: a method this server does not offer. */
function unsupported(method: unknown): BinanceError {
  return new BinanceError(
    400,
    -1020,
    `This operation is not supported: method ${
      JSON.stringify(method)?.slice(0, 60)
    }; this server offers ${METHODS}.`,
  );
}

interface Subscription {
  id: number;
  events: UserEvents;
}

export class BinanceWsApiConnection implements SocketHandlers {
  /** Subscriptions by user id (one per account). */
  readonly #byUser = new Map<number, Subscription>();
  #nextSubscriptionId = 0;

  constructor(private readonly sock: BinanceWsSocket, private readonly ctx: BinanceContext) {}

  start(): void {
    this.sock.open(this);
  }

  request(text: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch (err) {
      return this.fail(null, invalidJson(`Invalid JSON Request: ${(err as Error).message}`));
    }
    if (typeof msg !== "object" || msg === null || Array.isArray(msg)) {
      return this.fail(
        null,
        invalidJson('Invalid JSON Request: expected an object {"id", "method", "params"}.'),
      );
    }
    const { id: rawId, method, params = {} } = msg as Record<string, unknown>;
    const id = parseRequestId(rawId);
    if (id === undefined) {
      return this.fail(
        null,
        invalidJson(
          `Invalid 'id' in JSON request; expected an integer, a string of at most ${MAX_REQUEST_ID_LENGTH} letters and digits, or null.`,
        ),
      );
    }
    if (typeof params !== "object" || params === null || Array.isArray(params)) {
      return this.fail(id, invalidJson("Invalid 'params' in JSON request; expected an object."));
    }
    const p = params as Record<string, unknown>;
    try {
      switch (method) {
        case "ping":
          return this.ok(id, {});
        case "time":
          return this.ok(id, { serverTime: this.ctx.deps.now() });
        case "userDataStream.subscribe.signature":
          return this.ok(id, { subscriptionId: this.subscribe(p) });
        case "userDataStream.unsubscribe":
          this.unsubscribe(p);
          return this.ok(id, {});
        case "session.subscriptions":
          return this.ok(
            id,
            [...this.#byUser.values()].map((s) => ({ subscriptionId: s.id })),
          );
        default:
          throw unsupported(method);
      }
    } catch (err) {
      if (err instanceof BinanceError) return this.fail(id, err);
      throw err;
    }
  }

  refuse(reason: string, tooMany: boolean): void {
    this.fail(
      null,
      tooMany ? new BinanceError(429, -1003, `Too many requests: ${reason}.`) : invalidJson(
        `Invalid JSON Request: ${reason}.`,
      ),
    );
  }

  /** Checks the signature and starts a subscription; throws a BinanceError if refused. */
  private subscribe(p: Record<string, unknown>): number {
    for (const name of Object.keys(p)) {
      if (!SIGNED_PARAMS.has(name)) throw BinanceErrors.unknownParam(name);
    }
    for (const name of ["apiKey", "timestamp", "signature"]) {
      if (p[name] === undefined || p[name] === null || p[name] === "") {
        throw BinanceErrors.mandatoryParam(name);
      }
    }
    const { apiKey, signature } = p;
    if (typeof apiKey !== "string") throw BinanceErrors.badApiKeyFormat();
    if (typeof signature !== "string") throw BinanceErrors.invalidSignature();
    const tsMs = integerParam(p.timestamp, "timestamp");
    const recvWindow = p.recvWindow === undefined
      ? DEFAULT_RECV_WINDOW_MS
      : integerParam(p.recvWindow, "recvWindow");
    if (recvWindow > MAX_RECV_WINDOW_MS) {
      throw BinanceErrors.invalidParameter(
        "recvWindow",
        `must be at most ${MAX_RECV_WINDOW_MS}, received ${recvWindow}.`,
      );
    }
    const key = this.ctx.deps.keys.lookup(apiKey);
    if (key === undefined) throw BinanceErrors.rejectedApiKey();
    const now = this.ctx.deps.now();
    if (!this.ctx.limiter.take(apiKey, now)) {
      throw BinanceErrors.tooManyRequests(this.ctx.deps.auth.ratePerSecond, "SECOND");
    }
    if (tsMs > now + 1_000) throw BinanceErrors.timestampAhead();
    if (now - tsMs > recvWindow) throw BinanceErrors.invalidTimestamp();
    const payload = Object.keys(p)
      .filter((k) => k !== "signature")
      .sort()
      .map((k) => `${k}=${String(p[k])}`)
      .join("&");
    if (!signatureMatches(key.secret, payload, signature)) throw BinanceErrors.invalidSignature();

    if (this.#byUser.has(key.userId)) {
      throw BinanceErrors.invalidParameter(
        "apiKey",
        `already has subscription ${
          this.#byUser.get(key.userId)!.id
        } on this connection (one per account).`,
      );
    }
    if (this.#byUser.size >= MAX_WS_API_SUBSCRIPTIONS) {
      throw BinanceErrors.invalidParameter(
        "apiKey",
        `would make more than ${MAX_WS_API_SUBSCRIPTIONS} user data subscriptions on this connection.`,
      );
    }
    const id = this.#nextSubscriptionId++;
    this.#byUser.set(key.userId, { id, events: new UserEvents(this.ctx.deps.markets, key.userId) });
    return id;
  }

  /** Ends one subscription (`subscriptionId`) or, without it, all of them. */
  private unsubscribe(p: Record<string, unknown>): void {
    for (const name of Object.keys(p)) {
      if (name !== "subscriptionId") throw BinanceErrors.unknownParam(name);
    }
    const ended: Subscription[] = [];
    if (p.subscriptionId === undefined) ended.push(...this.#byUser.values());
    else {
      const sid = integerParam(p.subscriptionId, "subscriptionId");
      const s = [...this.#byUser.values()].find((s) => s.id === sid);
      if (s === undefined) {
        throw BinanceErrors.invalidParameter(
          "subscriptionId",
          `${sid} is not a subscription of this connection.`,
        );
      }
      ended.push(s);
    }
    for (const s of ended) {
      this.#byUser.delete(s.events.userId);
      this.sock.send({
        subscriptionId: s.id,
        event: { e: "eventStreamTerminated", E: this.ctx.deps.now() },
      });
    }
  }

  wants(e: ChangeLogEntry<unknown>): boolean {
    return this.#byUser.size > 0 && concernsAnyOf(e, this.#byUser);
  }

  deliver(entries: ChangeLogEntry<unknown>[]): void {
    const out: UserEvent[] = [];
    for (const e of entries) {
      for (const userId of usersOf(e)) {
        const s = this.#byUser.get(userId);
        if (s === undefined) continue;
        s.events.take(e, out);
        this.emit(s, out);
      }
    }
    for (const s of this.#byUser.values()) {
      s.events.end(out);
      this.emit(s, out);
    }
  }

  ended(): void {
    this.#byUser.clear();
  }

  private emit(s: Subscription, out: UserEvent[]): void {
    for (const event of out) this.sock.send({ subscriptionId: s.id, event });
    out.length = 0;
  }

  private ok(id: RequestId, result: unknown): void {
    this.sock.send({ id, status: 200, result });
  }

  private fail(id: RequestId, err: BinanceError): void {
    this.sock.send({ id, status: err.status, error: err.body() });
  }
}

/** A non-negative integer parameter, sent as a number or as digits; throws -1100 else. */
function integerParam(v: unknown, name: string): number {
  const text = typeof v === "number" ? String(v) : v;
  if (typeof text !== "string" || !TIMESTAMP_TEXT.test(text)) {
    throw BinanceErrors.illegalChars(name, "^[0-9]{1,16}$");
  }
  return Number(text);
}
